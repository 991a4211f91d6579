"""Outlines with a gap: is the part they hold in coloured, or left as a hole of paper?

    python benchmarks/pockets.py [MODEL] [--rule pockets|edge-caps] [--figure pockets.jpg]

Edge maps drop an edge here and there. The paper mask (``batchcolor.drawing.paper``) closes
gaps up to about 6% of the object's size; past that, an outline's inside was paper, and the
output showed a white hole in a coloured bag (``paper._pockets`` now holds such pockets in).
A part the page's edge cuts (a strap running off the top) was open there, and paper too
(``paper._edge_caps`` draws the edge in across it): ``--rule`` picks the rule measured.
The drawings are the hold-outs as users' edge maps give them (HED: the last 100 of
shoes-train, all of handbags-val) and their XDoG re-drawings (about 4 px lines, never seen in
training). Per set, with the rule and without it (side by side, in one run):

* *hole*: the share of the photo's object (its pixels off the white backdrop, holes filled)
  that the silhouette leaves as paper, mean and the drawings where it is over 10%;
* *spill*: the silhouette's area off the photo's object, as a share of the object (white
  shoes on white are counted as spill: only the change between the rows says something);
* automatic PSNR and line recall through ``run``'s one-image path at its defaults (f32,
  ``--scale auto``), and the drawings whose output changed;
* the silhouette's time a drawing.

``--figure`` writes the drawings that changed most: drawing | before | now | photo.
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
from batchcolor.drawing import paper
from batchcolor.drawing.objects import object_extent
from batchcolor.imageio.pairs import find_pairs, read_pair
from batchcolor.tools import metrics
from batchcolor.tools.prepare import EdgeSettings, make_pair
from batchcolor.tools.sheets import write_rows

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "edges2shoes-handbags"
SETS = {"shoes hold-out": ("shoes-train", 100), "handbags-val": ("handbags-val", None)}


RULES = {"pockets": ("_pockets", lambda objects, walls, size: np.zeros(objects.shape, bool)),
         "edge-caps": ("_edge_caps", lambda lines, size, closed: np.zeros(lines.shape, bool))}


@contextmanager
def rule(name: str, on: bool):
    attr, nothing = RULES[name]
    held = getattr(paper, attr)
    if not on:
        setattr(paper, attr, nothing)
    try:
        yield
    finally:
        setattr(paper, attr, held)


def drawings(data: Path, folder: str, last: int | None, style: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(gray drawing, RGB photo) at 256 px: the set's own edge map ("hed"), or the photo
    re-drawn by ``prepare``'s ``style`` ("xdog", "ink", ...)."""
    pairs = find_pairs(data / folder)
    pairs = pairs[-last:] if last else pairs
    out = []
    for pair in pairs:
        edges, photo = read_pair(pair, 256)
        if style != "hed":
            edges = make_pair(photo, 256, EdgeSettings(method=style))[:, :256]
        out.append((np.ascontiguousarray(edges.min(axis=2)), photo))
    return out


def photo_object(photo: np.ndarray) -> np.ndarray:
    """bool: the photo's object, its pixels off the white backdrop with holes filled."""
    off = (photo.min(axis=2) < 230).astype(np.uint8)
    off = cv2.morphologyEx(off, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return paper._fill_holes(off).astype(bool)


def measure(model: str | None, data: Path, shown: list, name_of_rule: str = "pockets") -> dict:
    settings = InferenceSettings(model=model, precision="f32", scale="auto")
    engine, tiling = open_engine(settings)
    guide = guidance(settings, engine.card)
    results = {}
    try:
        for name, (folder, last) in SETS.items():
            for style in ("hed", "xdog"):
                pairs = drawings(data, folder, last, style)
                extents = [object_extent(gray) for gray, _ in pairs]
                objects = [photo_object(photo) for _, photo in pairs]
                row: dict = {"count": len(pairs)}
                outs = {}
                for on in (False, True):
                    with rule(name_of_rule, on):
                        start = time.perf_counter()
                        masks = [paper.silhouette(gray, e) for (gray, _), e in zip(pairs, extents)]
                        ms = (time.perf_counter() - start) * 1000 / len(pairs)
                        done = [colorize_image(gray, engine, tiling, "auto", guide=guide)[:, :, ::-1] for gray, _ in pairs]
                    hole = np.array([(o & ~m).sum() / max(o.sum(), 1) for o, m in zip(objects, masks)])
                    spill = np.array([(m & ~o).sum() / max(o.sum(), 1) for o, m in zip(objects, masks)])
                    row["on" if on else "off"] = {
                        "hole": float(hole.mean()), "holes": int((hole > 0.1).sum()), "spill": float(spill.mean()), "ms": ms,
                        "psnr": float(np.mean([metrics.psnr(rgb[None], photo[None]) for rgb, (_, photo) in zip(done, pairs)])),
                        "lines": float(np.nanmean([metrics.line_recall(gray, rgb) for rgb, (gray, _) in zip(done, pairs)])),
                    }
                    outs[on] = done
                moved = [float(np.abs(a.astype(np.int16) - b).mean()) for a, b in zip(outs[False], outs[True])]
                row["changed"] = int(sum(m > 0 for m in moved))
                for i in np.argsort(moved)[::-1][:3]:
                    if moved[i] > 0:
                        shown.append((pairs[i][0], outs[False][i], outs[True][i], pairs[i][1]))
                results[f"{name}, {style.upper()}"] = row
    finally:
        engine.close()
    return results


def table(results: dict, name_of_rule: str = "pockets") -> str:
    rows = ["Hold-outs at 256 px, `run` defaults (f32, `--scale auto`), automatic", "",
            f"| set | {name_of_rule} | hole (mean; > 10%) | spill | automatic PSNR | line recall | outputs changed | silhouette |",
            "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        for on in ("off", "on"):
            x = r[on]
            rows.append(f"| {name} ({r['count']}) | {on} | {x['hole']:.3f}; {x['holes']} | {x['spill']:.3f} | "
                        f"{x['psnr']:.2f} dB | {x['lines']:.3f} | {r['changed'] if on == 'on' else ''} | {x['ms']:.1f} ms |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=None, help="model folder (default: the installed default)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--rule", choices=sorted(RULES), default="pockets", help="the rule measured on and off")
    ap.add_argument("--figure", type=Path, default=None, help="also write the drawings that changed most (.png or .jpg)")
    args = ap.parse_args()
    shown: list = []
    print(table(measure(args.model, args.data, shown, args.rule), args.rule))
    if args.figure:
        write_rows(shown, args.figure)


if __name__ == "__main__":
    main()
