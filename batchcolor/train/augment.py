"""Training-time augmentation of line style and scale, plus the hinted network input.

The shared pairs are HED edge maps: 1 px, clean, one thickness, every object filling its
frame. Users draw with 1-3 px lines, pencil-grey or inked, with breaks, at any size on the
page. A network that only ever saw the dataset's style learns that style, so every sample is
re-drawn here (pure NumPy/OpenCV, a few ms per batch against ~800 ms for the step):

* thickness 1-3 px (a min filter on the dark lines), at the 256 px source (``line_max``
  raises the top: XDoG-style or marker drawings have 4-5 px lines, which a network trained
  on 1-3 px paints as coloured strokes with halos);
* small breaks along the lines (a few lines in three);
* inked (binarised) or soft, and sometimes lighter, pencil-like lines;
* scale: a random rescale of 0.5-2x of the object before the crop to the training size,
  with white paper around objects that came out smaller than the frame;
* edge style (``restyle``, off by default): a share of samples drop the dataset's HED map and
  are drawn again from the photo by another extractor with random settings, Canny (thin
  contours and texture) or ink (an adaptive threshold: thick lines, dark texture inked). The
  pairs are one extractor's view of each photo, and a network trained on one extractor learns
  its habits: the shipped model scores 17.4 dB on HED shoes and 14.8-15.8 on the same photos
  drawn by other extractors. XDoG and Sobel are never used here, so they stay held out.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from batchcolor.drawing import hints as hintmod


@dataclass(frozen=True)
class Augment:
    line_style: bool = True
    scale_min: float = 0.5
    scale_max: float = 2.0
    line_max: int = 3  # thickest re-drawn line, px at the 256 px source
    restyle: float = 0.0  # share of samples whose edges are drawn again from the photo (redraw)


def line_style(rng: np.random.Generator, edges: np.ndarray, line_max: int = 3) -> np.ndarray:
    """Re-draw an H x W uint8 edge map (dark lines on white) in a random user-like style,
    lines 1 to ``line_max`` px thick (uniform)."""
    out = edges
    t = int(rng.integers(1, line_max + 1))
    if t > 1:
        out = cv2.erode(out, np.ones((t, t), np.uint8))
    if rng.random() < 0.35:
        ys, xs = np.nonzero(out < 128)
        out = out.copy()
        for _ in range(int(rng.integers(2, 10)) if ys.size else 0):
            i = rng.integers(ys.size)
            r = int(rng.integers(1, 4))
            out[max(0, ys[i] - r) : ys[i] + r + 1, max(0, xs[i] - r) : xs[i] + r + 1] = 255
    if rng.random() < 0.5:
        out = np.where(out < 128, 0, 255).astype(np.uint8)
    if rng.random() < 0.25:  # pencil: lines lighter than ink
        ink = rng.uniform(0.55, 0.9)
        out = (255 - (255 - out.astype(np.float32)) * ink).astype(np.uint8)
    return out


MIN_INK = 0.002  # share of a re-drawn sample that must be line, or the pair's own map is kept


def redraw(rng: np.random.Generator, photo: np.ndarray) -> np.ndarray:
    """H x W uint8 line art (dark on white) drawn from an H x W x 3 RGB photo by Canny or ink,
    each with random settings spanning sparse to dense drawings."""
    from batchcolor.tools.prepare import EdgeSettings, line_art_from_photo

    if rng.random() < 0.5:
        low = float(rng.uniform(0.4, 0.9))
        settings = EdgeSettings(method="canny", blur_sigma=float(rng.uniform(1.0, 2.5)), low_ratio=low,
                                high_ratio=low * float(rng.uniform(1.5, 2.0)), min_component=int(rng.integers(4, 21)))
    else:
        settings = EdgeSettings(method="ink", ink_block=int(rng.choice([7, 9, 11, 13])), ink_offset=float(rng.uniform(3.0, 8.0)),
                                ink_median=int(rng.choice([3, 5])), min_component=int(rng.integers(0, 13)))
    return line_art_from_photo(np.ascontiguousarray(photo), settings)


def rescale_crop(rng: np.random.Generator, edges: np.ndarray, photo: np.ndarray, size: int,
                 lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Resize the pair so the object spans ``s * size`` px (log-uniform s in [lo, hi]), then a
    random ``size`` crop, padding with white where the object came out smaller."""
    s = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    n = max(8, int(round(size * s)))
    src = edges.shape[0]
    interp = cv2.INTER_AREA if n < src else cv2.INTER_CUBIC
    e = cv2.resize(edges, (n, n), interpolation=interp)
    p = cv2.resize(photo, (n, n), interpolation=interp)
    if n >= size:
        y, x = (int(v) for v in rng.integers(0, n - size + 1, 2))
        return e[y : y + size, x : x + size], p[y : y + size, x : x + size]
    e_out = np.full((size, size), 255, np.uint8)
    p_out = np.full((size, size, 3), 255, np.uint8)
    y, x = (int(v) for v in rng.integers(0, size - n + 1, 2))
    e_out[y : y + n, x : x + n] = e
    p_out[y : y + n, x : x + n] = p
    return e_out, p_out


