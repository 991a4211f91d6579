"""Real PaddlePaddle training steps on a handful of real pairs, export parity, prepare, eval."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import DATA, real_pairs, run_cli

paddle = pytest.importorskip("paddle", reason="needs the train extra")
pytestmark = pytest.mark.train

SHOES = DATA / "shoes-train"


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """20 real AB pairs copied to a temp folder (never into the repo)."""
    return real_pairs(tmp_path_factory.mktemp("data") / "pairs", 20)


def config(data: Path, run_dir: Path, **kw):
    from batchcolor.train.trainer import TrainConfig

    base = dict(data=(str(data),), run_dir=str(run_dir), size=64, width=8, depth=3, epochs=None, max_steps=None,
                batch_size=4, val_last=4, log_every=1, preview_count=2, val_max=4)
    base.update(kw)
    return TrainConfig(**base)


def losses(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "losses.jsonl").read_text().splitlines()]


def test_l1_training_loss_falls_and_run_folder_is_complete(tiny_data, tmp_path):
    from batchcolor.train.trainer import train

    run = tmp_path / "run"
    state = train(config(tiny_data, run, epochs=12, lr=2e-3), log=lambda *a: None)
    rows = losses(run)
    first, last = np.mean([r["loss_l1"] for r in rows[:4]]), np.mean([r["loss_l1"] for r in rows[-4:]])
    assert last < 0.8 * first, (first, last)
    assert state.step == 12 * 4 and state.epoch == 12
    for name in ("config.json", "last.pdckpt", "best.pdckpt", "loss.png", "metrics.jsonl", "preview_e012.png"):
        assert (run / name).exists(), name
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(metrics) == 12 and {"val_psnr", "val_ssim", "val_ciede2000", "val_l1"} <= set(metrics[-1])
    preview = cv2.imread(str(run / "preview_e012.png"))
    assert preview.shape[1] > 3 * 64 and preview.shape[0] > 2 * 64  # input | output | target, 2 rows
    assert rows[-1]["lr"] < rows[0]["lr"], "linear decay in the second half"


def test_pix2pix_step_changes_both_networks(tiny_data):
    from batchcolor.train.data import find_pairs, load_arrays, batches
    from batchcolor.train.trainer import Trainer

    trainer = Trainer(config(tiny_data, "/nonexistent", arch="pix2pix", gray_edges=True))
    arrays = load_arrays(find_pairs(tiny_data)[:8], 64, True)
    a, b = next(batches(arrays, 4, np.random.default_rng(0), True))
    assert a.shape == (4, 1, 64, 64)
    g0 = {k: v.numpy().copy() for k, v in trainer.gen.state_dict().items()}
    d0 = {k: v.numpy().copy() for k, v in trainer.disc.state_dict().items()}
    out = trainer.step(a, b)
    assert {"loss_d", "loss_g_gan", "loss_l1"} <= set(out)
    g_changed = [k for k, v in trainer.gen.state_dict().items() if not np.array_equal(v.numpy(), g0[k])]
    d_changed = [k for k, v in trainer.disc.state_dict().items() if not np.array_equal(v.numpy(), d0[k])]
    assert any("weight" in k for k in g_changed) and any("weight" in k for k in d_changed)


def test_resume_continues_exactly(tiny_data, tmp_path):
    from batchcolor.train.trainer import train

    straight = tmp_path / "straight"
    train(config(tiny_data, straight, epochs=4, arch="pix2pix"), log=lambda *a: None)
    stopped = tmp_path / "stopped"
    train(config(tiny_data, stopped, epochs=4, arch="pix2pix", max_steps=8), log=lambda *a: None)
    ck = paddle.load(str(stopped / "last.pdckpt"))
    assert ck["state"]["step"] == 8
    state = train(config(tiny_data, stopped, epochs=4, arch="pix2pix"), resume=True, log=lambda *a: None)
    assert state.step == 16 and state.epoch == 4
    a, b = paddle.load(str(straight / "last.pdckpt")), paddle.load(str(stopped / "last.pdckpt"))
    for net in ("gen", "disc"):
        for k in a[net]:
            np.testing.assert_allclose(a[net][k].numpy(), b[net][k].numpy(), rtol=1e-5, atol=1e-6, err_msg=f"{net}.{k}")
    moments = [k for k in a["opt_g"] if "moment1" in k]
    assert moments and all(np.allclose(a["opt_g"][k].numpy(), b["opt_g"][k].numpy(), atol=1e-6) for k in moments)
    assert a["rng"]["numpy"] == b["rng"]["numpy"]


def test_resume_refuses_when_nothing_to_resume(tiny_data, tmp_path):
    from batchcolor.train.trainer import train

    with pytest.raises(FileNotFoundError):
        train(config(tiny_data, tmp_path / "none", epochs=1), resume=True)
    train(config(tiny_data, tmp_path / "r", max_steps=1), log=lambda *a: None)
    with pytest.raises(FileExistsError):
        train(config(tiny_data, tmp_path / "r", max_steps=1))


def test_export_parity_and_card(tiny_data, tmp_path):
    from batchcolor.inference.modelcard import resolve_model
    from batchcolor.train.export import export, reference_data
    from batchcolor.train.trainer import train

    run = tmp_path / "run"
    train(config(tiny_data, run, epochs=3, lr=2e-3, gradient_weight=0.25, line_weight=0.75), log=lambda *a: None)
    real, mean = reference_data(run)
    assert real.shape == (4, 3, 64, 64) and len(mean) == 3
    result = export(run, tmp_path / "model", tile=128, overlap=32, real_inputs=real, mean_color=mean)
    assert result.parity_random <= 1e-3 and result.parity_real <= 1e-3
    ref = resolve_model(tmp_path / "model")
    assert ref.card.stride == 8 and ref.card.input_channels == 3 and ref.card.scale == 64
    assert ref.card.extra["parameters"] == result.parameters > 0
    recipe = ref.card.training["recipe"]  # the whole recipe, losses included, so a card can be trained again
    assert recipe["gradient_weight"] == 0.25 and recipe["line_weight"] == 0.75 and recipe["recon"] == "l1" and recipe["hints"] is False
    # every nearest x2 left the IR as an Interpolate (the parity above ran on that IR)
    assert ref.card.extra["upsample_ops_fused"] == 3
    assert 'type="Tile"' not in ref.model_path.read_text()
    # the fp16 IR, run by batchcolor's own engine, agrees with Paddle on a real tile
    from batchcolor.inference.engine import Engine, EngineConfig
    from batchcolor.train.trainer import load_generator

    gen, _ = load_generator(run)
    x = real[:1]
    with paddle.no_grad():
        expected = gen(paddle.to_tensor(x)).numpy()[0].transpose(1, 2, 0)
    engine = Engine(ref.model_path, ref.card, EngineConfig(tile=64, precision="f32"))
    tile_u8 = np.rint(x[0].transpose(1, 2, 0) * 127.5 + 127.5).astype(np.uint8)
    got = engine.infer_sync(tile_u8)
    assert np.abs(got - expected).max() < 1e-2  # fp16 weights: ~4e-3 expected


def test_export_cli_offline_installs_nothing(tiny_data, tmp_path):
    from batchcolor.train.trainer import train

    run = tmp_path / "run"
    train(config(tiny_data, run, max_steps=2), log=lambda *a: None)
    before = subprocess.run([sys.executable, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True).stdout
    r = run_cli("export", run, "-o", tmp_path / "m", "--tile", "64", "--overlap", "16",
                env={"PIP_NO_INDEX": "1", "no_proxy": "*", "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"})
    assert r.returncode == 0, r.stderr
    assert "parity" in r.stderr and (tmp_path / "m" / "model.xml").exists()
    after = subprocess.run([sys.executable, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True).stdout
    assert before == after, "export must not install packages"


@pytest.mark.slow
def test_train_cli_ctrl_c_saves_checkpoint(tiny_data, tmp_path):
    run = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-m", "batchcolor", "train", str(tiny_data), "-o", str(run), "--size", "64",
                          "--width", "8", "--depth", "3", "--epochs", "500", "--batch-size", "4", "--val-last", "4"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (run / "losses.jsonl").exists():
        time.sleep(0.2)
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert (run / "last.pdckpt").exists() and "rerun with --resume" in err
    step = paddle.load(str(run / "last.pdckpt"))["state"]["step"]
    assert step > 0
    r = run_cli("train", tiny_data, "-o", run, "--resume", "--max-steps", "1")  # CLI resume reads config.json
    assert r.returncode == 0 and "resumed at epoch" in r.stderr


def test_paired_a_b_folders_and_gray_cache(tmp_path):
    from batchcolor.train.data import find_pairs, load_arrays, split_fraction, split_last

    for sub in ("A", "B"):
        (tmp_path / sub).mkdir()
    for i in range(6):
        cv2.imwrite(str(tmp_path / "A" / f"p{i}.png"), np.full((40, 50, 3), 255, np.uint8))
        cv2.imwrite(str(tmp_path / "B" / f"p{i}.jpg"), np.full((40, 50, 3), (0, 0, 200), np.uint8))
    cv2.imwrite(str(tmp_path / "A" / "orphan.png"), np.zeros((4, 4, 3), np.uint8))
    pairs = find_pairs(tmp_path)
    assert [p.a.stem for p in pairs] == [f"p{i}" for i in range(6)]
    arrays = load_arrays(pairs, 64, True, cache=tmp_path / "cache")
    assert arrays.a.shape == (6, 64, 64, 1) and arrays.b.shape == (6, 64, 64, 3)
    assert arrays.b[0, 0, 0].tolist() == [200, 0, 0]  # RGB order
    again = load_arrays(pairs, 64, True, cache=tmp_path / "cache")
    assert isinstance(again.a, np.memmap) or again.a.base is not None  # served from the cache
    tr, va = split_last(pairs, 2)
    assert [p.a.stem for p in va] == ["p4", "p5"]
    assert split_fraction(pairs, 0.5, seed=3) == split_fraction(pairs, 0.5, seed=3)


def test_hinted_training_learns_to_follow_hints(tmp_path):
    """Six epochs of real training with simulated hints (64 px, width 8) on the shared shoes
    (a fixed number of steps, not a time budget, so a loaded box learns as much as an idle
    one). On held-out pairs the target's main colour as a global hint beats automatic by
    >= 1.5 dB, ten 3x3 point hints beat it too, and the output under the points is closer to
    their colours than the automatic output is.

    Measured over seeds (session 36, batch 16, lr 3e-3 / 5e-3): global +2.4 to +3.2 dB;
    points +0.5 to +2.1 dB (when a short run learns to spread a point's colour over the
    whole object varies from seed to seed; the test's old bar, points >= +1 dB, needed 12
    epochs of batch 8, 345 s, and 8 epochs met it by 0.05 dB); fidelity 7-11 CIEDE2000
    better."""
    if not SHOES.is_dir():
        pytest.skip(f"shared data not found at {SHOES}")
    from batchcolor.drawing import hints as H
    from batchcolor.tools import metrics
    from batchcolor.train.trainer import TrainConfig, Trainer, load_data, train

    cfg = TrainConfig(data=(str(SHOES),), run_dir=str(tmp_path / "run"), size=64, gray_edges=True, width=8,
                      hints=True, epochs=6, batch_size=16, lr=3e-3, val_last=50, val_max=50, seed=0)
    train(cfg, log=lambda m: None)
    trainer = Trainer(cfg)
    trainer.restore(tmp_path / "run" / "last.pdckpt")
    _, val = load_data(cfg)
    edges, targets = np.asarray(val.a), np.asarray(val.b)
    points = [H.eval_points(i, t, 10, size=3) for i, t in enumerate(targets)]
    auto, hinted = trainer.predict(edges), trainer.predict(edges, points)
    given = trainer.predict(edges, [H.Hints(global_rgb=H.global_color(t)) for t in targets])
    mask, color = np.stack([p.mask for p in points]), np.stack([p.color for p in points])
    automatic = metrics.psnr(auto, targets)
    assert metrics.psnr(given, targets) >= automatic + 1.5, (metrics.psnr(given, targets), automatic)
    assert metrics.psnr(hinted, targets) >= automatic + 0.3, (metrics.psnr(hinted, targets), automatic)
    assert metrics.hint_fidelity(hinted, color, mask) < metrics.hint_fidelity(auto, color, mask) - 3


test_hinted_training_learns_to_follow_hints = pytest.mark.slow(test_hinted_training_learns_to_follow_hints)


def test_hinted_export_round_trips_hint_block_with_parity(tiny_data, tmp_path):
    """A hinted run exports to ONNX and IR with the card's input.hints block; OpenVINO at f32
    matches Paddle with hint planes given; the engine then follows --color."""
    r = run_cli("train", tiny_data, "-o", tmp_path / "run", "--size", "64", "--width", "8", "--depth", "3",
                "--gray-edges", "--hints", "--augment", "--max-steps", "3", "--epochs", "1", "--batch-size", "4",
                "--val-last", "4")
    assert r.returncode == 0, r.stderr
    r = run_cli("export", tmp_path / "run", "-o", tmp_path / "models" / "hinted", "--tile", "128", "--fp32")
    assert r.returncode == 0, r.stderr
    card = json.loads((tmp_path / "models" / "hinted" / "card.json").read_text())
    assert card["input"]["channels"] == 1 and len(card["input"]["hints"]["planes"]) == 8
    assert card["architecture"]["in_channels"] == 9
    assert card["parity_max_abs_f32"]["real"] is not None and card["parity_max_abs_f32"]["real"] <= 1e-3
    assert card["training"]["hint_protocol"]["global_color_probability"] == 0.5
    assert card["seams"]["table"] and card["tile"]["overlap"] in [r["overlap"] for r in card["seams"]["table"]] + [128]
    assert card["seams"]["measured"].count("x") == 2, "the overlap is judged on two sheets of drawings"
    import os

    assert os.stat(tmp_path / "models" / "hinted").st_mode & 0o777 == 0o777 & ~_umask()


def _umask() -> int:
    import os

    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_short_run_still_draws_its_loss_curve(tiny_data, tmp_path):
    """One logged step (the default logs every 10) is enough for loss.png, as the README says."""
    r = run_cli("train", tiny_data, "-o", tmp_path / "run", "--size", "64", "--width", "8", "--depth", "3",
                "--max-steps", "10", "--epochs", "20", "--batch-size", "8", "--val-last", "4")
    assert r.returncode == 0, r.stderr
    assert len((tmp_path / "run" / "losses.jsonl").read_text().splitlines()) == 1
    img = cv2.imread(str(tmp_path / "run" / "loss.png"))
    assert img is not None and img.shape[0] > 100


def test_card_scale_is_the_middle_of_the_objects_a_run_saw():
    from batchcolor.train.export import object_scale

    assert object_scale({"size": 128}) == 128  # no scale augmentation: the training size
    assert object_scale({"size": 128, "augment": True, "scale_min": 0.5, "scale_max": 2.0}) == 128
    assert object_scale({"size": 128, "augment": True, "scale_min": 0.8, "scale_max": 1.8}) == 154
    assert object_scale({"size": 256, "augment": True, "scale_min": 1.0, "scale_max": 4.0}) == 512
    assert object_scale({"size": 192, "augment": True, "scale_min": 0.7, "scale_max": 1.0}) == 161
    assert object_scale({}) is None  # an old checkpoint without a size: no auto scale


def test_bilinear_up_sampling_starts_from_a_resize_run_and_exports(tiny_data, tmp_path):
    """`--up bilinear` is nearest x2 + a fixed blur: exactly bilinear, no new weights, so a
    nearest-resize checkpoint starts it, and its export keeps parity with Paddle."""
    import paddle.nn.functional as F

    from batchcolor.inference.modelcard import resolve_model
    from batchcolor.train.export import export, reference_data
    from batchcolor.train.models import blur121, upsample_nearest2x
    from batchcolor.train.trainer import same_weights, train

    x = paddle.randn([1, 2, 5, 7])
    ours = blur121(upsample_nearest2x(x)).numpy()
    theirs = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False).numpy()
    assert np.abs(ours - theirs).max() < 1e-5
    assert same_weights({"base": 8, "up": "resize"}, {"base": 8, "up": "bilinear"})
    assert not same_weights({"base": 8, "up": "resize"}, {"base": 8, "up": "transpose"})
    assert not same_weights({"base": 8, "up": "resize"}, {"base": 12, "up": "bilinear"})

    nearest = tmp_path / "nearest"
    train(config(tiny_data, nearest, epochs=2, lr=2e-3), log=lambda *a: None)
    run = tmp_path / "run"
    train(config(tiny_data, run, epochs=1, lr=2e-3, up="bilinear", init_from=str(nearest / "last.pdckpt")),
          log=lambda *a: None)
    with pytest.raises(ValueError, match="differs"):
        train(config(tiny_data, tmp_path / "t", max_steps=1, up="transpose", init_from=str(nearest / "last.pdckpt")),
              log=lambda *a: None)
    real, mean = reference_data(run)
    result = export(run, tmp_path / "model", tile=128, overlap=32, real_inputs=real, mean_color=mean)
    assert result.parity_random <= 1e-3 and result.parity_real <= 1e-3
    # the blur chain is written as bilinear Interpolates: no Pad, no depthwise convolution left
    ir = (tmp_path / "model" / "model.xml").read_text()
    assert 'type="Pad"' not in ir and 'type="GroupConvolution"' not in ir
    assert ir.count('mode="linear_onnx"') == 3  # one per up-sampling (depth 3)
    ref = resolve_model(tmp_path / "model")
    assert ref.card.training["recipe"]["up"] == "bilinear" and ref.card.extra["architecture"]["up"] == "bilinear"


def test_bilinear_up_layer_is_the_same_function_in_training_and_export_spelling():
    """Training runs Paddle's bilinear kernel, export the nearest + blur spelling: same output."""
    from batchcolor.train.models import UNet, UNetConfig

    paddle.seed(3)
    net = UNet(UNetConfig(in_channels=2, base=4, depth=2, up="bilinear"))
    net.eval()  # batch norm on running statistics in both spellings
    up = net.ups[0]
    low, skip = paddle.randn([1, 16, 4, 6]), paddle.randn([1, 8, 8, 12])
    with paddle.no_grad():
        exported = up(low, skip).numpy()
        up.training = True  # only this layer: its sublayers stay in eval
        trained = up(low, skip).numpy()
    assert exported.shape == (1, 8, 8, 12)
    assert np.abs(trained - exported).max() < 1e-5
    up.training = False
    with paddle.no_grad():
        assert np.abs(up(low * 1.5, skip).numpy() - exported).max() > 1e-3  # the check can fail


