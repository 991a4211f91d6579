"""Automatic colours: a fixed chroma gain against a chroma level aimed at per object.

    python benchmarks/chroma_target.py [MODEL] [--count 0]

An L1 network's automatic chroma is shrunk towards neutral, and shrunk the more the less sure it
is. A fixed gain (the card's ``saturation``) keeps that spread; a ``chroma_target`` brings each
object's mean chroma towards one level, its gain held within bounds (``ChromaTarget`` in
``batchcolor/drawing/chroma.py``). ``models/ship.py`` chooses the card's on the HED hold-outs
only; this measures the choice on every edge style the card reports (HED, and the photos
re-drawn by ``batchcolor prepare``), the project being judged on edge maps it does not have.

The network runs once per drawing (run's one-image path, f32, ``--scale auto``, automatic); the
finishing steps are then replayed on its output for each setting (the same function ``run``
calls, so each row is what ``run`` would give). Per set and edge style: automatic PSNR and
colourfulness ratio; then the means over all of them.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from batchcolor.colorize.guidance import Guidance, guidance
from batchcolor.colorize.image import colorize_image
from batchcolor.colorize.settings import InferenceSettings, open_engine
from batchcolor.drawing.chroma import ChromaTarget
from batchcolor.tools import metrics
from pockets import DATA, SETS, drawings  # (benchmarks/pockets.py: the hold-outs, as edge maps or re-drawn)

STYLES = ("hed", "canny", "xdog", "ink", "sobel")
GAINS = (2.5, 3.0)
LEVELS = (13.0, 15.0, 17.0, 20.0)
BOUNDS = (2.0, 4.0)


@dataclass(frozen=True)
class _Recording(Guidance):
    """The run's guidance, which also keeps what its finishing step was given."""

    sink: list = field(default_factory=list, compare=False, repr=False)

    def finish(self, rgb, drawing, card, extent=None, printed=None, shading=None):
        self.sink.append((self.plain(), rgb.copy(), drawing, card, extent, printed, shading))
        return super().finish(rgb, drawing, card, extent, printed, shading)

    def plain(self) -> Guidance:
        return Guidance(**{f.name: getattr(self, f.name) for f in fields(Guidance)})


def network_outputs(model: str | None, data: Path, count: int) -> dict:
    """Per set and style: the photos, and each drawing's finishing inputs as ``run`` made them."""
    settings = InferenceSettings(model=model, precision="f32", scale="auto")
    engine, tiling = open_engine(settings)
    runs = {}
    try:
        base = guidance(settings, engine.card)
        for name, (folder, last) in SETS.items():
            for style in STYLES:
                pairs = drawings(data, folder, last, style)
                pairs = pairs[:count] if count else pairs
                sink: list = []
                guide = _Recording(**{f.name: getattr(base, f.name) for f in fields(Guidance)}, sink=sink)
                for gray, _ in pairs:
                    colorize_image(gray, engine, tiling, "auto", guide=guide)
                runs[f"{name}, {style}"] = ([photo for _, photo in pairs], sink)
    finally:
        engine.close()
    return runs


def variants(card_guide: Guidance) -> dict[str, Guidance]:
    out = {"the card's": card_guide}
    out.update({f"gain {g:g}": replace(card_guide, saturation=g, chroma_target=None) for g in GAINS})
    out.update({f"level {lv:g} ({BOUNDS[0]:g}-{BOUNDS[1]:g})": replace(card_guide, chroma_target=ChromaTarget(lv, *BOUNDS))
                for lv in LEVELS})
    return out


def measure(runs: dict) -> dict:
    results = {}
    for key, (photos, finishing) in runs.items():
        target = metrics.colorfulness(np.stack(photos))
        rows = {}
        for label in variants(finishing[0][0]):
            outs = [variants(g)[label].finish(rgb, drawing, card, extent, printed, shading)
                    for g, rgb, drawing, card, extent, printed, shading in finishing]
            rows[label] = (float(np.mean([metrics.psnr(o[None], p[None]) for o, p in zip(outs, photos)])),
                           metrics.colorfulness(np.stack(outs)) / target)
        results[key] = rows
    return results


def table(results: dict) -> str:
    labels = list(next(iter(results.values())))
    lines = ["Automatic PSNR dB / colourfulness ratio, 256 px hold-outs, run's one-image path (f32, `--scale auto`)", "",
             "| set, edges | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for key, rows in results.items():
        lines.append(f"| {key} | " + " | ".join(f"{rows[k][0]:.2f} / {rows[k][1]:.2f}" for k in labels) + " |")
    mean = lambda k, i: float(np.mean([rows[k][i] for rows in results.values()]))  # noqa: E731
    low = lambda k: float(np.min([rows[k][1] for rows in results.values()]))  # noqa: E731
    lines.append("| **mean** (lowest colourfulness) | "
                 + " | ".join(f"**{mean(k, 0):.3f} / {mean(k, 1):.3f}** ({low(k):.2f})" for k in labels) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=None, help="model folder (default: the installed default)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--count", type=int, default=50, help="drawings per set (0: all)")
    args = ap.parse_args()
    print(table(measure(network_outputs(args.model, args.data, args.count))))


if __name__ == "__main__":
    main()