def sample(rng: np.random.Generator, edges: np.ndarray, photo: np.ndarray, size: int, aug: Augment) -> tuple[np.ndarray, np.ndarray]:
    """One augmented (edges H x W uint8, photo H x W x 3 uint8) pair at ``size``."""
    if aug.restyle and rng.random() < aug.restyle:
        drawn = redraw(rng, photo)
        if np.count_nonzero(drawn < 128) >= MIN_INK * drawn.size:  # a faint photo can come out blank
            edges = drawn
    if aug.line_style:
        edges = line_style(rng, edges, aug.line_max)
    if aug.scale_max > 0:
        edges, photo = rescale_crop(rng, edges, photo, size, aug.scale_min, aug.scale_max)
    elif edges.shape[0] != size:
        edges = cv2.resize(edges, (size, size), interpolation=cv2.INTER_AREA)
        photo = cv2.resize(photo, (size, size), interpolation=cv2.INTER_AREA)
    return edges, photo


def network_input(edges: np.ndarray, hints: hintmod.Hints | None) -> np.ndarray:
    """(1 + 8) x H x W float32: the edges at the card's normalisation, then the hint planes."""
    h, w = edges.shape[:2]
    e = (edges.reshape(h, w, -1).transpose(2, 0, 1).astype(np.float32) - 127.5) / 127.5
    if hints is None:
        return e
    return np.concatenate([e, hintmod.hint_planes(hints, h, w)])


def recolour(rng: np.random.Generator, photo: np.ndarray) -> np.ndarray:
    """The same object in another colour: its Lab chroma rotated and scaled, sometimes tinted.

    The shared photos are mostly black, grey and brown (median object chroma 8; of 600 objects
    fewer than 10 are green or blue), so a network trained on them alone learns a hint's
    lightness and ignores its hue: a blue hint gave a dark-brown bag. A line drawing says
    nothing about colour, so any recolouring of the photo is an equally true target. Only the
    object changes (weighted by its distance from white paper); lightness and shading stay.
    """
    rgb = photo.astype(np.float32) / 255.0
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    d = np.sqrt(((1.0 - rgb) ** 2).sum(axis=2)) * 255.0
    w = np.clip((d - 20.0) / 40.0, 0.0, 1.0)
    a, b = lab[:, :, 1], lab[:, :, 2]
    theta = rng.uniform(0, 2 * np.pi)
    s = rng.uniform(0.7, 1.5)
    a2 = s * (a * np.cos(theta) - b * np.sin(theta))
    b2 = s * (a * np.sin(theta) + b * np.cos(theta))
    if rng.random() < 0.7:  # a neutral object (most of them) gets a colour of its own
        r, phi = rng.uniform(15, 70), rng.uniform(0, 2 * np.pi)
        room = np.clip(np.minimum(lab[:, :, 0], 100 - lab[:, :, 0]) / 25.0, 0.2, 1.0)  # less chroma near black/white
        a2 = a2 + r * np.cos(phi) * room
        b2 = b2 + r * np.sin(phi) * room
    lab[:, :, 1] = a + w * (a2 - a)
    lab[:, :, 2] = b + w * (b2 - b)
    out = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)
