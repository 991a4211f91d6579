"""Paddle CPU training speed: images/s of one optimisation step (forward + backward + Adam).

UNet-L1 and pix2pix (generator + PatchGAN), at 64/128/256 px, for the widths asked for.
``--threads 1 2`` measures each thread count in its own process, side by side, and prints the
ratio: run it before a long training run. ``OMP_NUM_THREADS`` is read once, when Paddle
starts, so it cannot be changed inside one process, and which count wins depends on the box:
two threads were 1.23x one on session 25's Zen 5 box and 0.44x on session 31's Zen 4 box (both
2 cores, base 24 with hints, 128 px, batch 16). Rerun: ``python benchmarks/train_speed.py
[--steps 5] [--threads 1 2] [--hints --up bilinear]``; needs ``[train]``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

ARCHS = ("unet", "pix2pix")


def measure(args: argparse.Namespace) -> None:
    """One row per (arch, width, size) at this process's thread count."""
    from batchcolor.train.trainer import TrainConfig, Trainer

    for arch in args.archs:
        for width in args.widths:
            for size in args.sizes:
                config = TrainConfig(data=(), run_dir="/nonexistent", arch=arch, size=size, width=width,
                                     gray_edges=True, hints=args.hints,
                                     **({"up": args.up} if args.up else {}))
                trainer = Trainer(config)
                rng = np.random.default_rng(0)
                channels = config.unet_config().in_channels
                a = rng.uniform(-1, 1, (args.batch, channels, size, size)).astype(np.float32)
                b = rng.uniform(-1, 1, (args.batch, 3, size, size)).astype(np.float32)
                trainer.step(a, b)  # warm-up
                t = time.perf_counter()
                for _ in range(args.steps):
                    trainer.step(a, b)
                rate = args.steps * args.batch / (time.perf_counter() - t)
                print(f"{arch} {width} {size} {rate:.3f}", flush=True)


def rows_at(threads: int, argv: list[str]) -> dict[tuple[str, int, int], float]:
    """The rows of a child process started with ``OMP_NUM_THREADS=threads``."""
    proc = subprocess.run([sys.executable, __file__, *argv, "--child"], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    if proc.returncode != 0:
        raise RuntimeError(f"OMP_NUM_THREADS={threads}: {proc.stderr[-2000:]}")
    rows = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] in ARCHS:
            rows[(parts[0], int(parts[1]), int(parts[2]))] = float(parts[3])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 32])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--archs", nargs="+", choices=ARCHS, default=list(ARCHS))
    ap.add_argument("--hints", action="store_true", help="the hint planes in the input (the default model's recipe)")
    ap.add_argument("--up", default=None, help="the decoder's up-sampling (default: train's; the default model: bilinear)")
    ap.add_argument("--threads", type=int, nargs="+", default=None,
                    help="OMP_NUM_THREADS values to compare, each in its own process (default: this process's)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child or not args.threads:
        if not args.child:
            print(f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}) arch width size images/s")
        measure(args)
        return
    argv = ["--steps", str(args.steps), "--batch", str(args.batch), "--sizes", *map(str, args.sizes),
            "--widths", *map(str, args.widths), "--archs", *args.archs, *(["--hints"] if args.hints else []),
            *(["--up", args.up] if args.up else [])]
    table = {t: rows_at(t, argv) for t in args.threads}  # one after the other: never two trainings at once
    base = args.threads[0]
    print(f"{'arch':<8} {'width':>5} {'size':>5} " + " ".join(f"{f'{t} thr img/s':>12}" for t in args.threads)
          + "".join(f" {f'{t}/{base}':>7}" for t in args.threads[1:]))
    for key in table[base]:
        rates = [table[t].get(key, float("nan")) for t in args.threads]
        print(f"{key[0]:<8} {key[1]:>5} {key[2]:>5} " + " ".join(f"{r:12.2f}" for r in rates)
              + "".join(f" {r / rates[0]:7.2f}" for r in rates[1:]))


if __name__ == "__main__":
    main()
