"""Comic pages: are balloons, captions and screentone left as drawn, and the drawings coloured
as they are alone?

    python benchmarks/comics.py [MODEL] [--count 20] [--figure comics.jpg]

Pages are made from the hold-out edge maps (:mod:`batchcolor.tools.comicpage`):

* *lettered*: two bordered panels, a shoe and a bag (300 px), two speech balloons and a black
  caption box beside a border;
* *toned*: one panel, a sky of screentone above a bag (340 px).

Each is coloured through ``run``'s one-image path at its defaults (f32). Per page kind:

* **as drawn**: the share of the balloons', caption's and tone's pixels that come back within
  2 levels of the page;
* **vs alone**: PSNR of each drawing's box against the same drawing coloured alone, on white
  (with its lines kept, as ``--lines auto`` keeps them on a page with panels or tone);
* **panels found**: pages whose borders :func:`~batchcolor.drawing.objects.frame_strokes` finds
  (where it does not, the page is one object, balloons and all), and the two figures on them.

``--figure`` writes the first page of each kind: page | output.
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from batchcolor.colorize.guidance import guidance
from batchcolor.colorize.image import colorize_image
from batchcolor.colorize.settings import InferenceSettings, open_engine
from batchcolor.drawing.objects import frame_strokes
from batchcolor.drawing.tones import tone_mask, without_tone
from batchcolor.tools import comicpage, evaluate, metrics

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "edges2shoes-handbags"


def _alone(drawing: np.ndarray, colour) -> np.ndarray:
    """The drawing coloured alone, on white with a margin, cut back to its own size."""
    m = 40
    padded = np.full((drawing.shape[0] + 2 * m, drawing.shape[1] + 2 * m), 255, np.uint8)
    padded[m:-m, m:-m] = drawing
    return colour(padded)[m:-m, m:-m]


def measure(model: str | None, data: Path, count: int, shown: dict) -> dict:
    settings = InferenceSettings(model=model, precision="f32", scale="auto")
    engine, tiling = open_engine(settings)
    guide = guidance(settings, engine.card)

    def colour(gray: np.ndarray) -> np.ndarray:
        return colorize_image(gray, engine, tiling, "auto", guide=guide)

    with_ink = replace(guide, keep_lines=True)  # (a page's ink is kept under --lines auto; alone it is not)

    def colour_inked(gray: np.ndarray) -> np.ndarray:
        return colorize_image(gray, engine, tiling, "auto", guide=with_ink)

    shoes = evaluate.load_eval_pairs(data / "shoes-train", 256, None, 100).edges
    bags = evaluate.load_eval_pairs(data / "handbags-val", 256, None, None).edges
    results = {}
    try:
        for kind in ("lettered", "toned"):
            kept, scores, found, kept_found, scores_found = [], [], 0, [], []
            for i in range(count):
                shoe, bag = shoes[i].min(axis=2), bags[i].min(axis=2)
                page = comicpage.lettered_page(shoe, bag) if kind == "lettered" else comicpage.toned_page(bag)
                out = colour(page.gray)
                # (were its borders found as panels? on the page as the masks see it, tone taken out)
                tone = tone_mask(page.gray)
                seen = without_tone(page.gray[:, :, None], tone)[:, :, 0]
                panels = frame_strokes(seen < 160) is not None
                inked = panels or tone is not None  # (what run's --lines auto keeps the ink on)
                found += panels
                for box in page.as_drawn.values():
                    diff = np.abs(out[box].astype(np.int16) - page.gray[box][:, :, None]).max(axis=2)
                    kept.append(float(np.mean(diff <= 2)))
                    if panels:
                        kept_found.append(kept[-1])
                sources = [shoe, bag] if kind == "lettered" else [bag]
                for box, source in zip(page.drawings, sources):
                    side = max(box[0].stop - box[0].start, box[1].stop - box[1].start)
                    alone = _alone(comicpage.fit(source, side), colour_inked if inked else colour)
                    scores.append(metrics.psnr(out[box][None], alone[None]))
                    if panels:
                        scores_found.append(scores[-1])
                if i == 0:
                    shown[kind] = (page.gray, out)
            results[kind] = {"as_drawn": float(np.mean(kept)), "vs_alone": float(np.mean(scores)),
                             "vs_alone_min": float(np.min(scores)), "found": found,
                             "as_drawn_found": float(np.mean(kept_found)) if kept_found else float("nan"),
                             "vs_alone_found": float(np.mean(scores_found)) if scores_found else float("nan")}
    finally:
        engine.close()
    return results


def table(results: dict, count: int) -> str:
    rows = [f"{count} pages of each kind from hold-out drawings, f32, `run` defaults", "",
            "| page | left as drawn (balloons, caption, tone) | drawings vs coloured alone, mean (worst) | "
            "panels found | on those pages: as drawn, vs alone |", "|---|---|---|---|---|"]
    for kind, r in results.items():
        rows.append(f"| {kind} | {100 * r['as_drawn']:.1f}% | {r['vs_alone']:.1f} dB ({r['vs_alone_min']:.1f}) | "
                    f"{r['found']} of {count} | {100 * r['as_drawn_found']:.1f}%, {r['vs_alone_found']:.1f} dB |")
    return "\n".join(rows)


def figure(shown: dict, path: Path) -> None:
    import cv2

    from batchcolor.imageio.images import atomic_write, encode

    rows = []
    for page, out in shown.values():
        pair = np.hstack([cv2.cvtColor(page, cv2.COLOR_GRAY2BGR), np.full((page.shape[0], 8, 3), 255, np.uint8), out])
        rows.append(cv2.resize(pair, (1000, round(1000 * pair.shape[0] / pair.shape[1])), interpolation=cv2.INTER_AREA))
    atomic_write(path, encode(np.vstack(rows), path.suffix.lower()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=None, help="model folder (default: the installed default)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--count", type=int, default=20, help="pages of each kind")
    ap.add_argument("--figure", type=Path, default=None, help="also write the first page of each kind (.png or .jpg)")
    args = ap.parse_args()
    shown: dict = {}
    print(table(measure(args.model, args.data, args.count, shown), args.count))
    if args.figure:
        figure(shown, args.figure)


if __name__ == "__main__":
    main()
