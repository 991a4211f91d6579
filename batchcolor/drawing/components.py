"""Connected components, the fast way on this library's masks.

OpenCV's default labelling with statistics (Spaghetti, for 8-connectivity) measured 2.8x
slower here than Grana's block-based algorithm (BBDT) on line-art masks: 0.47 against 0.17 ms
at 256 x 256, 1.36 against 0.45 ms at 512 x 400, 6.7 against 2.5 ms at 1024^2 (one thread,
AMD Zen 4). Labels, statistics and centroids are identical (600 masks checked: line art,
its paper, random noise, 4- and 8-connected). A drawing has its strokes labelled four or five
times on its way through ``run``, so this is a millisecond per small drawing.
"""
from __future__ import annotations

import cv2
import numpy as np


def labelled(mask: np.ndarray, connectivity: int = 8) -> tuple[int, np.ndarray]:
    """``cv2.connectedComponents``: (count including the background, int32 labels)."""
    count, labels = cv2.connectedComponentsWithAlgorithm(_u8(mask), connectivity, cv2.CV_32S, cv2.CCL_GRANA)
    return int(count), labels


def with_stats(mask: np.ndarray, connectivity: int = 8) -> tuple[int, np.ndarray, np.ndarray]:
    """``cv2.connectedComponentsWithStats`` without the centroids: (count, labels, stats)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(_u8(mask), connectivity, cv2.CV_32S,
                                                                            cv2.CCL_GRANA)
    return int(count), labels, stats


def _u8(mask: np.ndarray) -> np.ndarray:
    return mask if mask.dtype == np.uint8 else mask.astype(np.uint8)
