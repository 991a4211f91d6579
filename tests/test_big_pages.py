"""Huge drawings whose objects are drawn big are coloured on a reduced copy and finished at full
size (batchcolor.colorize.reduced); posters of drawings at working size stay 1:1.

The sizes that pick the routes (16 MP streamed, a 4 MP reduced copy) are made small here, so
that a page of a few megapixels takes the huge drawings' routes in seconds.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from batchcolor.colorize import image as image_mod
from batchcolor.colorize import reduced
from batchcolor.colorize.guidance import guidance
from batchcolor.colorize.settings import InferenceSettings, open_engine
from batchcolor.drawing.paper import silhouette
from batchcolor.tiling.tiler import ArraySource
from batchcolor.tools.comicpage import balloon, paste

from conftest import REPO

EXAMPLES = REPO / "examples" / "lineart"


def _drawing(name: str, side: int) -> np.ndarray:
    gray = cv2.imread(str(EXAMPLES / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
    f = side / max(gray.shape)
    return cv2.resize(gray, (round(gray.shape[1] * f), round(gray.shape[0] * f)), interpolation=cv2.INTER_CUBIC)


def big_page() -> tuple[np.ndarray, dict[str, tuple[slice, slice]]]:
    """Two bordered panels, 1600 x 1200, each with a drawing about 900 px big (6x the card's
    scale) and a speech balloon."""
    page = np.full((1200, 1600), 255, np.uint8)
    cv2.rectangle(page, (20, 20), (790, 1180), 0, 5)
    cv2.rectangle(page, (810, 20), (1580, 1180), 0, 5)
    boot = paste(page, _drawing("shoes/boot", 820), 300, 60)
    bag = paste(page, _drawing("bags/handbag", 700), 420, 850)
    words = balloon(page, (1150, 180), (220, 110), ["WHAT A BAG", "and such boots"])
    return page, {"boot": boot, "bag": bag, "balloon": words}


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / max(np.mean((a.astype(np.float64) - b) ** 2), 1e-9)))


@pytest.fixture(scope="module")
def engine_and_guide():
    settings = InferenceSettings(precision="f32", scale="auto", cache_dir=None)
    engine, tiling = open_engine(settings)
    yield engine, tiling, guidance(settings, engine.card)
    engine.close()


@pytest.fixture()
def small_thresholds(monkeypatch):
    monkeypatch.setattr(image_mod, "STREAM_MIN_PIXELS", 1_000_000)
    monkeypatch.setattr(reduced, "REDUCED_MAX_PIXELS", 250_000)


def test_a_page_drawn_big_is_coloured_on_a_reduced_copy_and_finished_at_full_size(tmp_path, engine_and_guide,
                                                                                    monkeypatch):
    engine, tiling, guide = engine_and_guide
    page, regions = big_page()
    src = tmp_path / "page.png"
    cv2.imwrite(str(src), page)
    # in memory, as any page of this size is coloured: the reference
    whole = image_mod.colorize_image(page, engine, tiling, "auto", guide=guide)
    monkeypatch.setattr(image_mod, "STREAM_MIN_PIXELS", 1_000_000)
    monkeypatch.setattr(reduced, "REDUCED_MAX_PIXELS", 250_000)  # a copy reduced 4x: 400 x 300
    written = image_mod.colorize_file(src, tmp_path / "out.png", engine, tiling, "auto", guide)
    assert written.streamed and written.plan is None and (written.height, written.width) == page.shape
    out = cv2.imread(str(tmp_path / "out.png"))
    hsv = cv2.cvtColor(out, cv2.COLOR_BGR2HSV)
    objects = silhouette(page)
    for name in ("boot", "bag"):
        box = regions[name]
        inside = objects[box] & (page[box] > 200)  # the drawing's inside, off its lines
        assert out[box][inside].max(axis=1).mean() < 180, name  # coloured (the boot black), not paper
        lines = page[box] < 64
        assert out[box][lines].max(axis=1).mean() < 60, name  # its own lines, black at full size
    bag = regions["bag"]
    assert np.median(hsv[bag][:, :, 1][objects[bag] & (page[bag] > 200)]) > 40  # the bag brown
    diff = np.abs(out[regions["balloon"]].astype(int) - page[regions["balloon"]][:, :, None]).max(axis=2)
    assert np.mean(diff <= 2) > 0.99  # the balloon's lettering as drawn, sharp
    assert (out[5:15, :] >= 250).all()  # the margin above the panels is paper
    print("reduced route vs in memory:", round(_psnr(out, whole), 1), "dB")
    assert _psnr(out, whole) > 27


def test_a_poster_of_drawings_at_working_size_stays_one_to_one(tmp_path, engine_and_guide, small_thresholds):
    engine, tiling, guide = engine_and_guide
    poster = np.full((1100, 1100), 255, np.uint8)
    names = ["bags/handbag", "bags/clutch", "bags/tote", "shoes/boot", "shoes/pump", "shoes/sneaker"]
    for i in range(9):
        d = _drawing(names[i % 6], 150)  # at the card's scale
        paste(poster, d, 60 + (i // 3) * 340, 60 + (i % 3) * 340)
    src = tmp_path / "poster.png"
    cv2.imwrite(str(src), poster)
    written = image_mod.colorize_file(src, tmp_path / "auto.png", engine, tiling, "auto", guide)
    assert written.streamed and written.plan is not None  # tiled 1:1, as with --scale none
    image_mod.colorize_file(src, tmp_path / "none.png", engine, tiling, "none", guide)
    assert np.array_equal(cv2.imread(str(tmp_path / "auto.png")), cv2.imread(str(tmp_path / "none.png")))


def test_reduced_copy_is_the_mean_of_each_cell_and_bands_meet_without_a_seam():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (1003, 517, 1), dtype=np.uint8)
    small = reduced.reduced_copy(ArraySource(img), 4)
    cells = img[: 1000, : 516, 0].reshape(250, 4, 129, 4).astype(np.float64).mean(axis=(1, 3))
    assert small.shape == (250, 129, 1) and np.abs(small[:, :, 0] - cells).max() <= 0.5 + 1e-9
    colour = rng.integers(0, 256, (50, 40, 3), dtype=np.uint8)
    whole = reduced.resampled_rows(colour, 0, 200, 200, 160)
    banded = np.concatenate([reduced.resampled_rows(colour, t, 40, 200, 160) for t in range(0, 200, 40)])
    assert np.array_equal(whole, banded)
    assert np.abs(whole.astype(int) - cv2.resize(colour, (160, 200), interpolation=cv2.INTER_LINEAR)).max() <= 2


def test_finish_band_keeps_the_drawing_on_paper_and_multiplies_its_lines_on_objects():
    drawing = np.full((4, 6, 1), 255, np.uint8)
    drawing[:, 2] = 0  # a line
    drawing[:, 4] = 128  # an anti-aliased one
    colour = np.full((4, 6, 3), (200, 100, 50), np.uint8)
    weight = np.zeros((4, 6, 1), np.float32)
    weight[:, :3] = 1  # the left half is object
    out = reduced.finish_band(colour, weight, drawing, keep_lines=True)
    assert (out[:, 0] == (200, 100, 50)).all() and (out[:, 2] == 0).all()  # colour; the line over it
    assert (out[:, 4] == 128).all() and (out[:, 5] == 255).all()  # paper: the drawing's own pixels
    plain = reduced.finish_band(colour, weight, drawing, keep_lines=False)
    assert (plain[:, 2] == (200, 100, 50)).all()


def test_run_colours_a_17_mp_page_drawn_big_at_its_defaults(tmp_path):
    """The real thresholds, through the CLI: a 4800 x 3600 page (above 16 MP, streamed) whose
    drawings are 2100-2500 px comes out coloured, its lines and lettering as drawn."""
    from conftest import run_cli

    small, regions = big_page()
    page = cv2.resize(small, (4800, 3600), interpolation=cv2.INTER_CUBIC)
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "page.png"), page)
    r = run_cli("run", tmp_path / "in", tmp_path / "out", "--precision", "f32", "--no-cache")
    assert r.returncode == 0, r.stderr
    out = cv2.imread(str(tmp_path / "out" / "page.png"))
    assert out.shape == (3600, 4800, 3)
    bag = tuple(slice(s.start * 3, s.stop * 3) for s in regions["bag"])
    objects = cv2.resize(silhouette(small).astype(np.uint8), (4800, 3600), interpolation=cv2.INTER_NEAREST).astype(bool)
    inside = objects[bag] & (page[bag] > 200)
    hsv = cv2.cvtColor(out[bag], cv2.COLOR_BGR2HSV)
    assert np.median(hsv[:, :, 1][inside]) > 40  # the bag brown (1:1, it came out near white)
    assert out[bag][page[bag] < 64].max(axis=1).mean() < 60  # its lines black
    words = tuple(slice(s.start * 3, s.stop * 3) for s in regions["balloon"])
    diff = np.abs(out[words].astype(int) - page[words][:, :, None]).max(axis=2)
    assert np.mean(diff <= 2) > 0.99


def test_a_big_pencilled_page_has_its_pencil_dropped_at_full_size(tmp_path, engine_and_guide, small_thresholds):
    """A 600 dpi scan of inks over a blue pencil rough: the rough is found on the colour copy
    and dropped from every band at full size (lines 5 px wide there)."""
    from dataclasses import replace

    engine, tiling, guide = engine_and_guide
    page, regions = big_page()
    rng = np.random.default_rng(2)
    rough = np.full((*page.shape, 3), 255, np.uint8)
    for _ in range(25):
        a, b = rng.integers(0, [1600, 1200], (2, 2))
        cv2.line(rough, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), (235, 190, 120), 5, cv2.LINE_AA)
    cv2.ellipse(rough, (420, 700), (380, 480), 0, 0, 360, (235, 190, 120), 5, cv2.LINE_AA)
    pencilled = np.minimum(rough, cv2.cvtColor(page, cv2.COLOR_GRAY2BGR))
    cv2.imwrite(str(tmp_path / "clean.png"), page)
    cv2.imwrite(str(tmp_path / "pencilled.png"), pencilled)
    for name in ("clean", "pencilled"):
        image_mod.colorize_file(tmp_path / f"{name}.png", tmp_path / f"{name}_out.png", engine, tiling, "auto", guide)
    image_mod.colorize_file(tmp_path / "pencilled.png", tmp_path / "kept_out.png", engine, tiling, "auto",
                            replace(guide, construction=False))
    clean, dropped, kept = (cv2.imread(str(tmp_path / f"{n}_out.png")) for n in ("clean", "pencilled", "kept"))
    print("big pencilled page vs clean:", round(_psnr(dropped, clean), 1), "dB; kept:", round(_psnr(kept, clean), 1))
    assert _psnr(dropped, clean) > 30 and _psnr(kept, clean) < _psnr(dropped, clean) - 8
    lines = page < 64
    assert dropped[lines].max(axis=1).mean() < 60  # the ink stays, black
