"""Tiles fitted per axis against session 32's square tiles, side by side in one process.

    python benchmarks/rect_tiles.py [--model DIR] [--count 100] [--repeats 3] [--holdouts]

Speed: the bench's small drawings (``batchcolor bench``'s generator, 256-512 px a side, every
other one with a hint layer) through ``run``'s one-image path at 1:1, two drawings in flight
per infer request as ``run`` keeps them, at ``--precision auto``; the two layouts alternate
``--repeats`` times on one engine, and each keeps its best. The network pixels are counted
from the plans. ``--holdouts``: the hold-out drawings (last 100 of shoes-train, handbags-val)
cropped to their objects plus 12 px, at ``run``'s defaults (``--scale auto``) and f32, scored
against the photos' same crops: automatic PSNR, colourfulness ratio, line recall.

The square layout is the old rule: the larger of the two fitted axes, on both.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path

import cv2
import numpy as np

from batchcolor.colorize.guidance import guidance
from batchcolor.colorize.image import colorize_image
from batchcolor.colorize.settings import InferenceSettings, open_engine
from batchcolor.drawing.hints import read_hint_layer
from batchcolor.imageio.pairs import find_pairs, read_pair
from batchcolor.inference.cores import blas_single_threaded
from batchcolor.tiling.tiler import TileSettings
from batchcolor.tools import metrics
from batchcolor.tools.bench import write_drawings, write_hint_layers

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "edges2shoes-handbags"
SETS = {"shoes": ("shoes-train", 100), "bags": ("handbags-val", None)}


@dataclass(frozen=True)
class SquareTiles(TileSettings):
    """Session 32's layout: a drawing that fits got a square, the larger axis's size."""

    def tile_shape(self, height: int, width: int, stride: int) -> tuple[int, int]:
        side = max(super().tile_shape(height, width, stride))
        return side, side


def as_square(tiling: TileSettings) -> SquareTiles:
    return SquareTiles(**{f.name: getattr(tiling, f.name) for f in fields(tiling)})


def colour_all(drawings: list[np.ndarray], layers: list, settings: InferenceSettings, engine, tiling) -> list[np.ndarray]:
    def one(i: int) -> np.ndarray:
        guide = guidance(settings, engine.card, layers[i])
        return colorize_image(drawings[i], engine, tiling, settings.scale, guide=guide)

    with blas_single_threaded(), ThreadPoolExecutor(max_workers=2 * engine.num_requests) as pool:
        return list(pool.map(one, range(len(drawings))))


def speed(model: str | None, count: int, repeats: int) -> list[tuple[str, float, float, float]]:
    folder = Path(tempfile.mkdtemp(prefix="rect-tiles-"))
    try:
        sizes = write_drawings(folder, count, 256, 512)
        write_hint_layers(folder, sizes, every=2)
        drawings = [cv2.imread(str(folder / f"d{i:04d}.png"), cv2.IMREAD_UNCHANGED) for i in range(count)]
        layers = [read_hint_layer(folder / f"d{i:04d}.hints.png") if (folder / f"d{i:04d}.hints.png").exists()
                  else None for i in range(count)]
    finally:
        shutil.rmtree(folder)
    settings = InferenceSettings(model=model, scale="none")
    engine, fitted = open_engine(settings)
    layouts = {"square (before)": as_square(fitted), "fitted per axis": fitted}
    try:
        colour_all(drawings[:4], layers[:4], settings, engine, fitted)  # compile and settle
        best = {name: float("inf") for name in layouts}
        for _ in range(repeats):
            for name, tiling in layouts.items():
                t = time.perf_counter()
                colour_all(drawings, layers, settings, engine, tiling)
                best[name] = min(best[name], time.perf_counter() - t)
    finally:
        engine.close()
    rows = []
    for name, tiling in layouts.items():
        mp = sum(tiling.plan(h, w, engine.card.stride).network_pixels() for h, w in sizes) / 1e6
        rows.append((name, mp, best[name], count / best[name]))
    return rows


def holdout_crops(data: Path) -> dict[str, tuple[list[np.ndarray], list[np.ndarray]]]:
    """Each pair cut to its object (the photo's non-white box and the drawing's ink) plus 12 px."""
    out = {}
    for name, (folder, last) in SETS.items():
        pairs = find_pairs(data / folder)
        drawings, photos = [], []
        for pair in pairs[-last:] if last else pairs:
            a, b = read_pair(pair, 256)
            ys, xs = np.nonzero((b < 235).any(axis=2) | (a < 200).any(axis=2))
            if not len(ys):
                continue
            y0, y1 = max(0, ys.min() - 12), min(256, ys.max() + 13)
            x0, x1 = max(0, xs.min() - 12), min(256, xs.max() + 13)
            drawings.append(cv2.cvtColor(a[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY))
            photos.append(b[y0:y1, x0:x1])
        out[name] = (drawings, photos)
    return out


def quality(model: str | None, data: Path) -> list[tuple[str, str, float, float, float, float]]:
    settings = InferenceSettings(model=model, precision="f32", scale="auto")
    engine, fitted = open_engine(settings)
    rows = []
    try:
        for name, (drawings, photos) in holdout_crops(data).items():
            aspect = float(np.mean([max(d.shape) / min(d.shape) for d in drawings]))
            for layout, tiling in (("square (before)", as_square(fitted)), ("fitted per axis", fitted)):
                outs = [o[:, :, ::-1] for o in colour_all(drawings, [None] * len(drawings), settings, engine, tiling)]
                psnr = float(np.mean([metrics.psnr(o, p) for o, p in zip(outs, photos)]))
                colourful = (np.mean([metrics.colorfulness(o) for o in outs])
                             / np.mean([metrics.colorfulness(p) for p in photos]))
                recall = float(np.mean([metrics.line_recall(np.repeat(d[:, :, None], 3, 2), o) for d, o in zip(drawings, outs)]))
                rows.append((name, layout, aspect, psnr, float(colourful), recall))
    finally:
        engine.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--holdouts", action="store_true", help="also score object-cropped hold-outs (needs the data)")
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args(argv)
    print(f"{args.count} small drawings, run's one-image path at 1:1, --precision auto, best of {args.repeats}:")
    print("| layout | network MP | seconds | drawings/s |\n|---|---|---|---|")
    rows = speed(args.model, args.count, args.repeats)
    for name, mp, secs, rate in rows:
        print(f"| {name} | {mp:.2f} | {secs:.2f} | {rate:.2f} |")
    print(f"fitted / square: {rows[1][3] / rows[0][3]:.2f}x the drawings/s on {rows[1][1] / rows[0][1]:.0%} of the network pixels")
    if args.holdouts:
        print("\nhold-outs cropped to their objects, run's defaults, f32:")
        print("| set | layout | mean aspect | automatic PSNR | colourfulness ratio | line recall |\n|---|---|---|---|---|---|")
        for name, layout, aspect, psnr, colourful, recall in quality(args.model, args.data):
            print(f"| {name} | {layout} | {aspect:.2f} | {psnr:.2f} | {colourful:.2f} | {recall:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
