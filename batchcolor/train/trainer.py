"""``batchcolor train``: UNet-L1 or pix2pix on paired data, resumable, observable.

A run folder holds everything a person or a resumed run needs:

    config.json         the exact settings (and command) of the run
    last.pdckpt         networks, optimizers, step/epoch, time used and RNG state (atomic)
    best.pdckpt         the checkpoint with the lowest validation L1 so far (highest PSNR with --recon mse)
    losses.jsonl        one line per logged step
    metrics.jsonl       validation metrics per epoch
    loss.png            loss curves
    preview_eNNN.png    input | output | target on fixed validation images, every epoch

The learning rate follows pix2pix: constant for the first half of the run, then linear decay
to zero. With ``--time-budget`` the "run" is measured in seconds of training, so the schedule
is the same whether the box is fast or slow, and a resumed run continues it.
"""
from __future__ import annotations

import json
import math
import random
import signal
import sys
import time
import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from batchcolor.imageio.images import atomic_output
from batchcolor.train import data as datamod
from batchcolor.train.threads import ThreadTrial, candidate_counts, parse_threads, set_paddle_threads


@dataclass(frozen=True)
class TrainConfig:
    data: tuple[str, ...]
    run_dir: str
    arch: str = "unet"  # unet (L1 only) or pix2pix (L1 + conditional GAN)
    size: int = 128
    gray_edges: bool = False
    width: int = 16
    depth: int = 4
    up: str = "resize"
    epochs: int | None = 20
    time_budget_min: float | None = None
    batch_size: int = 8
    lr: float = 2e-4
    beta1: float = 0.5
    l1_weight: float = 100.0  # weight of the reconstruction term (L1, or squared error with recon="mse")
    recon: str = "l1"  # l1 (pix2pix: the per-pixel median, crisp) or mse (the per-pixel mean: what PSNR rewards)
    gan_mode: str = "vanilla"  # vanilla (BCE with logits) or lsgan
    flip: bool = True
    seed: int = 0
    val_last: int = 0
    val_fraction: float = 0.05
    val_dirs: tuple[str, ...] = ()
    val_max: int = 64
    preview_count: int = 6
    log_every: int = 10
    max_steps: int | None = None  # stop (and save) after this many steps; the LR schedule still follows --epochs/--time-budget
    hints: bool = False  # 8 more input planes: simulated local hints and a global colour (batchcolor.drawing.hints)
    augment: bool = False  # line style (thickness, breaks, ink/pencil) and scale (rescale, then crop)
    scale_min: float = 0.5
    scale_max: float = 2.0
    line_max: int = 3  # thickest --augment line (px at the source)
    restyle: float = 0.0  # share of --augment samples whose edges are drawn again from the photo (augment.redraw)
    init_from: str | None = None  # start the generator from this checkpoint (L1 pre-training -> GAN fine-tune)
    hint_weight: float = 0.0  # extra L1 weight on hinted pixels: the output under a hint should be its colour
    recolour: float = 0.0  # share of hinted samples whose target is recoloured (hue/chroma), see augment.recolour
    gradient_weight: float = 0.0  # extra L1 weight on image gradients: edges where the photo has them (gradient_loss)
    line_weight: float = 0.0  # extra L1 weight on the drawing's line pixels, values and gradients (line_loss)
    threads: str | int | None = None  # Paddle's CPU threads: a count, "auto" (timed on the first steps: train.threads), None: its default
    command: str = ""

    @property
    def edge_channels(self) -> int:
        return 1 if self.gray_edges else 3

    @classmethod
    def for_resume(cls, run_dir: str | Path, epochs: int | None = None, time_budget_min: float | None = None,
                   max_steps: int | None = None, threads: str | int | None = None) -> "TrainConfig":
        """The saved recipe of ``run_dir``: a resumed run keeps it, and only how long it runs
        may change (any of ``epochs``, ``time_budget_min``, ``max_steps`` given), and its
        ``threads`` (not part of the recipe: a run may resume on another box)."""
        saved = json.loads((Path(run_dir) / "config.json").read_text())
        longer = {k: v for k, v in (("epochs", epochs), ("time_budget_min", time_budget_min),
                                    ("max_steps", max_steps), ("threads", threads)) if v is not None}
        known = {f.name for f in dataclasses.fields(cls)}
        saved = {k: v for k, v in saved.items() if k in known}
        return cls(**{**saved, "data": tuple(saved["data"]), "val_dirs": tuple(saved.get("val_dirs", ())), **longer})

    def unet_config(self):
        from batchcolor.drawing.hints import HINT_PLANES
        from batchcolor.train.models import UNetConfig

        channels = self.edge_channels + (HINT_PLANES if self.hints else 0)
        return UNetConfig(in_channels=channels, base=self.width, depth=self.depth, up=self.up)

    def augmentation(self):
        from batchcolor.train.augment import Augment

        return Augment(line_style=self.augment, scale_min=self.scale_min, scale_max=self.scale_max if self.augment else 0.0,
                       line_max=self.line_max, restyle=self.restyle if self.augment else 0.0)

    @property
    def source_size(self) -> int:
        """Pairs are cached at 256 px when the scale augmentation crops from them."""
        return 256 if self.augment else self.size


