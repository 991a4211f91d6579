"""Huge drawings whose objects are drawn big (a comic page scanned at 600 dpi): coloured on a
reduced copy, finished at full size band by band.

Above 16 MP a drawing is streamed, never whole in memory, and coloured 1:1: right for a poster
or a sheet of many small drawings, whose objects are drawn at working size. A 600 dpi A4 page
is 35 MP too, but its characters are 2000 px tall, and the network, trained on objects of
about ``card.scale`` px, filled them with texture-less mush; none of the page logic (panels,
balloons, tone, the paper mask) ran either. So ``--scale auto`` first reads the drawing once
into a copy reduced by a whole factor to at most :data:`REDUCED_MAX_PIXELS`, and measures its
objects there. If they are bigger than the model wants even on the copy, the copy is coloured
through the one-image path like any drawing (pages, balloons, tone, hints, paper and all), and
the output is made at full size, band by band from a second reading of the drawing:

    out = w * colour * lightness + (1 - w) * drawing

``colour`` and ``w`` (where the objects are, :func:`batchcolor.drawing.paper.object_weight`)
are the copy's, resampled to the band; ``lightness`` and ``drawing`` are the band's own full
pixels. So the lines, the lettering, the tone and the paper come out at full resolution, as
drawn, and the colour under the lines is the model's at its own scale. (Without kept lines,
``lightness`` is 1: the network's own, enlarged, lines.) A colour drawing's pencil rough
(:mod:`batchcolor.drawing.construction`) is found on a colour copy and dropped from every band
read at full size (:class:`PencilDropped`), for the copy and for the output alike.

The functions here are the pure parts; :func:`batchcolor.colorize.image.colorize_file` reads
and writes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from batchcolor.drawing.construction import MAX_WIDTH, Paper, drop_construction, pencil_lines
from batchcolor.drawing.levels import level_rows
from batchcolor.imageio.pixels import gray_from_rgb
from batchcolor.tiling.tiler import RowSource, lightness

REDUCED_MAX_PIXELS = 4_000_000  # the reduced copy: measured and coloured in memory
BAND = 256  # full-size rows finished at a time


def reduction(pixels: int) -> int:
    """The whole factor that brings ``pixels`` to at most :data:`REDUCED_MAX_PIXELS`."""
    return max(2, math.ceil(math.sqrt(pixels / REDUCED_MAX_PIXELS)))


def reduced_copy(source: RowSource, k: int) -> np.ndarray:
    """``source`` shrunk by ``k`` (each k x k cell's mean), read top to bottom a band of rows at
    a time; the last rows and columns that do not fill a cell are left out."""
    height, width, channels = source.shape
    rows, cols = height // k, width // k
    out = np.empty((rows, cols, channels), np.uint8)
    step = k * max(1, BAND // k)
    for top in range(0, rows * k, step):
        n = min(step, rows * k - top)
        band = source.take_rows(np.arange(top, top + n))[:, : cols * k]
        small = cv2.resize(np.ascontiguousarray(band), (cols, n // k), interpolation=cv2.INTER_AREA)
        out[top // k : (top + n) // k] = small.reshape(n // k, cols, channels)
    return out


def resampled_rows(small: np.ndarray, top: int, count: int, height: int, width: int) -> np.ndarray:
    """Rows ``top`` .. ``top + count`` of ``small`` enlarged (bilinear) to ``height`` x
    ``width``, without enlarging all of it: pixel centres map as in a whole-image resize,
    so bands meet without a seam."""
    sh, sw = small.shape[:2]
    ys = (np.arange(top, top + count, dtype=np.float32) + 0.5) * np.float32(sh / height) - 0.5
    xs = (np.arange(width, dtype=np.float32) + 0.5) * np.float32(sw / width) - 0.5
    map_x = np.broadcast_to(xs[None, :], (count, width))
    map_y = np.broadcast_to(ys[:, None], (count, width))
    out = cv2.remap(small, np.ascontiguousarray(map_x), np.ascontiguousarray(map_y), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(count, width, -1) if out.ndim == 2 else out


def finish_band(colour: np.ndarray, weight: np.ndarray, drawing: np.ndarray, keep_lines: bool) -> np.ndarray:
    """uint8 RGB rows at full size: the model's ``colour`` (RGB) times the ``drawing``'s own
    lightness (``keep_lines``) where ``weight`` (H x W x 1 in [0, 1]) says object, the
    drawing's own pixels (gray or RGB) where it says paper."""
    rgb = drawing if drawing.shape[2] == 3 else np.repeat(drawing, 3, axis=2)
    painted = colour.astype(np.float32)
    if keep_lines:
        painted *= lightness(drawing)
    out = weight * painted + (1.0 - weight) * rgb.astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class PencilDropped:
    """A :class:`~batchcolor.tiling.tiler.RowSource` of a huge colour drawing's rows, its pencil
    dropped band by band on ``paper`` (measured on the reduced copy; lines ``k`` times the
    copy's widest), as gray (1 channel) or RGB, levelled by ``measured`` if given.

    Each band is judged with twice the widest line's width of rows of its neighbours on each
    side, so the steps that look round a pixel (the widest line, the paper beside it) see what
    a whole-image pass would. Judged at full size, ink crossing pencil stays ink; on the
    reduced copy the two mix in one pixel and the ink's crossing was taken with the pencil."""

    source: RowSource  # RGB rows (3 channels), read top to bottom
    paper: Paper
    k: int
    channels: int
    measured: list | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        h, w, _ = self.source.shape
        return h, w, self.channels

    def take_rows(self, index: np.ndarray) -> np.ndarray:
        h = self.source.shape[0]
        width = MAX_WIDTH * self.k
        lo, hi = int(index.min()), int(index.max()) + 1
        top, bottom = max(0, lo - 2 * width), min(h, hi + 2 * width)
        bgr = np.ascontiguousarray(self.source.take_rows(np.arange(top, bottom))[:, :, ::-1])
        mask = pencil_lines(bgr, self.paper, width)
        if mask is not None:
            bgr = drop_construction(bgr, mask, width)
        rgb = bgr[:, :, ::-1][index - top]
        rows = rgb if self.channels == 3 else gray_from_rgb(rgb)[:, :, None]
        return rows if self.measured is None else level_rows(rows, index, h, self.measured)
