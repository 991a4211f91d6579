"""The shipped default model: loads with no flags, gives colour, beats the flat baseline."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from batchcolor import metrics
from batchcolor.registry import default_model

from conftest import DATA, REPO, run_cli

EXAMPLES = REPO / "examples" / "lineart"


def test_default_model_is_installed_and_described():
    ref = default_model()
    card = ref.card
    assert card.extra.get("default") is True
    assert card.input_channels == 1 and card.stride == 16 and card.scale
    training = card.training
    assert "non-commercial" in training["licence"] and training["command"].startswith("batchcolor train")
    for split in ("shoes_holdout", "handbags_val"):
        assert card.metrics[split]["psnr"] > card.metrics[f"{split}_flat_baseline"]["psnr"]
    assert card.extra["speed"]["tiles_per_second_256"] > 0  # the 60 tiles/s target is a benchmark, see BENCHMARKS.md
    assert (ref.model_path.parent / "contact_sheet.png").exists()
    size = sum(p.stat().st_size for p in ref.model_path.parent.iterdir())
    assert size < 30 * 2**20, "shipped files stay small"


def test_run_examples_with_no_flags_is_deterministic_and_colourful(tmp_path):
    out1, out2 = tmp_path / "a", tmp_path / "b"
    for out in (out1, out2):
        r = run_cli("run", EXAMPLES, out, "--precision", "f32", "--no-cache")
        assert r.returncode == 0, r.stderr
    produced = sorted(out1.rglob("*.png"))
    assert len(produced) == len(list(EXAMPLES.rglob("*.png"))) >= 6
    scores = []
    for p in produced:
        a = cv2.imread(str(p))
        b = cv2.imread(str(out2 / p.relative_to(out1)))
        np.testing.assert_array_equal(a, b, err_msg=f"{p.name} differs between two f32 runs")
        src = cv2.imread(str(EXAMPLES / p.relative_to(out1)), cv2.IMREAD_GRAYSCALE)
        assert a.shape[:2] == src.shape
        scores.append(metrics.colorfulness(a[:, :, ::-1]))
    # A gray output scores 0, a flat-coloured one below 5; the validation targets score ~30
    # (see card metrics): demand clearly coloured output on average and no gray image.
    assert np.mean(scores) > 12 and min(scores) > 4, scores


@pytest.mark.skipif(not (DATA / "handbags-val").is_dir(), reason="shared data not present")
def test_eval_on_20_handbags_beats_flat_baseline(tmp_path):
    r = run_cli("eval", default_model().model_path.parent, DATA / "handbags-val", "--limit", "20", "-o", tmp_path)
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    m, flat = report["model_metrics"], report["flat_baseline"]
    assert report["pairs"] == 20
    assert m["psnr"] > flat["psnr"] and m["ssim"] > flat["ssim"] and m["ciede2000"] < flat["ciede2000"], report


def int8_variant():
    from batchcolor.registry import lookup

    return lookup("product-sketch-int8")


def test_int8_variant_is_shipped_faster_and_as_good():
    """Issue bar: ship INT8 only if >= 1.5x the bf16 tiles/s at <= 1 dB PSNR loss (card figures)."""
    card = int8_variant().card
    default = default_model().card
    assert card.extra["weights"].startswith("int8") and card.extra.get("default") is None
    assert card.extra["speed"]["tiles_per_second_256"] >= 1.5 * default.extra["speed"]["tiles_per_second_256"]
    for split in ("shoes_holdout", "handbags_val"):
        assert card.metrics[split]["psnr"] >= default.metrics[split]["psnr"] - 1.0
        assert card.metrics[split]["psnr"] > card.metrics[f"{split}_flat_baseline"]["psnr"]


def test_fast_int8_preset_runs_the_int8_model_and_stays_close(tmp_path):
    r = run_cli("run", EXAMPLES, tmp_path / "int8", "--pipeline", "fast-int8", "--no-cache", "--log-format", "json")
    assert r.returncode == 0, r.stderr
    start = next(json.loads(line) for line in (r.stdout + r.stderr).splitlines() if '"event": "start"' in line)
    assert start["model"].endswith("product-sketch-int8/model.xml")
    r = run_cli("run", EXAMPLES, tmp_path / "float", "--no-cache")
    assert r.returncode == 0, r.stderr
    diffs, scores = [], []
    for p in sorted((tmp_path / "int8").rglob("*.png")):
        a = cv2.imread(str(p))
        b = cv2.imread(str(tmp_path / "float" / p.relative_to(tmp_path / "int8")))
        diffs.append(np.abs(a.astype(np.int16) - b).mean())
        scores.append(metrics.colorfulness(a[:, :, ::-1]))
    assert len(diffs) == 6
    # Mostly within a level or two; an ambiguous region (the inside of a bag's handle: paper
    # or leather?) can flip either way on one drawing, so judge the set, not each image.
    assert np.median(diffs) < 3 and np.mean(diffs) < 5, diffs
    assert np.mean(scores) > 12 and min(scores) > 4, scores


def test_models_command_lists_the_default():
    r = run_cli("models")
    assert r.returncode == 0
    line = next(line for line in r.stdout.splitlines() if default_model().card.name in line)
    assert "*" in line and "tiles/s" in line and " dB" in line
