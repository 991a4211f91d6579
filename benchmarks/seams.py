"""Pick the default overlap by measurement: tiled vs whole-image inference of a random UNet.

Prints, for each overlap, PSNR overall, PSNR within 8 px of the seam lines, the seam gradient
ratio and the tile overhead. Targets (issue #2): >= 50 dB overall, >= 45 dB near seams,
gradient ratio within 0.97-1.03. Rerun: ``python benchmarks/seams.py [--tile 256]``.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from batchcolor import synthetic
from batchcolor.engine import Engine, EngineConfig
from batchcolor.modelcard import resolve_model
from batchcolor.seams import psnr, seam_gradient_ratio, seam_mask, whole_image
from batchcolor.tiler import TileSettings, colorize_array


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--size", type=int, nargs=2, default=(720, 1000))
    ap.add_argument("--overlaps", type=int, nargs="+", default=[0, 16, 32, 48, 64, 96, 128])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--margin-fraction", type=float, default=None,
                    help="margin as a fraction of the overlap (default: the library's split)")
    args = ap.parse_args()
    print(f"tile {args.tile}, image {args.size[0]}x{args.size[1]}, random UNet depth 4, f32")
    print(f"{'overlap':>7} {'margin':>6} {'ramp':>5} {'PSNR':>7} {'PSNR@seam':>9} {'grad ratio':>10} {'overhead':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for overlap in args.overlaps:
            rows = []
            for seed in range(args.seeds):
                model = synthetic.random_unet(1, 8, 4, seed=seed)
                folder = Path(tmp) / f"m{seed}"
                if not folder.exists():
                    synthetic.save_with_card(model, folder, synthetic.test_card("unet", 1, 16))
                ref = resolve_model(folder)
                eng = Engine(ref.model_path, ref.card, EngineConfig(tile=args.tile, precision="f32"))
                art = synthetic.line_art(*args.size, seed=seed)[:, :, None]
                truth = (whole_image(model, art, 16, 128) + 1) / 2
                margin = None if args.margin_fraction is None else int(overlap * args.margin_fraction)
                settings = TileSettings(args.tile, overlap, margin)
                tiled = (colorize_array(art, eng, settings, as_uint8=False) + 1) / 2
                plan = settings.plan(*args.size, 16)
                mask = seam_mask(plan, 8)
                rows.append((psnr(tiled, truth, 1.0), psnr(tiled[mask], truth[mask], 1.0),
                             seam_gradient_ratio(tiled, plan) / max(seam_gradient_ratio(truth, plan), 1e-9),
                             plan.overhead(), plan.rows.margin))
            r = np.array(rows)
            m = int(r[0, 4])
            print(f"{overlap:>7} {m:>6} {overlap - 2 * m:>5} {r[:, 0].min():7.2f} {r[:, 1].min():9.2f} "
                  f"{r[:, 2].mean():10.4f} {r[:, 3].mean():8.3f}")


if __name__ == "__main__":
    main()
