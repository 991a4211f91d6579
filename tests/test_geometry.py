"""Property tests of the pure tiling geometry and blend windows (no inference)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from batchcolor.tiling.blending import axis_weight_sum, axis_window, raised_cosine
from batchcolor.tiling.tiler import TileSettings
from batchcolor.tiling.geometry import BALANCE_MIN_SAVING, fit_axis, image_border, plan_axis, plan_tiles, reflect_indices, split_overlap


@st.composite
def axes(draw):
    stride = draw(st.sampled_from([1, 2, 4, 8, 16, 32]))
    tile = stride * draw(st.integers(1, 64))
    tile = max(tile, 2 * stride)
    overlap = draw(st.integers(0, tile - stride))
    length = draw(st.one_of(st.integers(1, 8), st.integers(1, 3000)))
    border = draw(st.one_of(st.none(), st.integers(0, tile)))  # None: the seam margin
    return length, tile, overlap, stride, border


@settings(max_examples=400, deadline=None)
@given(axes())
def test_axis_plan_invariants(case):
    length, tile, overlap, stride, border = case
    plan = plan_axis(length, tile, overlap, stride, border=border)
    b = image_border(overlap, None, border)
    assert b == (plan.margin if border is None else border)
    o = np.array(plan.origins)
    assert np.all(o % stride == 0), "every origin on the stride grid"
    assert np.all(np.diff(o) > 0)
    assert o[0] <= -b and o[0] > -b - stride, "just enough padded context before"
    assert plan.canvas_stop >= length + b, "enough context after the last pixel"
    assert plan.canvas_stop - stride < length + b or plan.count == 1, "last tile clamped back inside"
    for k in range(plan.count - 1):
        assert plan.shared(k) >= overlap
    total = axis_weight_sum(plan)
    assert total.shape == (length,)
    assert np.all(total > 0.5), "weights never vanish"
    if _ramps_disjoint(plan):  # then the windows form an exact partition of unity
        np.testing.assert_allclose(total, 1.0, atol=1e-6)


def _ramps_disjoint(plan) -> bool:
    return all(plan.shared(k - 1) + plan.shared(k) <= plan.tile for k in range(1, plan.count - 1))


@settings(max_examples=200, deadline=None)
@given(axes())
def test_windows_zero_in_margins_and_full_at_image_borders(case):
    length, tile, overlap, stride, border = case
    plan = plan_axis(length, tile, overlap, stride, border=border)
    m = plan.margin
    for k in range(plan.count):
        w = axis_window(plan, k)
        assert w.shape == (tile,) and w.min() >= 0 and w.max() <= 1
        if k > 0 and m:
            assert np.all(w[:m] == 0)
        if k < plan.count - 1 and m:
            assert np.all(w[-m:] == 0)
    assert axis_window(plan, 0)[0] == 1.0
    assert axis_window(plan, plan.count - 1)[-1] == 1.0


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 50), st.integers(-200, 100), st.integers(0, 300))
def test_reflect_indices(length, start, span):
    idx = reflect_indices(start, start + span, length)
    assert idx.shape == (span,)
    assert np.all((idx >= 0) & (idx < length))
    inside = np.arange(start, start + span)
    ok = (inside >= 0) & (inside < length)
    np.testing.assert_array_equal(idx[ok], inside[ok])


def test_reflect_matches_numpy_reflect_101():
    data = np.arange(7)
    padded = np.pad(data, (5, 6), mode="reflect")
    np.testing.assert_array_equal(data[reflect_indices(-5, 13, 7)], padded)


def test_ramps_are_complementary():
    r = raised_cosine(17)
    np.testing.assert_allclose(r + r[::-1], 1.0)
    assert r.min() > 0 and r.max() < 1


@pytest.mark.parametrize("shape", [(1, 1), (1, 5000), (5000, 1), (7, 9), (511, 513), (20000, 20000)])
def test_any_image_size_plans(shape):
    plan = plan_tiles(*shape, tile=512, overlap=128, stride=16)
    assert plan.rows.canvas_start <= 0 and plan.cols.canvas_stop >= shape[1]
    assert plan.count >= 1


def test_overhead_is_bounded_for_large_images():
    plan = plan_tiles(20000, 20000, tile=512, overlap=96, stride=16)
    assert plan.overhead() < 1.6


def test_split_overlap():
    assert split_overlap(128) == (48, 32)
    assert split_overlap(0) == (0, 0)
    with pytest.raises(ValueError):
        split_overlap(10, margin=6)


@pytest.mark.parametrize("tile,overlap,stride", [(48, 48, 16), (50, 8, 16), (64, 60, 16)])
def test_bad_geometry_is_refused_with_reason(tile, overlap, stride):
    with pytest.raises(ValueError, match="tile|overlap|stride"):
        plan_axis(100, tile, overlap, stride)


@settings(max_examples=300, deadline=None)
@given(axes(), st.integers(1, 3000))
def test_fit_axis_is_the_smallest_one_tile_axis(case, width):
    """An axis that fits gets one tile with its border at both ends, and no tile a stride
    smaller would do; one that does not fit gets the smallest tile that covers it with as
    many tiles as the card's size needs. The other axis has no say."""
    length, tile, overlap, stride, border = case
    fitted = fit_axis(length, tile, overlap, stride, border=border)
    assert fitted % stride == 0 and stride <= fitted <= tile
    b = image_border(overlap, None, border)
    try:
        at_card = plan_axis(length, tile, overlap, stride, border=border)
    except ValueError:  # no room to step at the card's size: the card's size, and planning refuses
        assert fitted == tile
        return
    axis = plan_axis(length, fitted, overlap, stride, border=border)
    assert axis.canvas_start <= -b and axis.canvas_stop >= length + b
    assert axis.count <= at_card.count, "never more tiles than at the card's size"
    if at_card.count == 1 and fitted < tile:
        assert fitted - stride < length + 2 * (-(-b // stride) * stride), "origins sit on the stride grid"
    elif fitted < tile:
        assert axis.count * fitted <= (1 - BALANCE_MIN_SAVING) * at_card.count * tile, "worth leaving the static model"
        if fitted - stride >= overlap + stride:
            assert plan_axis(length, fitted - stride, overlap, stride, border=border).count > at_card.count, \
                "a stride smaller would need more tiles"
    other = fit_axis(width, tile, overlap, stride, border=border)
    plan = plan_tiles(length, width, (fitted, other), overlap, stride, border=border)
    assert plan.tile_shape == (fitted, other)
    assert plan.network_pixels() == plan.count * fitted * other


def test_a_one_tile_drawing_needs_no_room_to_step():
    """The overlap only matters between tiles: a 200 px drawing with a 16 px border fits a
    240 px tile even though a 272 px overlap could never step inside it."""
    assert fit_axis(200, 768, 272, 16, border=16) == 240
    assert fit_axis(150, 768, 272, 16, border=16) == 192
    plan = plan_tiles(200, 150, (240, 192), 272, 16, border=16)
    assert plan.count == 1 and plan.rows.origins == (-16,) and plan.cols.origins == (-16,)
    with pytest.raises(ValueError, match="overlap"):
        plan_axis(300, 240, 272, 16, border=16)  # two tiles would be needed: refused, as before
    assert fit_axis(200, 768, 272, 16) == 432  # no border: the seam margin (102 -> 112 px)


def test_each_axis_of_a_drawing_is_fitted_on_its_own():
    """A 300 x 500 drawing runs as one 336 x 544 tile (a square one would be 544 x 544: 62%
    more network work), and a banner 300 px tall as a row of 336 px tall tiles; an axis that
    needs several tiles gets as many, each the smallest size that covers it where that saves
    a tenth or more, and ``adaptive=False`` keeps the card's square tile."""
    card = TileSettings(768, 272, pad_value=255, border=16)
    assert card.plan(300, 500, 16).tile_shape == (336, 544)
    assert card.plan(500, 300, 16).tile_shape == (544, 336)
    banner = card.plan(300, 20000, 16)
    assert banner.tile_shape == (336, 768) and banner.rows.count == 1 and banner.cols.count > 30
    assert card.plan(1000, 300, 16).tile_shape == (656, 336)  # two 656 px tiles, not two of 768: 15% less
    assert card.plan(1000, 1000, 16).count == plan_tiles(1000, 1000, 768, 272, 16, border=16).count == 4
    assert card.plan(2000, 3000, 16).tile_shape == (768, 768)  # 720 x 736 would save 2-6% only
    assert card.plan(6144, 6144, 16).tile_shape == (768, 768)
    fixed = TileSettings(768, 272, pad_value=255, border=16, adaptive=False)
    assert fixed.plan(300, 500, 16).tile_shape == (768, 768)
