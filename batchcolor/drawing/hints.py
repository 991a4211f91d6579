"""Colour hints: what they are, how a model receives them, and how training simulates them.

A hinted model takes the drawing plus eight more input planes, in this order:

    hint R, G, B   the colour of each local hint, (v - 127.5) / 127.5; 0 where there is none
    hint mask      1 where a local hint is given, else 0
    global R, G, B the object's main colour, same scale, constant over the image (0 if absent)
    global flag    1 where a global colour is given, else 0

Everything here is pure NumPy/OpenCV: training, ``eval`` and the inference path share one
definition of a hint, so what the network learned is what a user's hint layer means.

The simulation follows ideepcolor (Zhang et al. 2017, "Real-Time User-Guided Image
Colorization"): a geometric number of points (p = 1/8: one sample in eight gets none, the
mean is 7), each a square patch of 1-9 px filled with the target's mean colour over the
patch, placed on the drawn object; some samples get short strokes instead, because users
scribble; the global colour is given with probability 1/2.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HINT_PLANES = 8  # local RGB + mask + global RGB + flag
HINT_PLANE_NAMES = ("hint_r", "hint_g", "hint_b", "hint_mask", "global_r", "global_g", "global_b", "global_flag")
# A pixel belongs to the drawn object when it is farther than this (Euclidean, 0-255 RGB)
# from paper white. Shared by the global colour's definition, hint placement and eval.
OBJECT_DISTANCE = 40.0
POINT_P = 1.0 / 8.0
PATCH_SIZES = tuple(range(1, 10))
GLOBAL_P = 0.5
STROKE_P = 0.25

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def parse_color(text: str) -> tuple[int, int, int]:
    """``'#RRGGBB'`` (or ``RRGGBB``) -> (r, g, b); raises ValueError naming the text."""
    m = _HEX.match(text.strip())
    if not m:
        raise ValueError(f"--color must be '#RRGGBB' (six hex digits), got {text!r}")
    v = m.group(1)
    return int(v[0:2], 16), int(v[2:4], 16), int(v[4:6], 16)


def format_color(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % tuple(int(c) for c in rgb)


def object_mask(rgb: np.ndarray) -> np.ndarray:
    """H x W bool: pixels farther than :data:`OBJECT_DISTANCE` from white."""
    d = 255.0 - rgb.astype(np.float32)
    return np.sqrt((d * d).sum(axis=-1)) > OBJECT_DISTANCE


def global_color(rgb: np.ndarray) -> tuple[int, int, int] | None:
    """The object's main colour: the per-channel median of its object pixels (None if blank).

    This is the one definition of "the main colour of the drawn object" that training, eval
    and the README use; ``--color`` means this.
    """
    mask = object_mask(rgb)
    if not mask.any():
        return None
    med = np.median(rgb[mask].astype(np.float32), axis=0)
    return tuple(int(round(float(c))) for c in med)  # type: ignore[return-value]


@dataclass(frozen=True)
class Hints:
    """Local hints as a colour image + mask (any size), and an optional global colour."""

    color: np.ndarray | None = None  # h x w x 3 uint8 RGB
    mask: np.ndarray | None = None  # h x w bool
    global_rgb: tuple[int, int, int] | None = None

    @property
    def empty(self) -> bool:
        return self.global_rgb is None and (self.mask is None or not self.mask.any())

    def as_global(self) -> "Hints":
        """Only a global colour: the given one, else the per-channel median of the local hints'
        colours (what a hint layer says about the object as a whole); empty without either."""
        if self.global_rgb is not None or self.mask is None or self.color is None or not self.mask.any():
            return Hints(global_rgb=self.global_rgb)
        med = np.median(self.color[self.mask].astype(np.float32), axis=0)
        return Hints(global_rgb=tuple(int(round(float(c))) for c in med))  # type: ignore[arg-type]


def card_block() -> dict:
    """The model card's ``input.hints`` block for a network trained with these planes."""
    mean, std = plane_normalisation()
    return {"planes": list(HINT_PLANE_NAMES), "mean": mean, "std": std,
            "encoding": "uint8: colours 0-255, mask and flag 0 or 255; an absent colour is 128",
            "global_color": f"per-channel median of the object's pixels (farther than {OBJECT_DISTANCE:g} from white)"}


