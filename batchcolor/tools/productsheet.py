"""Product sheets made from drawings, for tests and benchmarks: a drawing with its notes.

A design sheet names the parts of its drawing and gives its sizes: labels with leader lines,
a dimension line with arrowheads and a size under the drawing, a title. ``run`` must leave
the notes as drawn and colour the drawing as it colours it alone. Two kinds:

* ``floating``: every note stands on the paper (the leader ends on a dot beside the drawing);
* ``attached``: the leaders are drawn on into the drawing, to dots on the parts they name;
* ``elbowed``: the same leaders as a CAD callout draws them, a short level landing from the
  words, then a slant into the drawing;
* ``dimensioned``: the sizes are dimensioned as in a technical drawing: extension lines from
  the drawing's extremes (touching it) to past a dimension line below it and one beside it,
  which close cells of paper with the drawing's edge.

Pure NumPy + OpenCV.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from batchcolor.tools.comicpage import Box, fit, paste

FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class Sheet:
    """A gray sheet, the regions that must come back as drawn, where the drawing is, and the
    sheet with the drawing alone (what its colouring on the sheet is compared with)."""

    gray: np.ndarray
    as_drawn: dict[str, Box]
    drawing: Box
    alone: np.ndarray


def product_sheet(drawing: np.ndarray, kind: str = "floating", side: int = 560, words: bool = True, past: int = 10) -> Sheet:
    """``drawing`` (gray) at ``side`` px on an 1100 x 800 sheet with its notes (``words``
    False: the same lines with no lettering; ``past``: how far a dimensioned sheet's
    extension lines run past the dimension line, 0 to stop at it)."""
    if kind not in ("floating", "attached", "elbowed", "dimensioned"):
        raise ValueError(f"kind must be floating, attached, elbowed or dimensioned, got {kind!r}")
    page = np.full((800, 1100), 255, np.uint8)
    box = paste(page, fit(drawing, side), 120, 120)
    right = 120 + side
    if kind == "dimensioned":
        return _dimensioned(page, box, words, past)
    # alone: the drawing's box as it is on the sheet (an attached leader's part inside the
    # drawing stays, as the paper mask leaves it a stroke of the object)
    alone = np.full_like(page, 255)
    cv2.arrowedLine(page, (400, 730), (140, 730), 0, 1, cv2.LINE_AA, tipLength=0.05)
    cv2.arrowedLine(page, (400, 730), (right - 20, 730), 0, 1, cv2.LINE_AA, tipLength=0.05)
    as_drawn = {"dimension": (slice(715, 745), slice(130, right - 10))}
    if kind == "floating":
        cv2.line(page, (right + 110, 242), (right + 20, 60), 0, 1, cv2.LINE_AA)
        cv2.circle(page, (right + 20, 60), 4, 0, -1, cv2.LINE_AA)
        as_drawn["leader"] = (slice(55, 245), slice(right + 14, right + 112))
        labels = [("LEATHER STRAP", right + 120, 250)]
    else:  # leaders from the words into the drawing (elbowed: a level landing, then a slant)
        labels = []
        for i, (text, y, depth) in enumerate((("LEATHER STRAP", 230, 0.25), ("BRASS BUCKLE", 400, 0.3), ("STITCHING 3mm", 560, 0.2))):
            tip = (int(right - depth * side), y + 20 * (i - 1))
            if kind == "elbowed":
                cv2.line(page, (right + 80, y - 8), (right + 40, y - 8), 0, 1, cv2.LINE_AA)
                cv2.line(page, (right + 40, y - 8), (tip[0], tip[1] + 60), 0, 1, cv2.LINE_AA)
                tip = (tip[0], tip[1] + 60)
                as_drawn[f"leader {i}"] = (slice(y - 12, y - 4), slice(right + 44, right + 76))
            else:
                cv2.line(page, (right + 80, y - 8), tip, 0, 1, cv2.LINE_AA)
                as_drawn[f"leader {i}"] = (slice(y - 12, y - 4), slice(right + 40, right + 76))
            cv2.circle(page, tip, 4, 0, -1, cv2.LINE_AA)
            labels.append((text, right + 90, y))
    if words:
        cv2.putText(page, "32 cm", (370, 765), FONT, 0.8, 0, 2, cv2.LINE_AA)
        as_drawn["size"] = (slice(745, 772), slice(365, 450))
        for i, (text, x, y) in enumerate(labels):
            cv2.putText(page, text, (x, y), FONT, 0.9, 0, 2, cv2.LINE_AA)
            as_drawn[f"label {i}"] = (slice(y - 25, y + 5), slice(x - 5, min(1100, x + 250)))
        cv2.putText(page, "MODEL A-1 rev.2", (40, 60), FONT, 1.1, 0, 2, cv2.LINE_AA)
        as_drawn["title"] = (slice(30, 70), slice(35, 330))
    alone[box] = page[box]
    return Sheet(page, as_drawn, box, alone)


def _dimensioned(page: np.ndarray, box: Box, words: bool, past: int) -> Sheet:
    """The drawing's width dimensioned below it and its height to its left, each with two
    extension lines from the drawing's extreme points to ``past`` px past the dimension line."""
    alone = page.copy()  # (the extension lines reach into the drawing's box: alone is the drawing only)
    ys, xs = np.nonzero(page[box] < 128)
    ys, xs = ys + box[0].start, xs + box[1].start
    left, right, top, bottom = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    below, beside = bottom + 45, left - 45
    as_drawn: dict[str, Box] = {}
    for x in (left, right):  # width: down from the lowest ink in the extreme column
        start = int(ys[xs == x].max())
        cv2.line(page, (x, start), (x, below + past), 0, 1, cv2.LINE_AA)
    for y in (top, bottom):  # height: left from the leftmost ink in the extreme row
        start = int(xs[ys == y].min())
        cv2.line(page, (start, y), (beside - past, y), 0, 1, cv2.LINE_AA)
    mid_x, mid_y = (left + right) // 2, (top + bottom) // 2
    cv2.arrowedLine(page, (mid_x, below), (left, below), 0, 1, cv2.LINE_AA, tipLength=0.04)
    cv2.arrowedLine(page, (mid_x, below), (right, below), 0, 1, cv2.LINE_AA, tipLength=0.04)
    cv2.arrowedLine(page, (beside, mid_y), (beside, top), 0, 1, cv2.LINE_AA, tipLength=0.04)
    cv2.arrowedLine(page, (beside, mid_y), (beside, bottom), 0, 1, cv2.LINE_AA, tipLength=0.04)
    as_drawn["dimension"] = (slice(below - 6, below + 7), slice(left + 8, right - 7))
    as_drawn["height"] = (slice(top + 8, bottom - 7), slice(beside - 6, beside + 7))
    # the paper between the drawing's edge and each dimension line, which their extension lines box in
    as_drawn["paper below"] = (slice(bottom + 12, below - 8), slice(left + 8, right - 7))
    as_drawn["paper beside"] = (slice(top + 8, bottom - 7), slice(beside + 8, left - 12))
    if words:
        cv2.putText(page, "32 cm", (mid_x - 35, below + 30), FONT, 0.8, 0, 2, cv2.LINE_AA)
        as_drawn["size"] = (slice(below + 10, below + 37), slice(mid_x - 40, mid_x + 45))
        cv2.putText(page, "18 cm", (max(0, beside - 95), mid_y + 8), FONT, 0.8, 0, 2, cv2.LINE_AA)
        as_drawn["height size"] = (slice(mid_y - 15, mid_y + 15), slice(max(0, beside - 100), beside - 12))
    return Sheet(page, as_drawn, box, alone)
