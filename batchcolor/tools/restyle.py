"""Re-draw an edge map at another size with lines of a chosen thickness.

Users draw 128-1024 px objects with 1-3 px pens, while the shared data is 256 px HED maps
whose lines are as thick as HED makes them. Resizing an edge map scales its lines with it (a
2 px line becomes 8 px at 1024), so to measure a model across sizes *and* pens the lines are
first reduced to their 1 px centre lines (Zhang-Suen thinning) at the new size, then drawn
again with a ``width`` x ``width`` square pen. Pure numpy and OpenCV, used by
``benchmarks/sizes.py``.
"""
from __future__ import annotations

import cv2
import numpy as np

LINE_LEVEL = 128  # gray level below which a pixel is a line


def thin(mask: np.ndarray, max_iterations: int = 256) -> np.ndarray:
    """The 1 px centre lines (8-connected) of a boolean mask, by Zhang-Suen thinning.

    Both sub-iterations are vectorised over the whole image; a line ``w`` px thick needs about
    ``w / 2`` iterations, so a 1024 px drawing with 8 px lines takes a few tens of ms."""
    img = np.pad(mask.astype(np.uint8), 1)
    for _ in range(max_iterations):
        changed = False
        for step in (0, 1):
            p = img
            # neighbours P2..P9, clockwise from north
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:], p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]]
            count = sum(x.astype(np.int32) for x in n)
            transitions = sum(((n[i] == 0) & (n[(i + 1) % 8] == 1)).astype(np.int32) for i in range(8))
            if step == 0:
                a, b = n[0] * n[2] * n[4], n[2] * n[4] * n[6]
            else:
                a, b = n[0] * n[2] * n[6], n[0] * n[4] * n[6]
            remove = (p[1:-1, 1:-1] == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & (a == 0) & (b == 0)
            if remove.any():
                img = img.copy()
                img[1:-1, 1:-1][remove] = 0
                changed = True
        if not changed:
            break
    return img[1:-1, 1:-1].astype(bool)


def redraw(edges: np.ndarray, size: int, width: int) -> np.ndarray:
    """A square gray edge map (dark lines on white, uint8) re-drawn at ``size`` x ``size`` with
    ``width`` px black lines on white."""
    gray = edges if edges.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(edges[:, :, :3]), cv2.COLOR_RGB2GRAY)
    lines = (gray < LINE_LEVEL).astype(np.float32)
    shrink = min(1.0, size / gray.shape[0])
    cover = cv2.resize(lines, (size, size), interpolation=cv2.INTER_LINEAR if shrink == 1.0 else cv2.INTER_AREA)
    # shrunk by f, a 1 px line covers about f of a pixel: keep it a line
    centre = thin(cover >= 0.5 * shrink)
    if width > 1:
        centre = cv2.dilate(centre.astype(np.uint8), np.ones((width, width), np.uint8)) > 0
    return np.where(centre, 0, 255).astype(np.uint8)
