"""Marker shading: gray areas a designer laid on a sketch, coloured under as a shadow layer.

Product designers render a sketch with gray markers: the side away from the light, the inside
of a shoe, a cast shadow. The network learned from black lines on white and had never seen a
flat gray area inside an object: it painted the shaded side in a different, muddier colour,
with a hard seam along the marker's edge. A colourist lays the flats under the markers and
keeps the markers on *multiply*: the same colour, darker where the designer shaded.

So the shading is found (:func:`shade_mask`: areas at least :data:`SHADE_WIDTH` px across both
ways, lighter than ink and darker than the paper; lines, hatching and anti-aliased edges are
thinner), made paper for the network and the masks (:func:`without_shade`), and laid back over
the colour as a layer of its own (:func:`shade_layer`, multiplied inside the objects). Ink
darker than :data:`SHADE_DARKEST` (solid blacks) is ink, a line drawn over or along the
marker stays a line, gray reaching the picture's edge is paper (a scan's gray sheet), and
screentone is found before this.

Pure NumPy + OpenCV on 8-bit gray.
"""
from __future__ import annotations

import cv2
import numpy as np

from batchcolor.drawing.components import with_stats
from batchcolor.drawing.tones import without_tone

SHADE_DARKEST = 70  # darker than this is ink (a solid black), not a marker
SHADE_LIGHTEST = 235  # lighter than this is paper
SHADE_WIDTH = 7  # px: a marker stroke or area at least this wide both ways; lines are thinner
LINE_CONTRAST = 40  # a pixel this much darker than the marker round it (a thin dip) is a line
MIN_SHADE = 0.005  # share of the pixels: less is a speck, not shading


def shade_mask(gray: np.ndarray) -> np.ndarray | None:
    """bool H x W: the marker shading of an 8-bit gray drawing, or None where it has none."""
    mid = ((gray >= SHADE_DARKEST) & (gray <= SHADE_LIGHTEST)).astype(np.uint8)
    if cv2.countNonZero(mid) < MIN_SHADE * mid.size:
        return None  # (most drawings: lines and their anti-aliased edges only)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (SHADE_WIDTH, SHADE_WIDTH))
    areas = cv2.morphologyEx(mid, cv2.MORPH_OPEN, disk)
    if cv2.countNonZero(areas) < MIN_SHADE * mid.size:
        return None
    # gray reaching the picture's edge is paper (a scan's, a toned sheet's), not a marker on an object
    n, labels, stats = with_stats(areas)
    h, w = gray.shape
    x0, y0, x1, y1 = stats[:, 0], stats[:, 1], stats[:, 0] + stats[:, 2], stats[:, 1] + stats[:, 3]
    inner = (x0 > 0) & (y0 > 0) & (x1 < w) & (y1 < h)
    inner[0] = False
    areas = inner[labels].astype(np.uint8)
    if cv2.countNonZero(areas) < MIN_SHADE * mid.size:
        return None
    # the area's own anti-aliased rim belongs to it; a line drawn over it or along its edge,
    # darker than the marker beside it, stays a line (for the network and the paper mask)
    # (a black top-hat: how much darker than the closing, which fills lines but not the step
    # at the marker's own edge)
    dip = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    line = (gray < SHADE_DARKEST) | (dip > LINE_CONTRAST)
    return cv2.dilate(areas, np.ones((3, 3), np.uint8)).astype(bool) & ~line


# the drawing (H x W x C) with its shading made white paper: the step screentone takes
without_shade = without_tone


def shade_layer(gray: np.ndarray, shade: np.ndarray) -> np.ndarray:
    """H x W x 1 uint8: the shading alone on white, to multiply over the colour."""
    return np.where(shade, gray, np.uint8(255))[:, :, None]
