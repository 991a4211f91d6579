"""``--color`` as a colourist would apply it: the network's light and shade, the user's hue.

A network trained on the shared photos (nearly all black, grey and brown objects) learns a
global colour's *lightness* well and its *hue* hardly at all, even with recoloured training
targets (measured: ``--color #ff0000`` moved a bag from (60, 55, 52) to (79, 68, 63)). So the
runtime finishes the job the way a colourist tints a greyscale render: in Lab, each object
pixel keeps the network's L and takes the chroma (a, b) of the asked colour; paper (near
white) is left alone, with a soft ramp between. It is pointwise on finished rows, so it
streams, and it is applied before the kept line layer multiplies.

Local hints get the same treatment over the drawing's regions (:func:`transfer_regions`).

Without any colour from the user, an L1-trained network answers each pixel with the median of
the colours it could be, and medians of many hues are greyish: the automatic output's chroma
is shrunk towards neutral (measured on the shipped model: colourfulness 0.53 of the photos').
:func:`saturate` scales it back out, as the annealed mean of Zhang et al. (2016) does for a
classifier's colours; the card's ``saturation`` is the measured gain.
Saturation alone brings the colour back but not one colour: the same network paints a brown
shoe with blue blotches where it hesitates between the two (its median per pixel, not per
object). :func:`one_hue_per_object` lays each drawn object's mean chroma over the whole of it,
keeping the network's light and shade, as a colourist picks one colour per object; measured
on the shipped default, it removed the blotches and gained 0.04-0.05 dB automatic PSNR (before
saturation; the gain then costs more of it back, see models/HISTORY.md, session 13).
Which models get it is the card's decision (``color_transfer``: ``"chroma"`` or ``"none"``),
made by measurement in ``models/ship.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from batchcolor.drawing.components import labelled

PAPER_DISTANCE = (20.0, 60.0)  # RGB distance from white: below the first, paper; above the second, object


def object_weight(rows: np.ndarray) -> np.ndarray:
    """n x W float32: 0 on paper, 1 on the object, a ramp between (by RGB distance from white),
    so every colour step leaves the paper as it was and fades in at an object's edge.

    The squared distance is an integer below 3 x 255^2, so the ramp is a table lookup: the
    same float32 values as computing it per pixel, at two-thirds of the time (it runs in
    every finishing step of every drawing)."""
    rgb = np.ascontiguousarray(rows)
    index = _SQUARED_OFF_WHITE[rgb[..., 0]]
    index += _SQUARED_OFF_WHITE[rgb[..., 1]]
    index += _SQUARED_OFF_WHITE[rgb[..., 2]]
    return _OBJECT_RAMP[index]


def _object_ramp() -> np.ndarray:
    lo, hi = PAPER_DISTANCE
    d = np.sqrt(np.arange(3 * 255**2 + 1, dtype=np.float32))
    return np.clip((d - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


_SQUARED_OFF_WHITE = (255 - np.arange(256, dtype=np.int32)) ** 2
_OBJECT_RAMP = _object_ramp()


def restore_where(out: np.ndarray, rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``out`` with ``rows``' pixels put back where ``mask`` (n x W bool) is set: pixels a step
    leaves alone come back exactly, with no Lab round trip. OpenCV's masked copy, 20x
    ``np.copyto(..., where=)`` broadcast over three channels; it writes into ``out`` when
    that is contiguous, else into a new array: use what it returns."""
    return cv2.copyTo(rows, mask.view(np.uint8) if mask.dtype == bool else mask.astype(np.uint8), out)


PIXEL_ROW = 1024  # pixel lists are converted as an image of rows this wide