def _line_widths(gray: np.ndarray) -> list[int]:
    """Lengths of the dark runs down a few columns (the drawing's lines are horizontal)."""
    runs = []
    for x in (30, 60, 90):
        dark = np.concatenate([[0], (gray[:, x] < 128).astype(np.int8), [0]])
        edges = np.flatnonzero(np.diff(dark))
        runs += list(edges[1::2] - edges[0::2])
    return runs


def test_line_style_thickness_reaches_line_max_and_not_beyond():
    from batchcolor.train.augment import line_style

    edges = np.full((128, 128), 255, np.uint8)
    for y in range(10, 120, 12):
        cv2.line(edges, (5, y), (122, y), 0, 1)
    widths = {m: [w for s in range(40) for w in _line_widths(line_style(np.random.default_rng(s), edges, m))] for m in (3, 5)}
    assert max(widths[3]) == 3 and max(widths[5]) == 5, {m: sorted(set(w)) for m, w in widths.items()}
    assert min(widths[5]) == 1, "thin lines are still drawn"


def test_restyle_draws_the_sample_again_from_its_photo_in_both_styles():
    """With ``restyle`` the network sees another extractor's view of the photo: lines where
    the photo has edges, whatever the pair's own edge map was (blank here), thin (Canny) or
    thick (ink) from one sample to the next; without it the pair's map is kept."""
    from batchcolor.train.augment import Augment, sample

    photo = np.full((128, 128, 3), 250, np.uint8)
    cv2.rectangle(photo, (30, 30), (98, 98), (120, 60, 20), -1)
    photo = np.clip(photo + np.random.default_rng(1).normal(0, 3, photo.shape), 0, 255).astype(np.uint8)
    blank = np.full((128, 128), 255, np.uint8)
    aug = Augment(line_style=False, scale_max=0.0, restyle=1.0)
    inked = [int((sample(np.random.default_rng(s), blank, photo, 128, aug)[0] < 128).sum()) for s in range(16)]
    e, t = sample(np.random.default_rng(0), blank, photo, 128, aug)
    assert e.dtype == np.uint8 and e.shape == (128, 128) and np.array_equal(t, photo)
    r = np.abs(np.mgrid[:128, :128] - 64).max(axis=0)  # the square's outline is at r = 34
    on_outline = np.mean([(sample(np.random.default_rng(s), blank, photo, 128, aug)[0] < 128)[(r >= 31) & (r <= 36)].any()
                          for s in range(16)])
    assert min(inked) > 100 and on_outline == 1.0, inked
    assert max(inked) > 2 * min(inked), f"thin and thick styles both drawn: {sorted(inked)}"
    kept = sample(np.random.default_rng(0), blank, photo, 128, Augment(line_style=False, scale_max=0.0))[0]
    assert (kept == 255).all()
    paper = np.full((128, 128, 3), 250, np.uint8)  # nothing to draw: the pair's own map stays
    assert all((sample(np.random.default_rng(s), blank, paper, 128, aug)[0] == 255).all() for s in range(8))


