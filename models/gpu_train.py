"""Train batchcolor's UNet on a CUDA accelerator, for the hours a 2-core box cannot give.

    python models/gpu_train.py DATA/shoes-train DATA/handbags-train --out OUT \
        --model w12=12:1e-3:INIT.npz --model w16=16:2e-3 --budget 420

Why this exists: ``batchcolor train`` (Paddle, CPU) reaches about 10 images/s on the
development box, so a session's two hours see ~70k samples. An H100/H200 lent for a few
minutes sees millions. This script is a mirror of the Paddle trainer's UNet-L1 recipe, not a
second recipe:

* the samples are batchcolor's own (``batchcolor.train.data.hinted_batches``: line style,
  scale, recolouring, simulated hints), made by CPU worker processes, so what the network
  learns from is what ``batchcolor train`` and the inference path define;
* the network is :class:`batchcolor.train.models.UNet` written in PyTorch with the same
  parameter names and layouts (BatchNorm's running statistics renamed), so its weights load
  into the Paddle network (:mod:`batchcolor.train.weights`) and ship through the one export
  path: Paddle -> ONNX -> OpenVINO IR, parity-checked (inference never needs Paddle or torch);
* the loss is the Paddle recipe's: 100 x L1, Adam (beta1 0.5), flat learning rate for the
  first half of the time budget and linear to zero after.

Several networks train on the same batches (``--model`` repeated): the sample workers are the
bottleneck, so a second and third width cost little accelerator time and are compared on
identical data. Each network's weights are written (atomically, every ``--save-every``
seconds and at the end) as ``NAME.npz`` (Paddle names; split into ``NAME.partK.npz`` above
``--max-file-mb``) with ``NAME.json`` (network, recipe, steps, images, validation history).
The first validation is taken before any step, so a continued network's start is on record.

``--teacher BASE:WEIGHTS.npz`` runs a trained network (the default's, recovered from its IR by
:mod:`batchcolor.train.from_ir`) on each batch in eval mode, and ``:kd`` networks learn its
output instead of the photo: a narrower network for the speed target that would colour as the
shipped one does (session 23: 269k images from scratch were not enough; models/HISTORY.md).

PyTorch is needed only here; the package does not depend on it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from batchcolor.train import data as datamod  # noqa: E402
from batchcolor.train.trainer import TrainConfig, load_data  # noqa: E402
from batchcolor.train.weights import read_arrays  # noqa: E402

# Paddle BatchNorm names its running statistics ``_mean`` / ``_variance``.
_TORCH_TO_PADDLE = {"running_mean": "_mean", "running_var": "_variance"}


class DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        )


class Up(nn.Module):
    """x2 + 3x3 conv: the Paddle UNet's ``up="resize"`` (nearest) or ``"bilinear"`` (half-pixel
    centres, which the Paddle network exports as nearest + a fixed [1 2 1] blur)."""

    def __init__(self, cin: int, cout: int, mode: str = "resize"):
        super().__init__()
        if mode not in ("resize", "bilinear"):
            raise ValueError(f"up-sampling must be resize or bilinear, got {mode!r}")
        self.mode = "nearest" if mode == "resize" else "bilinear"
        self.up = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))
        self.conv = DoubleConv(2 * cout, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode=self.mode, **({} if self.mode == "nearest" else {"align_corners": False}))
        return self.conv(torch.cat([self.up(x), skip], dim=1))


def pix2pix_init(module: nn.Module) -> None:
    """pix2pix init, as the Paddle networks': conv weights N(0, 0.02), BatchNorm gamma N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class UNet(nn.Module):
    def __init__(self, in_channels: int, base: int, depth: int = 4, out_channels: int = 3, up: str = "resize"):
        super().__init__()
        widths = [base * 2**i for i in range(depth + 1)]
        self.downs = nn.ModuleList()
        cin = in_channels
        for w in widths[:-1]:
            self.downs.append(DoubleConv(cin, w))
            cin = w
        self.bottom = DoubleConv(widths[-2], widths[-1])
        self.ups = nn.ModuleList([Up(widths[i + 1], widths[i], up) for i in reversed(range(depth))])
        self.head = nn.Conv2d(widths[0], out_channels, 1)
        pix2pix_init(self)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = 0.1  # Paddle's momentum 0.9 counts the other way round
                m.eps = 1e-5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for up, skip in zip(self.ups, reversed(skips)):
            x = up(x, skip)
        return torch.tanh(self.head(x))


