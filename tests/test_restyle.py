"""Re-drawing edge maps at another size and pen (benchmarks/sizes.py measures models with it)."""
from __future__ import annotations

import cv2
import numpy as np

from batchcolor.tools.restyle import redraw, thin


def _widths(mask: np.ndarray) -> np.ndarray:
    """Line thickness across a horizontal line: its rows per column where it is drawn."""
    cols = mask.sum(axis=0)
    return cols[cols > 0]


def test_thin_leaves_one_connected_centre_line():
    mask = np.zeros((64, 96), bool)
    mask[28:37, 10:86] = True  # a 9 px thick bar
    mask[10:55, 44:49] = True  # crossed by a 5 px one
    centre = thin(mask)
    assert centre.sum() > 70 and not (centre & ~mask).any()
    assert cv2.connectedComponents(centre.astype(np.uint8), connectivity=8)[0] == 2  # background + one line
    # no 2x2 block is left: the lines are one pixel thick
    blocks = centre[:-1, :-1] & centre[1:, :-1] & centre[:-1, 1:] & centre[1:, 1:]
    assert not blocks.any()
    assert abs(np.nonzero(centre[:, 20])[0].mean() - 32) <= 1  # in the middle of the bar


def test_redraw_sets_size_and_pen_whatever_the_source_lines():
    src = np.full((256, 256), 255, np.uint8)
    cv2.circle(src, (128, 128), 80, 0, 2)
    cv2.line(src, (60, 232), (200, 232), 0, 1)
    for size, width in [(128, 1), (512, 3), (1024, 2)]:
        out = redraw(src, size, width)
        assert out.shape == (size, size) and out.dtype == np.uint8 and set(np.unique(out)) <= {0, 255}
        lines = out < 128
        # the horizontal line at 232/256 of the height: exactly `width` rows thick where it is drawn
        row = int(round(232 * size / 256))
        band = lines[row - size // 40 : row + size // 40 + 1, int(size * 0.35) : int(size * 0.65)]
        assert np.median(_widths(band)) == width, (size, width, np.median(_widths(band)))
        # the circle is still one closed outline: its inside is a region of its own
        n, labels = cv2.connectedComponents((~lines).astype(np.uint8), connectivity=4)
        assert labels[size // 2, size // 2] != labels[2, 2]
