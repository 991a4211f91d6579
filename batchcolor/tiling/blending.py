"""Blend windows for overlap-tile inference.

Each tile gets a separable window ``w(y, x) = wy(y) * wx(x)``. Along an axis the window is
zero over the ``margin`` at an edge shared with a neighbour (those pixels saw padding, not
context), rises over a raised-cosine ramp across the middle of the shared strip, and is one
elsewhere, including the whole way to the image's own border, where there is no neighbour to
hand over to. The rising ramp of one tile and the falling ramp of its neighbour are exact
complements, so in the common case the weights already sum to one; the merger still divides
by the true sum, which :func:`axis_weight_sum` gives in closed form because the 2-D sum of
separable windows is the product of the 1-D sums. The sum is never zero: every pixel lies in
some tile's non-margin part (checked by property tests). Because the sum is separable, the
division can be folded into the 1-D windows up front (:func:`normalised_axis_window`), so
the merger's accumulated bands are final values and need no per-pixel division.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from batchcolor.tiling.geometry import AxisPlan


def raised_cosine(n: int) -> np.ndarray:
    """Rising ramp sampled at pixel centres: strictly inside (0, 1), and
    ``raised_cosine(n) + raised_cosine(n)[::-1] == 1``."""
    t = (np.arange(n, dtype=np.float64) + 0.5) / max(n, 1)
    return 0.5 - 0.5 * np.cos(np.pi * t)


def axis_window(axis: AxisPlan, k: int) -> np.ndarray:
    """1-D window of tile ``k`` along ``axis`` (length ``axis.tile``, float32)."""
    return _axis_window(axis, k).astype(np.float32)


@lru_cache(maxsize=256)
def _axis_window(axis: AxisPlan, k: int) -> np.ndarray:
    t, m = axis.tile, axis.margin
    w = np.ones(t, dtype=np.float64)
    if k > 0:
        shared = axis.shared(k - 1)
        rise = np.zeros(t)
        rise[shared - m :] = 1.0
        rise[m : shared - m] = raised_cosine(shared - 2 * m)
        w *= rise
    if k < axis.count - 1:
        shared = axis.shared(k)
        w *= _axis_window_fall(t, m, shared)
    w.setflags(write=False)
    return w


def _axis_window_fall(t: int, m: int, shared: int) -> np.ndarray:
    fall = np.zeros(t)
    fall[: t - shared + m] = 1.0
    fall[t - shared + m : t - m] = 1.0 - raised_cosine(shared - 2 * m)
    return fall


def axis_weight_sum(axis: AxisPlan) -> np.ndarray:
    """Sum of all tiles' windows over the image pixels ``[0, axis.length)`` (float64)."""
    total = np.zeros(axis.canvas_stop - axis.canvas_start, dtype=np.float64)
    for k, origin in enumerate(axis.origins):
        lo = origin - axis.canvas_start
        total[lo : lo + axis.tile] += _axis_window(axis, k)
    start = -axis.canvas_start
    return total[start : start + axis.length]


def normalised_axis_window(axis: AxisPlan, k: int) -> np.ndarray:
    """Tile ``k``'s window divided by the weight sum (float32; 0 outside the image).

    The products of these over a tile grid sum to exactly one at every image pixel (up to
    float rounding), which is what lets the merger skip normalisation.
    """
    return _normalised_axis_window(axis, k)


@lru_cache(maxsize=256)
def _normalised_axis_window(axis: AxisPlan, k: int) -> np.ndarray:
    total = _axis_weight_sum(axis)
    origin = axis.origins[k]
    lo, hi = max(0, -origin), min(axis.tile, axis.length - origin)
    w = np.zeros(axis.tile, dtype=np.float64)
    w[lo:hi] = _axis_window(axis, k)[lo:hi] / total[origin + lo : origin + hi]
    out = w.astype(np.float32)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=64)
def _axis_weight_sum(axis: AxisPlan) -> np.ndarray:
    return axis_weight_sum(axis)
