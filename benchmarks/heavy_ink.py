"""Heavy ink: how much of a drawing's line layer to keep over the colour, and on which drawings.

    python benchmarks/heavy_ink.py [MODEL] [--count 50] [--figure heavy_ink.jpg]

Edge maps (HED, the shared data's) draw edges; XDoG and an adaptive-threshold ink (``batchcolor
prepare --method xdog|ink``) also draw a photo's dark parts, and the network paints them as light
as the colour beside them. ``--lines auto`` keeps the ink at ``HEAVY_INK_OPACITY`` where the
strokes are ``HEAVY_INK`` px wide or more at the scale the network colours them
(``batchcolor.drawing.linework``). Per edge style and set, automatic and with ``--color`` (each
photo's median object colour), through ``run``'s one-image path (f32, ``--scale auto``):

* the strokes' width at the network's scale (5th / 50th / 95th percentile) and how many
  drawings the rule takes;
* PSNR with the lines off, at the shipped default (``auto``), and at a range of opacities on
  every drawing: each a mix of the outputs with the lines off and kept whole (a partial
  multiply is that mix to within a level).

``--figure`` writes the first heavy drawings of each set: drawing | lines off | run's default | photo.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from batchcolor.colorize.guidance import guidance
from batchcolor.colorize.image import colorize_image, scale_factor
from batchcolor.colorize.settings import InferenceSettings, open_engine
from batchcolor.drawing.hints import global_color
from batchcolor.drawing.linework import stroke_width
from batchcolor.drawing.objects import measure_objects
from batchcolor.inference.modelcard import HEAVY_INK
from batchcolor.tools import metrics
from batchcolor.tools.sheets import write_rows
from pockets import DATA, SETS, drawings  # (benchmarks/pockets.py: the hold-outs, as edge maps or re-drawn)

STYLES = ("hed", "xdog", "ink")
OPACITIES = (0.25, 0.35, 0.5, 1.0)


def width_at_network_scale(gray: np.ndarray, card) -> float:
    """The strokes' width as ``render`` weighs it: at the factor ``--scale auto`` colours at."""
    x = gray[:, :, None]
    factor = scale_factor(x, "auto", card, measure_objects(gray))
    width = stroke_width(gray)
    return 0.0 if width is None else width * factor


def measure(model: str | None, data: Path, count: int, shown: list) -> dict:
    base = InferenceSettings(model=model, precision="f32", scale="auto")
    engine, tiling = open_engine(base)
    results = {}
    try:
        card = engine.card
        for name, (folder, last) in SETS.items():
            for style in STYLES:
                pairs = drawings(data, folder, last, style)
                pairs = pairs[:count] if count else pairs
                widths = np.array([width_at_network_scale(gray, card) for gray, _ in pairs])
                row: dict = {"count": len(pairs), "widths": np.percentile(widths, [5, 50, 95]).tolist(),
                             "heavy": int((widths >= HEAVY_INK).sum())}
                for condition in ("automatic", "--color"):
                    def run(lines: str, photo: np.ndarray, gray: np.ndarray) -> np.ndarray:
                        colour = global_color(photo) if condition == "--color" else None
                        hexed = None if colour is None else "#%02x%02x%02x" % tuple(int(c) for c in colour)
                        settings = InferenceSettings(model=model, precision="f32", scale="auto", lines=lines, color=hexed)
                        return colorize_image(gray, engine, tiling, "auto", guide=guidance(settings, card))[:, :, ::-1]

                    off = [run("none", photo, gray).astype(np.float32) for gray, photo in pairs]
                    kept = [run("keep", photo, gray).astype(np.float32) for gray, photo in pairs]
                    default = [run("auto", photo, gray) for gray, photo in pairs]
                    photos = [photo for _, photo in pairs]
                    psnr = lambda outs: float(np.mean([metrics.psnr(o[None], p[None]) for o, p in zip(outs, photos)]))
                    cells = {"off": psnr(off), "run": psnr(default)}
                    for a in OPACITIES:
                        cells[a] = psnr([np.rint(o * (1 - a) + k * a) for o, k in zip(off, kept)])
                    row[condition] = cells
                    if condition == "automatic":
                        heavy = [i for i in range(len(pairs)) if widths[i] >= HEAVY_INK][:2]
                        shown += [(pairs[i][0], off[i].astype(np.uint8), default[i], pairs[i][1]) for i in heavy]
                results[f"{name}, {style}"] = row
    finally:
        engine.close()
    return results


def table(results: dict) -> str:
    rows = ["Hold-outs at 256 px, run's one-image path (f32, `--scale auto`); PSNR automatic / `--color`", "",
            f"| set, edges | strokes at the network's scale, px (5/50/95%) | heavy (>= {HEAVY_INK:g} px) | lines off | "
            "run's default | " + " | ".join(f"all at {a:.0%}" for a in OPACITIES) + " |",
            "|---|---|---|---|---|" + "---|" * len(OPACITIES)]
    for name, r in results.items():
        pair = lambda key: f"{r['automatic'][key]:.2f} / {r['--color'][key]:.2f}"
        widths = " / ".join(f"{w:.2f}" for w in r["widths"])
        rows.append(f"| {name} ({r['count']}) | {widths} | {r['heavy']} | {pair('off')} | {pair('run')} | "
                    + " | ".join(pair(a) for a in OPACITIES) + " |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=None, help="model folder (default: the installed default)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--count", type=int, default=50, help="drawings per set (0: all; the card uses all)")
    ap.add_argument("--figure", type=Path, default=None, help="also write heavy drawings: drawing | lines off | default | photo")
    args = ap.parse_args()
    shown: list = []
    print(table(measure(args.model, args.data, args.count, shown)))
    if args.figure:
        write_rows(shown, args.figure)


if __name__ == "__main__":
    main()
