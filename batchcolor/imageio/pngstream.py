"""A streamed PNG encoder: rows in, PNG out, without ever holding the whole image.

OpenCV, Pillow and imageio all encode from one in-memory array; for a 20000 x 20000 RGB
output that array alone is 1.2 GB. PNG is a zlib stream of filtered scanlines, so it can be
written band by band: each band is filtered with NumPy (the Sub filter, vectorised over the
whole band) and pushed through one deflate stream; what it hands back goes out as IDAT
chunks. Memory is one band plus the compressor's window. The files are ordinary PNGs
(checked in the tests by decoding them with OpenCV).

Deflate is the most expensive step of a run after inference itself, and on a 2-core box it
takes cores away from OpenVINO. ISA-L (``isal``, Intel's deflate, zlib-compatible streams)
at level 2 compresses a colorized 8192^2 sheet in 0.28 s where zlib needs 1.29 s at level 1
and 1.92 s at level 3, for a file within 5% of zlib-3's size (see BENCHMARKS.md). Without
``isal`` (no wheel for the platform) zlib level 1 is used: slower, same format.
"""
from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

import numpy as np

try:
    from isal import isal_zlib as _deflate

    DEFLATE = "isal"
    DEFAULT_LEVEL = 2  # ISA-L levels are 0-3
except ImportError:  # pragma: no cover - isal ships wheels for the platforms we support
    _deflate = zlib  # type: ignore[assignment]
    DEFLATE = "zlib"
    DEFAULT_LEVEL = 1

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # gray, gray+alpha, RGB, RGBA


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


class PngWriter:
    """Write ``height`` rows of ``width`` x ``channels`` uint8 pixels (RGB/RGBA order)."""

    def __init__(self, fh: BinaryIO, width: int, height: int, channels: int, level: int = DEFAULT_LEVEL):
        if channels not in _COLOR_TYPE:
            raise ValueError(f"PNG channels must be 1-4, got {channels}")
        self.fh, self.width, self.height, self.channels = fh, width, height, channels
        self.rows_written = 0
        self._z = _deflate.compressobj(level, zlib.DEFLATED, 15, 9)
        fh.write(_SIGNATURE)
        fh.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPE[channels], 0, 0, 0)))

    def write_rows(self, rows: np.ndarray) -> None:
        if rows.ndim == 2:
            rows = rows[:, :, None]
        n = rows.shape[0]
        if rows.shape[1:] != (self.width, self.channels) or rows.dtype != np.uint8:
            raise ValueError(f"rows must be uint8 (n, {self.width}, {self.channels}), got {rows.dtype} {rows.shape}")
        if self.rows_written + n > self.height:
            raise ValueError("more rows than the PNG header declared")
        flat = rows.reshape(n, self.width * self.channels)
        filtered = np.empty((n, flat.shape[1] + 1), np.uint8)
        filtered[:, 0] = 1  # Sub: each byte minus the byte one pixel to the left (mod 256)
        filtered[:, 1 : 1 + self.channels] = flat[:, : self.channels]
        np.subtract(flat[:, self.channels :], flat[:, : -self.channels], out=filtered[:, 1 + self.channels :])
        self._emit(self._z.compress(filtered))  # the buffer itself: no bytes copy
        self.rows_written += n

    def _emit(self, data: bytes) -> None:
        if data:
            self.fh.write(_chunk(b"IDAT", data))

    def abort(self) -> None:
        """Nothing to stop (no thread, no state outside the file the caller discards)."""

    def close(self) -> None:
        if self.rows_written != self.height:
            raise ValueError(f"PNG declared {self.height} rows but {self.rows_written} were written")
        self._emit(self._z.flush())
        self.fh.write(_chunk(b"IEND", b""))
