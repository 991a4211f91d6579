"""Colorize decoded pixels straight into an output file, atomically.

PNG output at scale 1 is streamed: finished rows go from the merger through
:class:`~batchcolor.pngstream.PngWriter` into the temp file, so no output-sized array exists.
With a streamed reader in front (:mod:`batchcolor.streamread`) no input-sized array exists
either. Other formats (and ``--scale``, which resizes the whole result) encode from memory.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import images
from .colorize import colorize_image, colorize_rows, colorize_stream
from .engine import Engine
from .pngstream import PngWriter
from .tiler import RowSource, TileObserver, TileSettings


def write_colorized(decoded: np.ndarray, dst: Path, engine: Engine, tiling: TileSettings, scale: str = "none",
                    observe: TileObserver | None = None) -> None:
    suffix = dst.suffix.lower()
    if suffix != ".png" or scale != "none":
        out = colorize_image(decoded, engine, tiling, scale, observe)
        images.atomic_write(dst, images.encode(out, suffix))
        return
    h, w = decoded.shape[:2]
    has_alpha = decoded.ndim == 3 and decoded.shape[2] in (2, 4)
    with images.atomic_output(dst) as tmp, open(tmp, "wb") as fh:
        png = PngWriter(fh, w, h, 4 if has_alpha else 3)
        colorize_rows(decoded, engine, tiling, lambda start, rows: png.write_rows(rows), observe, bgr=False)
        png.close()


def write_streamed(source: RowSource, dst: Path, engine: Engine, tiling: TileSettings) -> None:
    """Rows in from a streamed decoder, PNG rows out: memory independent of the image height."""
    h, w, _ = source.shape
    with images.atomic_output(dst) as tmp, open(tmp, "wb") as fh:
        png = PngWriter(fh, w, h, 3)
        colorize_stream(source, engine, tiling, lambda start, rows: png.write_rows(rows))
        png.close()
