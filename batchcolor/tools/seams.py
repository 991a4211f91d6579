"""Seam measurements: how far tiled inference is from whole-image inference, and where.

Used by the tests (the seam targets) and by ``benchmarks/seams.py`` (which picks the default
overlap). Whole-image inference is the ground truth a tiler tries to reproduce: the same
network run once on the whole reflect-padded image, at f32.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from batchcolor.tiling.geometry import TilePlan, round_up, seam_positions


def whole_image(model: Any, image: np.ndarray, stride: int, pad: int, mean: float = 127.5, std: float = 127.5) -> np.ndarray:
    """Run ``model`` (an ``ov.Model`` with dynamic H, W) once over the whole image at f32.

    The image is reflect-101 padded by ``pad`` (a multiple of ``stride``) before and at least
    ``pad`` after, up to a multiple of ``stride``, then cropped back: the same alignment and
    padding convention the tiler uses. Returns H x W x C float32 in the model's output range.
    """
    from batchcolor.inference.runtime import openvino

    ov = openvino()

    if pad % stride:
        raise ValueError("pad must be a multiple of the stride so the pooling grids line up")
    h, w = image.shape[:2]
    img = image if image.ndim == 3 else image[:, :, None]
    ph = round_up(h + 2 * pad, stride) - h - pad
    pw = round_up(w + 2 * pad, stride) - w - pad
    padded = np.pad(img, ((pad, ph), (pad, pw), (0, 0)), mode="reflect") if min(h, w) > 1 else np.pad(
        img, ((pad, ph), (pad, pw), (0, 0)), mode="edge")
    x = ((padded.astype(np.float32) - mean) / std).transpose(2, 0, 1)[None]
    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    y = compiled(x)[0][0].transpose(1, 2, 0)
    return np.ascontiguousarray(y[pad : pad + h, pad : pad + w])


def psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak * peak / mse)


def seam_mask(plan: TilePlan, radius: int) -> np.ndarray:
    h, w = plan.shape
    mask = np.zeros((h, w), bool)
    for y in seam_positions(plan.rows):
        mask[max(0, y - radius) : y + radius] = True
    for x in seam_positions(plan.cols):
        mask[:, max(0, x - radius) : x + radius] = True
    return mask


def seam_gradient_ratio(image: np.ndarray, plan: TilePlan, near: range = range(3, 9)) -> float:
    """Mean |gradient| across seam lines over the mean on parallel lines ``near`` px away.

    A visible seam is a step: the gradient across it stands out from the gradients next to
    it. 1.0 means the seam lines look like any other line of the image.
    """
    img = image.astype(np.float64)
    if img.ndim == 2:
        img = img[:, :, None]
    at, beside = [], []
    for axis_plan, axis in ((plan.cols, 1), (plan.rows, 0)):
        for s in seam_positions(axis_plan):
            at.append(_abs_step(img, s, axis))
            for d in near:
                for p in (s - d, s + d):
                    if 1 <= p < img.shape[axis]:
                        beside.append(_abs_step(img, p, axis))
    if not at:
        return 1.0
    return float(np.mean(at) / np.mean(beside))


def _abs_step(img: np.ndarray, p: int, axis: int) -> float:
    a = np.take(img, p, axis=axis)
    b = np.take(img, p - 1, axis=axis)
    return float(np.mean(np.abs(a - b)))


SEAM_BAR = {"psnr": 50.0, "psnr_seams": 45.0}


def tiled_vs_one_tile(ref: Any, sheet: np.ndarray, tile: int, overlaps: list[int], radius: int = 8) -> list[dict[str, float]]:
    """The real model at f32: ``sheet`` tiled at each overlap against the same model run on
    the whole sheet as one tile (same padding, same alignment). A trained network's receptive
    field is far wider than a random one's, so only this measurement can set a card's overlap.

    ``sheet`` is H x W x C uint8 model input; a hinted model gets automatic (empty) hints.
    """
    from batchcolor.inference.engine import Engine, EngineConfig
    from batchcolor.drawing.hints import Hints, PlaneMap
    from batchcolor.tiling.tiler import TileSettings, colorize_array

    card = ref.card
    h, w = sheet.shape[:2]
    pad = card.pad_value if card.padding == "constant" else None
    planes = PlaneMap(Hints(), h, w) if card.hint_planes else None
    # The one tile gets the same paper (or mirror) context around the sheet as the tiled runs'
    # outer tiles; without it the network's own zero padding (mid-grey) would differ at the
    # borders and hide the seams behind a border error.
    context = round_up(max(128, max(overlaps, default=0)), card.stride)
    whole = round_up(max(h, w) + 2 * context, card.stride)
    one = Engine(ref.model_path, card, EngineConfig(tile=whole, precision="f32", cache_dir=None))
    try:
        single = TileSettings(whole, 2 * context, margin=context, pad_value=pad)
        assert single.plan(h, w, card.stride).count == 1
        truth = colorize_array(sheet, one, single, as_uint8=False, planes=planes)
    finally:
        one.close()
    lo, hi = card.output_range
    truth = (truth - lo) / (hi - lo)
    engine = Engine(ref.model_path, card, EngineConfig(tile=tile, precision="f32", cache_dir=None))
    rows = []
    try:
        for overlap in overlaps:
            settings = TileSettings(tile, overlap, pad_value=pad)
            out = (colorize_array(sheet, engine, settings, as_uint8=False, planes=planes) - lo) / (hi - lo)
            plan = settings.plan(h, w, card.stride)
            mask = seam_mask(plan, radius)
            rows.append({"overlap": overlap, "tiles": plan.count, "psnr": round(min(psnr(out, truth, 1.0), 100.0), 2),
                         "psnr_seams": round(min(psnr(out[mask], truth[mask], 1.0), 100.0), 2) if mask.any() else 100.0})
    finally:
        engine.close()
    return rows


def smallest_passing_overlap(rows: list[dict[str, float]], bar: dict[str, float] = SEAM_BAR) -> int | None:
    """The smallest overlap whose row meets every figure of ``bar`` (None if none does)."""
    ok = [r["overlap"] for r in rows if all(r[k] >= v for k, v in bar.items())]
    return min(ok) if ok else None


# Coarse where trained networks fail anyway, in steps of 16 (the UNets' stride) where they
# start to pass: the base-24 default failed at 256 and passed at 320 on the coarse list, and
# passes at 272, whose step (768 - 272 = 496 against 448 px) runs big images 1.2x faster.
SEAM_OVERLAPS = (32, 64, 96, 128, 160, 192, 208, 224, 240, 256, 272, 288, 304, 320)


def worst_rows(per_sheet: list[list[dict[str, float]]]) -> list[dict[str, float]]:
    """Per overlap, each figure's worst value over the sheets (one sheet's row, picked by one
    figure, could hide another sheet's failure on the other figure: at overlap 256 the
    default's sheets gave 49.7 / 45.6 and 45.3 / 46.3 dB)."""
    rows = []
    for group in zip(*per_sheet):
        row = dict(group[0])
        for key in ("psnr", "psnr_seams"):
            row[key] = min(r[key] for r in group)
        row["tiles"] = max(r["tiles"] for r in group)
        rows.append(row)
    return rows


def seam_report(ref: Any, sheets: list[np.ndarray], tile: int, overlaps: tuple[int, ...] = SEAM_OVERLAPS) -> dict[str, Any]:
    """The card's ``seams`` block: every overlap below ``tile`` measured on every sheet."""
    per_sheet = [tiled_vs_one_tile(ref, s, tile, [o for o in overlaps if o < tile]) for s in sheets]
    rows = worst_rows(per_sheet)
    return {"measured": f"tiled at {tile} vs one tile, f32, worst of sheets of drawings "
                        + ", ".join(f"{s.shape[1]}x{s.shape[0]}" for s in sheets),
            "bar": SEAM_BAR, "smallest_passing_overlap": smallest_passing_overlap(rows), "table": rows}
