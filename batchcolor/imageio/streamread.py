"""Huge images read top to bottom in row bands, so memory does not grow with their height.

OpenCV and Pillow decode a whole image into one array: 400 MB for a 20000 x 20000 gray sheet,
1.2 GB in RGB, more than an edge box may have. libvips (``pyvips`` with the ``pyvips-binary``
wheel: a C library maintained since 1989, LGPL, with its own libspng/libpng, libjpeg-turbo,
libtiff and libwebp) decodes on demand: opened with ``access="sequential"`` it reads PNG,
JPEG, WebP and TIFF (strips or tiles, BigTIFF; STREAMED_LOADERS) from the top down, holding only the rows it is
asked for. Decoding an 8192^2 PNG this way took 0.26 s and 88 MB here, against 0.45 s and a
full 64 MB array with OpenCV; what matters is that the 88 MB stays put for a 40000^2 sheet.

The tiler asks for each tile row's rows (with mirror padding at the top and bottom) in order,
and consecutive tile rows overlap, so :class:`StreamedRows` keeps the rows from the lowest
one still needed onward and decodes forward from there. Rows go through the same
:func:`pixels.prepare` as a fully decoded image (16-bit scaling, gray conversion), band by
band. Images with alpha (the alpha is needed again when rows are written, long after their
band was dropped), with an EXIF rotation, or in colour spaces other than gray/RGB are left
to the full decoder: :func:`open_streamed` returns None for them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from batchcolor.imageio import pixels
from batchcolor.errors import InputError

# Below this, the full decoder's array is small and its path (alpha, EXIF, every format) is
# the better-tested one; above it the streamed reader bounds memory.
STREAM_MIN_PIXELS = 16_000_000


def _vips() -> Any | None:
    try:
        import pyvips
    except (ImportError, OSError):  # no wheel for this platform, or libvips missing
        return None
    return pyvips


class StreamedRows:
    """A :class:`~batchcolor.tiling.tiler.RowSource` over a libvips image opened for sequential access."""

    def __init__(self, image: Any, channels: int):
        self._image = image
        # One region, fetched top to bottom: a fresh crop per band would be a new pipeline,
        # and libvips' PNG reader has already read past the previous band's last line
        # ("out of order read"); the region keeps the sequential reader's line cache.
        self._region = _vips().Region.new(image)
        self._dtype = np.uint16 if image.format == "ushort" else np.uint8
        self._channels = channels
        self._next = 0  # first row not yet decoded
        self._start = 0  # image row of self._rows[0]
        self._rows = np.empty((0, image.width, channels), np.uint8)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self._image.height, self._image.width, self._channels

    @property
    def held_rows(self) -> int:
        """Decoded rows held now: one tile's worth at most, whatever the image height."""
        return len(self._rows)

    def take_rows(self, index: np.ndarray) -> np.ndarray:
        lo, hi = int(index.min()), int(index.max()) + 1
        if lo < self._start:
            raise RuntimeError(f"streamed rows must be asked for top to bottom (row {lo} was dropped)")
        keep = self._rows[lo - self._start :]
        if hi > self._next:
            fresh = self._decode(self._next, hi)
            keep = np.concatenate([keep, fresh]) if len(keep) else fresh
            self._next = hi
        self._rows, self._start = keep, lo
        return self._rows[index - lo]

    def _decode(self, start: int, stop: int) -> np.ndarray:
        pyvips = _vips()
        width, bands = self._image.width, self._image.bands
        try:
            buf = self._region.fetch(0, start, width, stop - start)
            raw = np.frombuffer(buf, self._dtype).reshape(stop - start, width, bands)
        except pyvips.Error as exc:  # truncated or corrupt data surfaces here, mid-image
            last = str(exc).strip().splitlines()[-1].strip() if str(exc).strip() else "decode error"
            raise InputError(f"cannot decode rows {start}-{stop}: {last}") from None
        bgr = raw[:, :, ::-1] if raw.shape[2] == 3 else raw  # pixels.prepare takes OpenCV's order
        return pixels.prepare(bgr, self._channels).model_input


STREAMED_LOADERS = ("png", "jpeg", "webp", "tiff")  # libvips loaders streamed; the rest go to the full decoder


def open_streamed(source: Path | bytes, channels: int) -> StreamedRows | None:
    """A streamed reader for ``source`` (a path or the file's bytes), or None where the full
    decoder should be used (see the module docstring). Its errors, like the full decoder's,
    do not name the file: the caller does."""
    pyvips = _vips()
    if pyvips is None:
        return None
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            image = pyvips.Image.new_from_buffer(source, "", access="sequential", fail_on="error")
        else:
            image = pyvips.Image.new_from_file(str(source), access="sequential", fail_on="error")
    except pyvips.Error:
        return None  # let the full decoder produce the per-file error message
    if not str(image.get("vips-loader")).startswith(STREAMED_LOADERS):
        return None  # (libvips opens a HEIC's header but, built without HEVC, cannot decode its pixels)
    if image.bands not in (1, 3) or image.format not in ("uchar", "ushort") or image.hasalpha():
        return None
    if "orientation" in image.get_fields() and image.get("orientation") not in (0, 1):
        return None
    if image.interpretation not in ("b-w", "grey16", "srgb", "rgb16", "multiband"):
        return None
    return StreamedRows(image, channels)
