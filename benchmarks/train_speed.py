"""Paddle CPU training speed: images/s of one optimisation step (forward + backward + Adam).

UNet-L1 and pix2pix (generator + PatchGAN), batch 8, at 64/128/256 px, for the widths we
recommend (16, 32). Rerun: ``python benchmarks/train_speed.py [--steps 5]``; needs ``[train]``.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    from batchcolor.train.trainer import TrainConfig, Trainer

    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 32])
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    print(f"{'arch':<8} {'width':>5} {'size':>5} {'images/s':>9}")
    for arch in ("unet", "pix2pix"):
        for width in args.widths:
            for size in args.sizes:
                trainer = Trainer(TrainConfig(data=(), run_dir="/nonexistent", arch=arch, size=size, width=width,
                                              gray_edges=True))
                rng = np.random.default_rng(0)
                a = rng.uniform(-1, 1, (args.batch, 1, size, size)).astype(np.float32)
                b = rng.uniform(-1, 1, (args.batch, 3, size, size)).astype(np.float32)
                trainer.step(a, b)  # warm-up
                t = time.perf_counter()
                for _ in range(args.steps):
                    trainer.step(a, b)
                rate = args.steps * args.batch / (time.perf_counter() - t)
                print(f"{arch:<8} {width:>5} {size:>5} {rate:9.2f}", flush=True)


if __name__ == "__main__":
    main()
