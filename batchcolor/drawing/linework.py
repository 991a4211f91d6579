"""How heavy a drawing's ink is: its strokes' typical width.

Edge maps (HED, Canny, Sobel: the training data's kind) draw an object's edges as thin lines,
and under a thin line a photo is as light as beside it. A drawing inked with heavy strokes
(XDoG, an adaptive-threshold ink, a marker) draws its dark parts too: the shadow under a
welt, a black sole, a dark rim. The network reads every line as an edge and paints heavy ink
as light as the colour beside it: on the shoes hold-out re-drawn by XDoG, L* 57.7 on the
strokes where the photos have 31.3 (HED's strokes: 58.5 against 59.2). A colourist keeps the
ink. :meth:`Guidance.for_heavy_ink <batchcolor.colorize.guidance.Guidance.for_heavy_ink>`
does that, part way, above a width measured here.

Pure functions on whole images.
"""
from __future__ import annotations

import cv2
import numpy as np

from batchcolor.drawing.paper import LINE_LEVEL

MAX_HALF = 4  # px: ink deeper inside than this is a filled block's, counted no further (a black sole is heavy, not boundless)
MIN_INK = 20  # px of stroke: fewer and there is no line work to measure
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
_DISC = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * MAX_HALF + 1, 2 * MAX_HALF + 1))


def stroke_width(gray: np.ndarray) -> float | None:
    """Typical width, in px of ``gray``, of the drawing's strokes (None: next to no ink).

    The ink's coverage (darkness summed over the strokes and their anti-aliased rims) over
    the strokes' length, taken as half their outlines' length: a stroke of width w and
    length L has an outline of about 2L, a ring's two outlines average to its middle, and a
    one-pixel line, traced through its pixels' centres, measures its own length. So a 1 px
    line measures about 1 and a 3 px line 3, whatever their length and anti-aliasing. Ink
    more than :data:`MAX_HALF` px inside a stroke's edge is not counted: a solid block makes
    the ink heavier, as a colourist sees it, but not without bound."""
    strokes = (gray < LINE_LEVEL).astype(np.uint8)
    if int(np.count_nonzero(strokes)) < MIN_INK:
        return None
    outlines, _ = cv2.findContours(strokes, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    length = sum(cv2.arcLength(c, True) for c in outlines) / 2.0
    # (an erosion, not a distance transform: one byte a pixel on a 16 MP page, not four)
    core = cv2.erode(strokes, _DISC, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    counted = cv2.dilate(strokes, _CROSS).astype(bool) & (core == 0)
    coverage = float(np.sum(255 - gray[counted], dtype=np.int64)) / 255.0
    return coverage / max(length, 1.0)
