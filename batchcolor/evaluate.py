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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import metrics
from .colorize import InferenceSettings, colorize_image, open_engine


@dataclass(frozen=True)
class EvalData:
    edges: np.ndarray  # N x S x S x 3 uint8 RGB
    targets: np.ndarray  # N x S x S x 3 uint8 RGB
    names: tuple[str, ...]


def load_eval_pairs(folder: Path, size: int, limit: int | None = None, last: int | None = None) -> EvalData:
    """AB files (or A/ + B/) at ``size``; ``last`` takes the last N in natural order (hold-outs)."""
    import cv2

    from .walk import iter_inputs, natural_key

    folder = Path(folder)
    if (folder / "A").is_dir() and (folder / "B").is_dir():
        b_by_stem = {p.stem: p for p in iter_inputs(folder / "B")}
        pairs = [(a, b_by_stem[a.stem]) for a in iter_inputs(folder / "A") if a.stem in b_by_stem]
    else:
        pairs = [(p, None) for p in iter_inputs(folder)]
    pairs.sort(key=lambda ab: natural_key(ab[0]))
    if last:
        pairs = pairs[-last:]
    if limit:
        pairs = pairs[:limit]
    if not pairs:
        raise FileNotFoundError(f"{folder}: no AB images or A/ + B/ pairs")
    edges, targets = [], []
    for a_path, b_path in pairs:
        a = cv2.imdecode(np.fromfile(a_path, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
        if b_path is None:
            half = a.shape[1] // 2
            a, b = a[:, :half], a[:, half : 2 * half]
        else:
            b = cv2.imdecode(np.fromfile(b_path, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
        edges.append(cv2.resize(np.ascontiguousarray(a), (size, size), interpolation=cv2.INTER_AREA))
        targets.append(cv2.resize(np.ascontiguousarray(b), (size, size), interpolation=cv2.INTER_AREA))
    return EvalData(np.stack(edges), np.stack(targets), tuple(a.name for a, _ in pairs))


def predict(settings: InferenceSettings, edges: np.ndarray) -> tuple[np.ndarray, Any]:
    engine, tiling = open_engine(settings)
    outs = []
    for rgb in edges:
        bgr = colorize_image(np.ascontiguousarray(rgb[:, :, ::-1]), engine, tiling)
        outs.append(bgr[:, :, ::-1])
    return np.stack(outs), engine


def evaluate(settings: InferenceSettings, data_dir: Path, report_dir: Path | None = None, limit: int | None = None,
             last: int | None = None, size: int | None = None) -> dict[str, Any]:
    from .colorize import resolve

    ref, _ = resolve(settings)
    size = size or ref.card.scale or 256
    data = load_eval_pairs(data_dir, size, limit, last)
    t0 = time.perf_counter()
    outputs, engine = predict(settings, data.edges)
    seconds = time.perf_counter() - t0
    mean_color = ref.card.training.get("mean_color")
    source = "card (mean training colour)"
    if mean_color is None:
        mean_color = data.targets.reshape(-1, 3).mean(axis=0).tolist()
        source = "evaluation targets (card has no mean_color)"
    flat = np.broadcast_to(np.rint(np.array(mean_color)).astype(np.uint8), data.targets.shape)
    report = {
        "model": str(ref.model_path.parent), "data": str(data_dir), "pairs": len(data.names), "size": size,
        "precision": engine.inference_precision(), "seconds": round(seconds, 2),
        "model_metrics": _rounded(metrics.all_metrics(outputs, data.targets)),
        "flat_baseline": {"mean_color": [round(c, 1) for c in mean_color], "source": source,
                          **_rounded(metrics.all_metrics(np.ascontiguousarray(flat), data.targets))},
    }
    if report_dir is not None:
        from .sheets import write_contact_sheet

        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        write_contact_sheet(data.edges[:8], outputs[:8], data.targets[:8], report_dir / "contact_sheet.png")
    return report


def _rounded(d: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in d.items()}
