"""Scanned paper made white before colouring (batchcolor.drawing.levels), on its own and
through `run` with the shipped model: a scan comes out as its clean drawing does."""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from batchcolor.drawing.levels import LevelledRows, level_paper, measure_grid, sample_rows
from batchcolor.tiling.geometry import reflect_indices
from batchcolor.tiling.tiler import ArraySource
from batchcolor.tools import metrics
from batchcolor.tools.scanlike import PHONE, SCANNER, scan_like

from conftest import REPO, run_cli

EXAMPLES = REPO / "examples" / "lineart"


def _drawing(name: str = "bags/handbag") -> np.ndarray:
    return cv2.imread(str(EXAMPLES / f"{name}.png"), cv2.IMREAD_GRAYSCALE)


def _paper_and_lines(clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels well away from any line, and the lines' cores, of a clean drawing."""
    ink = clean < 128
    near = cv2.dilate(ink.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    return ~near, clean < 64


@pytest.mark.parametrize("name", ["bags/handbag", "bags/clutch", "bags/tote", "shoes/boot", "shoes/pump", "shoes/sneaker"])
def test_a_drawing_on_clean_white_is_left_as_it_is(name):
    gray = _drawing(name)[:, :, None]
    assert level_paper(gray) is gray
    rgb = np.repeat(gray, 3, axis=2)
    assert level_paper(rgb) is rgb


@pytest.mark.parametrize("style", [SCANNER, PHONE], ids=["scanner", "phone"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_scans_paper_comes_out_white_and_its_lines_dark(style, seed):
    clean = _drawing()
    scan = scan_like(clean, np.random.default_rng(seed), style)
    paper, lines = _paper_and_lines(clean)
    assert np.median(scan[paper]) < 246  # (the scan really is gray)
    out = level_paper(scan[:, :, None])[:, :, 0]
    assert (out[paper] >= 250).mean() > 0.995
    assert (out[lines] < 100).mean() > 0.97  # pencil-gray ink made pen-dark
    assert np.abs(out.astype(int) - clean).mean() < 2  # the clean drawing again, near enough


def test_solid_black_fills_stay_black_on_uneven_gray_paper():
    """A comic's black areas are far darker than the paper round them: never taken for paper."""
    clean = np.full((300, 400), 255, np.uint8)
    cv2.rectangle(clean, (40, 40), (360, 260), 0, 2)
    clean[80:220, 60:240] = 0  # a fill covering a fifth of the page
    scan = scan_like(clean, np.random.default_rng(3), PHONE)
    out = level_paper(scan[:, :, None])[:, :, 0]
    fill, outline = out[90:210, 70:230].mean(), out[250:260, 300:340][clean[250:260, 300:340] == 0].mean()
    assert fill < 150 and abs(fill - outline) < 20  # as dark as the pen's ink, not whitened
    assert (out[5:30, 5:395] >= 250).mean() > 0.99


@pytest.mark.parametrize("page", ["dark", "inverted", "blank", "photo", "noise"])
def test_pages_without_paper_to_level_are_left_alone(page):
    if page == "noise":  # with a white band, as transparent rows composited over white give
        img = np.random.default_rng(2).integers(0, 256, (200, 300), dtype=np.uint8)
        img[:40] = 255
    elif page == "dark":
        img = np.random.default_rng(0).integers(20, 90, (200, 300), dtype=np.uint8)
    elif page == "photo":  # light falling across a scene, grain: no paper with lines on it
        ramp = np.linspace(40, 250, 300)[None, :] + np.linspace(0, -30, 200)[:, None]
        img = np.clip(ramp + np.random.default_rng(1).normal(0, 4, (200, 300)), 0, 255).astype(np.uint8)
    elif page == "inverted":  # white lines on black
        img = 255 - _drawing()
    else:
        img = np.full((200, 300), 255, np.uint8)
    page_in = img[:, :, None]
    assert level_paper(page_in) is page_in  # not levelled: the very same array back


def test_a_cream_colour_page_is_levelled_channel_by_channel():
    clean = _drawing("bags/clutch")
    paper = np.array([238, 228, 200], np.float32)  # yellowed paper, RGB
    share = 1.0 - clean.astype(np.float32)[:, :, None] / 255.0
    cream = np.clip(np.rint(paper * (1 - share) + 50 * share), 0, 255).astype(np.uint8)
    out = level_paper(cream)
    away, lines = _paper_and_lines(clean)
    assert (out[away] >= 250).all(axis=1).mean() > 0.99
    assert (out[lines].max(axis=1) < 120).mean() > 0.9


def test_streamed_rows_are_levelled_as_the_whole_image_is():
    """A huge drawing, streamed band by band, is levelled by what was measured on all of it;
    rows asked for in any order (the tiler's mirror padding) come out the same."""
    scan = scan_like(_drawing("shoes/boot"), np.random.default_rng(5), PHONE)[:, :, None]
    h, w = scan.shape[:2]
    whole = level_paper(scan)
    measured = measure_grid(sample_rows(ArraySource(scan), band=37), h, w)
    assert measured is not None
    source = LevelledRows(ArraySource(scan), measured)
    for rows in (np.arange(h), reflect_indices(-20, 60, h), np.arange(h - 50, h)):
        np.testing.assert_array_equal(source.take_rows(rows), whole[rows])


def test_run_colours_a_scan_as_it_colours_the_clean_drawing(tmp_path):
    """The shipped model through `run`'s defaults (f32): a scan and a phone photo of the same
    drawing come out within a few levels of the clean drawing's output, paper white; with
    ``--levels off`` they do not (the gray paper is read as ink)."""
    src = tmp_path / "in"
    (src / "scans").mkdir(parents=True)
    clean = _drawing()
    cv2.imwrite(str(src / "clean.png"), clean)
    cv2.imwrite(str(src / "scans" / "scanner.jpg"), scan_like(clean, np.random.default_rng(0), SCANNER))
    cv2.imwrite(str(src / "scans" / "phone.jpg"), scan_like(clean, np.random.default_rng(1), PHONE))
    for mode in ("auto", "off"):
        r = run_cli("run", src, tmp_path / mode, "--precision", "f32", "--no-cache", "--levels", mode)
        assert r.returncode == 0, r.stderr
    reference = cv2.imread(str(tmp_path / "auto" / "clean.png"))
    paper = (reference >= 250).all(axis=2)  # outside the drawn object
    assert paper.mean() > 0.3
    for name in ("scanner", "phone"):
        levelled = cv2.imread(str(tmp_path / "auto" / "scans" / f"{name}.png"))
        as_is = cv2.imread(str(tmp_path / "off" / "scans" / f"{name}.png"))
        assert metrics.psnr(levelled, reference) > 30, name
        assert metrics.psnr(as_is, reference) < 20, name
        assert (levelled[paper] >= 245).all(axis=1).mean() > 0.99, name


def test_a_streamed_scan_is_coloured_as_the_fully_decoded_one(tmp_path, monkeypatch, pointwise_gray):
    """The huge-image route (rows streamed in) levels with the whole image's measurement: the
    same pixels as the in-memory route, and not the pixels of ``--levels off``."""
    pytest.importorskip("pyvips")
    from batchcolor.colorize import image as colorize, single
    from batchcolor.colorize.settings import InferenceSettings

    src = tmp_path / "scan.png"
    cv2.imwrite(str(src), scan_like(_drawing("shoes/boot"), np.random.default_rng(2), PHONE))
    settings = InferenceSettings(model=str(pointwise_gray), precision="f32")
    outputs = {}
    for label, threshold, levels in (("streamed", 1, None), ("full", 10**12, None), ("off", 1, "off")):
        monkeypatch.setattr(colorize, "STREAM_MIN_PIXELS", threshold)
        msg = single.colorize_one(src, tmp_path / f"{label}.png", replace(settings, levels=levels))
        assert ("input streamed" in msg) == (threshold == 1), msg
        outputs[label] = cv2.imread(str(tmp_path / f"{label}.png"))
    np.testing.assert_array_equal(outputs["streamed"], outputs["full"])
    assert np.abs(outputs["streamed"].astype(int) - outputs["off"]).mean() > 5


def test_levels_off_is_keyed_and_auto_keeps_older_outputs_up_to_date(pointwise_gray):
    """Outputs of clean drawings made before levelling existed are what ``auto`` makes now:
    its key is the old one; ``off`` makes other pixels for scans, so it has a key of its own."""
    from batchcolor.batch.runner import model_identity
    from batchcolor.colorize.settings import InferenceSettings

    base = InferenceSettings(model=str(pointwise_gray))
    assert model_identity(replace(base, levels="auto"))[1] == model_identity(base)[1]
    assert model_identity(replace(base, levels="off"))[1] != model_identity(base)[1]


def test_levels_from_the_environment_and_a_pipeline_and_bad_values(tmp_path, pointwise_gray):
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "scan.jpg"), scan_like(_drawing("bags/clutch"), np.random.default_rng(4), PHONE))
    r = run_cli("run", src, tmp_path / "env", "--model", pointwise_gray, env={"BATCHCOLOR_LEVELS": "off"})
    assert r.returncode == 0, r.stderr
    preset = tmp_path / "scans.toml"
    preset.write_text('levels = "off"\n')
    r = run_cli("run", src, tmp_path / "preset", "--model", pointwise_gray, "--pipeline", preset)
    assert r.returncode == 0, r.stderr
    r = run_cli("run", src, tmp_path / "auto", "--model", pointwise_gray)
    assert r.returncode == 0, r.stderr
    env, preset_out, auto = (cv2.imread(str(tmp_path / d / "scan.png")) for d in ("env", "preset", "auto"))
    np.testing.assert_array_equal(env, preset_out)
    assert np.abs(env.astype(int) - auto).mean() > 5
    r = run_cli("run", src, tmp_path / "bad", "--model", pointwise_gray, "--levels", "white")
    assert r.returncode == 2 and "--levels" in r.stderr
