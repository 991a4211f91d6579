"""Draw the example line art in ``examples/lineart/`` with code (no dataset files, no licences).

Product sketches in the style of the training edges: thin dark contours on white. Rerun to
regenerate: ``python examples/make_examples.py``.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

OUT = Path(__file__).resolve().parent / "lineart"


def spline(points, samples: int = 40) -> np.ndarray:
    """Catmull-Rom curve through ``points`` (N x 2), as int32 polyline points."""
    p = np.asarray(points, np.float64)
    p = np.vstack([p[0], p, p[-1]])
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        for t in np.linspace(0, 1, samples, endpoint=False):
            t2, t3 = t * t, t * t * t
            out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t3))
    out.append(p[-2])
    return np.rint(np.array(out)).astype(np.int32)


def canvas(h: int, w: int) -> np.ndarray:
    return np.full((h, w), 255, np.uint8)


def draw(img, pts, closed=False, thick=1):
    cv2.polylines(img, [spline(pts)], closed, 0, thick, cv2.LINE_AA)


def sneaker() -> np.ndarray:
    img = canvas(300, 420)
    draw(img, [(40, 230), (60, 150), (120, 120), (170, 90), (220, 95), (250, 130), (330, 160), (385, 195), (390, 230)])
    draw(img, [(30, 232), (390, 232), (395, 255), (40, 258), (30, 232)])
    draw(img, [(40, 245), (392, 245)])
    draw(img, [(170, 92), (175, 125), (215, 130), (222, 97)])
    for i in range(5):
        x = 190 + i * 22
        draw(img, [(x, 110 + i * 8), (x + 14, 122 + i * 8)], thick=2)
    draw(img, [(60, 200), (140, 190), (260, 205), (360, 210)])
    draw(img, [(90, 160), (110, 205)])
    return img


def boot() -> np.ndarray:
    img = canvas(420, 320)
    draw(img, [(90, 40), (200, 40), (205, 240), (250, 280), (290, 320), (295, 360), (60, 362), (70, 200), (90, 40)], closed=True)
    draw(img, [(60, 362), (58, 385), (296, 385), (295, 360)])
    draw(img, [(92, 60), (198, 60)])
    for y in range(90, 240, 30):
        cv2.circle(img, (150, y), 4, 0, 1, cv2.LINE_AA)
    draw(img, [(120, 240), (150, 230), (180, 245)])
    draw(img, [(205, 300), (250, 330), (290, 340)])
    return img


def pump() -> np.ndarray:
    img = canvas(300, 400)
    draw(img, [(50, 120), (90, 110), (130, 150), (200, 185), (290, 200), (360, 215), (375, 235), (340, 245), (150, 240), (80, 190), (60, 140), (50, 120)], closed=True)
    draw(img, [(60, 140), (75, 260), (92, 262), (95, 200)], thick=2)
    draw(img, [(130, 150), (170, 150), (230, 175)])
    return img


def handbag() -> np.ndarray:
    img = canvas(360, 380)
    draw(img, [(70, 130), (310, 130), (340, 320), (40, 320), (70, 130)], closed=True)
    draw(img, [(120, 130), (130, 50), (190, 35), (250, 50), (260, 130)], thick=2)
    draw(img, [(70, 130), (190, 200), (310, 130)])
    cv2.rectangle(img, (178, 195), (202, 222), 0, 1, cv2.LINE_AA)
    draw(img, [(55, 300), (325, 300)])
    return img


def tote() -> np.ndarray:
    img = canvas(380, 340)
    draw(img, [(60, 120), (280, 120), (270, 340), (70, 340), (60, 120)], closed=True)
    draw(img, [(100, 120), (110, 40), (150, 30), (160, 120)], thick=2)
    draw(img, [(180, 120), (190, 30), (230, 40), (240, 120)], thick=2)
    draw(img, [(80, 170), (260, 170)])
    draw(img, [(120, 230), (220, 230), (215, 290), (125, 290), (120, 230)], closed=True)
    return img


def clutch() -> np.ndarray:
    img = canvas(260, 400)
    draw(img, [(50, 70), (350, 70), (345, 200), (55, 200), (50, 70)], closed=True)
    draw(img, [(50, 70), (200, 140), (350, 70)])
    cv2.circle(img, (200, 140), 9, 0, 1, cv2.LINE_AA)
    return img


def inked_loafer() -> np.ndarray:
    """A loafer inked with heavy strokes, as a marker or brush drawing is: a 4 px outline,
    3 px seams, a solid black sole and hatching in the shade, about 260 px long (small enough
    that ``--scale auto`` does not enlarge its colouring 2x, where every line is kept whole;
    here ``--lines auto`` keeps the ink part way: see the README, "Heavy ink")."""
    img = canvas(210, 290)
    k = 0.68

    def at(points):
        return [(round(x * k), round(y * k)) for x, y in points]

    upper = [(40, 215), (55, 160), (110, 135), (170, 110), (230, 112), (265, 140), (330, 165), (380, 195), (388, 222)]
    draw(img, at(upper + [(40, 215)]), closed=True, thick=4)
    cv2.fillPoly(img, [spline(at([(36, 222), (388, 226), (392, 246), (44, 250), (36, 222)]))], 0, cv2.LINE_AA)
    draw(img, at([(168, 112), (178, 150), (240, 152), (262, 138)]), thick=3)
    draw(img, at([(178, 150), (200, 175), (250, 172), (262, 138)]), thick=3)
    draw(img, at([(60, 200), (150, 192), (260, 200), (370, 208)]), thick=3)
    for i in range(7):
        x = 70 + i * 12
        (x0, y0), (x1, y1) = at([(x, 212), (x + 22, 180)])
        cv2.line(img, (x0, y0), (x1, y1), 0, 2, cv2.LINE_AA)
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    inked = OUT.parent / "inked"  # beside lineart/: the tests' sheets and pins are made of lineart/'s six
    inked.mkdir(exist_ok=True)
    cv2.imwrite(str(inked / "loafer.png"), inked_loafer())
    for name, fn in [("sneaker", sneaker), ("boot", boot), ("pump", pump), ("handbag", handbag), ("tote", tote), ("clutch", clutch)]:
        sub = OUT / ("shoes" if name in ("sneaker", "boot", "pump") else "bags")
        sub.mkdir(exist_ok=True)
        cv2.imwrite(str(sub / f"{name}.png"), fn())


if __name__ == "__main__":
    main()
