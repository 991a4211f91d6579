"""INT8 post-training quantization (NNCF) of a real OpenVINO model, end to end."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from batchcolor.tools import synthetic
from batchcolor.inference.modelcard import resolve_model
from batchcolor.tools.seams import psnr

from conftest import run_cli

pytest.importorskip("nncf", reason="needs the train extra (nncf)")


def test_int8_export_of_a_model_folder(tmp_path, unet_model):
    folder, _ = unet_model
    calib = tmp_path / "calib"
    calib.mkdir()
    for i in range(8):
        cv2.imwrite(str(calib / f"c{i}.png"), synthetic.line_art(256, 256, seed=100 + i))
    r = run_cli("export", folder, "--int8", "--calibration", calib, "-o", tmp_path / "int8")
    assert r.returncode == 0, r.stderr
    ref = resolve_model(tmp_path / "int8")
    card = json.loads(ref.card_path.read_text())
    assert card["weights"].startswith("int8") and len(card["quantization"]["float_layers"]) == 2
    assert "default" not in card
    xml = ref.model_path.read_text()
    assert "FakeQuantize" in xml or "fake_quantize" in xml.lower()
    art = synthetic.line_art(300, 300, seed=7)
    src = tmp_path / "a.png"
    cv2.imwrite(str(src), art)
    for name, model in (("f32", folder), ("int8", tmp_path / "int8")):
        r = run_cli("tile", src, "-o", tmp_path / f"{name}.png", "--model", model, "--precision", "f32", "--no-cache")
        assert r.returncode == 0, r.stderr
    a = cv2.imread(str(tmp_path / "f32.png")).astype(np.float32) / 255
    b = cv2.imread(str(tmp_path / "int8.png")).astype(np.float32) / 255
    assert psnr(a, b, 1.0) > 20  # a random network is the worst case for INT8; the shipped one is reported in its card


def test_int8_needs_calibration(tmp_path, unet_model):
    folder, _ = unet_model
    r = run_cli("export", folder, "--int8", "-o", tmp_path / "x")
    assert r.returncode == 2 and "--calibration" in r.stderr


def test_int8_of_a_hinted_model_keeps_its_hint_inputs(tmp_path):
    """Calibration feeds the 8 hint planes (simulated from AB photos), and the INT8 twin still
    follows a global colour through the same CLI."""
    from batchcolor.inference.quantize import calibration_tiles

    folder = tmp_path / "hinted"
    synthetic.save_with_card(synthetic.random_unet(9, 4, 3, seed=5), folder,
                             synthetic.test_card("hinted", 1, 8, tile=64, overlap=16, hints=True))
    calib = tmp_path / "calib"
    calib.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):  # AB pairs: drawing left, a coloured object on white right
        photo = np.full((64, 64, 3), 255, np.uint8)
        photo[12:52, 12:52] = rng.integers(0, 255, 3)
        edges = cv2.cvtColor(synthetic.line_art(64, 64, seed=i), cv2.COLOR_GRAY2BGR)
        cv2.imwrite(str(calib / f"{i}_AB.png"), np.concatenate([edges, photo], axis=1))
    tiles = calibration_tiles(calib, resolve_model(folder).card, 64, 6)
    assert tiles[0].shape == (1, 9, 64, 64)
    masks = np.concatenate([t[0, 4].ravel() for t in tiles])  # drawing, hint RGB, then the mask
    assert set(np.unique(masks)) <= {0.0, 1.0} and masks.max() == 1.0  # some tiles carry point hints
    r = run_cli("export", folder, "--int8", "--calibration", calib, "-o", tmp_path / "int8")
    assert r.returncode == 0, r.stderr
    card = json.loads((tmp_path / "int8" / "card.json").read_text())
    assert card["input"]["hints"]["planes"][7] == "global_flag"
    src = tmp_path / "a.png"
    cv2.imwrite(str(src), synthetic.line_art(80, 80, seed=9))
    outs = []
    for color in ("#ff0000", "#0000ff"):
        r = run_cli("tile", src, "-o", tmp_path / f"{color[1:]}.png", "--model", tmp_path / "int8", "--color", color, "--no-cache")
        assert r.returncode == 0, r.stderr
        outs.append(cv2.imread(str(tmp_path / f"{color[1:]}.png")).astype(int))
    assert np.abs(outs[0] - outs[1]).mean() > 1


def test_calibration_tiles_are_whole_strides_at_the_cards_scale():
    from dataclasses import replace

    from batchcolor.inference.quantize import calibration_size

    card = synthetic.test_card("c", 1, 16, tile=256, overlap=64)
    assert calibration_size(replace(card, scale=154)) == 160
    assert calibration_size(replace(card, scale=128)) == 128
    assert calibration_size(replace(card, scale=None)) == 256  # no scale: the card's tile


def test_int8_of_a_bilinear_model_compiles_and_runs(tmp_path):
    """A bilinear model's fixed blur (replicate Pad + depthwise convolution) stays float: with
    a quantized input, OpenVINO's low-precision Pad transformation throws at compile time
    (the session-9 default model, before the blur was left out of quantization)."""
    pytest.importorskip("paddle", reason="needs the train extra")
    from dataclasses import asdict

    from batchcolor.train.export import export
    from batchcolor.train.models import UNet, UNetConfig
    from batchcolor.train.trainer import TrainConfig
    from batchcolor.train.weights import checkpoint_from_arrays, generator_arrays

    unet = UNetConfig(in_channels=1, base=8, depth=3, up="bilinear")
    arrays = generator_arrays(UNet(unet))
    cfg = TrainConfig(data=("/nowhere",), run_dir=str(tmp_path / "run"), size=64, gray_edges=True, width=8, depth=3,
                      up="bilinear")
    checkpoint_from_arrays(arrays, unet.to_dict(), {**asdict(cfg), "data": []}, {}, tmp_path / "run" / "last.pdckpt")
    export(tmp_path / "run", tmp_path / "float", tile=128, overlap=32)
    calib = tmp_path / "calib"
    calib.mkdir()
    for i in range(8):
        cv2.imwrite(str(calib / f"c{i}.png"), synthetic.line_art(128, 128, seed=200 + i))
    r = run_cli("export", tmp_path / "float", "--int8", "--calibration", calib, "-o", tmp_path / "int8")
    assert r.returncode == 0, r.stderr
    assert "FakeQuantize" in (tmp_path / "int8" / "model.xml").read_text()
    src = tmp_path / "a.png"
    cv2.imwrite(str(src), synthetic.line_art(200, 200, seed=3))
    for name in ("float", "int8"):
        r = run_cli("tile", src, "-o", tmp_path / f"{name}.png", "--model", tmp_path / name, "--precision", "f32", "--no-cache")
        assert r.returncode == 0, r.stderr
    a = cv2.imread(str(tmp_path / "float.png")).astype(np.float32) / 255
    b = cv2.imread(str(tmp_path / "int8.png")).astype(np.float32) / 255
    assert psnr(a, b, 1.0) > 20
