"""Contact sheets: input | output | target rows that a person can look at (OpenCV + NumPy)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from batchcolor.imageio.images import atomic_write, encode


def _rgb3(x: np.ndarray) -> np.ndarray:
    return np.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x


def contact_sheet(columns: list[np.ndarray], pad: int = 4) -> np.ndarray:
    """Rows of images, one column per array (each N x H x W x C uint8 RGB or gray) -> RGB."""
    cols = [_rgb3(np.asarray(c)) for c in columns]
    n, h, w = cols[0].shape[:3]
    sheet = np.full((n * (h + pad) + pad, len(cols) * (w + pad) + pad, 3), 255, np.uint8)
    for i in range(n):
        for j, c in enumerate(cols):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            sheet[y : y + h, x : x + w] = c[i]
    return sheet


def write_rows(rows: list[tuple[np.ndarray, ...]], path: Path, pad: int = 6) -> None:
    """A figure of before-and-after rows (each image H x W gray or H x W x 3 RGB, all one
    size), written as ``path``'s format (.png or .jpg)."""
    columns = [np.stack([row[j][:, :, None] if row[j].ndim == 2 else row[j] for row in rows]) for j in range(len(rows[0]))]
    atomic_write(path, encode(np.ascontiguousarray(contact_sheet(columns, pad=pad)[:, :, ::-1]), path.suffix.lower()))


def write_contact_sheet(inputs: np.ndarray, outputs: np.ndarray, targets: np.ndarray, path: Path) -> None:
    """input | output | target, one row per validation image."""
    atomic_write(path, encode(contact_sheet([inputs, outputs, targets])[:, :, ::-1].copy(), ".png"))

preview_grid = write_contact_sheet
