"""Line art on a transparent layer: is the colour there, and is the cut-out the object's shape?

    python benchmarks/transparent.py [MODEL] [--count 100] [--figure transparent.jpg]

Drawing apps export line art as a layer: black lines, the drawing in the alpha, everything
else clear. The hold-out drawings (last 100 of shoes-train, handbags-val; the first
``--count`` of each) are made into such layers (colour 0, alpha = 255 - the edge map's gray)
and coloured through ``run``'s one-image path at its defaults (f32), beside the same drawings
flat on white. Each row, per set:

* **vs flat**: PSNR of the layer's output composited over white against the flat drawing's
  output, and the largest difference on its opaque pixels (the colouring itself is the same;
  the outline's outer rim shows the layer's own line at its own cover there, not the model's
  colour, so the PSNR is that of a thin gray ring);
* **object IoU**: the output's opaque pixels (alpha >= 128) against the photo's object (its
  pixels farther than 40 from white, holes filled), the cut-out a user composites;
* **clear paper**: the share of the photo's background pixels that stay clear (alpha < 128);
* the same two for the input's own alpha, which is what the output carried before (the lines).

``--figure`` writes the first drawings of each set: the layer over a checkerboard | the output
over the checkerboard | over a dark background | the photo.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from batchcolor.colorize.image import colorize_image
from batchcolor.colorize.settings import InferenceSettings, open_engine
from batchcolor.colorize.guidance import guidance
from batchcolor.tools import evaluate, metrics

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "edges2shoes-handbags"
SETS = {"shoes": ("shoes-train", 100), "bags": ("handbags-val", None)}
FIGURE_ROWS = 2
DARK = (34, 40, 58)  # RGB


def layer_of(edges_rgb: np.ndarray) -> np.ndarray:
    """BGRA line layer of an RGB edge map: black ink, alpha = how dark the edge map is."""
    gray = edges_rgb.min(axis=2)
    return np.dstack([np.zeros_like(gray)] * 3 + [255 - gray])


def photo_object(photo_rgb: np.ndarray) -> np.ndarray:
    """The photo's object: pixels farther than 40 from white (as the card's global colour reads
    them), holes filled, specks under 0.2% of the image dropped."""
    far = (np.abs(photo_rgb.astype(np.int16) - 255).max(axis=2) > 40).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(far, connectivity=8)
    keep = np.zeros(count, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= 0.002 * far.size
    mask = keep[labels].astype(np.uint8)
    h, w = mask.shape
    flood = cv2.copyMakeBorder(1 - mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=1)
    cv2.floodFill(flood, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 2, flags=4)
    return flood[1:-1, 1:-1] != 2


def over(bgra: np.ndarray, background: np.ndarray) -> np.ndarray:
    """BGRA composited over an H x W x 3 BGR background, uint8 BGR."""
    a = bgra[:, :, 3:].astype(np.float32) / 255
    return np.clip(np.rint(bgra[:, :, :3] * a + background * (1 - a)), 0, 255).astype(np.uint8)


def checkerboard(h: int, w: int, cell: int = 16) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return np.repeat(np.where((yy // cell + xx // cell) % 2 == 0, 200, 235).astype(np.uint8)[:, :, None], 3, axis=2)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def measure(model: str | None, data: Path, count: int, shown: dict) -> dict:
    settings = InferenceSettings(model=model, precision="f32", scale="auto")
    engine, tiling = open_engine(settings)
    guide = guidance(settings, engine.card)
    results = {}
    try:
        for name, (folder, last) in SETS.items():
            base = evaluate.load_eval_pairs(data / folder, 256, None, last)
            rows = {"vs_flat": [], "opaque_diff": [], "iou": [], "clear": [], "iou_before": [], "clear_before": []}
            for i in range(min(count, len(base.edges))):
                edges, photo = base.edges[i], base.targets[i]
                layer = layer_of(edges)
                # the flat drawing is the layer's own gray on white (an edge map's channels differ a little)
                flat = colorize_image(255 - layer[:, :, 3], engine, tiling, "auto", guide=guide)
                out = colorize_image(layer, engine, tiling, "auto", guide=guide)
                white = np.full_like(flat, 255)
                composited = over(out, white)
                rows["vs_flat"].append(metrics.psnr(composited[None], flat[None]))
                opaque_px = out[:, :, 3] == 255
                diff = np.abs(composited.astype(np.int16) - flat).max(axis=2)
                rows["opaque_diff"].append(float(diff[opaque_px].max()) if opaque_px.any() else 0.0)
                obj = photo_object(photo)
                for suffix, alpha in (("", out[:, :, 3]), ("_before", layer[:, :, 3])):
                    opaque = alpha >= 128
                    rows["iou" + suffix].append(iou(opaque, obj))
                    rows["clear" + suffix].append(float((~opaque[~obj]).mean()) if (~obj).any() else 1.0)
                if i < FIGURE_ROWS:
                    h, w = out.shape[:2]
                    dark = np.empty((h, w, 3), np.uint8)
                    dark[:] = DARK[::-1]
                    shown.setdefault(name, []).append(
                        [over(layer, checkerboard(h, w)), over(out, checkerboard(h, w)), over(out, dark),
                         np.ascontiguousarray(photo[:, :, ::-1])])
            results[name] = {k: float(np.max(v) if k == "opaque_diff" else np.mean(v)) for k, v in rows.items()}
    finally:
        engine.close()
    return results


def table(results: dict, count: int) -> str:
    s, b = results["shoes"], results["bags"]
    return "\n".join([
        f"{count} hold-out drawings per set as line layers, f32, `run` defaults; each cell: shoes ; bags", "",
        "| output alpha | object IoU (photo) | photo background left clear | over white vs the flat drawing's output | "
        "largest difference on opaque pixels |",
        "|---|---|---|---|---|",
        f"| objects opaque (now) | {s['iou']:.3f} ; {b['iou']:.3f} | {s['clear']:.3f} ; {b['clear']:.3f} | "
        f"{s['vs_flat']:.1f} ; {b['vs_flat']:.1f} dB | {s['opaque_diff']:.0f} ; {b['opaque_diff']:.0f} levels |",
        f"| the layer's own (before) | {s['iou_before']:.3f} ; {b['iou_before']:.3f} | "
        f"{s['clear_before']:.3f} ; {b['clear_before']:.3f} | | |",
    ])


def figure(shown: dict, path: Path) -> None:
    from batchcolor.imageio.images import atomic_write, encode
    from batchcolor.tools.sheets import contact_sheet

    rows = [r for name in SETS for r in shown.get(name, [])]
    columns = [np.stack([r[j] for r in rows]) for j in range(4)]  # (BGR, as they were composited)
    atomic_write(path, encode(contact_sheet(columns), path.suffix.lower()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=None, help="model folder (default: the installed default)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--count", type=int, default=100, help="drawings per set")
    ap.add_argument("--figure", type=Path, default=None, help="also write a picture of the first drawings (.png or .jpg)")
    args = ap.parse_args()
    shown: dict = {}
    print(table(measure(args.model, args.data, args.count, shown), args.count))
    if args.figure:
        figure(shown, args.figure)


if __name__ == "__main__":
    main()
