"""How big are the drawn objects? The measure behind ``--scale auto``.

A network trained on objects of about ``card.scale`` px colours an object of another size
worse (texture-less mush when it is much bigger, blobs when much smaller), so ``auto``
resizes each drawing to bring its objects to that size. The image's extent is the wrong
measure: a sheet of nine 256 px drawings is 800 px wide, and a comic page is a page, not a
character. So objects are found as groups of strokes:

1. lines are pixels darker than the paper (< 160 of 255);
2. strokes a few px apart are joined (a small closing), so one drawing with broken or
   detached inner lines is one group, while drawings separated by white space stay apart;
3. groups whose box lies inside a bigger group's box are details of it (an eye inside a
   face, a buckle inside a shoe), not objects of their own;
4. the extent is the ink-weighted median of the remaining groups' longer sides, so a few
   specks or one big frame do not decide it.

Pure NumPy + OpenCV on a gray image; big images are measured on a reduced copy.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

LINE_LEVEL = 160
MEASURE_SIDE = 1024  # measure on at most this many px per side
JOIN_PX = 3  # strokes closer than about twice this (at the measured size) join
MAX_GROUPS = 400


def object_extent(gray: np.ndarray) -> float | None:
    """Typical longer side, in px of ``gray``, of the drawn objects; None on blank paper."""
    found = _groups(gray)
    return None if found is None else _extent(*found)


def _extent(boxes: np.ndarray, shrink: float) -> float | None:
    sides = np.maximum(boxes[:, 2], boxes[:, 3]).astype(np.float64) - 2 * JOIN_PX
    weights = boxes[:, 4].astype(np.float64)
    keep = sides >= 4
    if not keep.any():
        return None
    return float(_weighted_median(np.maximum(sides[keep], 1.0), weights[keep]) * shrink)


@dataclass(frozen=True)
class DrawnObjects:
    """A drawing's objects as ``--scale auto`` measures them: the typical longer side (None on
    blank paper) and the boxes of those big enough to colour alone, largest first."""

    extent: float | None
    boxes: list[tuple[int, int, int, int]]


def measure_objects(gray: np.ndarray, min_fraction: float = 0.25) -> DrawnObjects:
    """:func:`object_extent` and :func:`object_boxes` from one pass over the stroke groups:
    they are most of the time of both, and ``run``'s default path needs both, and the extent
    again for the paper mask."""
    found = _groups(gray)
    if found is None:
        return DrawnObjects(None, [])
    boxes, shrink = found
    extent = _extent(boxes, shrink)
    if extent is None:
        return DrawnObjects(None, [])
    h, w = (gray.shape[0], gray.shape[1])
    out = []
    for x, y, bw, bh, _ in boxes[np.argsort(-(boxes[:, 2] * boxes[:, 3]))]:
        if max(bw, bh) * shrink < min_fraction * extent:
            continue
        x0, y0 = max(0, int((x + JOIN_PX) * shrink)), max(0, int((y + JOIN_PX) * shrink))
        x1, y1 = min(w, int(np.ceil((x + bw - JOIN_PX) * shrink))), min(h, int(np.ceil((y + bh - JOIN_PX) * shrink)))
        if x1 > x0 and y1 > y0:
            out.append((x0, y0, x1, y1))
    return DrawnObjects(extent, out)


def object_boxes(gray: np.ndarray, min_fraction: float = 0.25) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) of the drawn objects, in px of ``gray``, largest first.

    Groups smaller than ``min_fraction`` of the typical object (specks, signatures) are left
    out: they are not drawings to colour on their own."""
    return measure_objects(gray, min_fraction).boxes


def _groups(gray: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Outermost stroke groups as (x, y, w, h, ink) rows at the measured size, and the shrink."""
    g = gray[:, :, 0] if gray.ndim == 3 else gray
    h, w = g.shape
    shrink = max(1.0, max(h, w) / MEASURE_SIDE)
    if shrink > 1:
        g = cv2.resize(g, (max(1, round(w / shrink)), max(1, round(h / shrink))), interpolation=cv2.INTER_AREA)
        # thin lines fade when shrunk: a pixel with any ink in it is still a line
        lines = g < 255 - (255 - LINE_LEVEL) / shrink
    else:
        lines = g < LINE_LEVEL
    if not lines.any():
        return None
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * JOIN_PX + 1, 2 * JOIN_PX + 1))
    joined = cv2.dilate(lines.astype(np.uint8), kernel)
    n, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    boxes = stats[1:]  # x, y, w, h, area (of the dilated group)
    if len(boxes) > MAX_GROUPS:
        boxes = boxes[np.argsort(-boxes[:, 4])[:MAX_GROUPS]]
    return _outermost(boxes), shrink


def _outermost(boxes: np.ndarray) -> np.ndarray:
    """Drop groups whose box lies inside a larger group's box; their ink counts for it."""
    x0, y0 = boxes[:, 0], boxes[:, 1]
    x1, y1 = x0 + boxes[:, 2], y0 + boxes[:, 3]
    area = boxes[:, 2].astype(np.int64) * boxes[:, 3]
    inside = ((x0[:, None] >= x0[None]) & (y0[:, None] >= y0[None]) & (x1[:, None] <= x1[None])
              & (y1[:, None] <= y1[None]) & (area[:, None] < area[None]))
    np.fill_diagonal(inside, False)
    out = boxes.copy()
    contained = inside.any(axis=1)
    for i in np.nonzero(contained)[0]:
        j = np.nonzero(inside[i])[0]
        out[j[np.argmax(area[j])], 4] += boxes[i, 4]
    return out[~contained]


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2)])
