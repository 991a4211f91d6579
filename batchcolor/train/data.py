"""Paired training data (found and read by :mod:`batchcolor.imageio.pairs`), decoded once into a cache.

JPEG decoding and resizing cost more than a training step of a small UNet on two cores, so
every pair is decoded once, resized to the training size and stored as uint8 ``.npy`` arrays
(memory-mapped on later runs). The cache key covers the file list, sizes, mtimes, the size and
the edge channels, so changed data is never served stale.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from batchcolor.imageio.images import atomic_output
from batchcolor.inference.modelcard import DRAWING_MEAN, DRAWING_STD
from batchcolor.imageio.pairs import Pair, find_pairs, normalise, read_pair  # noqa: F401  (find_pairs: used as datamod.find_pairs)

# 192: whole objects with paper round them at about the size `run --scale auto` shows them to
# the network (session 17), at 0.56x the cost of 256.
SIZES = (64, 128, 192, 256)


def load_pair(pair: Pair, size: int, gray_edges: bool) -> tuple[np.ndarray, np.ndarray]:
    """One pair as (edges HxWx{1,3}, photo HxWx3) RGB uint8 at ``size`` x ``size``."""
    import cv2

    a, b = read_pair(pair, size)
    if b is None:
        raise ValueError(f"{pair.a}: a drawing without its photo (training needs AB files or A/ + B/ folders)")
    if gray_edges:
        a = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)[:, :, None]
    return a, b


def negative_share(edges: np.ndarray) -> float:
    """The share of drawings (N x S x S x C uint8) that are light lines on dark paper, which
    ``run`` turns over before colouring (:func:`batchcolor.drawing.levels.is_negative`): a
    model trained on them would see their positives at run time."""
    from batchcolor.drawing.levels import grain_sample, is_negative

    if not len(edges):
        return 0.0
    h, w = edges.shape[1:3]
    grid = np.ix_(*grain_sample(h, w))
    return float(np.mean([is_negative(e.min(axis=2, keepdims=True)[grid], h, w) for e in edges]))


NEGATIVE_WARNING = ("warning: {share:.0%} of the first {count} training drawings are light lines on dark paper. "
                    "`run` turns such drawings over before colouring (--levels auto), so this model would see dark "
                    "lines on white there: train on them turned over (255 - edges), or colour with --levels off")


@dataclass(frozen=True)
class PairArrays:
    a: np.ndarray  # N x S x S x {1,3} uint8
    b: np.ndarray  # N x S x S x 3 uint8
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, index: np.ndarray | list[int]) -> "PairArrays":
        index = np.asarray(index, dtype=np.int64)
        return PairArrays(self.a[index], self.b[index], tuple(self.names[i] for i in index))


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "batchcolor" / "pairs"


def _cache_key(pairs: list[Pair], size: int, gray_edges: bool) -> str:
    h = hashlib.sha256(json.dumps({"size": size, "gray": gray_edges, "v": 1}).encode())
    for p in pairs:
        for path in (p.a, p.b):
            if path is not None:
                st = path.stat()
                h.update(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def load_arrays(pairs: list[Pair], size: int, gray_edges: bool, cache: Path | None = None) -> PairArrays:
    if size not in SIZES:
        raise ValueError(f"training size must be one of {SIZES}, got {size}")
    names = tuple(p.a.name for p in pairs)
    folder = (cache or cache_dir()) / _cache_key(pairs, size, gray_edges)
    fa, fb = folder / "a.npy", folder / "b.npy"
    if fa.exists() and fb.exists():
        return PairArrays(np.load(fa, mmap_mode="r"), np.load(fb, mmap_mode="r"), names)
    loaded = [load_pair(p, size, gray_edges) for p in pairs]
    a = np.stack([x for x, _ in loaded])
    b = np.stack([y for _, y in loaded])
    folder.mkdir(parents=True, exist_ok=True)
    for target, arr in ((fa, a), (fb, b)):
        with atomic_output(target) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, arr)
    return PairArrays(a, b, names)


def split_last(pairs: list[Pair], last: int) -> tuple[list[Pair], list[Pair]]:
    """Hold out the last ``last`` pairs in natural order: reproducible with no seed at all."""
    if last <= 0:
        return pairs, []
    if last >= len(pairs):
        raise ValueError(f"cannot hold out {last} of {len(pairs)} pairs")
    return pairs[:-last], pairs[-last:]


def split_fraction(pairs: list[Pair], fraction: float, seed: int) -> tuple[list[Pair], list[Pair]]:
    n_val = int(round(len(pairs) * fraction))
    if fraction <= 0 or n_val == 0:
        return pairs, []
    order = np.random.default_rng(seed).permutation(len(pairs))
    val = set(order[:n_val].tolist())
    return [p for i, p in enumerate(pairs) if i not in val], [p for i, p in enumerate(pairs) if i in val]


def to_tensor_range(batch_u8: np.ndarray) -> np.ndarray:
    """N x H x W x C uint8 -> N x C x H x W float32 in [-1, 1] (the card's DRAWING_MEAN/STD)."""
    return normalise(batch_u8, DRAWING_MEAN, DRAWING_STD)


def epoch_order(n: int, batch_size: int, rng: np.random.Generator):
    """Shuffled index batches for one epoch; the last short batch is dropped (BatchNorm)."""
    order = rng.permutation(n)
    for start in range(0, len(order) - batch_size + 1, batch_size):
        yield np.sort(order[start : start + batch_size])


def hinted_batches(arrays: PairArrays, batch_size: int, rng: np.random.Generator, flip: bool, size: int,
                   aug, with_hints: bool, recolour_p: float = 0.0):
    """One epoch of augmented batches: input N x (C + 8) x S x S with simulated hints (or
    N x C x S x S without), target N x 3 x S x S, both float in [-1, 1]. With ``recolour_p``,
    that share of hinted samples gets a recoloured target (:func:`augment.recolour`) and at
    least one hint; samples without hints keep their own colours, so automatic mode still
    learns what real objects look like.

    ``arrays`` may be larger than ``size`` (the scale augmentation crops from 256 px pairs)."""
    from batchcolor.drawing import hints as hintmod
    from batchcolor.train.augment import network_input, recolour, sample

    for idx in epoch_order(len(arrays), batch_size, rng):
        xs, ys = [], []
        for i in idx:
            a, b = np.asarray(arrays.a[i]), np.asarray(arrays.b[i])
            channels = a.shape[2]
            gray = a[:, :, 0] if channels == 1 else cv2_gray(a)
            if flip and rng.random() < 0.5:
                gray, b = gray[:, ::-1], b[:, ::-1]
            e, t = sample(rng, np.ascontiguousarray(gray), np.ascontiguousarray(b), size, aug)
            e = e[:, :, None] if channels == 1 else np.repeat(e[:, :, None], 3, axis=2)
            hints = None
            if with_hints:
                if recolour_p and rng.random() < recolour_p:  # another colour, which only hints can tell
                    t = recolour(rng, t)
                    hints = hintmod.simulate(rng, t, at_least_one=True)
                else:
                    hints = hintmod.simulate(rng, t)
            xs.append(network_input(e, hints))
            ys.append(t)
        yield np.stack(xs), to_tensor_range(np.stack(ys))


def cv2_gray(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def batches(arrays: PairArrays, batch_size: int, rng: np.random.Generator, flip: bool):
    """One epoch of shuffled (a, b) float batches; the last short batch is dropped (BatchNorm)."""
    for idx in epoch_order(len(arrays), batch_size, rng):
        a, b = np.asarray(arrays.a[idx]), np.asarray(arrays.b[idx])
        if flip:
            flips = rng.random(len(idx)) < 0.5
            a[flips] = a[flips, :, ::-1]
            b[flips] = b[flips, :, ::-1]
        yield to_tensor_range(a), to_tensor_range(b)