def convert_pixels(pixels: np.ndarray, code: int) -> np.ndarray:
    """N x 3 uint8 pixels through ``cv2.cvtColor(code)``, as an image of PIXEL_ROW-wide rows.

    As one N-pixel row OpenCV's conversion runs 4x slower with its two threads here (6.8
    against 1.1 ms for 393k pixels): it splits work by rows. The padding is converted and
    dropped."""
    n = pixels.shape[0]
    rows = -(-n // PIXEL_ROW)
    image = np.empty((rows * PIXEL_ROW, 3), np.uint8)
    image[:n] = pixels
    image[n:] = 0
    return cv2.cvtColor(image.reshape(rows, PIXEL_ROW, 3), code).reshape(-1, 3)[:n]


def put_pixels(image_pixels: np.ndarray, at: np.ndarray, values: np.ndarray) -> None:
    """``image_pixels[at] = values`` for C-contiguous N x 3 uint8 arrays, as 3-byte items:
    NumPy's fancy assignment of rows is 3.6x slower (and ``np.take(..., axis=0)`` is the
    gather's counterpart, 4.6x faster than ``image_pixels[at]``)."""
    np.put(image_pixels.view("V3").reshape(-1), at, np.ascontiguousarray(values).view("V3").reshape(-1))


def transfer_chroma(rgb: np.ndarray, colour: tuple[int, int, int], keep: np.ndarray | None = None) -> np.ndarray:
    """uint8 RGB rows (n x W x 3) with the chroma of ``colour`` on their object pixels.

    ``keep`` (n x W bool) marks pixels left as they are (under local hints: they win there)."""
    rows = np.ascontiguousarray(rgb)
    lab = cv2.cvtColor(rows, cv2.COLOR_RGB2Lab).astype(np.float32)
    target = cv2.cvtColor(np.uint8([[colour]]), cv2.COLOR_RGB2Lab)[0, 0].astype(np.float32)
    w = object_weight(rows)
    if keep is not None:
        w[keep] = 0.0
    lab[:, :, 1] += w * (target[1] - lab[:, :, 1])
    lab[:, :, 2] += w * (target[2] - lab[:, :, 2])
    out = cv2.cvtColor(np.clip(np.rint(lab), 0, 255).astype(np.uint8), cv2.COLOR_Lab2RGB)
    return restore_where(out, rows, w == 0)  # paper and kept pixels exactly as they were


@dataclass(frozen=True)
class ChromaTarget:
    """Automatic colours' chroma brought towards one level per object, within gain bounds.

    A fixed gain keeps the network's spread of chroma, and that spread is confidence, not
    colour: it leaves the objects it hesitates over greyish (gain 2.5 on the shipped model:
    colourfulness 0.78 of the photos' on shoes, 0.51 on XDoG edges) and makes the ones it is
    sure of loud (0.88 on handbags). Aiming each object's mean chroma at ``chroma`` (8-bit Lab
    a, b units from neutral) with a gain of at least ``low`` and at most ``high`` evens that
    out at the same mean PSNR (the card's ``chroma_target``, measured in models/ship.py)."""

    chroma: float
    low: float
    high: float

    @classmethod
    def from_card(cls, entry: dict | None) -> "ChromaTarget | None":
        if not entry:
            return None
        low, high = entry["gains"]
        return cls(float(entry["chroma"]), float(low), float(high))

    def as_card(self) -> dict:
        return {"chroma": self.chroma, "gains": [self.low, self.high]}


def object_chroma_gains(ab: np.ndarray, target: ChromaTarget) -> np.ndarray:
    """N gains for N objects' mean chroma ``ab`` (N x 2, a and b about neutral): each the one
    that brings its object's chroma to ``target.chroma``, held within the target's bounds: an
    object the network left neutral (a black boot, a white sneaker) gets the upper bound and
    stays nearly neutral, rather than having a hue it barely has blown up to the level."""
    chroma = np.hypot(ab[:, 0], ab[:, 1])
    return np.clip(target.chroma / np.maximum(chroma, 1e-6), target.low, target.high).astype(np.float32)


def one_hue_per_object(rgb: np.ndarray, within: np.ndarray | None = None, target: ChromaTarget | None = None) -> np.ndarray:
    """uint8 RGB (H x W x 3) with each object's chroma made one: its mean (a, b).

    Objects are the 8-connected areas off the paper (:func:`object_weight` > 0), so each
    drawing of a sheet keeps a hue of its own. The mean is weighted like the tint itself (an
    object's pale fringe counts little) and laid on with the same weight. A pixel lighter than
    its object's mean lightness is read as that colour mixed with white (an anti-aliased edge,
    a highlight) and takes the chroma in proportion, fading to none at white: laid on at full
    strength, the mean drew a salmon rim round brown objects. L is untouched, and paper stays
    exactly as it was.

    ``within``: the drawing's own object weight, where the paper mask put the model's colour.
    Outside it the output is the drawing's paper and ink, left as drawn: a leader line or a
    dimension line touching an object is not tinted with the object's hue.

    ``target``: each object's mean chroma is scaled by its own gain (:func:`object_chroma_gains`)
    before it is laid on, in place of a fixed :func:`saturate` afterwards."""
    rows = np.ascontiguousarray(rgb)
    w = object_weight(rows)
    if within is not None:
        w = np.where(within > 0, w, np.float32(0))
    count, labels = labelled(w > 0)
    if count <= 1:
        return rgb
    # Two passes over bands of rows (the per-object sums, then the colour laid on), each over
    # the band's object pixels only: paper comes back as it was, so it is never converted (on
    # the bench's drawings, 43% of the pixels are object: 3.4 against 7.0 ms a drawing). The
    # image-sized arrays are the labels, the weights and the output; an object pixel keeps its
    # 8-bit Lab and its place between the passes (7 bytes; a 15 MP image held whole peaked at
    # 900 MB with all of it in Lab floats).
    sums = np.zeros((count, 4), np.float64)  # weight, weight x (L, a, b)
    pixels = rows.reshape(-1, 3)
    band_pixels = ROW_BAND * rows.shape[1]
    bands = []  # per band: where its object pixels are (int32, within the band), and their Lab
    for start in range(0, pixels.shape[0], band_pixels):
        ids = labels.reshape(-1)[start : start + band_pixels]
        where = np.flatnonzero(ids).astype(np.int32)
        if not where.size:
            continue
        ids = ids[where]
        lab8 = convert_pixels(np.take(pixels[start : start + band_pixels], where, axis=0), cv2.COLOR_RGB2Lab)
        bands.append((start, where, lab8))
        lab, wf = lab8.astype(np.float64), w.reshape(-1)[start : start + band_pixels][where].astype(np.float64)
        sums[:, 0] += np.bincount(ids, wf, count)
        for c in range(3):
            sums[:, c + 1] += np.bincount(ids, wf * lab[:, c], count)
    means = (sums[:, 1:] / np.maximum(sums[:, :1], 1e-12)).astype(np.float32)  # per object: mean L, a, b
    if target is not None:
        ab = means[:, 1:] - np.float32(128)
        means[:, 1:] = np.float32(128) + ab * object_chroma_gains(ab, target)[:, None]
    out = rows.copy()
    done_pixels = out.reshape(-1, 3)
    for start, where, lab8 in bands:
        lab = lab8.astype(np.float32)
        ids = labels.reshape(-1)[start : start + band_pixels][where]
        wb = w.reshape(-1)[start : start + band_pixels][where]
        share = np.clip((255.0 - lab[:, 0]) / np.maximum(255.0 - means[:, 0][ids], 1.0), 0.0, 1.0)
        for channel in (1, 2):
            chroma = 128.0 + share * (means[:, channel][ids] - 128.0)
            lab[:, channel] += wb * (chroma - lab[:, channel])
        done = convert_pixels(np.clip(np.rint(lab), 0, 255).astype(np.uint8), cv2.COLOR_Lab2RGB)
        put_pixels(done_pixels[start : start + band_pixels], where, done)
    return out


ROW_BAND = 256


def saturate(rgb: np.ndarray, gain: float) -> np.ndarray:
    """uint8 RGB (any leading shape) with its Lab chroma (a, b) scaled by ``gain`` about neutral.

    Lightness is untouched and neutral pixels (paper, grey) stay as they are, so it is
    pointwise and streams row by row."""
    if gain == 1.0:
        return rgb
    rows = np.ascontiguousarray(rgb)
    # as an image of rows: OpenCV converts an N x 1 image one one-pixel row at a time (4x slower)
    flat = rows.reshape(-1, rows.shape[-2], 3) if rows.ndim >= 3 else rows.reshape(-1, 1, 3)
    lab = cv2.LUT(cv2.cvtColor(flat, cv2.COLOR_RGB2Lab), _chroma_gain_table(gain))
    out = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB).reshape(rows.shape)
    r, g, b = rows[..., 0], rows[..., 1], rows[..., 2]  # (a reduction over a last axis of 3 is 10x slower)
    neutral = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b) <= 1  # no hue to scale: as it was
    return restore_where(out.reshape(-1, rows.shape[-2], 3), flat, neutral.reshape(flat.shape[:2])).reshape(rows.shape)


