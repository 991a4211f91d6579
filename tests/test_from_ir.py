"""A shipped IR back into trainable weights (batchcolor.train.from_ir): the road from the model
in models/ to a fine-tune, with no checkpoint of it. Real exports (Paddle -> ONNX -> IR with
the fp16 weights and folded BatchNorms the shipped models have), real OpenVINO, real Paddle."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import real_pairs

paddle = pytest.importorskip("paddle", reason="needs the train extra")
pytestmark = pytest.mark.train

UNET = {"in_channels": 9, "out_channels": 3, "base": 4, "depth": 3, "up": "bilinear"}


def _trained_looking(seed: int):
    """BatchNorm statistics and affine far from the defaults, as after training: the fold then
    moves real numbers into the convolutions, and a lost or misplaced statistic shows."""
    from batchcolor.train.models import UNet, UNetConfig

    paddle.seed(seed)
    gen = UNet(UNetConfig(**UNET))
    rng = np.random.default_rng(seed)
    state = {}
    for k, v in gen.state_dict().items():
        if k.endswith("_variance"):
            state[k] = rng.uniform(0.2, 3.0, v.shape)
        elif k.endswith("_mean"):
            state[k] = rng.normal(0, 0.5, v.shape)
        elif k.endswith(".weight") and len(v.shape) == 1:  # BatchNorm gamma
            state[k] = rng.uniform(0.5, 2.0, v.shape)
        else:
            state[k] = v.numpy() * 4 + rng.normal(0, 0.05, v.shape)
    gen.set_state_dict({k: paddle.to_tensor(np.asarray(v, np.float32)) for k, v in state.items()})
    gen.eval()
    return gen


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory) -> tuple[Path, object]:
    from batchcolor.train.export import to_ir, to_onnx

    folder = tmp_path_factory.mktemp("model") / "tiny"
    folder.mkdir()
    gen = _trained_looking(3)
    to_onnx(gen, UNET["in_channels"], folder / "model.onnx")
    to_ir(folder / "model.onnx", folder / "model.xml", fp16=True)
    (folder / "model.onnx").unlink()
    (folder / "card.json").write_text(json.dumps({"architecture": {"type": "unet", **UNET},
                                                  "training": {"recipe": {"size": 64, "width": 4, "depth": 3, "up": "bilinear",
                                                                          "hints": True, "gray_edges": True, "augment": True}}}))
    return folder, gen


def _ir_output(xml: Path, x: np.ndarray) -> np.ndarray:
    import openvino as ov

    compiled = ov.Core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return compiled({0: x})[0]


def _paddle(arrays: dict, train: bool, x: np.ndarray) -> np.ndarray:
    from batchcolor.train.models import UNet, UNetConfig

    gen = UNet(UNetConfig(**UNET))
    gen.set_state_dict({k: paddle.to_tensor(np.asarray(v, np.float32)) for k, v in arrays.items()})
    gen.train() if train else gen.eval()
    with paddle.no_grad():
        return gen(paddle.to_tensor(x)).numpy()


def test_recovered_weights_compute_the_ir_and_train_from_where_it_is(model_folder):
    from batchcolor.train.from_ir import unet_arrays_from_ir

    folder, original = model_folder
    rng = np.random.default_rng(0)
    calibration = rng.uniform(-1, 1, (24, 9, 32, 48)).astype(np.float32)
    arrays = unet_arrays_from_ir(folder / "model.xml", UNET, calibration)
    from batchcolor.train.models import UNet, UNetConfig

    assert set(arrays) == set(UNet(UNetConfig(**UNET)).state_dict())
    x = rng.uniform(-1, 1, (2, 9, 48, 64)).astype(np.float32)
    ir = _ir_output(folder / "model.xml", x)
    # eval mode is the IR's function (the IR stores fp16 weights; so do the recovered arrays)
    assert np.abs(_paddle(arrays, False, x) - ir).max() < 1e-4
    # and close to the original network, up to that fp16 rounding
    with paddle.no_grad():
        assert np.abs(original(paddle.to_tensor(x)).numpy() - ir).max() < 1e-3
    # train mode on the calibration batch normalises by exactly the measured statistics, so it
    # gives what eval mode gives: the first training step starts from the shipped function.
    # (Per-layer statistics divided by the input's pixel count, or assigned to the wrong layer,
    # fail this by orders of magnitude.)
    assert np.abs(_paddle(arrays, True, calibration) - _paddle(arrays, False, calibration)).max() < 2e-3
    # where the made-up statistics of a naive split (mean 0, variance 1) would not
    naive = dict(arrays)
    for k in [k for k in arrays if k.endswith("._mean")]:
        prefix = k[: -len("._mean")]
        naive[f"{prefix}.bias"] = arrays[f"{prefix}.bias"] - arrays[k]
        naive[f"{prefix}.weight"] = np.full_like(arrays[f"{prefix}.weight"], np.sqrt(1 + 1e-5))
        naive[k] = np.zeros_like(arrays[k])
        naive[f"{prefix}._variance"] = np.ones_like(arrays[k])
    assert np.abs(_paddle(naive, False, x) - ir).max() < 1e-4
    assert np.abs(_paddle(naive, True, calibration) - _paddle(naive, False, calibration)).max() > 0.1


def test_a_network_that_is_not_the_cards_unet_is_refused(model_folder):
    from batchcolor.train.from_ir import card_unet, unet_arrays_from_ir, unet_layout

    folder, _ = model_folder
    x = np.zeros((2, 9, 32, 32), np.float32)
    with pytest.raises(ValueError, match="convolutions"):
        unet_arrays_from_ir(folder / "model.xml", {**UNET, "depth": 4}, x)
    with pytest.raises(ValueError, match="channels"):
        unet_arrays_from_ir(folder / "model.xml", {**UNET, "in_channels": 3}, x)
    with pytest.raises(ValueError, match="only resize/bilinear"):
        unet_layout({**UNET, "up": "transpose"})
    assert card_unet(folder) == UNET
    bad = folder.parent / "no-unet"
    bad.mkdir(exist_ok=True)
    (bad / "card.json").write_text(json.dumps({"architecture": {"type": "other"}}))
    with pytest.raises(ValueError, match="no UNet"):
        card_unet(bad)


@pytest.fixture(scope="module")
def pairs_folder(tmp_path_factory) -> Path:
    return real_pairs(tmp_path_factory.mktemp("data") / "pairs", 12)


def test_train_init_from_a_model_folder_starts_at_the_shipped_function(model_folder, pairs_folder, tmp_path):
    from batchcolor.train.trainer import TrainConfig, Trainer, load_data

    folder, _ = model_folder
    cfg = TrainConfig(data=(str(pairs_folder),), run_dir=str(tmp_path / "run"), size=64, width=4, depth=3, up="bilinear", gray_edges=True,
                      hints=True, augment=True, val_last=4, batch_size=4, init_from=str(folder))
    train_set, _ = load_data(cfg)
    trainer = Trainer(cfg, train_set)
    trainer.gen.eval()
    x = np.random.default_rng(1).uniform(-1, 1, (2, 9, 32, 48)).astype(np.float32)
    with paddle.no_grad():
        got = trainer.gen(paddle.to_tensor(x)).numpy()
    assert np.abs(got - _ir_output(folder / "model.xml", x)).max() < 1e-4
    trainer.step(*next(_batches(train_set, cfg)))  # and it trains
    with pytest.raises(ValueError, match="training pairs"):
        Trainer(cfg)
    with pytest.raises(ValueError, match="differs"):
        Trainer(TrainConfig(**{**cfg.__dict__, "width": 8}), train_set)


def _batches(train_set, cfg):
    from batchcolor.train import data as datamod

    return datamod.hinted_batches(train_set, 4, np.random.default_rng(0), cfg.flip, cfg.size, cfg.augmentation(),
                                  cfg.hints, cfg.recolour)


def test_the_module_writes_the_start_of_an_accelerator_run(model_folder, pairs_folder, tmp_path, capsys):
    from batchcolor.train.recover import main
    from batchcolor.train.weights import checkpoint_from_arrays, read_arrays

    folder, _ = model_folder
    out = tmp_path / "start.npz"
    assert main([str(folder), str(out), str(pairs_folder)]) == 0
    arrays = read_arrays(out)
    ckpt = checkpoint_from_arrays(arrays, UNET, {}, {}, tmp_path / "start.pdckpt")  # every weight, right shapes
    assert ckpt.exists()
    x = np.random.default_rng(2).uniform(-1, 1, (1, 9, 32, 32)).astype(np.float32)
    assert np.abs(_paddle(arrays, False, x) - _ir_output(folder / "model.xml", x)).max() < 1e-4
    assert main([str(pairs_folder), str(tmp_path / "x.npz"), str(pairs_folder)]) == 1
    assert "not a model folder" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_the_module_reads_the_network_inputs_from_the_card_not_the_recipe(model_folder, pairs_folder, tmp_path):
    """The shipped default's recipe lists neither ``hints`` nor ``gray_edges`` (session 32:
    recovering it calibrated 1-plane drawings on its 9-plane IR, and OpenVINO refused)."""
    import shutil

    from batchcolor.train.recover import main, network_inputs
    from batchcolor.train.weights import read_arrays

    folder, _ = model_folder
    bare = tmp_path / "bare"
    shutil.copytree(folder, bare)
    card = json.loads((bare / "card.json").read_text())
    card["training"]["recipe"] = {k: v for k, v in card["training"]["recipe"].items() if k not in ("hints", "gray_edges")}
    (bare / "card.json").write_text(json.dumps(card))
    assert main([str(bare), str(tmp_path / "start.npz"), str(pairs_folder)]) == 0
    bare_arrays, full_arrays = read_arrays(tmp_path / "start.npz"), read_arrays_of(folder, pairs_folder, tmp_path)
    assert bare_arrays.keys() == full_arrays.keys()
    assert all(np.array_equal(bare_arrays[k], full_arrays[k]) for k in full_arrays)  # calibrated on the same inputs
    assert network_inputs({"architecture": {"in_channels": 9}}) == {"gray_edges": True, "hints": True}
    assert network_inputs({"architecture": {"in_channels": 3}}) == {"gray_edges": False, "hints": False}
    assert network_inputs({"architecture": {"in_channels": 11}}) == {"gray_edges": False, "hints": True}
    with pytest.raises(ValueError, match="5 input planes"):
        network_inputs({"architecture": {"in_channels": 5}})


def read_arrays_of(folder: Path, pairs_folder: Path, tmp_path: Path) -> dict:
    from batchcolor.train.recover import main
    from batchcolor.train.weights import read_arrays

    assert main([str(folder), str(tmp_path / "full.npz"), str(pairs_folder)]) == 0
    return read_arrays(tmp_path / "full.npz")