def test_train_cli_takes_line_max(tiny_data, tmp_path):
    run = tmp_path / "run"
    r = run_cli("train", tiny_data, "-o", run, "--size", "64", "--width", "4", "--depth", "2", "--augment",
                "--line-max", "5", "--restyle", "0.5", "--max-steps", "1", "--epochs", "1", "--batch-size", "4", "--val-last", "4")
    assert r.returncode == 0, r.stderr
    saved = json.loads((run / "config.json").read_text())
    assert saved["line_max"] == 5 and saved["restyle"] == 0.5
    bad = run_cli("train", tiny_data, "-o", tmp_path / "bad", "--augment", "--line-max", "0", "--max-steps", "1")
    assert bad.returncode == 2 and "line-max" in bad.stderr
    bare = run_cli("train", tiny_data, "-o", tmp_path / "bare", "--restyle", "0.5", "--max-steps", "1")
    assert bare.returncode == 2 and "--augment" in bare.stderr and not (tmp_path / "bare" / "config.json").exists()


def test_train_cli_at_192_px_sees_whole_objects_and_validates_at_that_size(tiny_data, tmp_path):
    """192 px: the size between 128 (most objects cut by the crop at the run's scale) and 256
    (four times 128's cost); at scale 0.7-1.0 every object is whole, with paper round it."""
    from batchcolor.train import data as datamod
    from batchcolor.train.augment import Augment, sample

    run = tmp_path / "run"
    r = run_cli("train", tiny_data, "-o", run, "--size", "192", "--width", "4", "--depth", "2", "--gray-edges",
                "--hints", "--augment", "--scale-min", "0.7", "--scale-max", "1.0", "--max-steps", "2", "--epochs", "1",
                "--batch-size", "4", "--val-last", "4")
    assert r.returncode == 0, r.stderr
    assert json.loads((run / "config.json").read_text())["size"] == 192
    assert (run / "last.pdckpt").exists()
    assert "val_l1" in json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    pairs = datamod.find_pairs(tiny_data)[:1]
    arrays = datamod.load_arrays(pairs, 256, True)
    edges, photo = arrays.a[0], arrays.b[0]
    rng = np.random.default_rng(0)
    for _ in range(8):  # the whole 256 px pair fits the frame: its border rows and columns are paper
        e, p = sample(rng, edges[..., 0], photo, 192, Augment(line_style=False, scale_min=0.7, scale_max=1.0))
        assert e.shape == (192, 192) and p.shape == (192, 192, 3)
    e, p = sample(rng, edges[..., 0], photo, 192, Augment(line_style=False, scale_min=0.7, scale_max=0.7001))
    assert (p[:20] == 255).all() or (p[-20:] == 255).all(), "a 134 px pair leaves at least 29 px of paper on one side"
    bad = run_cli("train", tiny_data, "-o", tmp_path / "bad", "--size", "160", "--max-steps", "1")
    assert bad.returncode == 2 and "--size" in bad.stderr