def _chroma_gain_table(gain: float) -> np.ndarray:
    """1 x 256 x 3 uint8 lookup for 8-bit Lab: L as it is, a and b scaled by ``gain`` about
    neutral (128), rounded: per pixel in floats this was half of :func:`saturate`'s time."""
    levels = np.arange(256, dtype=np.float32)
    ab = np.clip(np.rint(128.0 + (levels - 128.0) * gain), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.stack([levels.astype(np.uint8), ab, ab], axis=1)[None])


def transfer_regions(rgb: np.ndarray, drawing: np.ndarray, hint_color: np.ndarray, hint_mask: np.ndarray,
                     line_level: int = 160) -> np.ndarray:
    """Each local hint's chroma over the region of the drawing it sits in.

    The network answers a dot with a dot (a blob of the right colour and a halo); a colourist
    means "this region is that colour". Regions are the drawing's areas between its lines
    (4-connected, lines darker than ``line_level``); each region holding hints takes their
    mean chroma on its object pixels (paper stays paper, as in :func:`transfer_chroma`), with
    the network's lightness kept. Regions without a hint are left alone. Broken lines let a
    region run into its neighbour: the colour then covers both, never the paper.

    ``rgb`` H x W x 3 uint8, ``drawing`` H x W uint8 gray, hints H x W x 3 / H x W, all at one size.
    """
    if not hint_mask.any():
        return rgb
    open_area = (drawing >= line_level).astype(np.uint8)
    _, labels = labelled(open_area, connectivity=4)
    hinted = labels[hint_mask]
    hint_lab = cv2.cvtColor(hint_color[hint_mask].reshape(-1, 1, 3), cv2.COLOR_RGB2Lab).reshape(-1, 3).astype(np.float64)
    ids = np.unique(hinted[hinted > 0])
    if not ids.size:
        return rgb
    target = np.zeros((labels.max() + 1, 2), np.float32)
    has = np.zeros(labels.max() + 1, bool)
    for i in ids:
        target[i] = hint_lab[hinted == i, 1:].mean(axis=0)
        has[i] = True
    rows = np.ascontiguousarray(rgb)
    lab = cv2.cvtColor(rows, cv2.COLOR_RGB2Lab).astype(np.float32)
    w = object_weight(rows) * has[labels]
    ab = target[labels]
    lab[:, :, 1] += w * (ab[:, :, 0] - lab[:, :, 1])
    lab[:, :, 2] += w * (ab[:, :, 1] - lab[:, :, 2])
    out = cv2.cvtColor(np.clip(np.rint(lab), 0, 255).astype(np.uint8), cv2.COLOR_Lab2RGB)
    return restore_where(out, rows, w == 0)


