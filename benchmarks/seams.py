"""Seams by measurement: tiled vs one-tile output, for the shipped model and a random UNet.

First the real model (default: the installed default model) at f32 on a sheet of drawings
(the bundled examples, tiled 4 x 2): for each overlap, PSNR overall and within 8 px of seams
and the tile count; the bar is >= 50 dB and >= 45 dB (``batchcolor export`` writes the
smallest passing overlap into the card). A trained network sees far wider than a random one,
so only this table can set a card's overlap. Then the random depth-4 UNet's table, as before,
with the seam gradient ratio and the tile overhead.
Rerun: ``python benchmarks/seams.py [--model NAME] [--tile 256]``.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from batchcolor.tools import synthetic
from batchcolor.inference.engine import Engine, EngineConfig
from batchcolor.inference.modelcard import resolve_model
from batchcolor.tools.seams import psnr, seam_gradient_ratio, seam_mask, whole_image
from batchcolor.tiling.tiler import TileSettings, colorize_array


def shipped_model_table(model: str | None, overlaps: list[int]) -> None:
    import cv2

    from batchcolor.inference.registry import default_model, lookup
    from batchcolor.tools.seams import tiled_vs_one_tile

    ref = lookup(model) if model else default_model()
    examples = Path(__file__).resolve().parent.parent / "examples" / "lineart"
    cells = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted(examples.rglob("*.png"))]
    side = max(max(c.shape) for c in cells)
    cells = [cv2.copyMakeBorder(c, 0, side - c.shape[0], 0, side - c.shape[1], cv2.BORDER_CONSTANT, value=255) for c in cells]
    row = np.concatenate(cells[:4] if len(cells) >= 4 else cells, axis=1)
    sheet = np.concatenate([row, row[:, ::-1]], axis=0)[:, :, None]
    card = ref.card
    print(f"{ref.model_path.parent.name}: tile {card.tile}, card overlap {card.overlap}, sheet {sheet.shape[1]}x{sheet.shape[0]}, f32")
    print(f"{'overlap':>7} {'tiles':>5} {'PSNR':>7} {'PSNR@seam':>9}")
    for r in tiled_vs_one_tile(ref, sheet, card.tile, [o for o in overlaps if o < card.tile]):
        mark = "  <- card" if r["overlap"] == card.overlap else ""
        print(f"{r['overlap']:>7} {r['tiles']:>5} {r['psnr']:7.2f} {r['psnr_seams']:9.2f}{mark}")
    print()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None, help="model for the first table (default: the installed default)")
    ap.add_argument("--model-overlaps", type=int, nargs="+", default=[64, 128, 192, 224, 256, 272, 288, 320])
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--size", type=int, nargs=2, default=(720, 1000))
    ap.add_argument("--overlaps", type=int, nargs="+", default=[0, 16, 32, 48, 64, 96, 128])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--margin-fraction", type=float, default=None,
                    help="margin as a fraction of the overlap (default: the library's split)")
    args = ap.parse_args()
    shipped_model_table(args.model, args.model_overlaps)
    print(f"random UNet: tile {args.tile}, image {args.size[0]}x{args.size[1]}, random UNet depth 4, f32")
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
