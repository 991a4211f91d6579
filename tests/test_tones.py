"""Screentone (batchcolor.drawing.tones): found, made paper for the network and the masks,
printed back as drawn outside the objects; never found in drawings without it."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from batchcolor.drawing.tones import tone_mask, without_tone
from batchcolor.tools import synthetic
from batchcolor.tools.comicpage import screentone as _dots

from conftest import REPO, run_cli

EXAMPLES = REPO / "examples" / "lineart"


def tone_page(with_tone: bool = True) -> np.ndarray:
    """One panel: a sky of dot screentone above a tote."""
    page = np.full((520, 700), 255, np.uint8)
    cv2.rectangle(page, (10, 10), (690, 510), 0, 3)
    if with_tone:
        sky = np.zeros(page.shape, bool)
        sky[15:180, 15:686] = True
        page[_dots(page.shape) & sky] = 0
    tote = cv2.imread(str(EXAMPLES / "bags" / "tote.png"), cv2.IMREAD_GRAYSCALE)
    h, w = tote.shape
    page[120 : 120 + h, 160 : 160 + w] = np.minimum(page[120 : 120 + h, 160 : 160 + w], tote)
    return page


@pytest.mark.parametrize("pitch,radius2", [(6, 3), (5, 2), (8, 6)])
def test_a_field_of_dots_is_tone_and_the_lines_are_not(pitch, radius2):
    page = np.full((300, 400), 255, np.uint8)
    field = np.zeros(page.shape, bool)
    field[20:150, 20:380] = True
    page[_dots(page.shape, pitch, radius2) & field] = 0
    cv2.ellipse(page, (200, 220), (120, 60), 0, 0, 360, 0, 2)
    tone = tone_mask(page)
    assert tone is not None
    dots = (page < 200) & field
    assert tone[dots].mean() > 0.95  # the field's dots, up to its edge ...
    assert not tone[160:].any()  # ... and nothing of the drawing
    clean = without_tone(page[:, :, None], tone)
    assert (clean[field] == 255).all() and (clean[160:] == page[160:, :, None]).all()


@pytest.mark.parametrize("name", ["bags/handbag", "bags/clutch", "bags/tote", "shoes/boot", "shoes/pump", "shoes/sneaker"])
def test_drawings_without_tone_have_none(name):
    gray = cv2.imread(str(EXAMPLES / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
    assert tone_mask(gray) is None
    assert tone_mask(cv2.resize(gray, None, fx=2.5, fy=2.5, interpolation=cv2.INTER_CUBIC)) is None
    drawing = gray[:, :, None]
    assert without_tone(drawing, None) is drawing


def test_hatching_lettering_and_specks_are_not_tone():
    rng = np.random.default_rng(4)
    page = np.full((400, 600), 255, np.uint8)
    for x in range(20, 580, 6):  # hatching: lines, not dots
        cv2.line(page, (x, 20), (x + 40, 120), 0, 1)
    for row in range(6):  # rows of lettering
        cv2.putText(page, "THE QUICK BROWN FOX JUMPS", (20, 170 + 30 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 0, 2)
    ys, xs = rng.integers(340, 400, 300), rng.integers(0, 600, 300)  # specks of every size
    for y, x, r in zip(ys, xs, rng.integers(0, 4, 300)):
        cv2.circle(page, (int(x), int(y)), int(r), 0, -1)
    assert tone_mask(page) is None
    for seed in range(10):
        assert tone_mask(synthetic.line_art(400, 500, seed=seed)) is None


def test_run_prints_the_tone_as_drawn_and_colours_the_drawing_as_without_it(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    toned, plain = tone_page(True), tone_page(False)
    cv2.imwrite(str(src / "toned.png"), toned)
    cv2.imwrite(str(src / "plain.png"), plain)
    r = run_cli("run", src, tmp_path / "out", "--precision", "f32", "--no-cache")
    assert r.returncode == 0, r.stderr
    out_t = cv2.imread(str(tmp_path / "out" / "toned.png"))
    out_p = cv2.imread(str(tmp_path / "out" / "plain.png"))
    sky = (slice(15, 110), slice(15, 686))  # the tone above the tote's handles
    diff = np.abs(out_t[sky].astype(int) - toned[sky][:, :, None]).max(axis=2)
    assert np.mean(diff <= 2) > 0.99  # printed as drawn, not painted over
    body = (slice(200, 480), slice(180, 480))  # the tote's body, below the tone
    hsv = cv2.cvtColor(out_t, cv2.COLOR_BGR2HSV)
    assert np.median(hsv[body][:, :, 1]) > 40  # coloured ...
    mse = np.mean((out_t[body].astype(float) - out_p[body]) ** 2)
    # ... as it is on the page without tone (dots touching the handles stay strokes: the measured
    # scale moves 0.6%, and the network answers a 0.6% rescale with a few levels everywhere)
    assert 10 * np.log10(255 ** 2 / mse) > 20
