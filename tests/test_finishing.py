"""The finishing steps a card can ask for, on real pixels: paper kept outside the objects,
hint colours spread by distance, and both through the one image path with a real model."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from batchcolor.drawing.chroma import spread_points
from batchcolor.drawing.paper import keep_paper, silhouette
from batchcolor.tools import synthetic
from batchcolor.tools.metrics import rgb_to_lab

from conftest import run_cli


def _outline(closed: bool = True, gap: int = 0) -> np.ndarray:
    drawing = np.full((120, 160), 255, np.uint8)
    cv2.ellipse(drawing, (80, 60), (50, 35), 0, 0, 360 if closed else 360 - gap, 0, 2)
    return drawing


def test_silhouette_fills_a_closed_outline_and_one_with_a_small_gap():
    full = silhouette(_outline())
    assert full[60, 80] and full[60, 35] and not full[5, 5] and not full[60, 150]
    gapped = silhouette(_outline(closed=False, gap=8), extent=100)  # an 8-degree gap: a few px
    assert gapped[60, 80] and (gapped & ~full).sum() < 0.05 * full.sum()


def test_an_open_stroke_falls_back_to_its_hull_and_blank_paper_is_empty():
    drawing = np.full((100, 100), 255, np.uint8)
    cv2.line(drawing, (10, 90), (50, 10), 0, 2)
    cv2.line(drawing, (50, 10), (90, 90), 0, 2)  # a "^": nothing to fill, the hull is the guess
    hull = silhouette(drawing)
    assert hull[70, 50] and not hull[20, 10]
    assert not silhouette(np.full((50, 50), 255, np.uint8)).any()


def test_keep_paper_puts_the_drawings_own_paper_back_outside_only():
    drawing = _outline()
    drawing[drawing == 255] = 240  # cream paper
    painted = np.full((120, 160, 3), (90, 60, 40), np.uint8)  # the network painted everything
    out = keep_paper(painted, drawing)
    assert (out[2, 2] == 240).all() and (out[115, 150] == 240).all()
    assert (out[60, 80] == (90, 60, 40)).all() and (out[60, 40] == (90, 60, 40)).all()


def test_spread_points_gives_each_side_its_nearest_hint_and_keeps_paper_and_lines():
    drawing = np.full((60, 200), 255, np.uint8)
    cv2.line(drawing, (100, 10), (100, 50), 0, 1)  # a line in the middle of the object
    rgb = np.full((60, 200, 3), 255, np.uint8)
    rgb[10:50, 10:190] = (120, 110, 100)  # the network's brownish object
    rgb[10:50, 100] = (30, 30, 30)  # its drawn line
    colour = np.zeros((60, 200, 3), np.uint8)
    mask = np.zeros((60, 200), bool)
    colour[28:33, 20:25], mask[28:33, 20:25] = (200, 30, 30), True  # red on the left
    colour[28:33, 175:180], mask[28:33, 175:180] = (40, 60, 200), True  # blue on the right
    out = spread_points(rgb, colour, mask, drawing)
    left, right = rgb_to_lab(out[20:40, 20:60]), rgb_to_lab(out[20:40, 140:180])
    assert left[..., 1].mean() > 30, "left takes red (a* high)"
    assert right[..., 2].mean() < -20, "right takes blue (b* low)"
    assert (out[:10] == 255).all(), "paper untouched"
    assert (out[10:50, 100] == (30, 30, 30)).all(), "the drawing's line keeps the network's colour"
    hint = rgb_to_lab(out[28:33, 20:25]).reshape(-1, 3).mean(axis=0)
    want = rgb_to_lab(np.full((5, 5, 3), (200, 30, 30), np.uint8)).reshape(-1, 3).mean(axis=0)
    assert np.abs(hint - want).max() < 6, "under a hint, its own colour (lightness too)"


@pytest.fixture(scope="module")
def finishing_model(tmp_path_factory):
    """A hinted 1x1-conv model whose card asks for paper kept and hints spread by distance."""
    folder = tmp_path_factory.mktemp("models") / "finishing"
    card = synthetic.test_card("finishing", 1, 16, tile=64, overlap=16, hints=True)
    synthetic.save_with_card(synthetic.pointwise(9, seed=4), folder, card)
    doc = json.loads((folder / "card.json").read_text())
    doc.update({"paper": "keep", "color_transfer": "chroma", "hint_transfer": "distance"})
    (folder / "card.json").write_text(json.dumps(doc))
    return folder


def test_card_finishing_runs_through_tile_and_run_alike(finishing_model, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    drawing = cv2.cvtColor(_outline(), cv2.COLOR_GRAY2BGR)
    cv2.imwrite(str(src / "d.png"), drawing)
    layer = np.zeros((120, 160, 4), np.uint8)
    layer[55:60, 60:65] = (30, 30, 220, 255)  # a red dot (BGRA) inside the outline
    cv2.imwrite(str(src / "d.hints.png"), layer)
    r1 = run_cli("tile", src / "d.png", "-o", tmp_path / "tile.png", "--model", finishing_model, "--precision", "f32")
    r2 = run_cli("run", src, tmp_path / "out", "--model", finishing_model, "--precision", "f32", "--no-cache")
    assert r1.returncode == 0 and r2.returncode == 0, (r1.stderr, r2.stderr)
    a, b = cv2.imread(str(tmp_path / "tile.png")), cv2.imread(str(tmp_path / "out" / "d.png"))
    np.testing.assert_array_equal(a, b)
    assert (a[3, 3] == 255).all() and (a[115, 5] == 255).all(), "paper outside the outline stays the drawing's"
    inside = rgb_to_lab(np.ascontiguousarray(a[45:75, 50:110, ::-1]))
    assert inside[..., 1].mean() > 20, "the red dot spread over the object"
