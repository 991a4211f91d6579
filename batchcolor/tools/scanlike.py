"""Clean line art made to look scanned or photographed: the paper users really feed ``run``.

Studios colour scans of pencil and ink drawings, and phone photos of sketchbook pages, far
more often than clean digital line art. What those add, and what this reproduces (seeded):

* **paper** that is not white: a level of 170-245 (a bright scan to a dim photo);
* **uneven light**: a linear fall-off of up to 40 levels across the page, in any direction;
* **ink** that is not black: pencil and pen at 40-110;
* **grain**: Gaussian noise of 2-7 levels;
* **JPEG**: quality 75-90, as scanners and phones save.

And negatives (:func:`negative_like`): light lines on dark paper, as a blueprint, chalk on a
blackboard or a dark-mode drawing app gives them; and notebook pages (:func:`notebook_like`):
the drawing on ruled, squared or dot-grid paper printed in gray.

Used by ``benchmarks/scans.py`` (the measured table) and the tests of
:mod:`batchcolor.drawing.levels`. Pure NumPy and OpenCV.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ScanStyle:
    """Ranges each scan's parameters are drawn from."""

    paper: tuple[float, float]
    falloff: tuple[float, float]
    ink: tuple[float, float]
    grain: tuple[float, float]
    quality: tuple[int, int]


SCANNER = ScanStyle(paper=(222, 245), falloff=(0, 20), ink=(60, 110), grain=(2, 4), quality=(85, 90))
PHONE = ScanStyle(paper=(170, 210), falloff=(15, 40), ink=(40, 90), grain=(4, 7), quality=(75, 85))
STYLES = {"scanner": SCANNER, "phone": PHONE}


def scan_like(drawing: np.ndarray, rng: np.random.Generator, style: ScanStyle = SCANNER) -> np.ndarray:
    """A uint8 gray drawing (dark lines on white, H x W) as a scan of it would come out."""
    h, w = drawing.shape
    ink_share = 1.0 - drawing.astype(np.float32) / 255.0  # 1 on a black line, 0 on white
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    along = (np.cos(angle) * (xx / max(w - 1, 1) - 0.5) + np.sin(angle) * (yy / max(h - 1, 1) - 0.5))
    paper = rng.uniform(*style.paper) + rng.uniform(*style.falloff) * along
    ink = rng.uniform(*style.ink)
    page = paper * (1.0 - ink_share) + ink * ink_share + rng.normal(0.0, rng.uniform(*style.grain), (h, w))
    page = np.clip(np.rint(page), 0, 255).astype(np.uint8)
    quality = int(rng.integers(style.quality[0], style.quality[1] + 1))
    ok, buf = cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


@dataclass(frozen=True)
class NegativeStyle:
    """Light lines on dark paper: the paper's and the lines' RGB, each moved by up to
    ``jitter`` levels a channel; grain, softened lines, JPEG quality (None: PNG); ``light``:
    how much brighter one side of the page is lit than the other (0.4: the light runs from
    0.8 to 1.2 times the colours, in a random direction), as a phone photo of a board sees it."""

    paper: tuple[int, int, int]
    line: tuple[int, int, int]
    jitter: float
    grain: tuple[float, float]
    soft: bool
    quality: tuple[int, int] | None
    light: tuple[float, float] = (0.0, 0.0)


WHITE_ON_BLACK = NegativeStyle(paper=(0, 0, 0), line=(255, 255, 255), jitter=0, grain=(0, 0), soft=False, quality=None)
BLUEPRINT = NegativeStyle(paper=(20, 80, 150), line=(240, 245, 250), jitter=15, grain=(0, 2), soft=True, quality=(85, 95))
BLACKBOARD = NegativeStyle(paper=(40, 70, 50), line=(220, 220, 215), jitter=10, grain=(3, 6), soft=True, quality=(75, 90))
BOARD_PHOTO = NegativeStyle(paper=(40, 70, 50), line=(220, 220, 215), jitter=10, grain=(3, 6), soft=True, quality=(75, 90),
                            light=(0.3, 0.6))
NEGATIVES = {"white-on-black": WHITE_ON_BLACK, "blueprint": BLUEPRINT, "blackboard": BLACKBOARD, "board-photo": BOARD_PHOTO}


def negative_like(drawing: np.ndarray, rng: np.random.Generator, style: NegativeStyle = BLUEPRINT) -> np.ndarray:
    """A uint8 gray drawing (dark lines on white, H x W) drawn light on dark paper: H x W x 3 RGB."""
    h, w = drawing.shape
    line_share = 1.0 - drawing.astype(np.float32) / 255.0
    if style.soft:  # a pen's or chalk's edge, not a pixel's
        line_share = cv2.GaussianBlur(line_share, (3, 3), 0)
    paper = np.float32(style.paper) + rng.uniform(-style.jitter, style.jitter, 3).astype(np.float32)
    line = np.float32(style.line) + rng.uniform(-style.jitter, style.jitter, 3).astype(np.float32)
    share = line_share[:, :, None]
    page = paper * (1.0 - share) + line * share
    if style.light[1] > 0:
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        along = np.cos(angle) * (xx / max(w - 1, 1) - 0.5) + np.sin(angle) * (yy / max(h - 1, 1) - 0.5)
        page = page * (1.0 + rng.uniform(*style.light) * along)[:, :, None]
    if style.grain[1] > 0:
        page = page + rng.normal(0.0, rng.uniform(*style.grain), (h, w, 1)).astype(np.float32)
    page = np.clip(np.rint(page), 0, 255).astype(np.uint8)
    if style.quality is None:
        return page
    quality = int(rng.integers(style.quality[0], style.quality[1] + 1))
    ok, buf = cv2.imencode(".jpg", page[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])


@dataclass(frozen=True)
class NotebookStyle:
    """A notebook's printed ruling: ``lines`` (ruled), ``squares`` (graph paper) or ``dots``,
    its spacing in px (any fraction) and its gray, drawn from these ranges."""

    kind: str
    spacing: tuple[float, float]
    level: tuple[int, int]


NOTEBOOKS = {"ruled": NotebookStyle("lines", (14, 22), (170, 215)),
             "squared": NotebookStyle("squares", (10, 16), (180, 220)),
             "dotted": NotebookStyle("dots", (10, 16), (140, 200))}


def notebook_like(drawing: np.ndarray, rng: np.random.Generator, style: NotebookStyle) -> np.ndarray:
    """A uint8 gray drawing (dark lines on white, H x W) drawn on a notebook page: H x W gray."""
    h, w = drawing.shape
    spacing = rng.uniform(*style.spacing)
    level = int(rng.integers(style.level[0], style.level[1] + 1))
    page = np.full((h, w), 255, np.uint8)
    phase_y, phase_x = rng.uniform(0, spacing, 2)
    rows = np.rint(np.arange(phase_y, h, spacing)).astype(int)
    cols = np.rint(np.arange(phase_x, w, spacing)).astype(int)
    rows, cols = rows[rows < h], cols[cols < w]
    if style.kind == "dots":
        for y in rows:
            for x in cols:
                cv2.circle(page, (int(x), int(y)), 1, level, -1)
    else:
        page[rows, :] = level
        if style.kind == "squares":
            page[:, cols] = level
    return np.minimum(page, drawing)