class PatchDiscriminator(nn.Module):
    """The Paddle trainer's pix2pix 70x70 PatchGAN (n_layers 3), conditioned on the input:
    D(concat(A, B)) -> logits. It stays on the accelerator: only the generator is exported."""

    def __init__(self, in_channels: int, base: int = 64, n_layers: int = 3):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, base, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            layers += [nn.Conv2d(base * prev, base * mult, 4, stride=2 if n < n_layers else 1, padding=1, bias=False),
                       nn.BatchNorm2d(base * mult), nn.LeakyReLU(0.2, inplace=True)]
        layers.append(nn.Conv2d(base * mult, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)
        pix2pix_init(self)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([a, b], dim=1))


def gan_loss(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """Vanilla GAN loss (the Paddle trainer's default ``gan_mode``): BCE on logits."""
    return F.binary_cross_entropy_with_logits(logits.float(), torch.full_like(logits.float(), 1.0 if real else 0.0))


def paddle_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """The weights under the Paddle UNet's state-dict names (float32)."""
    out = {}
    for key, value in model.state_dict().items():
        prefix, _, last = key.rpartition(".")
        if last == "num_batches_tracked":
            continue
        out[f"{prefix}.{_TORCH_TO_PADDLE.get(last, last)}"] = value.detach().float().cpu().numpy()
    return out


def load_paddle_arrays(model: nn.Module, arrays: dict[str, np.ndarray]) -> None:
    state = model.state_dict()
    missing = []
    for key in state:
        prefix, _, last = key.rpartition(".")
        if last == "num_batches_tracked":
            continue
        name = f"{prefix}.{_TORCH_TO_PADDLE.get(last, last)}"
        if name not in arrays:
            missing.append(name)
            continue
        if tuple(arrays[name].shape) != tuple(state[key].shape):
            raise ValueError(f"{name}: shape {arrays[name].shape} != {tuple(state[key].shape)}")
        state[key] = torch.from_numpy(np.asarray(arrays[name], np.float32))
    if missing:
        raise ValueError(f"weights lack {missing[:4]}...")
    model.load_state_dict(state)


def write_arrays(path: Path, arrays: dict[str, np.ndarray], max_bytes: int, dtype=np.float32) -> list[Path]:
    """Atomically write ``arrays`` as one npz, or as parts when larger than ``max_bytes``
    (the device tool brings back files of at most 16 MiB, 8 files a call: ``dtype`` float16
    halves a network, as the shipped IR stores it anyway)."""
    arrays = {k: np.asarray(v, dtype) for k, v in arrays.items()}
    groups: list[dict[str, np.ndarray]] = [{}]
    size = 0
    for k, v in arrays.items():
        if groups[-1] and size + v.nbytes > max_bytes:
            groups.append({})
            size = 0
        groups[-1][k] = v
        size += v.nbytes
    names = [path] if len(groups) == 1 else [path.with_name(f"{path.stem}.part{i}.npz") for i in range(len(groups))]
    for target, group in zip(names, groups):
        tmp = target.with_name(target.name + ".tmp.npz")
        np.savez(tmp, **group)
        os.replace(tmp, target)
    return names


class Samples(torch.utils.data.IterableDataset):
    """Endless batches from ``hinted_batches``; each worker draws with its own seed."""

    def __init__(self, arrays, config: TrainConfig, batch: int, seed: int):
        self.arrays, self.config, self.batch, self.seed = arrays, config, batch, seed

    def __iter__(self):
        import cv2

        cv2.setNumThreads(1)
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        c = self.config
        while True:
            for x, y in datamod.hinted_batches(self.arrays, self.batch, rng, c.flip, c.size, c.augmentation(), c.hints, c.recolour):
                yield torch.from_numpy(x.astype(np.float16)), torch.from_numpy(y.astype(np.float16))


def validation_inputs(val, config: TrainConfig) -> dict[str, np.ndarray]:
    """Network inputs of the hold-out for the trainer's three conditions (its protocol)."""
    from batchcolor.drawing import hints as hintmod
    from batchcolor.train.augment import network_input

    edges = np.asarray(val.a)
    targets = np.asarray(val.b)
    conds = {"auto": [None] * len(edges),
             "global": [hintmod.Hints(global_rgb=hintmod.global_color(t)) for t in targets],
             "points10": [hintmod.eval_points(i, t, 10) for i, t in enumerate(targets)]}
    return {k: np.stack([network_input(e, h if h is not None else hintmod.Hints()) for e, h in zip(edges, hs)])
            for k, hs in conds.items()}


def evaluate(model: nn.Module, inputs: dict[str, torch.Tensor], targets: np.ndarray) -> dict[str, float]:
    from batchcolor.tools.metrics import l1, psnr

    model.eval()
    out = {}
    with torch.no_grad():
        for name, x in inputs.items():
            y = torch.cat([model(x[i : i + 50]) for i in range(0, len(x), 50)]).float().cpu().numpy()
            pred = np.clip(np.rint((y.transpose(0, 2, 3, 1) + 1) * 127.5), 0, 255).astype(np.uint8)
            if name == "auto":
                out["val_l1"] = round(l1(pred, targets), 5)
            out[f"val_{name}_psnr"] = round(psnr(pred, targets), 4)
    model.train()
    return out


def parse_model(spec: str) -> dict:
    """``NAME=BASE:LR[:INIT.npz][:gan|:mse][:kd[W]]``: ``gan`` trains it as pix2pix (PatchGAN +
    100 x L1); ``mse`` replaces the L1 term with 100 x squared error (the Paddle trainer's
    ``--recon mse``: the per-pixel mean, which PSNR rewards, where L1 learns the median);
    ``kdW`` (needs ``--teacher``) takes a fraction W (default 1) of the target from the
    teacher's output on the same input, the rest from the photo: a narrower network learns the
    shipped one's behaviour (its hint following, its colours) rather than re-learning the task."""
    name, rest = spec.split("=", 1)
    fields = rest.split(":")
    flags: list[str] = []
    while fields and (fields[-1] in ("gan", "mse") or fields[-1].startswith("kd")):
        flags.append(fields.pop())
    distill = 0.0
    for flag in flags:
        if flag.startswith("kd"):
            distill = float(flag[2:] or 1.0)
            if not 0.0 < distill <= 1.0:
                raise ValueError(f"{spec}: kd weight must be in (0, 1], got {distill}")
    return {"name": name, "base": int(fields[0]), "lr": float(fields[1]), "init": (fields[2] or None) if len(fields) > 2 else None,
            "arch": "pix2pix" if "gan" in flags else "unet", "recon": "mse" if "mse" in flags else "l1", "distill": distill}


def reconstruction(out: torch.Tensor, target: torch.Tensor, recon: str) -> torch.Tensor:
    """100 x the reconstruction term, as the Paddle trainer weights it (``l1_weight``)."""
    diff = out.float() - target
    return 100.0 * (diff.square().mean() if recon == "mse" else diff.abs().mean())


def distilled_loss(out: torch.Tensor, photo: torch.Tensor, teacher: torch.Tensor | None, recon: str, distill: float) -> torch.Tensor:
    """The reconstruction term against the photo, the teacher's output, or a blend of the two."""
    if teacher is None or distill <= 0.0:
        return reconstruction(out, photo, recon)
    loss = distill * reconstruction(out, teacher, recon)
    if distill < 1.0:
        loss = loss + (1.0 - distill) * reconstruction(out, photo, recon)
    return loss


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="+")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", action="append", required=True, help="NAME=BASE:LR[:INIT.npz], repeatable")
    ap.add_argument("--budget", type=float, required=True, help="seconds of training (the LR schedule spans them)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--scale-min", type=float, default=0.8)
    ap.add_argument("--scale-max", type=float, default=1.8)
    ap.add_argument("--recolour", type=float, default=0.5)
    ap.add_argument("--restyle", type=float, default=0.0, help="share of samples re-drawn from the photo (augment.redraw)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--up", choices=["resize", "bilinear"], default="resize",
                    help="up-sampling; a resize network's weights start a bilinear one (see batchcolor.train.models)")
    ap.add_argument("--val-last", type=int, default=100, help="hold out the last N pairs of each folder (as train --val-last)")
    ap.add_argument("--val-every", type=float, default=45.0)
    ap.add_argument("--save-every", type=float, default=60.0)
    ap.add_argument("--max-file-mb", type=float, default=14.0)
    ap.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (smoke tests)")
    ap.add_argument("--snapshot-steps", default="", help="comma-separated steps at which each GAN network is also saved as NAME.sSTEP.npz "
                    "(a GAN fine-tune is picked by measurement among them: it drifts the longer it trains)")
    ap.add_argument("--float16-files", action="store_true", help="write weights as float16 (half the bytes to bring back)")
    ap.add_argument("--teacher", default=None, help="BASE:WEIGHTS.npz: the network whose outputs ':kd' models learn "
                    "(eval mode: BatchNorm's running statistics, as the IR it was recovered from)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    config = TrainConfig(data=tuple(args.data), run_dir=str(args.out), arch="unet", size=args.size, gray_edges=True,
                         width=0, batch_size=args.batch, lr=0.0, beta1=0.5, hints=True, augment=True,
                         scale_min=args.scale_min, scale_max=args.scale_max, recolour=args.recolour, restyle=args.restyle, val_last=args.val_last,
                         seed=args.seed, command="python models/gpu_train.py " + " ".join(sys.argv[1:] if argv is None else argv))
    train_set, val_set = load_data(config)
    train_set = datamod.PairArrays(np.ascontiguousarray(train_set.a), np.ascontiguousarray(train_set.b), train_set.names)
    print(f"data: {len(train_set)} training pairs, {len(val_set)} hold-out, {time.perf_counter() - t_start:.1f} s", flush=True)
    loader = torch.utils.data.DataLoader(Samples(train_set, config, args.batch, args.seed), batch_size=None,
                                         num_workers=args.workers, pin_memory=args.device.startswith("cuda"),
                                         prefetch_factor=6 if args.workers else None, persistent_workers=bool(args.workers))
    batches = iter(loader)  # forks the workers before CUDA is initialised

    dev = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(args.seed)
    from batchcolor.drawing.hints import HINT_PLANES

    in_channels = config.edge_channels + HINT_PLANES  # config.unet_config() would import Paddle
    val_np = validation_inputs(val_set, config)
    val_inputs = {k: torch.from_numpy(v).to(dev) for k, v in val_np.items()}
    val_targets = np.asarray(val_set.b)
    teacher = None
    if args.teacher:
        t_base, t_path = args.teacher.split(":", 1)
        teacher = UNet(in_channels, int(t_base), args.depth, up=args.up).to(dev)
        load_paddle_arrays(teacher, read_arrays(Path(t_path)))
        teacher = teacher.to(memory_format=torch.channels_last).eval()
        for p_ in teacher.parameters():
            p_.requires_grad_(False)
        print(f"teacher: base {t_base} from {t_path}: {evaluate(teacher, val_inputs, val_targets)}", flush=True)
        teacher.eval()  # evaluate() leaves a network in train mode
    models = []
    for spec in map(parse_model, args.model):
        if spec["distill"] and teacher is None:
            raise SystemExit(f"{spec['name']}: ':kd' needs --teacher")
        net = UNet(in_channels, spec["base"], args.depth, up=args.up).to(dev)
        if spec["init"]:
            load_paddle_arrays(net, read_arrays(Path(spec["init"])))
        net = net.to(memory_format=torch.channels_last)
        fused = {"fused": True} if dev.type == "cuda" else {}
        opt = torch.optim.Adam(net.parameters(), lr=spec["lr"], betas=(0.5, 0.999), **fused)
        disc = opt_d = None
        if spec["arch"] == "pix2pix":
            disc = PatchDiscriminator(in_channels + 3).to(dev).to(memory_format=torch.channels_last)
            opt_d = torch.optim.Adam(disc.parameters(), lr=spec["lr"], betas=(0.5, 0.999), **fused)
        unet = {"in_channels": in_channels, "out_channels": 3, "base": spec["base"], "depth": args.depth, "up": args.up}
        recipe = {**asdict(config), "arch": spec["arch"], "recon": spec["recon"], "width": spec["base"], "depth": args.depth, "up": args.up, "lr": spec["lr"], "init_from": spec["init"],
                  "time_budget_min": round(args.budget / 60, 2), "data": list(config.data)}
        models.append({**spec, "net": net, "opt": opt, "disc": disc, "opt_d": opt_d, "unet": unet, "recipe": recipe, "history": [], "gpu_seconds": 0.0})
        first = evaluate(net, val_inputs, val_targets)
        models[-1]["history"].append({"step": 0, "images": 0, **first})
        print(f"{spec['name']}: base {spec['base']}, lr {spec['lr']}, init {spec['init']}: {first}", flush=True)

    dtype = np.float16 if args.float16_files else np.float32
    snapshot_steps = {int(v) for v in args.snapshot_steps.split(",") if v.strip()}

    def save(final: bool) -> None:
        args.out.mkdir(parents=True, exist_ok=True)
        for m in models:
            files = write_arrays(args.out / f"{m['name']}.npz", paddle_arrays(m["net"]), int(args.max_file_mb * 2**20), dtype)
            meta = {"unet": m["unet"], "config": m["recipe"], "files": [f.name for f in files], "final": final,
                    # outside "config", which is a TrainConfig (the Paddle trainer has no teacher)
                    "distillation": {"teacher": args.teacher, "weight": m["distill"]} if m["distill"] else None,
                    "state": {"step": step, "images": step * args.batch, "seconds": round(train_seconds, 1),
                              "history": m["history"]},
                    "device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu", "workers": args.workers}
            tmp = args.out / f"{m['name']}.json.tmp"
            tmp.write_text(json.dumps(meta, indent=1))
            os.replace(tmp, args.out / f"{m['name']}.json")

    step, train_seconds, wait_seconds = 0, 0.0, 0.0
    last_val = last_save = last_log = time.perf_counter()
    t0 = time.perf_counter()
    while train_seconds < args.budget and (args.max_steps is None or step < args.max_steps):
        tw = time.perf_counter()
        x, y = next(batches)
        x = x.to(dev, non_blocking=True).float().contiguous(memory_format=torch.channels_last)
        y = y.to(dev, non_blocking=True).float()
        wait_seconds += time.perf_counter() - tw
        progress = train_seconds / args.budget
        taught = None
        if teacher is not None:
            with torch.no_grad(), torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
                taught = teacher(x).float()
        for m in models:
            for g in m["opt"].param_groups:
                g["lr"] = m["lr"] * max(0.0, min(1.0, 2.0 * (1.0 - progress)))
            if m["opt_d"] is not None:
                for g in m["opt_d"].param_groups:
                    g["lr"] = m["lr"] * max(0.0, min(1.0, 2.0 * (1.0 - progress)))
            autocast = torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda")
            with autocast:
                out = m["net"](x)
            loss = distilled_loss(out, y, taught, m["recon"], m["distill"])
            if m["disc"] is not None:  # pix2pix: D on real and detached fake, then G's adversarial term
                with autocast:
                    d_real, d_fake = m["disc"](x, y), m["disc"](x, out.detach())
                loss_d = 0.5 * (gan_loss(d_real, True) + gan_loss(d_fake, False))
                m["opt_d"].zero_grad(set_to_none=True)
                loss_d.backward()
                m["opt_d"].step()
                with autocast:
                    adversarial = gan_loss(m["disc"](x, out), True)
                m["loss_d"] = loss_d.detach()
                total = loss + adversarial
            else:
                total = loss
            m["opt"].zero_grad(set_to_none=True)
            total.backward()
            m["opt"].step()
            m["loss"] = loss.detach()
        step += 1
        now = time.perf_counter()
        train_seconds = now - t0
        if now - last_log > 15:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            rate = step * args.batch / train_seconds
            print(f"step {step} {train_seconds:.0f}s {rate:.0f} img/s (waiting for samples {100 * wait_seconds / train_seconds:.0f}%) "
                  + " ".join(f"{m['name']} {float(m['loss']) / 100:.4f}"
                             + (f" (D {float(m['loss_d']):.3f})" if m["disc"] is not None else "") for m in models), flush=True)
            last_log = now
        if now - last_val > args.val_every:
            for m in models:
                m["history"].append({"step": step, "images": step * args.batch, "seconds": round(train_seconds, 1),
                                     **evaluate(m["net"], val_inputs, val_targets)})
                print(m["name"], m["history"][-1], flush=True)
            last_val = time.perf_counter()
        if step in snapshot_steps:
            for m in (m for m in models if m["disc"] is not None):
                m["history"].append({"step": step, "images": step * args.batch, "seconds": round(train_seconds, 1), "snapshot": True,
                                     **evaluate(m["net"], val_inputs, val_targets)})
                write_arrays(args.out / f"{m['name']}.s{step}.npz", paddle_arrays(m["net"]), int(args.max_file_mb * 2**20), dtype)
                print(m["name"], "snapshot", m["history"][-1], flush=True)
        if now - last_save > args.save_every:
            save(final=False)
            last_save = time.perf_counter()
    for m in models:
        m["history"].append({"step": step, "images": step * args.batch, "seconds": round(train_seconds, 1),
                             **evaluate(m["net"], val_inputs, val_targets)})
        print(m["name"], m["history"][-1], flush=True)
    save(final=True)
    print(f"done: {step} steps, {step * args.batch} images per network, {train_seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
