"""Clean line art made to look scanned or photographed: the paper users really feed ``run``.

Studios colour scans of pencil and ink drawings, and phone photos of sketchbook pages, far
more often than clean digital line art. What those add, and what this reproduces (seeded):

* **paper** that is not white: a level of 170-245 (a bright scan to a dim photo);
* **uneven light**: a linear fall-off of up to 40 levels across the page, in any direction;
* **ink** that is not black: pencil and pen at 40-110;
* **grain**: Gaussian noise of 2-7 levels;
* **JPEG**: quality 75-90, as scanners and phones save.

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
