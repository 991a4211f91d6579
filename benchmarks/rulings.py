"""Is a ruling ever found where there is none, and what does looking cost?

    python benchmarks/rulings.py [--data ../shared/data/edges2shoes-handbags]

:func:`batchcolor.drawing.rulings.ruling_mask` on drawings that have no ruling: 500 drawings
of the shared sets (the last 100 of shoes-train, handbags-val, the first 200 of
handbags-train) and their scanner and phone scans, comic pages (lettered, and toned at pitches
4-10) and product sheets (floating, dimensioned, elbowed) made from them, the bench's line
art, and the examples. Prints how many were looked at, how many had a ruling found (each
named), and the mean time a drawing. How well rulings that are there are found and dropped
is ``python benchmarks/scans.py --styles ruled,squared,dotted``.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from batchcolor.drawing.levels import level_paper
from batchcolor.drawing.rulings import ruling_mask
from batchcolor.tools import comicpage, evaluate, productsheet
from batchcolor.tools.scanlike import STYLES, scan_like
from batchcolor.tools.synthetic import line_art

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "edges2shoes-handbags"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "lineart"
SETS = (("shoes-train", 100), ("handbags-val", None), ("handbags-train", None))


def drawings(data: Path):
    """(name, gray image) of every drawing looked at."""
    for folder, last in SETS:
        edges = evaluate.load_eval_pairs(data / folder, 256, None, last).edges[:200]
        for i, e in enumerate(edges):
            gray = e.min(axis=2)
            yield f"{folder}/{i}", gray
            for style in STYLES:
                yield f"{folder}/{i}/{style}", level_paper(scan_like(gray, np.random.default_rng(i), STYLES[style])[:, :, None])[:, :, 0]
        for i in range(0, 40, 2):
            first, second = edges[i].min(axis=2), edges[i + 1].min(axis=2)
            yield f"{folder}/lettered{i}", comicpage.lettered_page(first, second).gray
            for pitch in (4, 6, 8, 10):
                yield f"{folder}/toned{i}/{pitch}", comicpage.toned_page(first, pitch=pitch).gray
            for kind in ("floating", "dimensioned", "elbowed"):
                yield f"{folder}/sheet{i}/{kind}", productsheet.product_sheet(first, kind=kind).gray
    for i in range(100):
        yield f"line_art{i}", line_art(300 + 3 * i, 400, seed=i)
    for path in sorted(EXAMPLES.glob("*/*.png")):
        yield str(path.relative_to(EXAMPLES)), cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    count, seconds, found = 0, 0.0, []
    for name, gray in drawings(args.data):
        start = time.perf_counter()
        mask = ruling_mask(gray)
        seconds += time.perf_counter() - start
        count += 1
        if mask is not None:
            found.append(f"{name} ({mask.mean():.2%} of its pixels)")
    print(f"{count} drawings without a ruling, {len(found)} with one found; {seconds / count * 1e3:.3f} ms a drawing")
    for line in found:
        print("  found:", line)


if __name__ == "__main__":
    main()
