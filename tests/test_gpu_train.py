"""models/gpu_train.py: the accelerator mirror of the Paddle UNet-L1 recipe.

Needs PyTorch, which the package does not depend on: skipped without it (CI), run where the
mirror is used. On the CPU here: the same function as the Paddle network for the same
weights, and an end-to-end run whose weights, imported into Paddle, give the numbers the
mirror logged."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import real_pairs

torch = pytest.importorskip("torch", reason="the accelerator trainer needs PyTorch")
paddle = pytest.importorskip("paddle", reason="needs the train extra")
pytestmark = pytest.mark.train

SCRIPT = Path(__file__).resolve().parents[1] / "models" / "gpu_train.py"


@pytest.fixture(scope="module")
def mirror():
    spec = importlib.util.spec_from_file_location("gpu_train", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _randomised(net, seed: int):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            else:
                t.add_(torch.randn(t.shape, generator=g) * 0.05)
    return net.eval()


@pytest.mark.parametrize("depth,base,up", [(3, 4, "resize"), (4, 6, "resize"), (3, 4, "bilinear")])
def test_mirror_is_the_paddle_unet_for_the_same_weights(mirror, tmp_path, depth, base, up):
    from batchcolor.train.trainer import load_generator
    from batchcolor.train.weights import checkpoint_from_arrays

    net = _randomised(mirror.UNet(9, base, depth, up=up), seed=depth)
    unet = {"in_channels": 9, "out_channels": 3, "base": base, "depth": depth, "up": up}
    ckpt = checkpoint_from_arrays(mirror.paddle_arrays(net), unet, {}, {}, tmp_path / "m.pdckpt")
    gen, _ = load_generator(ckpt)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 9, 48, 80)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    got = gen(paddle.to_tensor(x)).numpy()
    assert np.abs(got - expected).max() < 1e-5
    # and back: Paddle-named arrays load into the mirror (--model NAME=BASE:LR:INIT.npz)
    again = mirror.UNet(9, base, depth, up=up)
    mirror.load_paddle_arrays(again, mirror.paddle_arrays(net))
    with torch.no_grad():
        assert torch.equal(again.eval()(torch.from_numpy(x)), torch.from_numpy(expected))


def test_split_weight_files_round_trip(mirror, tmp_path):
    from batchcolor.train.weights import read_arrays

    arrays = mirror.paddle_arrays(mirror.UNet(9, 8, 3))
    files = mirror.write_arrays(tmp_path / "w8.npz", arrays, max_bytes=60_000)
    assert len(files) > 2
    for f in files:  # each piece stays under the bound unless one array alone is larger
        with np.load(f) as z:
            assert len(z.files) == 1 or sum(z[k].nbytes for k in z.files) <= 60_000
    back = read_arrays(tmp_path / "w8.npz")
    assert back.keys() == arrays.keys() and all(np.array_equal(back[k], arrays[k]) for k in arrays)
    assert not list(tmp_path.glob("*.tmp*"))


def test_run_end_to_end_imports_into_paddle_with_the_logged_validation(mirror, tmp_path):
    from batchcolor.tools.metrics import l1
    from batchcolor.train.trainer import TrainConfig, Trainer, load_data
    from batchcolor.train.weights import import_run

    data = real_pairs(tmp_path / "pairs", 12)
    out = tmp_path / "out"
    # --workers 0: sampling in this process; a worker forked from a pytest process that already
    # holds Paddle's and OpenVINO's threads can deadlock on a lock one of them held (seen here)
    rc = mirror.main([str(data), "--out", str(out), "--model", "a=4:2e-3", "--model", "b=6:2e-3", "--depth", "3",
                      "--size", "64", "--batch", "4", "--workers", "0", "--budget", "600", "--max-steps", "6",
                      "--val-last", "3", "--device", "cpu", "--restyle", "0.5"])
    assert rc == 0
    meta = json.loads((out / "b.json").read_text())
    assert meta["final"] and meta["state"]["step"] == 6 and meta["state"]["images"] == 24
    first, last = meta["state"]["history"][0], meta["state"]["history"][-1]
    assert first["step"] == 0 and last["step"] == 6 and last["val_l1"] != first["val_l1"]
    run = tmp_path / "run-b"
    import_run(out / "b.json", run)
    doc = json.loads((run / "config.json").read_text())
    cfg = TrainConfig(**{**doc, "data": tuple(doc["data"]), "val_dirs": ()})
    assert cfg.width == 6 and cfg.depth == 3 and cfg.hints and cfg.recolour == 0.5 and cfg.restyle == 0.5
    _, val = load_data(cfg)
    trainer = Trainer(TrainConfig(**{**cfg.__dict__, "init_from": str(run / "last.pdckpt")}))
    pred = trainer.predict(val.a)
    assert abs(l1(pred, np.asarray(val.b)) - last["val_l1"]) < 2e-4


def test_gan_network_trains_against_a_patchgan_and_leaves_float16_snapshots(mirror, tmp_path):
    """``NAME=BASE:LR:INIT:gan``: the generator moves under the adversarial term (it differs from
    an L1 twin on the same batches), snapshots come at the asked steps, and float16 files import."""
    from batchcolor.train.weights import import_run, read_arrays

    assert mirror.parse_model("g=24:5e-5:w.npz:gan") == {"name": "g", "base": 24, "lr": 5e-5, "init": "w.npz", "arch": "pix2pix",
                                                          "recon": "l1", "distill": 0.0}
    assert mirror.parse_model("g=24:5e-5")["arch"] == "unet"
    assert mirror.parse_model("m=24:1e-4:w.npz:mse") == {"name": "m", "base": 24, "lr": 1e-4, "init": "w.npz", "arch": "unet",
                                                         "recon": "mse", "distill": 0.0}
    data = real_pairs(tmp_path / "pairs", 10)
    torch.manual_seed(0)
    start = tmp_path / "start.npz"
    mirror.write_arrays(start, mirror.paddle_arrays(mirror.UNet(9, 4, 3)), 1 << 30)
    out = tmp_path / "out"
    rc = mirror.main([str(data), "--out", str(out), "--model", f"l1=4:2e-3:{start}", "--model", f"gan=4:2e-3:{start}:gan",
                      "--model", f"mse=4:2e-3:{start}:mse",
                      "--depth", "3", "--size", "64", "--batch", "4", "--workers", "0", "--budget", "600", "--max-steps", "4",
                      "--val-last", "2", "--device", "cpu", "--snapshot-steps", "2", "--float16-files"])
    assert rc == 0
    assert sorted(p.name for p in out.glob("*.npz")) == ["gan.npz", "gan.s2.npz", "l1.npz", "mse.npz"]  # no L1 snapshot
    gan, plain = read_arrays(out / "gan.npz"), read_arrays(out / "l1.npz")
    assert all(v.dtype == np.float16 for v in gan.values())
    assert any(not np.array_equal(gan[k], plain[k]) for k in gan)  # same batches, same start: only D differs
    meta = json.loads((out / "gan.json").read_text())
    assert meta["config"]["arch"] == "pix2pix"
    assert [h["step"] for h in meta["state"]["history"] if h.get("snapshot")] == [2]
    import_run(out / "gan.json", tmp_path / "run")  # float16 weights become a float32 checkpoint
    assert (tmp_path / "run" / "last.pdckpt").exists()
    # squared error: the same start and batches as l1, another loss, so other weights; the recipe says so
    squared = read_arrays(out / "mse.npz")
    assert any(not np.array_equal(squared[k], plain[k]) for k in squared)
    assert json.loads((out / "mse.json").read_text())["config"]["recon"] == "mse"
    import_run(out / "mse.json", tmp_path / "run-mse")
    assert json.loads((tmp_path / "run-mse" / "config.json").read_text())["recon"] == "mse"
    a, b = torch.tensor([[0.5, -0.5]]), torch.tensor([[0.0, 0.0]])
    assert float(mirror.reconstruction(a, b, "mse")) == pytest.approx(25.0)  # 100 x mean((0.5)^2)
    assert float(mirror.reconstruction(a, b, "l1")) == pytest.approx(50.0)


def test_distilled_student_learns_the_teachers_outputs_and_imports(mirror, tmp_path):
    """``NAME=BASE:LR:kdW`` with ``--teacher BASE:WEIGHTS``: the target is W x the teacher's
    output + (1 - W) x the photo; the recipe (a TrainConfig) stays importable, and the
    teacher is recorded beside it."""
    from batchcolor.train.weights import import_run

    assert mirror.parse_model("s=16:2e-3:kd")["distill"] == 1.0
    assert mirror.parse_model("s=16:2e-3:kd0.5") == {"name": "s", "base": 16, "lr": 2e-3, "init": None, "arch": "unet",
                                                     "recon": "l1", "distill": 0.5}
    assert mirror.parse_model("s=16:2e-3:w.npz:mse:kd0.25")["recon"] == "mse"
    with pytest.raises(ValueError):
        mirror.parse_model("s=16:2e-3:kd1.5")
    out, photo, teacher = torch.tensor([[0.5]]), torch.tensor([[0.0]]), torch.tensor([[1.0]])
    assert float(mirror.distilled_loss(out, photo, teacher, "l1", 1.0)) == pytest.approx(50.0)  # |0.5 - 1|
    assert float(mirror.distilled_loss(out, photo, teacher, "l1", 0.5)) == pytest.approx(50.0)  # halves of 50 and 50
    assert float(mirror.distilled_loss(torch.tensor([[0.2]]), photo, teacher, "l1", 0.5)) == pytest.approx(50.0)
    assert float(mirror.distilled_loss(torch.tensor([[0.2]]), photo, teacher, "l1", 0.75)) == pytest.approx(65.0)
    assert float(mirror.distilled_loss(out, photo, None, "l1", 1.0)) == pytest.approx(50.0)  # no teacher: the photo

    data = real_pairs(tmp_path / "pairs", 10)
    torch.manual_seed(0)
    start, big = tmp_path / "start.npz", tmp_path / "teacher.npz"
    mirror.write_arrays(start, mirror.paddle_arrays(mirror.UNet(9, 4, 3)), 1 << 30)
    mirror.write_arrays(big, mirror.paddle_arrays(_randomised(mirror.UNet(9, 6, 3), 3)), 1 << 30)
    common = ["--depth", "3", "--size", "64", "--batch", "4", "--workers", "0", "--budget", "600", "--max-steps", "4",
              "--val-last", "2", "--device", "cpu"]
    with pytest.raises(SystemExit):  # a student without a teacher
        mirror.main([str(data), "--out", str(tmp_path / "none"), "--model", f"s=4:2e-3:{start}:kd", *common])
    out = tmp_path / "out"
    rc = mirror.main([str(data), "--out", str(out), "--model", f"plain=4:2e-3:{start}", "--model", f"kd=4:2e-3:{start}:kd",
                      "--teacher", f"6:{big}", *common])
    assert rc == 0
    from batchcolor.train.weights import read_arrays

    plain, taught = read_arrays(out / "plain.npz"), read_arrays(out / "kd.npz")
    assert any(not np.array_equal(plain[k], taught[k]) for k in plain)  # same start and batches, another target
    meta = json.loads((out / "kd.json").read_text())
    assert meta["distillation"] == {"teacher": f"6:{big}", "weight": 1.0}
    assert json.loads((out / "plain.json").read_text())["distillation"] is None
    import_run(out / "kd.json", tmp_path / "run")  # the recipe is still a TrainConfig
    assert (tmp_path / "run" / "last.pdckpt").exists()
