"""Paired line art and photos, read one way for training, evaluation and INT8 calibration.

Two layouts, as pix2pix ships them:

* **AB files**: the drawing on the left half, the photo on the right (``1_AB.jpg``, 256 x 512);
* **A/ + B/ folders**: ``A/name.png`` (drawing) and ``B/name.png`` (photo), matched by stem.

Files are found in subfolders too, in natural order within each folder (``2_AB`` before
``10_AB``), so ``--val-last``/``--last`` hold-outs are the same files for every command. A
lone drawing (not twice as wide as tall, not named ``*_AB``) is a pair without a photo:
calibration can use plain line art. A file that does not decode is an error naming it, never
a crash inside NumPy. NumPy + OpenCV only: importable without Paddle.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from batchcolor.imageio.files import iter_inputs, natural_key


@dataclass(frozen=True)
class Pair:
    a: Path  # the drawing, or an AB file
    b: Path | None = None  # the photo, in the A/ + B/ layout


def find_pairs(folder: Path) -> list[Pair]:
    """Every pair under ``folder``; FileNotFoundError when there is none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: paired data folder not found")
    if (folder / "A").is_dir() and (folder / "B").is_dir():
        b_by_stem = {p.stem: p for p in iter_inputs(folder / "B")}
        pairs = [Pair(a, b_by_stem[a.stem]) for a in _natural(iter_inputs(folder / "A"), folder / "A")
                 if a.stem in b_by_stem]
    else:
        pairs = [Pair(p) for p in _natural(iter_inputs(folder), folder)]
    if not pairs:
        raise FileNotFoundError(f"{folder}: no AB images and no A/ + B/ folders with matching names")
    return pairs


def _natural(paths: list[Path], root: Path) -> list[Path]:
    return sorted(paths, key=lambda p: (p.parent.relative_to(root).as_posix(), natural_key(p)))


def side_by_side(path: Path, shape: tuple[int, ...]) -> bool:
    """Whether an image is an AB pair: named ``*_AB`` or exactly twice as wide as tall."""
    return path.stem.endswith("_AB") or shape[1] == 2 * shape[0]


def read_pair(pair: Pair, size: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(drawing, photo) as RGB uint8, each resized to ``size`` x ``size`` (INTER_AREA) if
    given; the photo is None for a lone drawing. ValueError names a file that cannot be read."""
    import cv2

    a = _read_rgb(pair.a)
    if pair.b is not None:
        b: np.ndarray | None = _read_rgb(pair.b)
    elif side_by_side(pair.a, a.shape):
        half = a.shape[1] // 2
        a, b = a[:, :half], a[:, half : 2 * half]
    else:
        b = None
    if size is not None:
        a = cv2.resize(np.ascontiguousarray(a), (size, size), interpolation=cv2.INTER_AREA)
        b = None if b is None else cv2.resize(np.ascontiguousarray(b), (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(a), None if b is None else np.ascontiguousarray(b)


def _read_rgb(path: Path) -> np.ndarray:
    import cv2

    try:
        data = np.fromfile(path, np.uint8)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror}") from exc
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise ValueError(f"{path}: cannot decode (truncated, corrupt or not an image)")
    return img[:, :, ::-1]


def normalise(x: np.ndarray, mean: np.ndarray | float, std: np.ndarray | float) -> np.ndarray:
    """N x H x W x C uint8 -> N x C x H x W float32 with a card's per-channel mean and std
    (:meth:`batchcolor.inference.modelcard.ModelCard.channel_normalisation`, or one number for all)."""
    m, s = np.asarray(mean, np.float32), np.asarray(std, np.float32)
    return ((x.astype(np.float32) - m) / s).transpose(0, 3, 1, 2)
