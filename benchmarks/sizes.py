"""Does a model colour drawings well at the sizes and pens people draw with?

    python benchmarks/sizes.py [MODEL ...] [--count 30] [--sizes 128,256,512,1024] [--widths 1,2,3]

The hold-out drawings (last 100 of shoes-train, handbags-val; the first ``--count`` of each)
are re-drawn at each object size with each line width (:mod:`batchcolor.tools.restyle`:
centre lines, then a square pen), coloured through ``run``'s one-image path at its defaults
(``--scale auto``), and scored against the photo at that size: PSNR and line recall
automatic, PSNR with the photo's median object colour as ``--color``. A model that only
works at its training size and pen shows it here as a falling row or column.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from batchcolor.colorize.settings import InferenceSettings, open_engine
from batchcolor.drawing import hints as hintmod
from batchcolor.tools import evaluate, metrics
from batchcolor.tools.restyle import redraw

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "edges2shoes-handbags"
SETS = {"shoes": ("shoes-train", 100), "bags": ("handbags-val", None)}


def measure(model: str | None, data: Path, count: int, sizes: list[int], widths: list[int],
            lines: str | None = None) -> dict:
    """{(set, size, width): {"auto": psnr, "recall": line recall, "color": psnr}}."""
    settings = InferenceSettings(model=model, precision="f32", scale="auto", lines=lines)
    engine_tiling = open_engine(settings)
    out = {}
    for name, (folder, last) in SETS.items():
        base = evaluate.load_eval_pairs(data / folder, 256, None, last)
        base = evaluate.EvalData(base.edges[:count], base.targets[:count], base.names[:count])
        for size in sizes:
            targets = evaluate.load_eval_pairs(data / folder, size, None, last).targets[:count]
            wanted = [hintmod.global_color(t) for t in targets]
            colors = [hintmod.format_color(c) if c else None for c in wanted]
            for width in widths:
                drawings = np.stack([np.repeat(redraw(e, size, width)[:, :, None], 3, axis=2) for e in base.edges])
                auto, _ = evaluate.predict(settings, drawings, engine_tiling=engine_tiling)
                given, _ = evaluate.predict(replace(settings), drawings, colors=colors, engine_tiling=engine_tiling)
                out[(name, size, width)] = {
                    "auto": metrics.all_metrics(auto, targets)["psnr"],
                    "recall": metrics.line_recall(drawings, auto),
                    "color": metrics.all_metrics(given, targets)["psnr"],
                }
                print(f"  {name} {size} px, {width} px lines: {out[(name, size, width)]}", file=sys.stderr, flush=True)
    engine_tiling[0].close()
    return out


def table(label: str, r: dict, sizes: list[int], widths: list[int]) -> str:
    head = "| object px | " + " | ".join(f"{w} px lines: auto / `--color` PSNR, recall" for w in widths) + " |"
    rows = [f"{label}", "", head, "|---|" + "---|" * len(widths)]
    for size in sizes:
        cells = []
        for w in widths:
            s, b = r[("shoes", size, w)], r[("bags", size, w)]
            cells.append(f"{s['auto']:.2f} / {s['color']:.2f}, {s['recall']:.2f} ; {b['auto']:.2f} / {b['color']:.2f}, "
                         f"{b['recall']:.2f}")
        rows.append(f"| {size} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*", help="model folders (default: the installed default)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--count", type=int, default=30, help="drawings per set")
    ap.add_argument("--sizes", default="128,256,512,1024")
    ap.add_argument("--widths", default="1,2,3")
    ap.add_argument("--lines", choices=["keep", "none", "auto"], default=None, help="as run's --lines (default: the card's)")
    args = ap.parse_args()
    sizes = [int(v) for v in args.sizes.split(",")]
    widths = [int(v) for v in args.widths.split(",")]
    for model in args.models or [None]:
        r = measure(model, args.data, args.count, sizes, widths, args.lines)
        print(table(f"{model or 'default model'}, --lines {args.lines or 'as the card'} (each cell: shoes ; bags, {args.count} drawings each, f32)", r,
                    sizes, widths))
        print()


if __name__ == "__main__":
    main()
