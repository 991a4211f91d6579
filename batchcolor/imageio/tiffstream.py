"""A streamed tiled-TIFF encoder: rows in, TIFF out, without ever holding the whole image.

Same interface as :class:`~batchcolor.imageio.pngstream.PngWriter`, for users whose posters go on to
tools that want TIFF. The encoding is tifffile's (Christoph Gohlke's library, the reference
TIFF implementation of the scientific Python stack): given an iterator of tiles and the
final shape, it compresses and writes them as they come and patches the offsets at the end.
tifffile pulls tiles while the tiler pushes rows, so tifffile runs on a thread of its own fed
through a short queue; memory is a few strips of ``TILE_ROWS`` rows. Output is RGB(A), 8 bit,
256 x 64 tiles, deflate (level 1), BigTIFF when it could pass 4 GB.
"""
from __future__ import annotations

import queue
import threading
from typing import BinaryIO, Iterator

import numpy as np

TILE_ROWS, TILE_COLS = 64, 256
_DONE, _ABORT = object(), object()


class TiffWriter:
    """Write ``height`` rows of ``width`` x ``channels`` (3 or 4) uint8 pixels, RGB[A] order."""

    def __init__(self, fh: BinaryIO, width: int, height: int, channels: int, level: int = 1):
        if channels not in (3, 4):
            raise ValueError(f"TIFF output takes 3 or 4 channels, got {channels}")
        self.width, self.height, self.channels = width, height, channels
        self.rows_written = 0
        self._pending: list[np.ndarray] = []
        self._pending_rows = 0
        self._strips: "queue.Queue[object]" = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._aborted = False
        self._thread = threading.Thread(target=self._encode, args=(fh, level), name="batchcolor-tiff", daemon=True)
        self._thread.start()

    def _encode(self, fh: BinaryIO, level: int) -> None:
        import tifffile

        try:
            big = self.width * self.height * self.channels > 2**31
            with tifffile.TiffWriter(fh, bigtiff=big) as tw:
                tw.write(self._tiles(), shape=(self.height, self.width, self.channels), dtype=np.uint8,
                         photometric="rgb", extrasamples=["unassalpha"] if self.channels == 4 else None,
                         tile=(TILE_ROWS, TILE_COLS), compression="zlib", compressionargs={"level": level})
        except BaseException as exc:  # re-raised in the producer
            self._error = exc
            if not self._aborted:  # take strips until the producer notices, so it never blocks
                while self._strips.get() not in (_DONE, _ABORT):
                    pass

    def _tiles(self) -> Iterator[np.ndarray]:
        while (strip := self._strips.get()) is not _DONE:
            if strip is _ABORT:
                self._aborted = True
                raise RuntimeError("TIFF writing aborted")
            assert isinstance(strip, np.ndarray)
            for x in range(0, self.width, TILE_COLS):
                part = strip[:, x : x + TILE_COLS]
                if part.shape[:2] == (TILE_ROWS, TILE_COLS):
                    yield np.ascontiguousarray(part)
                else:  # the right and bottom edge tiles are padded, as TIFF requires
                    tile = np.zeros((TILE_ROWS, TILE_COLS, self.channels), np.uint8)
                    tile[: part.shape[0], : part.shape[1]] = part
                    yield tile

    def write_rows(self, rows: np.ndarray) -> None:
        if rows.shape[1:] != (self.width, self.channels) or rows.dtype != np.uint8:
            raise ValueError(f"rows must be uint8 (n, {self.width}, {self.channels}), got {rows.dtype} {rows.shape}")
        if self.rows_written + rows.shape[0] > self.height:
            raise ValueError("more rows than the TIFF was declared with")
        self._raise_if_failed()
        self._pending.append(np.array(rows, copy=True))
        self._pending_rows += rows.shape[0]
        self.rows_written += rows.shape[0]
        while self._pending_rows >= TILE_ROWS or (self.rows_written == self.height and self._pending_rows):
            self._put(self._take_strip())

    def _take_strip(self) -> np.ndarray:
        rows = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        strip, rest = rows[:TILE_ROWS], rows[TILE_ROWS:]
        self._pending = [rest] if len(rest) else []
        self._pending_rows = len(rest)
        return strip

    def _put(self, item: object) -> None:
        while True:
            self._raise_if_failed()
            try:
                self._strips.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise OSError(f"TIFF encoding failed: {self._error}") from self._error

    def close(self) -> None:
        if self.rows_written != self.height:
            self.abort()
            raise ValueError(f"TIFF declared {self.height} rows but {self.rows_written} were written")
        self._put(_DONE)
        self._thread.join()
        self._raise_if_failed()

    def abort(self) -> None:
        """Stop the encoder thread without finishing the file (the caller discards it)."""
        if self._thread.is_alive():
            try:
                self._strips.put(_ABORT, timeout=5)  # the encoder keeps taking strips
            except queue.Full:
                pass
            self._thread.join(timeout=5)
