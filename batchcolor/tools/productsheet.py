"""Product sheets made from drawings, for tests and benchmarks: a drawing with its notes.

A design sheet names the parts of its drawing and gives its sizes: labels with leader lines,
a dimension line with arrowheads and a size under the drawing, a title. ``run`` must leave
the notes as drawn and colour the drawing as it colours it alone. Two kinds:

* ``floating``: every note stands on the paper (the leader ends on a dot beside the drawing);
* ``attached``: the leaders are drawn on into the drawing, to dots on the parts they name.

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
    """A gray sheet, the regions that must come back as drawn, and where the drawing is."""

    gray: np.ndarray
    as_drawn: dict[str, Box]
    drawing: Box


def product_sheet(drawing: np.ndarray, kind: str = "floating", side: int = 560, words: bool = True) -> Sheet:
    """``drawing`` (gray) at ``side`` px on an 1100 x 800 sheet with its notes (``words``
    False: the same lines with no lettering)."""
    if kind not in ("floating", "attached"):
        raise ValueError(f"kind must be floating or attached, got {kind!r}")
    page = np.full((800, 1100), 255, np.uint8)
    box = paste(page, fit(drawing, side), 120, 120)
    right = 120 + side
    cv2.arrowedLine(page, (400, 730), (140, 730), 0, 1, cv2.LINE_AA, tipLength=0.05)
    cv2.arrowedLine(page, (400, 730), (right - 20, 730), 0, 1, cv2.LINE_AA, tipLength=0.05)
    as_drawn = {"dimension": (slice(715, 745), slice(130, right - 10))}
    if kind == "floating":
        cv2.line(page, (right + 110, 242), (right + 20, 60), 0, 1, cv2.LINE_AA)
        cv2.circle(page, (right + 20, 60), 4, 0, -1, cv2.LINE_AA)
        as_drawn["leader"] = (slice(55, 245), slice(right + 14, right + 112))
        labels = [("LEATHER STRAP", right + 120, 250)]
    else:  # leaders from the words into the drawing
        labels = []
        for i, (text, y, depth) in enumerate((("LEATHER STRAP", 230, 0.25), ("BRASS BUCKLE", 400, 0.3), ("STITCHING 3mm", 560, 0.2))):
            tip = (int(right - depth * side), y + 20 * (i - 1))
            cv2.line(page, (right + 80, y - 8), tip, 0, 1, cv2.LINE_AA)
            cv2.circle(page, tip, 4, 0, -1, cv2.LINE_AA)
            labels.append((text, right + 90, y))
            as_drawn[f"leader {i}"] = (slice(y - 12, y - 4), slice(right + 40, right + 76))
    if words:
        cv2.putText(page, "32 cm", (370, 765), FONT, 0.8, 0, 2, cv2.LINE_AA)
        as_drawn["size"] = (slice(745, 772), slice(365, 450))
        for i, (text, x, y) in enumerate(labels):
            cv2.putText(page, text, (x, y), FONT, 0.9, 0, 2, cv2.LINE_AA)
            as_drawn[f"label {i}"] = (slice(y - 25, y + 5), slice(x - 5, min(1100, x + 250)))
        cv2.putText(page, "MODEL A-1 rev.2", (40, 60), FONT, 1.1, 0, 2, cv2.LINE_AA)
        as_drawn["title"] = (slice(30, 70), slice(35, 330))
    return Sheet(page, as_drawn, box)