@dataclass
class TrainState:
    epoch: int = 0
    step: int = 0
    seconds: float = 0.0
    best_val: float = math.inf  # lower is better: validation L1, or -PSNR for recon="mse" (see val_score)
    history: list[dict[str, Any]] = field(default_factory=list)


def val_score(config: TrainConfig, metrics: dict[str, Any]) -> float | None:
    """The number ``best.pdckpt`` minimises: the run's own objective measured on the hold-out,
    so a squared-error run keeps its best-PSNR checkpoint rather than its best-L1 one."""
    if config.recon == "mse":
        return -metrics["val_psnr"] if "val_psnr" in metrics else None
    return metrics.get("val_l1")


def reconstruction_loss(config: TrainConfig, fake, target):
    import paddle.nn.functional as F

    if config.recon == "mse":
        return F.mse_loss(fake, target)
    if config.recon == "l1":
        return F.l1_loss(fake, target)
    raise ValueError(f"unknown reconstruction loss {config.recon!r} (l1 or mse)")


def gradient_loss(fake, target):
    """L1 between the horizontal and vertical differences of ``fake`` and ``target``.

    Plain L1 pays the same for a blurred edge as for a shifted colour, so where the colour is
    uncertain the median it learns is a soft, grey transition, and the drawing's lines fade
    out of the output. This term is blind to a flat colour offset and charges only for edges
    that are missing, blurred or invented. Measured (session 27, weight 0.5, 85 min from the
    shipped weights): more colour before any gain and +0.5 dB automatic on HED shoes, but line
    recall fell; the photo's edges are not always where a drawing's lines are.
    """
    import paddle

    dx = lambda t: t[:, :, :, 1:] - t[:, :, :, :-1]  # noqa: E731 - two one-line differences
    dy = lambda t: t[:, :, 1:, :] - t[:, :, :-1, :]  # noqa: E731
    return 0.5 * (paddle.abs(dx(fake) - dx(target)).mean() + paddle.abs(dy(fake) - dy(target)).mean())


def line_mask(edges):
    """The drawing's line pixels (darker than mid-grey, as ``metrics.line_recall`` counts them),
    grown by 1 px so a line's two flanks, where the output's edge has to be, are inside."""
    import paddle.nn.functional as F

    dark = (edges.mean(axis=1, keepdim=True) < 0).astype("float32")
    return F.max_pool2d(dark, kernel_size=3, stride=1, padding=1)


