"""Coloured construction lines dropped: the inked drawing as a colourist colours it.

Comic and product artists rough a drawing out in light blue (non-photo blue) or red pencil and
ink over it in black; scanners and drawing apps keep both. A colourist drops the pencil out
first. Fed with it, the network read every construction line as a stroke: the paper mask
filled the criss-crossed area as one object, and the output was a brown mess shot through
with gray lines. So before anything else looks at a colour drawing, its construction lines
become paper:

* **a construction pixel** is off the paper's hue (its Lab a/b at least :data:`MIN_CHROMA` from
  the paper's, so a cream or yellowed sheet is not a colour), darker than the paper and
  lighter than ink (L* at least :data:`MIN_LIGHTNESS`: pencil, not a red or blue pen, whose
  anti-aliased rim is light too and stays with it);
* **only thin lines**: coloured areas wider than :data:`MAX_WIDTH` px (a flat, a logo) stay;
* **only beside black ink**: a drawing with no dark neutral ink (:data:`MIN_INK` of its pixels)
  is drawn in colour, and its lines are the drawing: nothing is dropped;
* **become the paper around them**: the brightest pixel within :data:`MAX_WIDTH` px, so a
  scan's uneven or cream paper stays even, with the line's anti-aliased fringe taken too.

Black ink crossing a construction line stays ink. Pure NumPy + OpenCV on 8-bit BGR.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MIN_CHROMA = 14.0  # Lab a/b distance from the paper's colour
MIN_LIGHTNESS = 55.0  # L* (0-100): darker coloured lines are ink, not pencil
MIN_DARKER = 4.0  # L* below the paper: the paper's own grain and tint are not lines
INK_LIGHTNESS = 35.0  # L* of ink
INK_CHROMA = 12.0  # ... and at most this far from neutral
MIN_INK = 0.002  # share of the pixels that must be black ink
MAX_WIDTH = 8  # px: coloured marks wider than this both ways are areas, not lines
MIN_PIXELS = 64  # fewer construction pixels than this: nothing to drop
MIN_SPREAD = 10  # max - min of B, G, R: below this on every pixel, a drawing has no colour to drop


@dataclass(frozen=True)
class Paper:
    """What the whole drawing says about its pencil: the paper's lightness (L*) and colour
    (Lab a, b), measured once so that a huge drawing's bands are judged alike."""

    light: float
    ab: tuple[float, float]


def construction_mask(bgr: np.ndarray) -> np.ndarray | None:
    """bool H x W: the construction lines of an 8-bit BGR drawing (and their fringes), or None."""
    paper = pencilled_paper(bgr)
    return None if paper is None else pencil_lines(bgr, paper)


def pencilled_paper(bgr: np.ndarray) -> Paper | None:
    """The paper of a drawing with black ink and enough coloured pixels to hold pencil, or None
    (no colour at all, or no black ink: a drawing in coloured lines keeps them)."""
    bgr = np.ascontiguousarray(bgr[:, :, :3])
    spread = cv2.subtract(cv2.max(cv2.max(bgr[:, :, 0], bgr[:, :, 1]), bgr[:, :, 2]),
                          cv2.min(cv2.min(bgr[:, :, 0], bgr[:, :, 1]), bgr[:, :, 2]))
    if cv2.countNonZero(cv2.threshold(spread, MIN_SPREAD - 1, 255, cv2.THRESH_BINARY)[1]) < MIN_PIXELS:
        return None  # (most drawings: no colour at all, found in a fraction of the full test)
    light, ab = _lab(bgr)
    paper_l = float(np.percentile(light[:: 4, :: 4], 90))
    bright = light >= paper_l - 2
    paper_ab = np.median(ab[bright], axis=0) if bright.any() else np.zeros(2, np.float32)
    if np.count_nonzero(_ink(light, ab)) < MIN_INK * light.size:
        return None  # drawn in colour: its coloured lines are the drawing
    return Paper(paper_l, (float(paper_ab[0]), float(paper_ab[1])))


def pencil_lines(bgr: np.ndarray, paper: Paper, width: int = MAX_WIDTH) -> np.ndarray | None:
    """bool H x W: the pencil lines of ``bgr`` on ``paper`` (lines up to ``width`` px wide, with
    their fringes), or None where there are too few; every step looks at most ``width`` px
    around a pixel, so rows can be judged a band at a time."""
    bgr = np.ascontiguousarray(bgr[:, :, :3])
    light, ab = _lab(bgr)
    off = np.hypot(ab[:, :, 0] - paper.ab[0], ab[:, :, 1] - paper.ab[1])
    ink = _ink(light, ab)
    hued = off >= MIN_CHROMA
    coloured = hued & (light >= MIN_LIGHTNESS) & (light <= paper.light - MIN_DARKER)
    pen = hued & (light < MIN_LIGHTNESS)  # dark coloured ink: its anti-aliased rim is light, and no pencil
    if pen.any():
        coloured &= ~cv2.dilate(pen.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if np.count_nonzero(coloured) < MIN_PIXELS:
        return None
    u8 = coloured.astype(np.uint8)
    wide = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width + 1, width + 1))
    areas = cv2.morphologyEx(u8, cv2.MORPH_OPEN, wide)
    lines = u8 & (1 - areas)
    if np.count_nonzero(lines) < MIN_PIXELS:
        return None
    # the anti-aliased fringe, paler than the threshold: the pixels beside a line that are not ink
    fringe = cv2.dilate(lines, np.ones((3, 3), np.uint8)).astype(bool) & ~ink & (light > INK_LIGHTNESS + 15)
    return (lines.astype(bool) | fringe) & ~areas.astype(bool)


def _lab(bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """L* (0-100) and Lab a, b of 8-bit BGR."""
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab)
    return lab[:, :, 0].astype(np.float32) * np.float32(100 / 255), lab[:, :, 1:].astype(np.float32) - 128


def _ink(light: np.ndarray, ab: np.ndarray) -> np.ndarray:
    return (light < INK_LIGHTNESS) & (np.hypot(ab[:, :, 0], ab[:, :, 1]) < INK_CHROMA)


def drop_construction(image: np.ndarray, mask: np.ndarray, width: int = MAX_WIDTH) -> np.ndarray:
    """8-bit BGR[A] with the ``mask``'s construction lines made paper (BGR: the brightest pixel
    within ``width`` px), or clear (BGRA: a layer's construction lines are no part of it; find
    them on the layer over white)."""
    out = image.copy()
    if image.shape[2] == 4:
        out[:, :, 3][mask] = 0
        return out
    paper = cv2.dilate(image, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1)))
    out[mask] = paper[mask]
    return out
