"""What on a page is drawn but is not an object to colour: speech balloons and solid ink blocks.

The paper mask fills every closed outline and lets the model colour it. On a comic page two
kinds of closed shape are not objects:

* a **speech balloon** (an outline round lettering): coloured, it came out as a brown disc with
  its words smeared to gray;
* a **solid ink block** (a caption box, a black panel, a silhouette filled with ink): the
  model painted it mid-gray and its white lettering was lost.

A colourist leaves both as drawn. These functions recognise them among the paper mask's
filled shapes; the mask then leaves them out, so the output shows the drawing's own pixels
there. Pure functions on 0/1 masks of one shape's box; no model.

A balloon is told from a drawn object by its lettering: four or more small marks of one
height, most of them beside another on a line (words on rows), and nothing else inside the
outline. A shoe's eyelets or a boot's buttons are small marks too, but they are few, in a
column or a slant, and come with the object's long inner lines.
"""
from __future__ import annotations

import cv2
import numpy as np

from batchcolor.drawing.components import with_stats

SOLID_RADIUS = 3  # ink this many px deep on every side (at the mask's working size) is solid
SOLID_SHARE = 0.5  # a shape at least this share solid ink is a block, not an object
BALLOON_MARKS = 4  # a balloon's lettering has at least this many marks ...
BALLOON_MARK_HEIGHT = 0.3  # ... each at most this share of the balloon's height ...
BALLOON_ROWS = 0.6  # ... at least this share of them beside another on its line ...
BALLOON_INSIDE = 0.8  # ... and at least this share of the marks lies inside the outline
BALLOON_SOLIDITY = 0.8  # ... inside an outline this close to convex (area / hull area)
BALLOON_INK = 0.2  # and the lettering inks at most this share of the inside
BALLOON_LETTERS = 0.6  # at least this share of the marks are letter-sized (within 0.5-1.6x the typical height) ...
BALLOON_CENTRE = 0.2  # ... and their middle is within this share of its height and width of the shape's centroid
LABEL_MARKS = 3  # loose lettering (a label beside a drawing): at least this many marks ...
LABEL_ROWS = 0.8  # ... nearly all beside another on its line ...
LABEL_LINES = 3.5  # ... in a shape no taller than this many letters (a line or two of words)
LABEL_WIDTH = 3.0  # (or two marks, run-together words, in a row at least this many letters wide)


def is_solid_ink(shape: np.ndarray, strokes: np.ndarray) -> bool:
    """Whether a filled shape (bool, its box) is mostly ink too thick to be a line."""
    area = int(shape.sum())
    if area < (4 * SOLID_RADIUS) ** 2:
        return False
    ink = (strokes & shape).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * SOLID_RADIUS + 1, 2 * SOLID_RADIUS + 1))
    solid = cv2.morphologyEx(ink, cv2.MORPH_OPEN, kernel)
    return int(solid.sum()) >= SOLID_SHARE * area


