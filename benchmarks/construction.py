"""Pencilled drawings: are coloured construction lines dropped, and the ink coloured as without them?

    python benchmarks/construction.py [MODEL] [--count 100] [--figure construction.jpg]

Artists rough a drawing out in light blue or red pencil and ink over it in black. Each hold-out
edge map (last 100 of shoes-train, handbags-val; the first ``--count`` of each) gets a rough
under its ink (:func:`rough`): the drawing's own lines offset a few px, as a rough sits under
the inked line, plus guide lines and an ellipse round the object, in non-photo blue or red
pencil. Each is coloured through ``run``'s one-image path at its defaults (f32), as clean,
pencilled with ``--construction drop`` (the default) and pencilled with ``keep``:

* **vs photo**: automatic PSNR against the photo;
* **vs clean**: PSNR of the output against the clean drawing's output;
* **found**: drawings where construction lines were found, and the share of the pencil's
  pixels dropped.

``--figure`` writes the first drawings of each set: pencilled | dropped | kept | clean.
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from batchcolor.colorize.guidance import guidance
from batchcolor.colorize.image import colorize_image
from batchcolor.colorize.settings import InferenceSettings, open_engine
from batchcolor.drawing.construction import construction_mask
from batchcolor.tools import evaluate, metrics

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "edges2shoes-handbags"
SETS = {"shoes": ("shoes-train", 100), "bags": ("handbags-val", None)}
PENCILS = [(235, 190, 120), (225, 215, 160), (120, 110, 235)]  # BGR: blue pencil, non-photo blue, red pencil
FIGURE_ROWS = 2


def rough(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """BGR: ``gray``'s ink over a pencil rough of it (its lines shifted 2-5 px, two guide lines
    through its middle, an ellipse round it), in one of :data:`PENCILS`."""
    h, w = gray.shape
    colour = PENCILS[int(rng.integers(len(PENCILS)))]
    lines = (gray < 160).astype(np.uint8)
    dx, dy = (int(v) * int(rng.choice([-1, 1])) for v in rng.integers(2, 6, 2))
    shifted = np.roll(np.roll(lines, dy, axis=0), dx, axis=1).astype(bool)
    pencil = np.full((h, w, 3), 255, np.uint8)
    pencil[shifted] = colour
    ys, xs = np.nonzero(lines) if lines.any() else (np.array([h // 2]), np.array([w // 2]))
    cx, cy = int(xs.mean()), int(ys.mean())
    cv2.line(pencil, (0, cy), (w - 1, cy + int(rng.integers(-10, 11))), colour, 1, cv2.LINE_AA)
    cv2.line(pencil, (cx, 0), (cx + int(rng.integers(-10, 11)), h - 1), colour, 1, cv2.LINE_AA)
    cv2.ellipse(pencil, (cx, cy), (int(np.ptp(xs) * 0.55) + 2, int(np.ptp(ys) * 0.55) + 2), float(rng.uniform(-15, 15)),
                0, 360, colour, 1, cv2.LINE_AA)
    return np.minimum(pencil, cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))


def measure(model: str | None, data: Path, count: int, shown: list) -> dict:
    settings = InferenceSettings(model=model, precision="f32", scale="auto")
    engine, tiling = open_engine(settings)
    drop = guidance(settings, engine.card)
    keep = replace(drop, construction=False)
    results = {}
    try:
        for name, (folder, last) in SETS.items():
            pairs = evaluate.load_eval_pairs(data / folder, 256, None, last)
            rng = np.random.default_rng(0)
            rows = {"clean": [], "dropped": [], "kept": [], "dropped vs clean": [], "kept vs clean": []}
            found, share = 0, []
            for i, (edges, photo) in enumerate(zip(pairs.edges[:count], pairs.targets[:count])):
                gray = edges.min(axis=2)
                pencilled = rough(gray, rng)
                mask = construction_mask(pencilled)
                found += mask is not None
                pencil = np.abs(pencilled.astype(np.int16) - gray[:, :, None]).max(axis=2) > 40
                share.append(float(mask[pencil].mean()) if mask is not None and pencil.any() else 0.0)
                clean = colorize_image(gray, engine, tiling, "auto", guide=drop)[:, :, ::-1]
                dropped = colorize_image(pencilled, engine, tiling, "auto", guide=drop)[:, :, ::-1]
                kept = colorize_image(pencilled, engine, tiling, "auto", guide=keep)[:, :, ::-1]
                for key, out in (("clean", clean), ("dropped", dropped), ("kept", kept)):
                    rows[key].append(metrics.psnr(out[None], photo[None]))
                rows["dropped vs clean"].append(metrics.psnr(dropped[None], clean[None]))
                rows["kept vs clean"].append(metrics.psnr(kept[None], clean[None]))
                if i < FIGURE_ROWS:
                    shown.append((pencilled, dropped[:, :, ::-1], kept[:, :, ::-1], clean[:, :, ::-1]))
            n = min(count, len(pairs.edges))
            results[name] = {k: float(np.mean(v)) for k, v in rows.items()} | {"found": found, "n": n,
                                                                             "dropped_share": float(np.mean(share))}
    finally:
        engine.close()
    return results


def table(results: dict) -> str:
    sets = list(results)
    n = " ; ".join(str(results[s]["n"]) for s in sets)
    out = [f"hold-outs ({' ; '.join(sets)}: {n} drawings), pencil rough under the ink, f32, `run` defaults", "",
           "| drawing | automatic PSNR vs photo | vs the clean drawing's output |", "|---|---|---|"]
    def both(key: str) -> str:
        return " ; ".join(f"{results[s][key]:.2f}" for s in sets)
    out.append(f"| clean | {both('clean')} dB | |")
    out.append(f"| pencilled, `--construction drop` (default) | {both('dropped')} dB | {both('dropped vs clean')} dB |")
    out.append(f"| pencilled, `--construction keep` | {both('kept')} dB | {both('kept vs clean')} dB |")
    found = " ; ".join(f"{results[s]['found']} of {results[s]['n']}" for s in sets)
    share = " ; ".join(f"{100 * results[s]['dropped_share']:.1f}%" for s in sets)
    out += ["", f"construction lines found on {found} drawings; pencil pixels dropped: {share}"]
    return "\n".join(out)


def figure(shown: list, path: Path) -> None:
    from batchcolor.imageio.images import atomic_write, encode

    gap = np.full((256, 6, 3), 255, np.uint8)
    rows = [np.hstack([x for im in row for x in (im, gap)][:-1]) for row in shown]
    sheet = np.vstack([np.vstack([r, np.full((6, r.shape[1], 3), 255, np.uint8)]) for r in rows])[:-6]
    atomic_write(path, encode(sheet, path.suffix.lower()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=None, help="model folder (default: the installed default)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--count", type=int, default=100, help="drawings of each set")
    ap.add_argument("--figure", type=Path, default=None, help="also write the first drawings of each set (.png or .jpg)")
    args = ap.parse_args()
    shown: list = []
    print(table(measure(args.model, args.data, args.count, shown)))
    if args.figure:
        figure(shown, args.figure)


if __name__ == "__main__":
    main()
