"""Product sheets: are dimension lines, leader lines and labels left as drawn, and the drawing
coloured as it is alone?

    python benchmarks/annotations.py [MODEL] [--count 20] [--figure annotations.jpg]

Sheets are made from the hold-out edge maps (:mod:`batchcolor.tools.productsheet`), half
shoes (the last 100 of shoes-train), half bags (handbags-val), each drawing at 560 px on an
1100 x 800 sheet with a title, a dimension line with arrowheads and its size, and labels:

* *floating*: one leader ending on a dot on the paper beside the drawing;
* *attached*: three leaders drawn on into the drawing, to dots on the parts they name;
* *elbowed*: the same three as a CAD callout draws them, a level landing from the words, then
  a slant into the drawing;
* *dimensioned*: the width dimensioned below the drawing and the height beside it, each
  between two extension lines drawn from the drawing's extreme points (touching it) to past
  the dimension line, as a technical drawing gives sizes.

Each is coloured through ``run``'s one-image path at its defaults (f32), with the notes rule
(:mod:`batchcolor.drawing.annotations`: loose notes, leaders and dimensions) and without it
(the rules before session 22), side by side:

* **as drawn**: the share of the notes' pixels (lines, arrowheads, dots, words; the leaders'
  parts on the paper) that come back within 2 levels of the sheet;
* **vs alone**: PSNR of the drawing's box against the same drawing coloured alone on the
  same blank sheet, leaving out the pixels within 3 px of a note that reaches into the box
  (for *dimensioned*, the extension lines' ends: the sheet has them, alone has not);
* **mask ms**: the paper mask's time on the sheet (one thread), and on 100 hold-out drawings
  at 256 px with no notes (what every drawing pays).

``--figure`` writes the first sheet of each kind: sheet | without the rule | with it.
"""
from __future__ import annotations

import argparse
import time
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from batchcolor.colorize.guidance import guidance
from batchcolor.colorize.image import colorize_image
from batchcolor.colorize.settings import InferenceSettings, open_engine
from batchcolor.drawing import objects, paper
from batchcolor.drawing.objects import object_extent
from batchcolor.tools import evaluate, metrics
from batchcolor.tools.productsheet import product_sheet

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "edges2shoes-handbags"
KINDS = ("floating", "attached", "elbowed", "dimensioned")


@contextmanager
def notes_rule(on: bool):
    """The paper mask and the objects' measure with the notes rule, or as they were before it."""
    originals = paper.note_strokes, objects.leader_strokes, paper.dimension_lines, objects.dimension_lines
    if not on:
        paper.note_strokes = objects.leader_strokes = paper.dimension_lines = objects.dimension_lines = lambda *a, **k: None
    try:
        yield
    finally:
        paper.note_strokes, objects.leader_strokes, paper.dimension_lines, objects.dimension_lines = originals


def _mask_ms(grays: list[np.ndarray], on: bool) -> float:
    with notes_rule(on):
        extents = [object_extent(g) for g in grays]
        t0 = time.perf_counter()
        for g, e in zip(grays, extents):
            paper.silhouette(g, e)
        return 1000 * (time.perf_counter() - t0) / len(grays)


def measure(model: str | None, data: Path, count: int, shown: dict) -> dict:
    settings = InferenceSettings(model=model, precision="f32", scale="auto")
    engine, tiling = open_engine(settings)
    guide = guidance(settings, engine.card)

    def colour(gray: np.ndarray) -> np.ndarray:
        return colorize_image(gray, engine, tiling, "auto", guide=guide)

    shoes = evaluate.load_eval_pairs(data / "shoes-train", 256, None, 100).edges
    bags = evaluate.load_eval_pairs(data / "handbags-val", 256, None, None).edges
    drawings = [d.min(axis=2) for pair in zip(shoes[: (count + 1) // 2], bags[: count // 2]) for d in pair][:count]
    results = {}
    try:
        for kind in KINDS:
            sheets = [product_sheet(d, kind) for d in drawings]
            row = {}
            for on in (False, True):
                kept, scores = [], []
                with notes_rule(on):
                    for i, sheet in enumerate(sheets):
                        out = colour(sheet.gray)
                        for box in sheet.as_drawn.values():
                            ink = sheet.gray[box] < 250  # (the notes' own pixels, not the paper round them)
                            diff = np.abs(out[box].astype(np.int16) - sheet.gray[box][:, :, None]).max(axis=2)
                            kept.extend((diff[ink] <= 2).tolist())
                        # the drawing's box, but for notes reaching into it (an extension line's end)
                        same = cv2.erode((sheet.gray == sheet.alone).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
                        same = same[sheet.drawing]
                        scores.append(metrics.psnr(out[sheet.drawing][same][None], colour(sheet.alone)[sheet.drawing][same][None]))
                        if i == 0:
                            shown.setdefault(kind, [sheet.gray]).append(out)
                row["on" if on else "off"] = {"as_drawn": float(np.mean(kept)), "vs_alone": float(np.mean(scores)),
                                              "vs_alone_min": float(np.min(scores)),
                                              "mask_ms": _mask_ms([s.gray for s in sheets[:5]], on)}
            results[kind] = row
    finally:
        engine.close()
    holdouts = [d.min(axis=2) for d in np.concatenate([shoes[:50], bags[:50]])]
    results["holdouts_mask_ms"] = {"off": _mask_ms(holdouts, False), "on": _mask_ms(holdouts, True)}
    return results


def table(results: dict, count: int) -> str:
    rows = [f"{count} sheets of each kind from hold-out drawings, f32, `run` defaults", "",
            "| sheet | notes rule | notes left as drawn | drawing vs coloured alone, mean (worst) | mask ms a sheet |",
            "|---|---|---|---|---|"]
    for kind in KINDS:
        for on in ("off", "on"):
            r = results[kind][on]
            rows.append(f"| {kind} | {on} | {100 * r['as_drawn']:.1f}% | {r['vs_alone']:.1f} dB ({r['vs_alone_min']:.1f}) | "
                        f"{r['mask_ms']:.1f} |")
    h = results["holdouts_mask_ms"]
    rows += ["", f"Paper mask on 100 hold-out drawings (256 px, no notes): {h['off']:.2f} ms without the rule, "
             f"{h['on']:.2f} ms with it."]
    return "\n".join(rows)


def figure(shown: dict, path: Path) -> None:
    from batchcolor.imageio.images import atomic_write, encode
    from batchcolor.tools.sheets import contact_sheet

    rows = list(shown.values())
    columns = [np.stack([r[0][:, :, None] for r in rows])] + [np.stack([r[j] for r in rows]) for j in (1, 2)]
    sheet = contact_sheet(columns, pad=8)  # (BGR in, BGR out: the sheet is only laid out)
    atomic_write(path, encode(cv2.resize(sheet, (1500, round(1500 * sheet.shape[0] / sheet.shape[1])),
                                         interpolation=cv2.INTER_AREA), path.suffix.lower()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=None, help="model folder (default: the installed default)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--count", type=int, default=20, help="sheets of each kind")
    ap.add_argument("--figure", type=Path, default=None, help="also write the first sheet of each kind (.png or .jpg)")
    args = ap.parse_args()
    shown: dict = {}
    print(table(measure(args.model, args.data, args.count, shown), args.count))
    if args.figure:
        figure(shown, args.figure)


if __name__ == "__main__":
    main()