def is_balloon(shape: np.ndarray, strokes: np.ndarray, hull_area: float) -> bool:
    """Whether a filled shape (bool, its box) is an outline round lettering and nothing else."""
    height = shape.shape[0]
    area = int(shape.sum())
    if area < BALLOON_SOLIDITY * hull_area:
        return False
    ink = (strokes & shape).astype(np.uint8)
    count, labels, stats = with_stats(ink)
    if count - 1 < BALLOON_MARKS + 1:
        return False
    boxes = stats[1:]
    outline = int(np.argmax(boxes[:, cv2.CC_STAT_WIDTH] * boxes[:, cv2.CC_STAT_HEIGHT]))
    marks = np.delete(boxes, outline, axis=0)
    heights = marks[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    typical = float(np.median(heights))
    if len(marks) < BALLOON_MARKS or typical > BALLOON_MARK_HEIGHT * height:
        return False
    if not _lettered(marks, typical, shape):
        return False
    # round the lettering: a box drawn with its name just under it closes into one shape with
    # the words, but the words are not inside the box (a cabinet came out uncoloured, as a caption)
    contours, _ = cv2.findContours((labels == outline + 1).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    within = np.zeros(ink.shape, np.uint8)
    cv2.drawContours(within, contours, -1, 1, cv2.FILLED)
    cy = np.clip(marks[:, 1] + marks[:, 3] // 2, 0, ink.shape[0] - 1)
    cx = np.clip(marks[:, 0] + marks[:, 2] // 2, 0, ink.shape[1] - 1)
    if within[cy, cx].mean() < BALLOON_INSIDE:
        return False
    # nothing inside but lettering: no mark much taller than the letters (a drawn inner line)
    if heights.max() > 2.5 * typical + 2:
        return False
    if marks[:, cv2.CC_STAT_AREA].sum() > BALLOON_INK * area:
        return False
    return _on_rows(marks, typical) >= BALLOON_ROWS


def _lettered(marks: np.ndarray, typical: float, shape: np.ndarray) -> bool:
    """Whether a balloon's marks read as its lettering, not an object's small parts.

    A balloon's words are letters of one size, set in its middle. A clutch with its clasp
    (one mark much bigger than the rest), a crossbody bag with its buckle at the bottom (the
    strap's triangle above), or a ballet flat with a few inner strokes (4 to 43 px tall) passed
    the older rules and came out uncoloured."""
    heights = marks[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    letters = marks[(heights >= 0.5 * typical) & (heights <= 1.6 * typical + 2)]
    if len(letters) < BALLOON_MARKS or len(letters) < BALLOON_LETTERS * len(marks):
        return False
    x0, y0 = letters[:, cv2.CC_STAT_LEFT], letters[:, cv2.CC_STAT_TOP]
    x1, y1 = x0 + letters[:, cv2.CC_STAT_WIDTH], y0 + letters[:, cv2.CC_STAT_HEIGHT]
    m = cv2.moments(shape.astype(np.uint8), binaryImage=True)
    h, w = shape.shape
    return (abs((x0.min() + x1.max()) / 2 - m["m10"] / m["m00"]) <= BALLOON_CENTRE * w
            and abs((y0.min() + y1.max()) / 2 - m["m01"] / m["m00"]) <= BALLOON_CENTRE * h)


def is_label(shape: np.ndarray, strokes: np.ndarray) -> bool:
    """Whether a filled shape (bool, its box) is loose lettering: words written beside a
    drawing ("LEATHER STRAP", "32 cm"), which the paper mask's closing merges into a blob.

    A product sheet names its parts and gives its sizes. Coloured, a label came out as a
    gray box round its words. Words are told from a drawn object as a balloon's are, by
    marks of one height on rows, here with no outline round them: the shape is no taller
    than a few letters."""
    ink = (strokes & shape).astype(np.uint8)
    count, _, stats = with_stats(ink)
    marks = stats[1:]
    if len(marks) < 2:
        return False
    heights = marks[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    typical = float(np.median(heights))
    if typical < 3 or shape.shape[0] > LABEL_LINES * typical or heights.max() > 1.6 * typical + 2:
        return False
    # letters, or (on a copy reduced for the masks, or written close) words run together
    if len(marks) < LABEL_MARKS and shape.shape[1] < LABEL_WIDTH * typical:
        return False
    return _on_rows(marks, typical) >= LABEL_ROWS


def _on_rows(marks: np.ndarray, typical: float) -> float:
    """Share of marks with another mark beside them on the same line: centres within half a
    letter's height of each other vertically, gaps of at most a letter's height across."""
    x0 = marks[:, cv2.CC_STAT_LEFT].astype(np.float64)
    x1 = x0 + marks[:, cv2.CC_STAT_WIDTH]
    cy = marks[:, cv2.CC_STAT_TOP] + marks[:, cv2.CC_STAT_HEIGHT] / 2.0
    same_line = np.abs(cy[:, None] - cy[None, :]) <= 0.5 * typical
    gap = np.maximum(x0[:, None] - x1[None, :], x0[None, :] - x1[:, None])
    beside = same_line & (gap <= typical)
    np.fill_diagonal(beside, False)
    return float(beside.any(axis=1).mean())
