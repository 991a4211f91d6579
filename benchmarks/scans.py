"""Does a model colour scans and phone photos of drawings as well as clean line art?

    python benchmarks/scans.py [MODEL] [--count 100] [--styles scanner,phone] [--figure scans.png]
    python benchmarks/scans.py --styles white-on-black,blueprint,blackboard,board-photo
    python benchmarks/scans.py --styles ruled,squared,dotted

The hold-out drawings (last 100 of shoes-train, handbags-val; the first ``--count`` of each)
are made to look scanned (:mod:`batchcolor.tools.scanlike`: gray, unevenly lit, grainy paper,
pencil-gray ink, JPEG; seeded), drawn light on dark paper (``negative_like``: white on
black, a blueprint, chalk on a blackboard, a photo of one) or on a notebook page
(``notebook_like``: ruled, squared, dotted), and coloured through ``run``'s one-image path at
its defaults (``--scale auto``, f32), with the style's handling on and off (``--levels auto``
/ ``off``; for notebooks ``--construction drop`` / ``keep``). Each row: automatic PSNR, SSIM,
colourfulness ratio (output / photo) and line recall (of the clean drawing's lines); PSNR
with the photo's median object colour as ``--color`` and with 10 point hints; and how close
the output is to the clean drawing's output (PSNR), the figure that says whether the scan
mattered at all. ``--figure`` also writes a picture of the first few drawings of each set:
clean drawing | its output | each style's scan | its output with ``--levels auto`` | ``off``.
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
from batchcolor.tools.scanlike import NEGATIVES, NOTEBOOKS, STYLES, negative_like, notebook_like, scan_like

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "edges2shoes-handbags"
FIGURE_ROWS = 2  # drawings per set in --figure
SETS = {"shoes": ("shoes-train", 100), "bags": ("handbags-val", None)}


def scanned(edges: np.ndarray, style: str, seed: int = 0) -> np.ndarray:
    """N x S x S x 3 RGB drawings as scans, negatives or notebook pages of them (each its own
    seeded page)."""
    out = []
    for i, e in enumerate(edges):
        rng = np.random.default_rng(seed + i)
        if style in NEGATIVES:
            out.append(negative_like(e.min(axis=2), rng, NEGATIVES[style]))
        elif style in NOTEBOOKS:
            out.append(np.repeat(notebook_like(e.min(axis=2), rng, NOTEBOOKS[style])[:, :, None], 3, axis=2))
        else:
            out.append(np.repeat(scan_like(e.min(axis=2), rng, STYLES[style])[:, :, None], 3, axis=2))
    return np.stack(out)


def condition(style: str, mode: str) -> tuple[dict, str]:
    """The settings that switch a style's handling on ("auto") or off, and the row's label: a
    notebook's rulings go with ``--construction``, scans' and negatives' paper with ``--levels``."""
    if style in NOTEBOOKS:
        return ({} if mode == "auto" else {"construction": "keep"}), f"--construction {'drop' if mode == 'auto' else 'keep'}"
    return ({} if mode == "auto" else {"levels": "off"}), f"--levels {mode}"