def line_loss(fake, target, mask):
    """L1 of values and x/y differences, only on ``mask`` (the drawing's lines, ``line_mask``).

    A line is a few percent of the pixels, so plain L1 barely pays for washing it out, and the
    whole-image ``gradient_loss`` spends most of its weight on the photo's texture and edges
    the drawing does not have. This term charges only where the user drew: the output there
    should have the photo's colour and its edge. Measured (session 28, weight 1 on top of
    ``gradient_loss`` 0.5, 95 min from session 27's weights): line recall fell, 0.859 ; 0.814
    -> 0.831 ; 0.762 (shoes ; handbags) at a tie in PSNR; where HED draws stitching or folds
    the photo has no strong edge to copy, so the term smooths under the lines. Off by default.
    """
    import paddle

    mx, my = mask[:, :, :, 1:] * mask[:, :, :, :-1], mask[:, :, 1:, :] * mask[:, :, :-1, :]
    dx = lambda t: t[:, :, :, 1:] - t[:, :, :, :-1]  # noqa: E731
    dy = lambda t: t[:, :, 1:, :] - t[:, :, :-1, :]  # noqa: E731
    channels = fake.shape[1]

    def masked(diff, m):
        return (paddle.abs(diff) * m).sum() / paddle.clip(m.sum() * channels, min=1.0)

    return (masked(fake - target, mask) + 0.5 * (masked(dx(fake) - dx(target), mx) + masked(dy(fake) - dy(target), my))) / 2


def lr_at(config: TrainConfig, progress: float) -> float:
    """pix2pix schedule: flat for the first half of the run, then linearly down to zero."""
    return config.lr * max(0.0, min(1.0, 2.0 * (1.0 - progress)))


def portable_optimizer_state(state: dict[str, Any], params: list) -> dict[str, Any]:
    """Re-key Paddle optimizer state by parameter position instead of global layer name.

    Paddle names accumulators after parameters (``conv2d_64.w_0_moment1_0``), and those names
    depend on how many layers the process created before: a resume in another process, or a
    second trainer in the same one, would not find them.
    """
    names = sorted(((p.name, i) for i, p in enumerate(params)), key=lambda t: -len(t[0]))
    out: dict[str, Any] = {}
    for key, value in state.items():
        for name, i in names:
            if key.startswith(name + "_"):
                out[f"@param{i}" + key[len(name):]] = value
                break
        else:
            out[key] = value
    return out


def local_optimizer_state(state: dict[str, Any], params: list) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in state.items():
        if key.startswith("@param"):
            index, rest = key[len("@param"):].split("_", 1)
            key = f"{params[int(index)].name}_{rest}"
        out[key] = value
    return out


