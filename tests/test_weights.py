"""Generator weights as arrays -> Paddle checkpoints (the road of a network trained on an
accelerator by models/gpu_train.py into export, eval and --init-from)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

paddle = pytest.importorskip("paddle", reason="needs the train extra")
pytestmark = pytest.mark.train

UNET = {"in_channels": 9, "out_channels": 3, "base": 4, "depth": 3, "up": "resize"}


def _trained_looking_generator(seed: int = 0):
    """A UNet whose BatchNorm statistics are not the defaults (so a lost _mean/_variance shows)."""
    from batchcolor.train.models import UNet, UNetConfig

    paddle.seed(seed)
    gen = UNet(UNetConfig(**UNET))
    rng = np.random.default_rng(seed)
    gen.set_state_dict({k: paddle.to_tensor((rng.uniform(0.5, 1.5, v.shape) if k.endswith("_variance")
                                             else v.numpy() + rng.normal(0, 0.05, v.shape)).astype(np.float32))
                        for k, v in gen.state_dict().items()})
    gen.eval()
    return gen


def _recipe(**kw) -> dict:
    from dataclasses import asdict

    from batchcolor.train.trainer import TrainConfig

    kw = {"command": "python models/gpu_train.py ...", **kw}
    cfg = TrainConfig(data=("/nowhere",), run_dir="/nowhere", size=64, gray_edges=True, width=4, depth=3, hints=True,
                      augment=True, val_last=4, **kw)
    return {**asdict(cfg), "data": list(cfg.data), "val_dirs": []}


def test_arrays_round_trip_into_a_checkpoint_that_loads_exports_and_starts_runs(tmp_path):
    from batchcolor.train.trainer import TrainConfig, Trainer, load_generator
    from batchcolor.train.weights import checkpoint_from_arrays, generator_arrays

    gen = _trained_looking_generator()
    arrays = generator_arrays(gen)
    assert any(k.endswith("._mean") for k in arrays) and all(v.dtype == np.float32 for v in arrays.values())
    state = {"step": 123, "seconds": 4.5, "history": [{"step": 123, "val_l1": 0.2}]}
    target = checkpoint_from_arrays(arrays, UNET, _recipe(), state, tmp_path / "run" / "last.pdckpt")
    loaded, ckpt = load_generator(target)
    x = paddle.to_tensor(np.random.default_rng(1).uniform(-1, 1, (2, 9, 32, 48)).astype(np.float32))
    with paddle.no_grad():
        assert np.array_equal(loaded(x).numpy(), gen(x).numpy())
    assert ckpt["state"]["step"] == 123 and ckpt["state"]["history"][-1]["val_l1"] == 0.2
    # --init-from takes it (a continuation of an accelerator-trained network on the CPU)
    cfg = TrainConfig(**{**_recipe(), "data": ("/nowhere",), "val_dirs": (), "init_from": str(target)})
    started = Trainer(cfg)
    started.gen.eval()
    with paddle.no_grad():
        assert np.array_equal(started.gen(x).numpy(), gen(x).numpy())


def test_a_missing_or_reshaped_weight_is_refused(tmp_path):
    from batchcolor.train.weights import checkpoint_from_arrays, generator_arrays

    arrays = generator_arrays(_trained_looking_generator())
    missing = {k: v for k, v in arrays.items() if not k.endswith("._variance")}
    with pytest.raises(ValueError, match="missing"):
        checkpoint_from_arrays(missing, UNET, _recipe(), {}, tmp_path / "a.pdckpt")
    reshaped = dict(arrays, **{"head.weight": np.zeros((3, 5, 1, 1), np.float32)})
    with pytest.raises(ValueError, match="head.weight"):
        checkpoint_from_arrays(reshaped, UNET, _recipe(), {}, tmp_path / "b.pdckpt")
    with pytest.raises(ValueError, match="shape"):
        checkpoint_from_arrays(arrays, {**UNET, "base": 8}, _recipe(), {}, tmp_path / "c.pdckpt")
    with pytest.raises(ValueError, match="do not match"):
        checkpoint_from_arrays(arrays, {**UNET, "depth": 4}, _recipe(), {}, tmp_path / "d.pdckpt")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_import_run_reads_split_weights_and_writes_a_config_export_reads(tmp_path, capsys):
    from batchcolor.train.trainer import TrainConfig, load_generator
    from batchcolor.train.weights import generator_arrays, main

    gen = _trained_looking_generator(seed=3)
    arrays = generator_arrays(gen)
    keys = list(arrays)
    out = tmp_path / "device"
    out.mkdir()
    np.savez(out / "w4.part0.npz", **{k: arrays[k] for k in keys[: len(keys) // 2]})
    np.savez(out / "w4.part1.npz", **{k: arrays[k] for k in keys[len(keys) // 2:]})
    (out / "w4.json").write_text(json.dumps({"unet": UNET, "config": _recipe(), "device": "NVIDIA H200",
                                             "state": {"step": 7, "seconds": 1.0, "history": []}}))
    run = tmp_path / "run"
    data = tmp_path / "pairs-here"
    data.mkdir()
    assert main([str(out / "w4.json"), str(run), str(tmp_path / "absent")]) == 1
    assert "not a folder" in capsys.readouterr().err
    # the recipe's folders (/nowhere) are not here and none were given: refused, nothing written
    assert main([str(out / "w4.json"), str(run)]) == 1
    assert "DATA_DIR" in capsys.readouterr().err and not run.exists()
    assert main([str(out / "w4.json"), str(run), str(data)]) == 0
    loaded, _ = load_generator(run)
    x = paddle.to_tensor(np.random.default_rng(2).uniform(-1, 1, (1, 9, 32, 32)).astype(np.float32))
    with paddle.no_grad():
        assert np.array_equal(loaded(x).numpy(), gen(x).numpy())
    # export and eval rebuild the recipe from config.json: it must be a TrainConfig
    doc = json.loads((run / "config.json").read_text())
    cfg = TrainConfig(**{**doc, "data": tuple(doc["data"]), "val_dirs": tuple(doc.get("val_dirs", ()))})
    assert cfg.hints and cfg.gray_edges and cfg.width == 4
    assert cfg.data == (str(data.resolve()),) and cfg.run_dir == str(run)  # this machine's folders, not the device's
    assert main([str(out / "absent.json")]) == 2
    assert main([str(out / "w4.json").replace("w4", "w5"), str(tmp_path / "r2")]) == 1
    assert "w5.json" in capsys.readouterr().err


def test_average_is_the_weighted_mean_of_every_weight_and_exports_its_ingredients(tmp_path):
    from batchcolor.train.trainer import load_generator
    from batchcolor.train.weights import average_checkpoints, checkpoint_from_arrays, generator_arrays

    a, b = generator_arrays(_trained_looking_generator(1)), generator_arrays(_trained_looking_generator(2))
    pa = checkpoint_from_arrays(a, UNET, _recipe(seed=1), {"step": 10, "seconds": 2.0}, tmp_path / "a" / "last.pdckpt")
    pb = checkpoint_from_arrays(b, UNET, _recipe(seed=2, command="batchcolor train B"), {"step": 30, "seconds": 3.0},
                                tmp_path / "b.pdckpt")
    out = average_checkpoints([pa.parent, pb], tmp_path / "soup.pdckpt", weights=[3, 1], command="batchcolor average ...")
    gen, ckpt = load_generator(out)
    got = generator_arrays(gen)
    assert set(got) == set(a)
    for k in a:  # BatchNorm statistics too: a soup with the first's _mean would shift every colour
        np.testing.assert_allclose(got[k], 0.75 * a[k] + 0.25 * b[k], rtol=1e-6, atol=1e-7, err_msg=k)
    assert not np.allclose(got["head.weight"], a["head.weight"])
    cfg = ckpt["config"]
    assert cfg["seed"] == 1 and cfg["command"] == "batchcolor average ..."  # the first's recipe, this command
    assert [(i["weight"], i["steps"]) for i in cfg["averaged_from"]] == [(0.75, 10), (0.25, 30)]
    assert cfg["averaged_from"][0]["checkpoint"] == str(pa) and cfg["averaged_from"][1]["command"] == "batchcolor train B"
    assert ckpt["state"]["step"] == 30 and ckpt["state"]["seconds"] == 5.0
    # one ingredient alone (or twice) is that network, to the bit
    same = average_checkpoints([pb, pb], tmp_path / "same.pdckpt")
    x = paddle.to_tensor(np.random.default_rng(5).uniform(-1, 1, (1, 9, 32, 32)).astype(np.float32))
    with paddle.no_grad():
        assert np.array_equal(load_generator(same)[0](x).numpy(), load_generator(pb)[0](x).numpy())
    # export carries the ingredients into the card (the model's provenance)
    from batchcolor.train.export import export

    doc = json.loads((tmp_path / "config.json").read_text())  # beside it: the recipe export reads
    assert doc["seed"] == 1 and doc["run_dir"] == str(tmp_path) and "averaged_from" not in doc
    from batchcolor.train.trainer import TrainConfig

    TrainConfig(**{**doc, "data": tuple(doc["data"]), "val_dirs": tuple(doc.get("val_dirs", ()))})
    result = export(out, tmp_path / "model", tile=64, overlap=16)
    card = json.loads((result.model_dir / "card.json").read_text())
    assert [i["steps"] for i in card["training"]["averaged_from"]] == [10, 30]


def test_average_refuses_networks_that_do_not_average(tmp_path):
    from batchcolor.train.weights import average_checkpoints, checkpoint_from_arrays, generator_arrays

    pa = checkpoint_from_arrays(generator_arrays(_trained_looking_generator(1)), UNET, _recipe(), {}, tmp_path / "a.pdckpt")
    wide = {**UNET, "base": 8}
    from batchcolor.train.models import UNet, UNetConfig

    pw = checkpoint_from_arrays(generator_arrays(UNet(UNetConfig(**wide))), wide, _recipe(), {}, tmp_path / "w.pdckpt")
    with pytest.raises(ValueError, match="different network"):
        average_checkpoints([pa, pw], tmp_path / "x.pdckpt")
    with pytest.raises(ValueError, match="2 checkpoints"):
        average_checkpoints([pa, pa], tmp_path / "x.pdckpt", weights=[1.0])
    with pytest.raises(ValueError, match="positive sum"):
        average_checkpoints([pa, pa], tmp_path / "x.pdckpt", weights=[0.0, 0.0])
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        average_checkpoints([pa, tmp_path], tmp_path / "x.pdckpt")  # a folder with no run in it
    assert not (tmp_path / "x.pdckpt").exists()


def test_average_command_writes_a_checkpoint_and_refuses_bad_input(tmp_path):
    from conftest import run_cli

    from batchcolor.train.weights import checkpoint_from_arrays, generator_arrays

    pa = checkpoint_from_arrays(generator_arrays(_trained_looking_generator(1)), UNET, _recipe(), {}, tmp_path / "a.pdckpt")
    pb = checkpoint_from_arrays(generator_arrays(_trained_looking_generator(2)), UNET, _recipe(), {}, tmp_path / "b.pdckpt")
    r = run_cli("average", pa, pb, "-o", tmp_path / "soup.pdckpt")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "soup.pdckpt").is_file() and "mean of 2 generators" in r.stderr
    assert paddle.load(str(tmp_path / "soup.pdckpt"))["config"]["command"].startswith("batchcolor average ")
    r = run_cli("average", pa, pb, "-o", tmp_path / "bad.pdckpt", "--weight", "1")
    assert r.returncode == 2 and "give one each" in r.stderr and not (tmp_path / "bad.pdckpt").exists()
    wide = {**UNET, "depth": 4}
    from batchcolor.train.models import UNet, UNetConfig

    pw = checkpoint_from_arrays(generator_arrays(UNet(UNetConfig(**wide))), wide, _recipe(), {}, tmp_path / "w.pdckpt")
    r = run_cli("average", pa, pw, "-o", tmp_path / "bad.pdckpt")
    assert r.returncode == 2 and "different network" in r.stderr and not (tmp_path / "bad.pdckpt").exists()