def hint_planes(hints: Hints, height: int, width: int) -> np.ndarray:
    """The eight normalised planes (8 x H x W float32) for an image of ``height`` x ``width``.

    Training and tests use this; the inference path builds the same planes tile by tile (as
    uint8, see :func:`hint_planes_u8`) so that a huge sheet never has a full-size float plane.
    """
    return (hint_planes_u8(hints, height, width).astype(np.float32) - _U8_MEAN[:, None, None]) / _U8_STD[:, None, None]


# uint8 encoding the engine normalises per channel: colours (v - 127.5) / 127.5, flags v / 255.
_U8_MEAN = np.array([127.5, 127.5, 127.5, 0.0, 127.5, 127.5, 127.5, 0.0], np.float32)
_U8_STD = np.array([127.5, 127.5, 127.5, 255.0, 127.5, 127.5, 127.5, 255.0], np.float32)


def plane_normalisation() -> tuple[list[float], list[float]]:
    """Per-channel (mean, std) of the eight hint planes in their uint8 encoding.

    An absent colour is encoded as 127.5 exactly in float training; in uint8 it is 128,
    (128 - 127.5) / 127.5 = 0.004, which the network cannot tell from 0.
    """
    return _U8_MEAN.tolist(), _U8_STD.tolist()


def hint_planes_u8(hints: Hints, height: int, width: int) -> np.ndarray:
    """8 x H x W uint8 planes in the encoding of :func:`plane_normalisation`."""
    out = np.empty((8, height, width), np.uint8)
    out[0:3] = 128
    out[3] = 0
    if hints.mask is not None and hints.color is not None:
        ys = nearest_index(hints.mask.shape[0], height)
        xs = nearest_index(hints.mask.shape[1], width)
        m = hints.mask[ys][:, xs]
        c = hints.color[ys][:, xs]
        for i in range(3):
            out[i][m] = c[:, :, i][m]
        out[3][m] = 255
    if hints.global_rgb is not None:
        for i in range(3):
            out[4 + i] = hints.global_rgb[i]
        out[7] = 255
    else:
        out[4:7] = 128
        out[7] = 0
    return out


def nearest_index(src: int, dst: int) -> np.ndarray:
    """Source index of each of ``dst`` positions under nearest-neighbour resizing (pixel
    centres, as OpenCV's INTER_NEAREST_EXACT)."""
    return np.minimum(((np.arange(dst) + 0.5) * (src / dst)).astype(np.int64), src - 1)


def from_layer(rgba: np.ndarray) -> Hints:
    """A hint layer (h x w x 4 RGBA uint8): alpha >= 128 marks a hint of its RGB colour."""
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"a hint layer must be RGBA (4 channels), got shape {rgba.shape}")
    return Hints(color=np.ascontiguousarray(rgba[:, :, :3]), mask=rgba[:, :, 3] >= 128)


# --- simulation (training and eval) ------------------------------------------------------


