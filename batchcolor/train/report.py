"""Pictures a person looks at while a model trains: loss curves (OpenCV only); grids live in sheets."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from batchcolor.imageio.images import atomic_write, encode


def plot_losses(losses_jsonl: Path, path: Path, width: int = 720, height: int = 360) -> None:
    """Each logged loss on its own normalised curve (log scale), steps on the x axis."""
    import cv2

    rows = [json.loads(line) for line in losses_jsonl.read_text().splitlines() if line.strip()]
    if not rows:
        return
    if len(rows) == 1:  # one logged step still gets a picture: a dot per loss
        rows = rows * 2
    keys = [k for k in rows[0] if k.startswith("loss")]
    img = np.full((height, width, 3), 255, np.uint8)
    steps = np.array([r["step"] for r in rows], np.float64)
    colors = [(200, 60, 30), (30, 120, 220), (40, 160, 40), (150, 40, 150)]
    left, right, top, bottom = 60, 20, 30, 30
    for i, key in enumerate(keys):
        v = np.log10(np.maximum([r.get(key, np.nan) for r in rows], 1e-8))
        lo, hi = np.nanmin(v), np.nanmax(v)
        xs = left + (steps - steps.min()) / max(np.ptp(steps), 1) * (width - left - right)
        ys = top + (hi - v) / max(hi - lo, 1e-9) * (height - top - bottom)
        pts = np.stack([xs, ys], 1)[~np.isnan(v)].astype(np.int32)
        cv2.polylines(img, [pts], False, colors[i % 4], 1, cv2.LINE_AA)
        cv2.putText(img, f"{key}: {10 ** v[-1]:.4g} (range {10 ** lo:.3g}-{10 ** hi:.3g})", (left, 18 + 0 * i) if i == 0 else (left + 260 * i, 18),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, colors[i % 4], 1, cv2.LINE_AA)
    cv2.putText(img, f"step {int(steps.max())}", (width - 110, height - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    atomic_write(path, encode(img[:, :, ::-1].copy(), ".png"))