SOURCE_CELL = 8  # px: a hint stroke becomes one source per cell it crosses


def hint_sources(hint_mask: np.ndarray, hint_lab: np.ndarray, network_l: np.ndarray) -> np.ndarray:
    """K x (y, x, dL, a, b) float32: one source per hint (connected pixels) per SOURCE_CELL
    cell, at the mean position of its pixels there, with their mean hint Lab and the hint's
    lightness minus the network's under it."""
    count, labels = labelled(hint_mask)
    ys, xs = np.nonzero(labels)
    ids = labels[ys, xs].astype(np.int64)
    cells_x = -(-hint_mask.shape[1] // SOURCE_CELL)
    key = (ids * (-(-hint_mask.shape[0] // SOURCE_CELL)) + ys // SOURCE_CELL) * cells_x + xs // SOURCE_CELL
    _, group, n = np.unique(key, return_inverse=True, return_counts=True)
    values = np.stack([ys, xs, hint_lab[ys, xs, 0] - network_l[ys, xs], hint_lab[ys, xs, 1], hint_lab[ys, xs, 2]], 1)
    sums = np.zeros((n.size, 5), np.float64)
    np.add.at(sums, group.reshape(-1), values.astype(np.float64))
    return (sums / n[:, None]).astype(np.float32)


# A hint source weighs (1 + REGION_GAIN) times more on the pixels of its own line-bounded area.
# Measured, 10 points, v3 model, hold-outs shoes / bags: 0 (Euclidean only) 18.44 / 16.89 dB,
# 10: 18.97 / 17.12, 100: 19.16 / 17.15, 1000: 19.19 / 17.15 with hint fidelity 1.70 / 3.31 ->
# 1.72 / 3.36 -> 1.75 / 3.43: 100 takes nearly all of the gain.
REGION_GAIN = 100.0
LINE_LEVEL = 160  # gray level below which a drawing's pixel is a line


def line_regions(drawing: np.ndarray, line_level: int = LINE_LEVEL) -> np.ndarray:
    """H x W int32 labels of the areas between a drawing's lines (0: none).

    Lines are thickened by one pixel first, so a one-pixel break does not merge two areas;
    the pixels that took from the areas are then given back to their neighbour's label, so
    only the lines themselves are left without one."""
    lines = (drawing < line_level).astype(np.uint8)
    closed = cv2.dilate(lines, np.ones((3, 3), np.uint8))
    _, labels = labelled(1 - closed, connectivity=4)
    grown = cv2.dilate(labels.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int32)
    fringe = (labels == 0) & (lines == 0)
    labels[fringe] = grown[fringe]
    return labels.astype(np.int32)


def spread_points(rgb: np.ndarray, hint_color: np.ndarray, hint_mask: np.ndarray, drawing: np.ndarray | None = None,
                  lightness: float = 1.0, power: float = 2.0, region_gain: float | None = None,
                  ink_coloured: bool = False) -> np.ndarray:
    """Local hints spread over the object by distance, keeping the network's shading.

    Each hint is cut into sources of at most ``SOURCE_CELL`` px square (a dot is one source,
    a stroke a chain of them, so its far end is as near as its middle): each source has its
    colour in Lab, and how far the network's own colour there is from it. Every object pixel takes the sources' chroma
    (a, b), weighted by inverse distance to the power ``power``, and has its lightness moved by
    the same weighted mean of (hint L - network L) times ``lightness``: a pale hint lightens
    the part around it, the network's light and shade stay. Paper is left alone (as in
    :func:`transfer_chroma`), and so are the drawing's lines (``drawing``, H x W gray: its
    dark pixels keep the network's colour), unless ``ink_coloured``: heavy ink (XDoG- or
    ink-like strokes, which draw a photo's dark parts, not only its edges) is laid back over
    the colour at a partial opacity afterwards, so the colour under it is what shows through.
    Left the network's, a hint on a heavily inked part showed the network's colour, not its own
    (measured, 10 points on the re-drawn hold-outs: hint fidelity XDoG 6.72 / 5.29 -> 6.37 /
    4.59, ink 5.77 / 5.54 -> 5.00 / 4.46, PSNR +0.08 to +0.10 dB; on thin edge maps it would
    cost 0.01-0.02 dB, so they keep their lines).

    Distances are Euclidean, but a colourist's hint means "this part": with ``drawing`` given,
    a source weighs ``1 + region_gain`` times more inside its own area between the lines
    (:func:`line_regions`), so a hint on a white sole stays off the brown upper beside it even
    when it is the nearest. An area without a hint takes the nearest ones, as before.
    """
    if not hint_mask.any():
        return rgb
    rows = np.ascontiguousarray(rgb)
    h, w = rows.shape[:2]
    pixels = rows.reshape(-1, 3)
    # Only object pixels change (paper is left as it was): they are converted to Lab, summed
    # over and converted back as a list, not as the image (on drawings with paper around and
    # between their parts, 2-8x less work); the network's lightness is read under the hints.
    hint_at = np.flatnonzero(hint_mask)
    network_l = np.zeros((h, w), np.float32)
    network_l.reshape(-1)[hint_at] = convert_pixels(np.take(pixels, hint_at, axis=0), cv2.COLOR_RGB2Lab)[:, 0]
    hint_lab = np.zeros(hint_color.shape, np.float32)  # read under the hints only: converted there only
    hint_lab[hint_mask] = convert_pixels(hint_color[hint_mask], cv2.COLOR_RGB2Lab)
    src = hint_sources(hint_mask, hint_lab, network_l)  # K x (y, x, dL, a, b)
    w_obj = object_weight(rows)
    if drawing is not None and not ink_coloured:
        w_obj *= drawing.astype(np.float32) * np.float32(1 / 255)
    gain = REGION_GAIN if region_gain is None else region_gain
    at = np.flatnonzero(w_obj)  # the object pixels, as flat indices (one gather each, not two)
    if not at.size:
        return rgb
    ys, xs = np.divmod(at, w)
    lab = convert_pixels(np.take(pixels, at, axis=0), cv2.COLOR_RGB2Lab).astype(np.float32)  # P x 3
    w_at = w_obj.reshape(-1)[at]
    # A source's weight is multiplied by ``boost[area of the pixel, source]``: 1 + gain in the
    # source's own area, else 1. Areas are renumbered to the few that hold a source (0: none).
    area = boost = None
    if drawing is not None and gain > 0:
        labels = line_regions(drawing)
        src_labels = labels[np.clip(np.rint(src[:, 0]).astype(int), 0, h - 1), np.clip(np.rint(src[:, 1]).astype(int), 0, w - 1)]
        held = np.unique(src_labels[src_labels > 0])
        renumber = np.zeros(int(labels.max()) + 1, np.int32)
        renumber[held] = np.arange(1, held.size + 1, dtype=np.int32)
        area = renumber[labels.reshape(-1)[at]]
        boost = np.ones((held.size + 1, len(src)), np.float32)
        boost[renumber[src_labels], np.arange(len(src))] = np.float32(1.0 + gain)
        boost[0] = 1.0  # sources on a line have no area of their own, and pixels outside held areas no boost
    # the weighted sums of (dL, a, b) and of the weights themselves, in one product
    values = np.concatenate([src[:, 2:5], np.ones((len(src), 1), np.float32)], axis=1)
    pixels_per_chunk = max(1, (1 << 22) // len(src))  # P x K floats stay ~16 MB
    # squared offsets per image row and per column to each source (H x K, W x K): a pixel's
    # squared distance is two lookups and a sum, the same floats at half the time
    dy2 = (np.arange(h, dtype=np.float32)[:, None] - src[:, 0]) ** 2
    dx2 = (np.arange(w, dtype=np.float32)[:, None] - src[:, 1]) ** 2
    for start in range(0, at.size, pixels_per_chunk):
        chunk = slice(start, start + pixels_per_chunk)
        dist2 = np.take(dy2, ys[chunk], axis=0)
        dist2 += np.take(dx2, xs[chunk], axis=0)
        np.maximum(dist2, 1.0, out=dist2)
        weight = np.reciprocal(dist2, out=dist2) if power == 2.0 else 1.0 / dist2 ** (power / 2)
        if area is not None:
            weight *= np.take(boost, area[chunk], axis=0)
        sums = weight @ values  # P x 4
        mean = sums[:, :3] / sums[:, 3:]
        wo, pix = w_at[chunk], lab[chunk]
        pix[:, 0] += wo * lightness * mean[:, 0]
        pix[:, 1:] += wo[:, None] * (mean[:, 1:] - pix[:, 1:])
    out = rows.copy()
    put_pixels(out.reshape(-1, 3), at, convert_pixels(np.clip(np.rint(lab), 0, 255).astype(np.uint8), cv2.COLOR_Lab2RGB))
    return out
