"""Colorize decoded pixels straight into an output file, atomically.

PNG and TIFF output at scale 1 is streamed: finished rows go from the merger through
:class:`~batchcolor.pngstream.PngWriter` or :class:`~batchcolor.tiffstream.TiffWriter` into
the temp file, so no output-sized array exists. With a streamed reader in front
(:mod:`batchcolor.streamread`) no input-sized array exists either. Other formats (and
``--scale``, which resizes the whole result) encode from memory.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import images
from .colorize import Guidance, colorize_image, colorize_rows, colorize_stream
from .engine import Engine
from .pngstream import PngWriter
from .streamread import STREAM_MIN_PIXELS, open_streamed
from .tiffstream import TiffWriter
from .tiler import RowSource, TileObserver, TileSettings


def stream_writer(suffix: str):
    """The streamed encoder class for an output suffix, or None (encode from memory)."""
    if suffix == ".png":
        return PngWriter
    if suffix in (".tif", ".tiff"):
        return TiffWriter
    return None


def colorize_file(encoded: Path | bytes, dst: Path, engine: Engine, tiling: TileSettings, scale: str,
                  pixels: int, has_alpha: bool, guide: Guidance = Guidance()) -> tuple[int, int, bool]:
    """Decode one input (a path or its bytes) and write its colour version; (h, w, streamed).

    Big inputs (``pixels`` from the header probe) whose output can be streamed are decoded
    band by band (:mod:`batchcolor.streamread`); the rest are decoded whole. Decode errors
    are :class:`InputError` without the file name: callers add it.
    """
    streamed = None
    # ``auto`` keeps huge inputs at 1:1 (posters and sheets: their objects are drawn at
    # working size, and resizing would need them whole in memory); an explicit factor does not.
    if pixels >= STREAM_MIN_PIXELS and scale in ("none", "auto") and stream_writer(dst.suffix.lower()):
        streamed = open_streamed(encoded, engine.card.input_channels)
    if streamed is not None:
        write_streamed(streamed, dst, engine, tiling, guide)
        h, w, _ = streamed.shape
        return h, w, True
    gray = engine.card.input_channels == 1 and not has_alpha
    decoded = images.decode(encoded, gray=gray) if isinstance(encoded, Path) else images.decode_bytes(encoded, gray=gray)
    write_colorized(decoded, dst, engine, tiling, scale, guide=guide)
    return decoded.shape[0], decoded.shape[1], False


def write_colorized(decoded: np.ndarray, dst: Path, engine: Engine, tiling: TileSettings, scale: str = "none",
                    observe: TileObserver | None = None, guide: Guidance = Guidance()) -> None:
    writer = stream_writer(dst.suffix.lower())
    if writer is None or scale != "none":
        out = colorize_image(decoded, engine, tiling, scale, observe, guide)
        images.atomic_write(dst, images.encode(out, dst.suffix.lower()))
        return
    h, w = decoded.shape[:2]
    has_alpha = decoded.ndim == 3 and decoded.shape[2] in (2, 4)
    _write_rows(dst, writer, w, h, 4 if has_alpha else 3,
                lambda emit: colorize_rows(decoded, engine, tiling, emit, observe, bgr=False, guide=guide))


def write_streamed(source: RowSource, dst: Path, engine: Engine, tiling: TileSettings,
                   guide: Guidance = Guidance()) -> None:
    """Rows in from a streamed decoder, rows out to a streamed encoder (PNG or TIFF): memory
    independent of the image height."""
    writer = stream_writer(dst.suffix.lower())
    if writer is None:
        raise ValueError(f"{dst}: streamed output needs .png or .tif")
    h, w, _ = source.shape
    _write_rows(dst, writer, w, h, 3, lambda emit: colorize_stream(source, engine, tiling, emit, guide))


def _write_rows(dst: Path, writer: Any, width: int, height: int, channels: int, produce: Any) -> None:
    with images.atomic_output(dst) as tmp, open(tmp, "wb") as fh:
        out = writer(fh, width, height, channels)
        try:
            produce(lambda start, rows: out.write_rows(rows))
            out.close()
        except BaseException:
            out.abort()
            raise
