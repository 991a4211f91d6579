"""Drawings in broken pieces: are they measured and coloured as one drawing?

    python benchmarks/broken.py [MODEL] [--count 50] [--figure broken.jpg]

Thick or sketchy lines, and edge maps that drop faint edges, draw an outline in pieces. The
drawings are the hold-out photos (the last 100 of shoes-train, then handbags-val) re-drawn by
``batchcolor prepare --method xdog`` (about 4 px lines; never seen in training): the first
``--count`` of each. Each is coloured through ``run``'s one-image path at its defaults (f32),
with session 24's rules and without them (side by side, in one run):

* *joined*: groups of strokes whose boxes overlap are one drawing (``objects._joined``): one
  crop, one scale, set by the whole drawing's size (before: each piece was cut out and
  coloured at its own scale, and the crops' mean where they overlap showed as rectangles);
* *seams*: thin paper between a hull put in for an open outline and the object beside it is
  object (``paper._seams``; before: a white slash across the drawing).

Per set: the drawings coloured in more than one piece, the automatic PSNR against the photo,
and the drawings whose output changed. ``--figure`` writes the drawings that changed most:
drawing | before | now | photo.
"""
from __future__ import annotations

import argparse
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from batchcolor.colorize.guidance import guidance
from batchcolor.colorize.image import colorize_image
from batchcolor.colorize.settings import InferenceSettings, open_engine
from batchcolor.drawing import objects, paper
from batchcolor.imageio.pairs import find_pairs, read_pair
from batchcolor.tools import metrics
from batchcolor.tools.prepare import EdgeSettings, make_pair
from batchcolor.tools.sheets import write_rows

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "edges2shoes-handbags"
SETS = {"shoes hold-out": ("shoes-train", 100), "handbags-val": ("handbags-val", None)}


@contextmanager
def broken_rules(on: bool):
    """The objects' measure and the paper mask with session 24's rules, or as they were."""
    joined, seams = objects._joined, paper._seams
    if not on:
        objects._joined = lambda rows, *limits: rows
        paper._seams = lambda found, patched, size: np.zeros(found.shape, bool)
    try:
        yield
    finally:
        objects._joined, paper._seams = joined, seams


def redrawn(data: Path, folder: str, last: int | None, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(XDoG drawing, photo) pairs, gray and RGB, 256 px, as ``models/ship.py`` re-draws them."""
    pairs = find_pairs(data / folder)
    pairs = pairs[-last:] if last else pairs
    out = []
    for pair in pairs[:count]:
        photo = read_pair(pair)[1]
        ab = make_pair(photo, 256, EdgeSettings(method="xdog"))
        out.append((ab[:, :256].min(axis=2), ab[:, 256:]))
    return out


def measure(model: str | None, data: Path, count: int, shown: list) -> dict:
    settings = InferenceSettings(model=model, precision="f32", scale="auto")
    engine, tiling = open_engine(settings)
    guide = guidance(settings, engine.card)
    results = {}
    try:
        for name, (folder, last) in SETS.items():
            row: dict = {"count": 0}
            outs = {}
            pairs = redrawn(data, folder, last, count)  # (made once: the rules do not touch the drawings)
            for on in (False, True):
                pieces, scores, done = 0, [], []
                with broken_rules(on):
                    for gray, photo in pairs:
                        pieces += len(objects.measure_objects(gray).boxes) > 1
                        rgb = colorize_image(gray, engine, tiling, "auto", guide=guide)[:, :, ::-1]  # (BGR out)
                        scores.append(metrics.psnr(rgb[None], photo[None]))
                        done.append(rgb)
                row["on" if on else "off"] = {"pieces": pieces, "psnr": float(np.mean(scores))}
                outs[on] = done
                row["count"] = len(done)
            moved = [float(np.abs(a.astype(np.int16) - b).mean()) for a, b in zip(outs[False], outs[True])]
            row["changed"] = int(sum(m > 0 for m in moved))
            for i in np.argsort(moved)[::-1][:3]:
                if moved[i] > 0:
                    shown.append((pairs[i][0], outs[False][i], outs[True][i], pairs[i][1]))
            results[name] = row
    finally:
        engine.close()
    return results


def table(results: dict) -> str:
    rows = ["XDoG re-drawings of the hold-out photos, 256 px, f32, `run` defaults", "",
            "| set | rules | drawings coloured in pieces | automatic PSNR | outputs changed |", "|---|---|---|---|---|"]
    for name, r in results.items():
        for on in ("off", "on"):
            rows.append(f"| {name} ({r['count']}) | {on} | {r[on]['pieces']} | {r[on]['psnr']:.2f} dB | "
                        f"{r['changed'] if on == 'on' else ''} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=None, help="model folder (default: the installed default)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--count", type=int, default=50, help="drawings of each set")
    ap.add_argument("--figure", type=Path, default=None, help="also write the drawings that changed most (.png or .jpg)")
    args = ap.parse_args()
    shown: list = []
    print(table(measure(args.model, args.data, args.count, shown)))
    if args.figure:
        write_rows(shown, args.figure)


if __name__ == "__main__":
    main()
