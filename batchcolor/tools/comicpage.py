"""Comic pages made from drawings, for tests and benchmarks: panels, balloons, captions, tone.

What ``run`` must leave as drawn on a page (speech balloons, a black caption box, screentone)
next to what it must colour (the drawings), with the regions of each, so that a check can
say which pixels came back as they were and which were coloured. Pure NumPy + OpenCV.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Box = tuple[slice, slice]


@dataclass(frozen=True)
class Page:
    """A gray page, the regions that must come back as drawn, and where each drawing is."""

    gray: np.ndarray
    as_drawn: dict[str, Box]
    drawings: list[Box]


def paste(page: np.ndarray, drawing: np.ndarray, top: int, left: int) -> Box:
    """Ink of ``drawing`` (gray) laid on ``page`` at (top, left); returns where it went."""
    h, w = drawing.shape
    box = (slice(top, top + h), slice(left, left + w))
    page[box] = np.minimum(page[box], drawing)
    return box


def balloon(page: np.ndarray, centre: tuple[int, int], axes: tuple[int, int], lines: list[str], tail: bool = True) -> Box:
    """An elliptic speech balloon with lettering (and a tail); returns its box."""
    cx, cy = centre
    cv2.ellipse(page, centre, axes, 0, 0, 360, 0, 2, lineType=cv2.LINE_AA)
    if tail:
        tip = [[cx + 20, cy + axes[1] - 4], [cx + 70, cy + axes[1] + 40], [cx + 40, cy + axes[1] - 2]]
        cv2.polylines(page, [np.array(tip)], False, 0, 2, lineType=cv2.LINE_AA)
    for i, text in enumerate(lines):
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 2)
        cv2.putText(page, text, (cx - tw // 2, cy - 10 * (len(lines) - 1) + 24 * i + th // 2), cv2.FONT_HERSHEY_SIMPLEX,
                    0.6, 0, 2, lineType=cv2.LINE_AA)
    return (slice(cy - axes[1] - 4, cy + axes[1] + 4), slice(cx - axes[0] - 4, cx + axes[0] + 4))


def caption(page: np.ndarray, left: int, top: int, text: str, width: int = 150, height: int = 70) -> Box:
    """A black caption box with white lettering; returns its box."""
    cv2.rectangle(page, (left, top), (left + width, top + height), 0, -1)
    cv2.putText(page, text, (left + 15, top + height // 2 + 7), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 2, lineType=cv2.LINE_AA)
    return (slice(top - 4, top + height + 4), slice(left - 4, left + width + 4))


def screentone(shape: tuple[int, int], pitch: int = 6, radius2: int = 3) -> np.ndarray:
    """bool: a grid of round dots, ``pitch`` px apart, of squared radius ``radius2``."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return ((yy % pitch - pitch // 2) ** 2 + (xx % pitch - pitch // 2) ** 2) <= radius2


def fit(drawing: np.ndarray, side: int) -> np.ndarray:
    """A gray drawing scaled so its longer side is ``side`` px."""
    h, w = drawing.shape
    f = side / max(h, w)
    return cv2.resize(drawing, (max(1, round(w * f)), max(1, round(h * f))),
                      interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)


def lettered_page(first: np.ndarray, second: np.ndarray, side: int = 340) -> Page:
    """Two bordered panels on a 640 x 900 page: a drawing and a balloon with a tail in each,
    and a black caption box 10 px from the lower panel's border (its rows are long runs, as
    a border's are)."""
    page = np.full((900, 640), 255, np.uint8)
    cv2.rectangle(page, (20, 20), (620, 440), 0, 3)
    cv2.rectangle(page, (20, 460), (620, 880), 0, 3)
    a, b = fit(first, side), fit(second, side)
    drawings = [paste(page, a, 230 - a.shape[0] // 2 + 30, 440 - a.shape[1] // 2),
                paste(page, b, 670 - b.shape[0] // 2, 200 - b.shape[1] // 2)]
    as_drawn = {"balloon 1": balloon(page, (150, 110), (105, 55), ["NEW BOOTS!", "Only $49"]),
                "balloon 2": balloon(page, (500, 560), (100, 50), ["Wow, a bag."], tail=False),
                "caption": caption(page, 460, 800, "LATER...")}
    return Page(page, as_drawn, drawings)


def toned_page(drawing: np.ndarray, side: int = 340, pitch: int = 6) -> Page:
    """One panel, 700 x 520: a sky of screentone above a drawing."""
    page = np.full((520, 700), 255, np.uint8)
    cv2.rectangle(page, (10, 10), (690, 510), 0, 3)
    d = fit(drawing, side)
    top = 500 - d.shape[0] - 10
    sky = (slice(15, min(180, top - 10)), slice(15, 686))  # (clear of the drawing)
    toned = np.zeros(page.shape, bool)
    toned[sky] = True
    page[screentone(page.shape, pitch) & toned] = 0
    box = paste(page, d, top, 350 - d.shape[1] // 2)
    return Page(page, {"tone": sky}, [box])