def sample_points(rng: np.random.Generator, target: np.ndarray, count: int,
                  sizes: tuple[int, ...] = PATCH_SIZES, on: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``count`` square patches on the object, each filled with the target's mean colour there.

    Returns (colour H x W x 3 uint8, mask H x W bool). A patch lies wholly on the object when
    the object has room for it (a patch half on the paper would teach a mixed colour); its
    centre is at least on the object otherwise. ``on`` replaces the object mask (default:
    :func:`object_mask`; the whole image when that is empty).
    """
    import cv2

    h, w = target.shape[:2]
    color = np.zeros((h, w, 3), np.uint8)
    mask = np.zeros((h, w), bool)
    where = object_mask(target) if on is None else on
    if not where.any():
        where = np.ones((h, w), bool)
    centres: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for _ in range(count):
        s = int(rng.choice(sizes))
        if s not in centres:
            fits = cv2.erode(where.astype(np.uint8), np.ones((s, s), np.uint8)) > 0 if s > 1 else where
            centres[s] = np.nonzero(fits if fits.any() else where)
        ys, xs = centres[s]
        i = rng.integers(ys.size)
        y0 = int(np.clip(ys[i] - s // 2, 0, h - s))  # the erosion window of an even size starts s // 2 before
        x0 = int(np.clip(xs[i] - s // 2, 0, w - s))
        patch = target[y0 : y0 + s, x0 : x0 + s].reshape(-1, 3).astype(np.float32)
        color[y0 : y0 + s, x0 : x0 + s] = np.rint(patch.mean(axis=0)).astype(np.uint8)
        mask[y0 : y0 + s, x0 : x0 + s] = True
    return color, mask


def sample_strokes(rng: np.random.Generator, target: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Short scribbles (1-4 px wide polylines) that stay inside one colour region.

    A stroke starts on the object and walks in a random direction; it keeps only the pixels
    whose target colour is within 24 levels of its start, so a scribble never teaches a
    colour across a boundary, and it is filled with the median colour of what it covers.
    """
    import cv2

    h, w = target.shape[:2]
    color = np.zeros((h, w, 3), np.uint8)
    mask = np.zeros((h, w), bool)
    ys, xs = np.nonzero(object_mask(target))
    if ys.size == 0:
        return color, mask
    t32 = target.astype(np.int16)
    for _ in range(count):
        i = rng.integers(ys.size)
        y, x = float(ys[i]), float(xs[i])
        pts = [(x, y)]
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.integers(2, 5))):
            angle += rng.normal(0, 0.6)
            step = rng.uniform(0.04, 0.12) * max(h, w)
            x, y = x + step * np.cos(angle), y + step * np.sin(angle)
            pts.append((x, y))
        canvas = np.zeros((h, w), np.uint8)
        cv2.polylines(canvas, [np.round(np.array(pts)).astype(np.int32)], False, 1, int(rng.integers(1, 5)))
        start = t32[ys[i], xs[i]]
        stroke = (canvas > 0) & (np.abs(t32 - start).max(axis=-1) <= 24)
        if not stroke.any():
            continue
        color[stroke] = np.median(target[stroke], axis=0).astype(np.uint8)
        mask |= stroke
    return color, mask