@pytest.mark.parametrize("recon, lo, hi", [("l1", -1.0, -0.8), ("mse", -0.65, -0.35)])
def test_recon_loss_learns_the_median_or_the_mean_of_an_ambiguous_target(recon, lo, hi):
    """One drawing, two photos: black three times in four, white once. L1 must settle on the
    median (black), squared error on the mean (-0.5 in the network's range): that difference
    is the reason ``--recon mse`` exists (PSNR rewards the mean)."""
    from batchcolor.train.trainer import Trainer

    trainer = Trainer(config(Path("/nonexistent"), "/nonexistent", gray_edges=True, recon=recon, lr=5e-3))
    rng = np.random.default_rng(0)
    a = np.ones((4, 1, 32, 32), np.float32)
    for _ in range(150):
        b = np.where(rng.random(4) < 0.25, 1.0, -1.0).astype(np.float32)[:, None, None, None] * np.ones((4, 3, 32, 32), np.float32)
        out = trainer.step(a, b)
    assert ("loss_mse" in out) == (recon == "mse")
    trainer.gen.eval()
    with paddle.no_grad():
        mean = float(trainer.gen(paddle.to_tensor(a[:1])).numpy().mean())
    assert lo <= mean <= hi, (recon, mean)


def test_best_checkpoint_follows_the_runs_objective():
    from batchcolor.train.trainer import TrainConfig, val_score

    l1, mse = TrainConfig(data=(), run_dir="x"), TrainConfig(data=(), run_dir="x", recon="mse")
    sharp, mean = {"val_l1": 0.20, "val_psnr": 15.0}, {"val_l1": 0.22, "val_psnr": 15.6}
    assert val_score(l1, sharp) < val_score(l1, mean)
    assert val_score(mse, mean) < val_score(mse, sharp)
    assert val_score(mse, {}) is None and val_score(l1, {}) is None


