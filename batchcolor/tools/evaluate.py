"""``batchcolor eval``: how good is a model, against a flat baseline, on paired data.

Runs the shipped artefact (the OpenVINO IR through the same tiling engine as ``run``), not
the Paddle checkpoint, so the numbers describe what users get. Pairs are evaluated at the
model's training scale (the card's ``scale``), where its receptive field sees what it saw in
training. The flat baseline paints every pixel with the mean training colour (from the card,
else the mean of the evaluation targets): a model that cannot beat it has learnt nothing.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from batchcolor.drawing import hints as hintmod
from batchcolor.tools import metrics
from batchcolor.colorize.image import colorize_image
from batchcolor.colorize.guidance import guidance
from batchcolor.inference.cores import blas_single_threaded
from batchcolor.colorize.settings import InferenceSettings, open_engine
from batchcolor.drawing.hints import Hints
from batchcolor.imageio.pairs import find_pairs, read_pair


@dataclass(frozen=True)
class EvalData:
    edges: np.ndarray  # N x S x S x 3 uint8 RGB
    targets: np.ndarray  # N x S x S x 3 uint8 RGB
    names: tuple[str, ...]


def load_eval_pairs(folder: Path, size: int, limit: int | None = None, last: int | None = None) -> EvalData:
    """Pairs under ``folder`` (:mod:`batchcolor.imageio.pairs`) at ``size``; ``last`` takes the last N in
    natural order (hold-outs), as ``train --val-last`` does."""
    pairs = find_pairs(Path(folder))
    if last:
        pairs = pairs[-last:]
    if limit:
        pairs = pairs[:limit]
    edges, targets = [], []
    for pair in pairs:
        a, b = read_pair(pair, size)
        if b is None:
            raise ValueError(f"{pair.a}: a drawing without its photo (eval needs AB files or A/ + B/ folders)")
        edges.append(a)
        targets.append(b)
    return EvalData(np.stack(edges), np.stack(targets), tuple(p.a.name for p in pairs))


def predict(settings: InferenceSettings, edges: np.ndarray, layers: list[Hints | None] | None = None,
            colors: list[str | None] | None = None, engine_tiling: tuple[Any, Any] | None = None) -> tuple[np.ndarray, Any]:
    """Colorize N x S x S x 3 RGB drawings through ``run``'s one-image path.

    ``layers`` gives each drawing a hint layer (as a user's ``NAME.hints.png``), ``colors``
    a ``--color``; both go through :func:`batchcolor.colorize.image.guidance` as in ``run``."""
    engine, tiling = engine_tiling or open_engine(settings)

    def one(i: int) -> np.ndarray:
        s = replace(settings, color=colors[i]) if colors is not None else settings
        guide = guidance(s, engine.card, layers[i] if layers is not None else None)
        bgr = colorize_image(np.ascontiguousarray(edges[i][:, :, ::-1]), engine, tiling, settings.scale, guide=guide)
        return bgr[:, :, ::-1]

    # Several drawings in flight, as ``run`` keeps them: one 256 px drawing is one tile, and
    # alone it leaves all but one of the engine's infer requests idle.
    with blas_single_threaded(), ThreadPoolExecutor(max_workers=2 * engine.num_requests) as pool:
        outs = list(pool.map(one, range(len(edges))))
    return np.stack(outs), engine


def point_hints(targets: np.ndarray, count: int, seed: int = 0, size: int = 5) -> list[Hints]:
    """``count`` seeded ``size`` x ``size`` point hints per target, by the training protocol."""
    return [hintmod.eval_points(seed + i, t, count, size) for i, t in enumerate(targets)]


def condition_metrics(outputs: np.ndarray, data: EvalData, points: list[Hints] | None,
                      colors: list[tuple[int, int, int] | None] | None = None) -> dict[str, float]:
    """The table's columns for one condition: fidelity to the photo, colour, lines, hints.

    ``hint_fidelity`` is measured at ``points`` (also for automatic output, to compare), or,
    for the global condition, between each given colour and the output's median object
    colour."""
    m = metrics.all_metrics(outputs, data.targets)
    m["line_recall"] = metrics.line_recall(data.edges, outputs)
    if colors is not None:
        pairs = [(hintmod.global_color(o), c) for o, c in zip(outputs, colors) if c is not None]
        got = np.array([p[0] or (255, 255, 255) for p in pairs], np.uint8).reshape(-1, 1, 3)
        want = np.array([p[1] for p in pairs], np.uint8).reshape(-1, 1, 3)
        m["hint_fidelity"] = float(np.mean(metrics.ciede2000_lab(metrics.rgb_to_lab(got), metrics.rgb_to_lab(want))))
    elif points:
        m["hint_fidelity"] = metrics.hint_fidelity(outputs, np.stack([p.color for p in points]), np.stack([p.mask for p in points]))
    return _rounded(m)


def evaluate(settings: InferenceSettings, data_dir: Path, report_dir: Path | None = None, limit: int | None = None,
             last: int | None = None, size: int | None = None, points: int = 0, global_color: bool = False,
             seed: int = 0) -> dict[str, Any]:
    """Automatic, global-colour and N-point results side by side, and the flat baseline.

    ``report["model_metrics"]`` is the automatic condition (what ``run`` gives with no hints).
    """
    from batchcolor.colorize.settings import resolve

    ref, _ = resolve(settings)
    size = size or ref.card.scale or 256
    data = load_eval_pairs(data_dir, size, limit, last)
    hinted = bool(ref.card.hint_planes)
    if (points or global_color) and not hinted:
        raise ValueError(f"--hints/--global-color need a model trained with hints; {ref.model_path} takes none")
    engine_tiling = open_engine(settings)
    engine = engine_tiling[0]
    pts = point_hints(data.targets, points, seed) if points else None
    t0 = time.perf_counter()
    outputs, _ = predict(settings, data.edges, engine_tiling=engine_tiling)
    seconds = time.perf_counter() - t0
    conditions = {"automatic": condition_metrics(outputs, data, pts)}
    sheet = [data.edges[:8], outputs[:8]]
    if global_color:
        wanted = [hintmod.global_color(t) for t in data.targets]
        colors = [hintmod.format_color(c) if c else None for c in wanted]
        out_g, _ = predict(settings, data.edges, colors=colors, engine_tiling=engine_tiling)
        conditions["global"] = condition_metrics(out_g, data, None, wanted)
        sheet.append(out_g[:8])
    if pts:
        out_p, _ = predict(settings, data.edges, layers=pts, engine_tiling=engine_tiling)
        conditions[f"points{points}"] = condition_metrics(out_p, data, pts)
        sheet += [np.stack([hintmod.as_layer_on_white(p) for p in pts[:8]]), out_p[:8]]
    engine.close()
    mean_color = ref.card.training.get("mean_color")
    source = "card (mean training colour)"
    if mean_color is None:
        mean_color = data.targets.reshape(-1, 3).mean(axis=0).tolist()
        source = "evaluation targets (card has no mean_color)"
    flat = np.ascontiguousarray(np.broadcast_to(np.rint(np.array(mean_color)).astype(np.uint8), data.targets.shape))
    report = {
        "model": str(ref.model_path.parent), "data": str(data_dir), "pairs": len(data.names), "size": size,
        "scale": settings.scale, "lines": settings.lines or ref.card.lines,
        "precision": engine.inference_precision(), "seconds": round(seconds, 2),
        "model_metrics": conditions["automatic"],
        "conditions": conditions,
        "flat_baseline": {"mean_color": [round(c, 1) for c in mean_color], "source": source,
                          **condition_metrics(flat, data, pts)},
    }
    if report_dir is not None:
        from batchcolor.imageio.images import atomic_write, encode
        from batchcolor.tools.sheets import contact_sheet

        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        sheet.append(data.targets[:8])
        atomic_write(report_dir / "contact_sheet.png", encode(contact_sheet(sheet)[:, :, ::-1].copy(), ".png"))
    return report


def _rounded(d: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in d.items()}