def simulate(rng: np.random.Generator, target: np.ndarray, at_least_one: bool = False) -> Hints:
    """Training hints for one target photo (H x W x 3 uint8 RGB), by the protocol above.

    ``at_least_one``: a sample that drew no hint at all gets the global colour (used for
    recoloured targets, whose colours only a hint can tell)."""
    n = int(rng.geometric(POINT_P)) - 1
    color = np.zeros(target.shape, np.uint8)
    mask = np.zeros(target.shape[:2], bool)
    if n:
        if rng.random() < STROKE_P:
            color, mask = sample_strokes(rng, target, max(1, n // 3))
        else:
            color, mask = sample_points(rng, target, n)
    g = global_color(target) if rng.random() < GLOBAL_P or (at_least_one and not mask.any()) else None
    return Hints(color=color, mask=mask, global_rgb=g)


def eval_points(seed: int, target: np.ndarray, count: int, size: int = 5) -> Hints:
    """Seeded evaluation hints: ``count`` ``size`` x ``size`` patches on the object."""
    color, mask = sample_points(np.random.default_rng(seed), target, count, sizes=(size,))
    return Hints(color=color, mask=mask)


def as_layer_on_white(hints: Hints) -> np.ndarray:
    """Hints drawn on white paper, H x W x 3 uint8 (for contact sheets)."""
    assert hints.color is not None and hints.mask is not None
    return np.where(hints.mask[:, :, None], hints.color, 255).astype(np.uint8)


def as_layer(hints: Hints) -> np.ndarray:
    """Hints back to an RGBA hint layer (what a user would draw), H x W x 4 uint8."""
    assert hints.color is not None and hints.mask is not None
    alpha = np.where(hints.mask, 255, 0).astype(np.uint8)
    return np.concatenate([hints.color, alpha[:, :, None]], axis=2)


def fit_layer(hints: Hints, height: int, width: int) -> Hints:
    """Shrink a hint layer larger than ``height`` x ``width`` so that no hint is lost.

    Nearest-neighbour sampling (how :class:`PlaneMap` enlarges a small layer) would drop a
    1 px dot when shrinking; here a pixel is a hint when any hint falls in its footprint, and
    its colour is the mean of those hints. Layers no larger than the image are returned as
    they are."""
    import cv2

    if hints.mask is None or hints.color is None:
        return hints
    lh, lw = hints.mask.shape
    if lh <= height and lw <= width:
        return hints
    th, tw = min(lh, height), min(lw, width)
    m = hints.mask.astype(np.float32)
    cover = cv2.resize(m, (tw, th), interpolation=cv2.INTER_AREA)
    weighted = cv2.resize(hints.color.astype(np.float32) * m[:, :, None], (tw, th), interpolation=cv2.INTER_AREA)
    keep = cover > 0
    color = np.zeros((th, tw, 3), np.uint8)
    color[keep] = np.clip(np.rint(weighted[keep] / cover[keep][:, None]), 0, 255).astype(np.uint8)
    return Hints(color, keep, hints.global_rgb)


@dataclass(frozen=True)
class PlaneMap:
    """Hints laid over an image of ``height`` x ``width``, cut into planes tile by tile.

    The hint layer stays at its own size; each tile maps its rows and columns onto it by
    nearest neighbour (:func:`nearest_index`), so a 20000 x 20000 sheet never has a
    full-size plane. Padding outside the image (``row_pad``/``col_pad``) carries no local
    hint; the global colour covers the whole tile, padding included, as in training.
    """

    hints: Hints
    height: int
    width: int

    def tile(self, rows: np.ndarray, cols: np.ndarray, row_pad: np.ndarray | None = None,
             col_pad: np.ndarray | None = None) -> np.ndarray:
        h = self.hints
        # every pixel's planes start as one 8-byte pattern (no hint; the global colour or none),
        # written as one 64-bit word a pixel: per-plane strided fills took 4.5 ms a 656 px tile
        pattern = np.array([128, 128, 128, 0, 128, 128, 128, 0], np.uint8)
        if h.global_rgb is not None:
            pattern[4:7] = np.asarray(h.global_rgb, np.uint8)
            pattern[7] = 255
        out = np.empty((len(rows), len(cols), HINT_PLANES), np.uint8)
        out.view(np.uint64).fill(pattern.view(np.uint64)[0])
        if h.mask is not None and h.color is not None:
            lh, lw = h.mask.shape
            ys = np.minimum(((rows + 0.5) * (lh / self.height)).astype(np.int64), lh - 1)
            xs = np.minimum(((cols + 0.5) * (lw / self.width)).astype(np.int64), lw - 1)
            m = h.mask[ys][:, xs]
            if row_pad is not None:
                m[row_pad] = False
            if col_pad is not None:
                m[:, col_pad] = False
            iy, ix = np.nonzero(m)  # the few hinted pixels only: no tile-sized colour gather
            out[iy, ix, 0:3] = h.color[ys[iy], xs[ix]]
            out[iy, ix, 3] = 255
        return out

    __call__ = tile


def read_hint_layer(data: Path | bytes) -> Hints:
    """Decode a hint layer (PNG, RGBA) into :class:`Hints`.

    Pixels with alpha >= 128 are hints of their colour. Anything that is not a 4-channel
    image is refused: a layer exported without transparency would paint the whole drawing.
    """
    from batchcolor.errors import InputError
    from batchcolor.imageio.images import decode, decode_bytes
    from batchcolor.imageio.pixels import to_uint8

    raw = decode(data) if isinstance(data, Path) else decode_bytes(data)
    if raw.ndim != 3 or raw.shape[2] != 4:
        channels = 1 if raw.ndim == 2 else raw.shape[2]
        raise InputError(f"a hint layer must be RGBA (PNG with transparency), this one has {channels} channel(s)")
    import cv2

    bgra = to_uint8(raw)
    # what from_layer makes of it, in one OpenCV pass instead of a fancy-indexed copy (1-2 ms a layer)
    return Hints(color=cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGB), mask=bgra[:, :, 3] >= 128)