def test_train_cli_takes_recon_and_records_it(tiny_data, tmp_path):
    run = tmp_path / "mse"
    res = run_cli("train", tiny_data, "-o", run, "--size", "64", "--width", "8", "--recon", "mse", "--max-steps", "2",
                  "--epochs", "1", "--batch-size", "4", "--val-last", "4")
    assert res.returncode == 0, res.stderr
    assert json.loads((run / "config.json").read_text())["recon"] == "mse"
    assert all("loss_mse" in r for r in losses(run))
    assert "best val -PSNR" in res.stderr
    bad = run_cli("train", tiny_data, "-o", tmp_path / "bad", "--recon", "l2", "--max-steps", "1")
    assert bad.returncode == 2 and "recon" in bad.stderr


def test_checkpoint_from_before_recon_resumes_with_its_best_score(tiny_data, tmp_path):
    """Checkpoints written before ``--recon`` keep their best validation L1 as ``best_val``."""
    from batchcolor.train.trainer import Trainer

    trainer = Trainer(config(tiny_data, tmp_path / "r"))
    (tmp_path / "r").mkdir()
    ckpt = trainer.checkpoint()
    del ckpt["state"]["best_val"]
    ckpt["state"]["best_val_l1"] = 0.1234
    paddle.save(ckpt, str(tmp_path / "old.pdckpt"))
    trainer.restore(tmp_path / "old.pdckpt")
    assert trainer.state.best_val == pytest.approx(0.1234)