def same_weights(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two UNet configs hold the same parameters: ``resize`` and ``bilinear`` differ
    only by a fixed blur, so a checkpoint of one starts the other."""
    resize_like = {"resize", "bilinear"}
    ups = {a.get("up"), b.get("up")}
    if ups <= resize_like:
        return {**a, "up": "resize"} == {**b, "up": "resize"}
    return a == b


class Interrupted(Exception):
    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


def load_data(config: TrainConfig):
    train_pairs, val_pairs = [], []
    for folder in config.data:
        pairs = datamod.find_pairs(Path(folder))
        if config.val_last:
            tr, va = datamod.split_last(pairs, config.val_last)
            train_pairs += tr
            val_pairs += va
        elif config.val_dirs:
            train_pairs += pairs
        else:
            tr, va = datamod.split_fraction(pairs, config.val_fraction, config.seed)
            train_pairs += tr
            val_pairs += va
    for folder in config.val_dirs:
        val_pairs += datamod.find_pairs(Path(folder))
    train = datamod.load_arrays(train_pairs, config.source_size, config.gray_edges)
    val = datamod.load_arrays(val_pairs, config.size, config.gray_edges) if val_pairs else None
    return train, val


class Trainer:
    """Networks, optimizers and the loop. Images live in the data arrays, never on ``self``."""

    def __init__(self, config: TrainConfig, train_set=None):
        """``train_set``: the run's training pairs, which an ``init_from`` model folder's
        BatchNorm statistics are measured on (:mod:`batchcolor.train.from_ir`)."""
        import paddle

        from batchcolor.train.models import PatchDiscriminator, UNet

        if config.arch not in ("unet", "pix2pix"):
            raise ValueError(f"--arch must be unet or pix2pix, got {config.arch}")
        self.config = config
        self.run_dir = Path(config.run_dir)
        paddle.seed(config.seed)
        np.random.seed(config.seed)
        random.seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.gen = UNet(config.unet_config())
        self.opt_g = paddle.optimizer.Adam(learning_rate=config.lr, beta1=config.beta1, beta2=0.999,
                                           parameters=self.gen.parameters())
        self.disc = None
        self.opt_d = None
        if config.arch == "pix2pix":
            in_ch = config.unet_config().in_channels + 3
            self.disc = PatchDiscriminator(in_ch)
            self.opt_d = paddle.optimizer.Adam(learning_rate=config.lr, beta1=config.beta1, beta2=0.999,
                                               parameters=self.disc.parameters())
        self.state = TrainState()
        if config.init_from:
            self._init_generator(Path(config.init_from), train_set)

    def _init_generator(self, path: Path, train_set=None) -> None:
        """Load a generator's weights; a nearest-resize network may start a bilinear one. A
        model folder (a shipped IR) is turned back into trainable weights: fine-tuning the
        default on your own pairs needs no checkpoint of it."""
        import paddle

        from batchcolor.train import from_ir

        if from_ir.is_model_folder(path):
            unet = from_ir.card_unet(path)
            if not same_weights(unet, self.config.unet_config().to_dict()):
                raise ValueError(f"{path}: --init-from model {unet} differs from this run's {self.config.unet_config().to_dict()}"
                                 " (give the model's width, depth and up-sampling)")
            if train_set is None:
                raise ValueError(f"{path}: starting from a model folder needs the run's training pairs to calibrate on")
            arrays, _ = from_ir.recover_from_model(path, train_set, self.config)
            self.gen.set_state_dict({k: paddle.to_tensor(v) for k, v in arrays.items()})
            return
        if path.is_dir():
            path = path / "best.pdckpt" if (path / "best.pdckpt").exists() else path / "last.pdckpt"
        ckpt = paddle.load(str(path))
        if not same_weights(ckpt["unet"], self.config.unet_config().to_dict()):
            raise ValueError(f"{path}: --init-from network {ckpt['unet']} differs from this run's {self.config.unet_config().to_dict()}")
        self.gen.set_state_dict(ckpt["gen"])

    # --- checkpoints -------------------------------------------------------------------
    def checkpoint(self) -> dict[str, Any]:
        import paddle

        ckpt = {
            "config": asdict(self.config),
            "unet": self.config.unet_config().to_dict(),
            "gen": self.gen.state_dict(),
            "opt_g": portable_optimizer_state(self.opt_g.state_dict(), self.gen.parameters()),
            "state": asdict(self.state),
            "rng": {"numpy": self.rng.bit_generator.state, "paddle": paddle.get_rng_state(),
                    "python": random.getstate()},
        }
        if self.disc is not None:
            ckpt["disc"] = self.disc.state_dict()
            ckpt["opt_d"] = portable_optimizer_state(self.opt_d.state_dict(), self.disc.parameters())
        return ckpt

    def save(self, name: str) -> Path:
        import paddle

        target = self.run_dir / name
        with atomic_output(target) as tmp:
            paddle.save(self.checkpoint(), str(tmp))
        return target

    def restore(self, path: Path) -> None:
        import paddle

        ckpt = paddle.load(str(path))
        if not same_weights(ckpt["unet"], self.config.unet_config().to_dict()):
            raise ValueError(f"{path}: the checkpoint's network {ckpt['unet']} differs from this run's settings")
        self.gen.set_state_dict(ckpt["gen"])
        self.opt_g.set_state_dict(local_optimizer_state(ckpt["opt_g"], self.gen.parameters()))
        if self.disc is not None:
            if "disc" not in ckpt:
                raise ValueError(f"{path}: no discriminator in the checkpoint; cannot resume as pix2pix")
            self.disc.set_state_dict(ckpt["disc"])
            self.opt_d.set_state_dict(local_optimizer_state(ckpt["opt_d"], self.disc.parameters()))
        saved = dict(ckpt["state"])
        if "best_val_l1" in saved:  # checkpoints before --recon
            saved.setdefault("best_val", saved.pop("best_val_l1"))
        self.state = TrainState(**saved)
        self.rng.bit_generator.state = ckpt["rng"]["numpy"]
        paddle.set_rng_state(ckpt["rng"]["paddle"])
        random.setstate(ckpt["rng"]["python"])

    # --- steps -------------------------------------------------------------------------
    def set_lr(self, lr: float) -> None:
        self.opt_g.set_lr(lr)
        if self.opt_d is not None:
            self.opt_d.set_lr(lr)

    def step(self, a_np: np.ndarray, b_np: np.ndarray) -> dict[str, float]:
        import paddle
        import paddle.nn.functional as F

        a, b = paddle.to_tensor(a_np), paddle.to_tensor(b_np)
        self.gen.train()
        fake = self.gen(a)
        out: dict[str, float] = {}
        if self.disc is not None:
            self.disc.train()
            d_real = self.disc(a, b)
            d_fake = self.disc(a, fake.detach())
            loss_d = 0.5 * (self._gan_loss(d_real, True) + self._gan_loss(d_fake, False))
            self.opt_d.clear_grad()
            loss_d.backward()
            self.opt_d.step()
            out["loss_d"] = float(loss_d)
        recon = reconstruction_loss(self.config, fake, b)
        loss_g = self.config.l1_weight * recon
        if self.config.hints and self.config.hint_weight > 0:
            ec = self.config.edge_channels
            mask = a[:, ec + 3 : ec + 4]  # the hint mask plane, exactly 0 or 1
            under = (paddle.abs(fake - b) * mask).sum() / paddle.clip(mask.sum() * 3, min=1.0)
            loss_g = loss_g + self.config.l1_weight * self.config.hint_weight * under
            out["loss_hint"] = float(under)
        if self.config.gradient_weight > 0:
            grad = gradient_loss(fake, b)
            loss_g = loss_g + self.config.l1_weight * self.config.gradient_weight * grad
            out["loss_grad"] = float(grad)
        if self.config.line_weight > 0:
            lines = line_loss(fake, b, line_mask(a[:, : self.config.edge_channels]))
            loss_g = loss_g + self.config.l1_weight * self.config.line_weight * lines
            out["loss_line"] = float(lines)
        if self.disc is not None:
            gan = self._gan_loss(self.disc(a, fake), True)
            loss_g = loss_g + gan
            out["loss_g_gan"] = float(gan)
        self.opt_g.clear_grad()
        loss_g.backward()
        self.opt_g.step()
        out["loss_l1"] = float(recon) if self.config.recon == "l1" else float(F.l1_loss(fake.detach(), b))
        if self.config.recon == "mse":
            out["loss_mse"] = float(recon)
        return out

    def _gan_loss(self, logits, real: bool):
        import paddle
        import paddle.nn.functional as F

        target = paddle.full_like(logits, 1.0 if real else 0.0)
        if self.config.gan_mode == "lsgan":
            return F.mse_loss(logits, target)
        return F.binary_cross_entropy_with_logits(logits, target)

    def predict(self, a_u8: np.ndarray, hints: list | None = None, batch: int = 16) -> np.ndarray:
        """Eval-mode generator on N x H x W x C uint8 edges (+ one ``Hints`` per image for a
        hinted network; None means automatic) -> N x H x W x 3 uint8 RGB."""
        import paddle

        from batchcolor.train.augment import network_input
        from batchcolor.drawing.hints import Hints

        self.gen.eval()
        outs = []
        with paddle.no_grad():
            for i in range(0, len(a_u8), batch):
                edges = np.asarray(a_u8[i : i + batch])
                if self.config.hints:
                    chunk = hints[i : i + batch] if hints is not None else [Hints()] * len(edges)
                    x = np.stack([network_input(e, h) for e, h in zip(edges, chunk)])
                else:
                    x = datamod.to_tensor_range(edges)
                y = self.gen(paddle.to_tensor(x)).numpy()
                outs.append(np.clip(np.rint((y.transpose(0, 2, 3, 1) + 1) * 127.5), 0, 255).astype(np.uint8))
        return np.concatenate(outs)


def _hinted_val_metrics(trainer: Trainer, edges: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """PSNR with the target's global colour, and with 10 seeded 5x5 point hints (eval's protocol)."""
    from batchcolor.drawing import hints as hintmod
    from batchcolor.tools.metrics import psnr

    glob = [hintmod.Hints(global_rgb=hintmod.global_color(t)) for t in targets]
    points = [hintmod.eval_points(i, t, 10) for i, t in enumerate(targets)]
    return {"val_global_psnr": round(psnr(trainer.predict(edges, glob), targets), 4),
            "val_points10_psnr": round(psnr(trainer.predict(edges, points), targets), 4)}


def _install_signal_handlers() -> dict:
    def handler(signum, _frame):
        raise Interrupted(signum)

    return {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}


def train(config: TrainConfig, resume: bool = False, log=print) -> TrainState:
    """Run (or resume) training; returns the final state. Ctrl-C/SIGTERM save ``last`` first."""
    from batchcolor.tools.metrics import all_metrics
    from batchcolor.tools.sheets import preview_grid
    from batchcolor.train.report import plot_losses

    if config.epochs is None and config.time_budget_min is None and config.max_steps is None:
        raise ValueError("give --epochs or --time-budget")
    run_dir = Path(config.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg_path = run_dir / "config.json"
    if resume:
        if not (run_dir / "last.pdckpt").exists():
            raise FileNotFoundError(f"{run_dir}: nothing to resume (no last.pdckpt)")
    elif (run_dir / "last.pdckpt").exists():
        raise FileExistsError(f"{run_dir} already holds a run; pass --resume to continue it or pick another -o")
    train_set, val_set = load_data(config)
    trainer = Trainer(config, train_set)
    if resume:
        trainer.restore(run_dir / "last.pdckpt")
        log(f"resumed at epoch {trainer.state.epoch}, step {trainer.state.step}")
    with atomic_output(cfg_path) as tmp:
        tmp.write_text(json.dumps(asdict(config), indent=2))
    batch = min(config.batch_size, len(train_set))
    steps_per_epoch = max(1, len(train_set) // batch)
    total_steps = config.epochs * steps_per_epoch if config.epochs else config.max_steps
    budget = config.time_budget_min * 60 if config.time_budget_min else None
    stop_at = config.max_steps
    log(f"training {config.arch} (UNet base {config.width}, depth {config.depth}, {'gray' if config.gray_edges else 'RGB'} "
        f"edges) on {len(train_set)} pairs at {config.size}px, validating on {len(val_set) if val_set else 0}")
    first = train_set.a[:64]
    if (share := datamod.negative_share(first)) >= 0.5:
        log(datamod.NEGATIVE_WARNING.format(share=share, count=len(first)))
    preview_idx = np.arange(min(config.preview_count, len(val_set))) if val_set else np.arange(min(config.preview_count, len(train_set)))
    preview_src = val_set if val_set else train_set
    threads = parse_threads(config.threads)
    trial = ThreadTrial(candidate_counts()) if threads == "auto" else None
    if isinstance(threads, int):
        set_paddle_threads(threads)
    if trial is not None and trial.done:  # one core: nothing to choose
        set_paddle_threads(trial.best())
        trial = None
    old_handlers = _install_signal_handlers()
    losses_f = open(run_dir / "losses.jsonl", "a")
    tty = sys.stderr.isatty()

    def progress() -> float:
        if budget:
            return trainer.state.seconds / budget
        return trainer.state.step / total_steps

    def finished() -> bool:
        return progress() >= 1.0 or (stop_at is not None and trainer.state.step >= stop_at)

    try:
        while not finished():
            epoch_start = time.perf_counter()
            if config.hints or config.augment:
                epoch_batches = datamod.hinted_batches(train_set, batch, trainer.rng, config.flip, config.size,
                                                       config.augmentation(), config.hints, config.recolour)
            else:
                epoch_batches = datamod.batches(train_set, batch, trainer.rng, config.flip)
            for a, b in epoch_batches:
                if finished():
                    break
                count = trial.next_count() if trial is not None else None
                if count is not None:
                    set_paddle_threads(count)
                t0 = time.perf_counter()
                trainer.set_lr(lr_at(config, progress()))
                losses = trainer.step(a, b)
                seconds = time.perf_counter() - t0
                trainer.state.seconds += seconds
                trainer.state.step += 1
                if count is not None:
                    trial.record(count, seconds)
                    if trial.done:
                        set_paddle_threads(trial.best())
                        log(trial.summary())
                        trial = None
                if trainer.state.step % config.log_every == 0:
                    rec = {"step": trainer.state.step, "epoch": trainer.state.epoch, "lr": trainer.opt_g.get_lr(),
                           "seconds": round(trainer.state.seconds, 2), **losses}
                    losses_f.write(json.dumps(rec) + "\n")
                    losses_f.flush()
                    p = progress()
                    eta = trainer.state.seconds / max(p, 1e-9) * (1 - p)
                    line = (f"epoch {trainer.state.epoch} step {trainer.state.step} {100 * p:5.1f}% "
                            f"l1 {losses['loss_l1']:.4f} eta {eta / 60:5.1f} min")
                    print(("\r" + line) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
            trainer.state.epoch += 1
            metrics: dict[str, Any] = {"epoch": trainer.state.epoch, "step": trainer.state.step,
                                       "epoch_seconds": round(time.perf_counter() - epoch_start, 1),
                                       "images_per_second": round(trainer.state.step * batch / max(trainer.state.seconds, 1e-9), 2)}
            if val_set is not None:
                n = min(len(val_set), config.val_max)
                targets = np.asarray(val_set.b[:n])
                pred = trainer.predict(val_set.a[:n])
                metrics.update({f"val_{k}": round(v, 4) for k, v in all_metrics(pred, targets).items()})
                if config.hints:
                    metrics.update(_hinted_val_metrics(trainer, np.asarray(val_set.a[:n]), targets))
            trainer.state.history.append(metrics)
            with open(run_dir / "metrics.jsonl", "a") as mf:
                mf.write(json.dumps(metrics) + "\n")
            preview = trainer.predict(preview_src.a[preview_idx])
            preview_grid(np.asarray(preview_src.a[preview_idx]), preview, np.asarray(preview_src.b[preview_idx]),
                         run_dir / f"preview_e{trainer.state.epoch:03d}.png")
            plot_losses(run_dir / "losses.jsonl", run_dir / "loss.png")
            trainer.save("last.pdckpt")
            score = val_score(config, metrics)
            if score is not None and score < trainer.state.best_val:
                trainer.state.best_val = score
                trainer.save("best.pdckpt")
            if tty:
                print(file=sys.stderr)
            log(json.dumps(metrics))
    except Interrupted as stop:
        trainer.save("last.pdckpt")
        log(f"\ninterrupted: saved {run_dir / 'last.pdckpt'} at step {trainer.state.step}; rerun with --resume")
        raise KeyboardInterrupt if stop.signum == signal.SIGINT else SystemExit(143)
    finally:
        losses_f.close()
        for s, h in old_handlers.items():
            signal.signal(s, h)
        if (run_dir / "losses.jsonl").stat().st_size:  # also short and interrupted runs
            plot_losses(run_dir / "losses.jsonl", run_dir / "loss.png")
    if not (run_dir / "best.pdckpt").exists():
        trainer.save("best.pdckpt")
    return trainer.state


def load_generator(path: Path):
    """The generator of a checkpoint file or run folder (best if there is one), in eval mode."""
    import paddle

    from batchcolor.train.models import UNet, UNetConfig
    from batchcolor.train.weights import checkpoint_file

    ckpt = paddle.load(str(checkpoint_file(path)))
    gen = UNet(UNetConfig(**ckpt["unet"]))
    gen.set_state_dict(ckpt["gen"])
    gen.eval()
    return gen, ckpt
