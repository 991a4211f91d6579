"""Coloured construction lines (non-photo blue, red pencil) beside black ink are dropped before
colouring (batchcolor.drawing.construction); nothing else is."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from batchcolor.drawing.construction import construction_mask, drop_construction
from batchcolor.imageio.pixels import over_white

from conftest import DATA, REPO, run_cli

EXAMPLES = REPO / "examples" / "lineart"
BLUE, RED = (235, 190, 120), (120, 110, 235)  # BGR: a light blue pencil, a red one


def _example(name: str = "bags/handbag") -> np.ndarray:
    return cv2.imread(str(EXAMPLES / f"{name}.png"), cv2.IMREAD_COLOR)


def _pencilled(clean: np.ndarray, seed: int = 1, colours=(BLUE, RED)) -> np.ndarray:
    """The drawing over a rough of coloured pencil lines and ellipses (ink wins where they cross)."""
    rng = np.random.default_rng(seed)
    h, w = clean.shape[:2]
    rough = np.full_like(clean, 255)
    for i in range(30):
        a, b = rng.integers(0, [w, h], (2, 2))
        cv2.line(rough, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), colours[i % len(colours)], 1, cv2.LINE_AA)
    cv2.ellipse(rough, (w // 2, h // 2), (w // 3, h // 4), 0, 0, 360, colours[0], 2, cv2.LINE_AA)
    return np.minimum(rough, clean)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


@pytest.mark.parametrize("name", ["bags/handbag", "shoes/boot", "shoes/sneaker"])
def test_blue_and_red_pencil_lines_are_dropped_and_the_ink_stays(name):
    clean = _example(name)
    rough = _pencilled(clean)
    mask = construction_mask(rough)
    assert mask is not None
    pencil = np.abs(rough.astype(int) - clean).max(axis=2) > 40  # the lines' cores, off the ink
    assert mask[pencil].mean() > 0.98
    dropped = drop_construction(rough, mask)
    ink = clean.min(axis=2) < 100
    assert np.array_equal(dropped[ink], rough[ink])  # black ink, crossings included, untouched
    gray = lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2GRAY)
    assert _psnr(gray(dropped), gray(clean)) > 30, _psnr(gray(dropped), gray(clean))  # (as pencilled: about 20 dB)
    assert _psnr(gray(rough), gray(clean)) < 25


def test_drawings_without_coloured_pencil_are_left_alone():
    for path in sorted(EXAMPLES.rglob("*.png")):
        assert construction_mask(cv2.imread(str(path), cv2.IMREAD_COLOR)) is None, path


def test_the_hold_out_edge_maps_have_none():
    from batchcolor.tools import evaluate

    if not (DATA / "handbags-val").is_dir():
        pytest.skip(f"shared data not found at {DATA}")
    shoes = evaluate.load_eval_pairs(DATA / "shoes-train", 256, None, 100).edges
    bags = evaluate.load_eval_pairs(DATA / "handbags-val", 256, None, None).edges
    found = [i for i, e in enumerate(np.concatenate([shoes, bags])) if construction_mask(np.ascontiguousarray(e[:, :, ::-1])) is not None]
    assert found == []


def test_a_drawing_in_coloured_lines_only_keeps_them():
    """No black ink: the blue lines are the drawing (a ballpoint or coloured-pencil sketch)."""
    clean = _example()
    blue = np.where(clean < 128, np.array(BLUE, np.uint8), np.uint8(255)).astype(np.uint8)
    assert construction_mask(blue) is None


def test_dark_coloured_ink_and_coloured_areas_stay():
    """A dark red pen line is ink, and a flat of colour wider than a line is an area."""
    page = _example().copy()
    cv2.line(page, (20, 20), (300, 30), (30, 30, 150), 2, cv2.LINE_AA)  # dark red pen: L* about 30
    cv2.circle(page, (60, 300), 30, (90, 160, 235), -1)  # an orange flat
    cv2.line(page, (20, 330), (300, 340), BLUE, 1, cv2.LINE_AA)  # and one pencil line
    mask = construction_mask(page)
    assert mask is not None and mask[335, 100:250].any()
    assert not mask[18:33, 30:290].any()
    assert not mask[285:315, 45:75].any()  # the flat's inside (its rim may read as a fringe)


def test_cream_paper_with_colour_grain_and_jpeg_is_not_pencil():
    rng = np.random.default_rng(3)
    clean = _example()
    cream = np.array([210, 235, 245], np.float32)  # BGR
    page = clean.astype(np.float32) / 255 * cream + rng.normal(0, 4, clean.shape)
    ok, jpg = cv2.imencode(".jpg", np.clip(page, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 75])
    scan = cv2.imdecode(jpg, cv2.IMREAD_COLOR)
    mask = construction_mask(scan)
    assert mask is None or mask.sum() < 50, None if mask is None else mask.sum()
    # the same scan with pencil on it: found
    pencilled = np.minimum(scan, _pencilled(np.full_like(clean, 255), colours=(BLUE,)))
    assert construction_mask(pencilled) is not None


def test_a_line_layers_pencil_lines_become_clear():
    clean = _example()
    rough = _pencilled(clean)
    layer = np.dstack([np.zeros_like(clean), 255 - rough.min(axis=2)])  # (black, alpha: any ink)
    layer[:, :, :3] = rough  # the layer's own colours
    mask = construction_mask(over_white(layer))
    out = drop_construction(layer, mask)
    assert (out[:, :, 3][mask] == 0).all() and np.array_equal(out[:, :, :3], layer[:, :, :3])


def test_run_drops_the_pencil_and_keep_keeps_it(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    clean = _example()
    cv2.imwrite(str(src / "rough.png"), _pencilled(clean))
    cv2.imwrite(str(src / "clean.png"), clean)
    r = run_cli("run", src, tmp_path / "out", "--precision", "f32", "--no-cache")
    assert r.returncode == 0, r.stderr
    rough_out, clean_out = (cv2.imread(str(tmp_path / "out" / n)) for n in ("rough.png", "clean.png"))
    assert _psnr(rough_out, clean_out) > 30, _psnr(rough_out, clean_out)
    # --construction keep is part of the run's key: the drawings are done again, pencil and all
    r = run_cli("run", src, tmp_path / "out", "--precision", "f32", "--no-cache", "--construction", "keep")
    assert r.returncode == 0, r.stderr
    kept = cv2.imread(str(tmp_path / "out" / "rough.png"))
    assert _psnr(kept, clean_out) < 20, _psnr(kept, clean_out)


def test_a_bad_construction_value_is_a_usage_error(tmp_path):
    (tmp_path / "in").mkdir()
    r = run_cli("run", tmp_path / "in", tmp_path / "out", "--construction", "maybe")
    assert r.returncode == 2 and "construction" in r.stderr


def test_a_colour_file_without_pencil_comes_out_as_before(tmp_path):
    """Colour files are decoded in colour to look for pencil; with none found, the drawing is
    decoded as gray again, so its output is the one it had before the look (a colour JPEG's
    luma and the gray of its decoded colours differ by a level here and there)."""
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(5)
    tinted = _example().astype(np.int16) + rng.integers(-3, 4, (1, 1, 3)) * np.arange(3)  # a faint cast
    cv2.imwrite(str(src / "scan.jpg"), np.clip(tinted, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 80])
    for setting in ("drop", "keep"):
        r = run_cli("run", src, tmp_path / setting, "--precision", "f32", "--no-cache", "--construction", setting)
        assert r.returncode == 0, r.stderr
    assert np.array_equal(cv2.imread(str(tmp_path / "drop" / "scan.png")), cv2.imread(str(tmp_path / "keep" / "scan.png")))