def assert_loss_term_trains_and_is_recorded(tiny_data: Path, tmp_path: Path, field: str, log_key: str, cli_value: float) -> None:
    """A loss term's weight ``field``: a step with it logs ``log_key`` and moves the weights
    differently from the same seeded step without it; the CLI flag is recorded in config.json."""
    from batchcolor.train.trainer import Trainer

    a = np.tile(np.where(np.arange(32) % 4 == 0, -1.0, 1.0).astype(np.float32), (4, 1, 32, 1))  # a line every 4 px
    b = np.repeat(a, 3, axis=1) * 0.8
    weights = {}
    for weight in (0.0, 2.0):
        trainer = Trainer(config(Path("/nonexistent"), "/nonexistent", gray_edges=True, lr=1e-3, **{field: weight}))
        out = trainer.step(a, b)
        assert (log_key in out) == (weight > 0)
        weights[weight] = np.concatenate([p.numpy().ravel() for p in trainer.gen.parameters()])
    assert not np.allclose(weights[0.0], weights[2.0]), "the term must reach the generator's update"

    run = tmp_path / field
    res = run_cli("train", tiny_data, "-o", run, "--size", "64", "--width", "8", "--" + field.replace("_", "-"), str(cli_value),
                  "--max-steps", "2", "--epochs", "1", "--batch-size", "4", "--val-last", "4")
    assert res.returncode == 0, res.stderr
    assert json.loads((run / "config.json").read_text())[field] == cli_value


