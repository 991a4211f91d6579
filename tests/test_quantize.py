"""INT8 post-training quantization (NNCF) of a real OpenVINO model, end to end."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from batchcolor import synthetic
from batchcolor.modelcard import resolve_model
from batchcolor.seams import psnr

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