def measure(model: str | None, data: Path, count: int, styles: list[str], shown: dict | None = None) -> dict:
    """{(set, condition): figures} for the clean drawings and each style with its handling on
    and off (:func:`condition`); ``shown`` collects the first drawings and outputs of each
    condition for the figure."""
    results = {}
    base_settings = InferenceSettings(model=model, precision="f32", scale="auto")
    for mode in ("auto", "off"):
        engine_tiling = open_engine(base_settings)
        for name, (folder, last) in SETS.items():
            base = evaluate.load_eval_pairs(data / folder, 256, None, last)
            base = evaluate.EvalData(base.edges[:count], base.targets[:count], base.names[:count])
            wanted = [hintmod.global_color(t) for t in base.targets]
            colors = [hintmod.format_color(c) if c else None for c in wanted]
            points = evaluate.point_hints(base.targets, 10)
            clean, _ = evaluate.predict(base_settings, base.edges, engine_tiling=engine_tiling)
            photo_colour = metrics.colorfulness(base.targets)
            drawings = {"clean": base.edges} if mode == "auto" else {}
            drawings.update({style: scanned(base.edges, style) for style in styles})
            for label, edges in drawings.items():
                changes, said = condition(label, mode)
                settings = replace(base_settings, **changes)
                auto = clean if label == "clean" else evaluate.predict(settings, edges, engine_tiling=engine_tiling)[0]
                given, _ = evaluate.predict(settings, edges, colors=colors, engine_tiling=engine_tiling)
                hinted, _ = evaluate.predict(settings, edges, layers=points, engine_tiling=engine_tiling)
                m = metrics.all_metrics(auto, base.targets)
                row = {
                    "psnr": m["psnr"], "ssim": m["ssim"],
                    "colour": metrics.colorfulness(auto) / photo_colour,
                    "recall": metrics.line_recall(base.edges, auto),
                    "color_psnr": metrics.all_metrics(given, base.targets)["psnr"],
                    "points_psnr": metrics.all_metrics(hinted, base.targets)["psnr"],
                    "vs_clean": metrics.psnr(auto, clean) if label != "clean" else float("inf"),
                }
                key = (name, label if label == "clean" else f"{label}, {said}")
                results[key] = row
                if shown is not None:
                    shown[(name, label, "drawing")] = edges[:FIGURE_ROWS]
                    shown[(name, label, mode)] = auto[:FIGURE_ROWS]
                print(f"  {key}: {row}", file=sys.stderr, flush=True)
        engine_tiling[0].close()
    return results


def table(results: dict, count: int) -> str:
    rows = [f"{count} drawings per set, f32, `run` defaults; each cell: shoes ; bags", "",
            "| drawings | automatic PSNR | SSIM | colourfulness | line recall | `--color` PSNR | 10 points PSNR | vs clean output |",
            "|---|---|---|---|---|---|---|---|"]
    labels = sorted({k[1] for k in results}, key=lambda s: (s != "clean", s))
    for label in labels:
        s, b = results[("shoes", label)], results[("bags", label)]

        def cell(key: str, fmt: str) -> str:
            return f"{format(s[key], fmt)} ; {format(b[key], fmt)}"

        rows.append(f"| {label} | {cell('psnr', '.2f')} | {cell('ssim', '.3f')} | {cell('colour', '.2f')} | "
                    f"{cell('recall', '.3f')} | {cell('color_psnr', '.2f')} | {cell('points_psnr', '.2f')} | "
                    f"{cell('vs_clean', '.1f')} |")
    return "\n".join(rows)


def figure(shown: dict, styles: list[str], path: Path) -> None:
    """clean | output | (scan | --levels auto | --levels off) per style; rows: both sets."""
    from batchcolor.imageio.images import atomic_write, encode
    from batchcolor.tools.sheets import contact_sheet

    columns = []
    for label, modes in [("clean", ["drawing", "auto"])] + [(style, ["drawing", "auto", "off"]) for style in styles]:
        columns += [np.concatenate([shown[(name, label, mode)] for name in SETS]) for mode in modes]
    atomic_write(path, encode(contact_sheet(columns)[:, :, ::-1].copy(), path.suffix.lower()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=None, help="model folder (default: the installed default)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--count", type=int, default=100, help="drawings per set")
    ap.add_argument("--styles", default="scanner,phone", help=f"of {', '.join([*STYLES, *NEGATIVES, *NOTEBOOKS])}")
    ap.add_argument("--figure", type=Path, default=None, help="also write a picture of the first drawings (.png or .jpg)")
    args = ap.parse_args()
    styles = [s for s in args.styles.split(",") if s]
    shown: dict = {}
    print(table(measure(args.model, args.data, args.count, styles, shown), args.count))
    if args.figure:
        figure(shown, styles, args.figure)


if __name__ == "__main__":
    main()