def test_gradient_loss_charges_for_blurred_edges_and_not_for_a_flat_offset(tiny_data, tmp_path):
    """The term exists for edges: a colour shift everywhere costs nothing, a blurred copy of the
    same picture does; a step with it logs it and moves the weights differently; the CLI records it."""
    from batchcolor.train.trainer import gradient_loss

    rng = np.random.default_rng(0)
    sharp = np.where(rng.random((2, 3, 32, 32)) < 0.5, -1.0, 1.0).astype(np.float32)
    blurred = np.stack([cv2.GaussianBlur(img.transpose(1, 2, 0), (5, 5), 0).transpose(2, 0, 1) for img in sharp])
    t = paddle.to_tensor
    assert float(gradient_loss(t(sharp + 0.3), t(sharp))) == pytest.approx(0.0, abs=1e-6)
    assert float(gradient_loss(t(blurred), t(sharp))) > 0.5

    assert_loss_term_trains_and_is_recorded(tiny_data, tmp_path, "gradient_weight", "loss_grad", 0.5)


def test_line_loss_charges_only_where_the_drawing_has_lines(tiny_data, tmp_path):
    """The term is for the user's lines: an error on paper costs nothing, the same error on a
    line does; the mask covers a line and its flanks; a step logs it and moves the weights; the
    CLI records the weight."""
    from batchcolor.train.trainer import line_loss, line_mask

    edges = np.ones((1, 1, 16, 16), np.float32)
    edges[:, :, :, 8] = -1.0  # one vertical line
    t = paddle.to_tensor
    mask = line_mask(t(edges)).numpy()[0, 0]
    assert mask[:, 7:10].all() and not mask[:, :7].any() and not mask[:, 10:].any()

    target = np.zeros((1, 3, 16, 16), np.float32)
    off_line, on_line = target.copy(), target.copy()
    off_line[:, :, :, 2] = 1.0
    on_line[:, :, :, 8] = 1.0
    m = line_mask(t(edges))
    assert float(line_loss(t(off_line), t(target), m)) == pytest.approx(0.0, abs=1e-6)
    assert float(line_loss(t(on_line), t(target), m)) > 0.2

    assert_loss_term_trains_and_is_recorded(tiny_data, tmp_path, "line_weight", "loss_line", 1.5)


def test_training_on_negatives_warns_that_run_turns_them_over(tiny_data, tmp_path):
    """White-on-black edge maps (raw Canny or HED output): `run` would turn such drawings over
    before colouring, so the trainer says so, with both ways out; on the shared data it does not."""
    from batchcolor.train.trainer import train

    negatives = tmp_path / "negatives"
    negatives.mkdir()
    for path in sorted(tiny_data.iterdir()):
        ab = cv2.imread(str(path))
        half = ab.shape[1] // 2
        ab[:, :half] = 255 - ab[:, :half]
        cv2.imwrite(str(negatives / path.name), ab)
    said: list[str] = []
    train(config(negatives, tmp_path / "neg", max_steps=1), log=lambda *a: said.append(" ".join(map(str, a))))
    warning = [line for line in said if line.startswith("warning:")]
    assert len(warning) == 1 and "light lines on dark paper" in warning[0] and "--levels off" in warning[0], said
    said.clear()
    train(config(tiny_data, tmp_path / "pos", max_steps=1), log=lambda *a: said.append(" ".join(map(str, a))))
    assert not [line for line in said if line.startswith("warning:")], said
