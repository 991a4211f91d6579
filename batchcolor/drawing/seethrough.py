"""Holes the paper shows through: a handle's loop, the gap between a strap and its bag.

The paper mask (:mod:`batchcolor.drawing.paper`) fills every area an object's strokes
enclose, since from the lines alone a pocket drawn on a bag and the loop of its handle are
the same closed shape. The network tells them apart: photos show the background through a
handle, and it paints the loop paper-white while it paints the bag. Left to the mask, that
white was kept as colour, with the network's gray smudges in it, and ``--color`` laid its hue
on them: a red handbag's handle held pink and white blotches. So a face of the drawing (an
area its strokes bound inside an object) that the network leaves paper-white, inside an
object it colours darker, is given back to the paper. A face with a hint in it stays colour:
the user asked for it.

Pure functions on whole images, run after the network and before the colour is finished.
"""
from __future__ import annotations

import cv2
import numpy as np

from batchcolor.drawing.components import labelled
from batchcolor.drawing.paper import LINE_LEVEL  # darker than this is a stroke, as the mask reads it

PAPER_LIGHTNESS = 88.0  # L* at or above which, with chroma at most PAPER_CHROMA, the network's pixel is paper-white
PAPER_CHROMA = 8.0
FACE_SHARE = 0.6  # a face is see-through if at least this share of it is paper-white ...
PAGE_LIGHTNESS = 95.0  # ... and at least PAGE_SHARE of it this light (the page's flat white: a white
PAGE_SHARE = 0.4  # sole or toe cap the network shades, 1-26% of it this light on the hold-outs; handle loops 45-96%)
OBJECT_SHARE = 0.4  # ... and at most this share of its object is paper-white (a white shoe's panels stay its own)
MIN_FACE = 16  # px: smaller faces are left to the mask
_CROSS = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))


def paper_white(rgb: np.ndarray, lightness: float = PAPER_LIGHTNESS) -> np.ndarray:
    """H x W bool: where the network's RGB (uint8) is paper: light and nearly without chroma."""
    return _white(_lab(rgb), lightness)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2LAB)  # uint8: L * 255 / 100, a and b + 128


def _white(lab: np.ndarray, lightness: float) -> np.ndarray:
    a = lab[:, :, 1].astype(np.int16) - 128
    b = lab[:, :, 2].astype(np.int16) - 128
    return (lab[:, :, 0] >= round(lightness * 2.55)) & (a * a + b * b <= PAPER_CHROMA ** 2)


def see_through(weight: np.ndarray, rgb: np.ndarray, gray: np.ndarray, hinted: np.ndarray | None = None) -> np.ndarray:
    """H x W bool: the pixels of the drawing's faces to give back to the paper.

    ``weight``: the paper mask's object weight (:func:`batchcolor.drawing.paper.object_weight`);
    ``rgb``: the network's output; ``gray``: the drawing the mask was found on; ``hinted``: where
    a hint layer has points (faces holding one stay colour).

    Faces are found with the strokes grown by a pixel, so a one- or two-pixel break in an edge
    map's line does not join a strap's band to the loop beside it (on the hold-outs such a join
    whitened half a strap). A chosen face goes whole: the network's dark smudges in a loop
    are what the rule is for (a clutch's strap loop held black smears: 8.9 dB better on that
    hold-out with ``--color``)."""
    nothing = np.zeros(weight.shape, bool)
    inside = weight >= 1.0  # the silhouette; its feathered rim outside is the mask's own business
    if not inside.any():
        return nothing
    strokes = gray < LINE_LEVEL
    open_area = inside & (cv2.dilate(strokes.astype(np.uint8), _CROSS) == 0)
    faces, face_labels = labelled(open_area, 4)
    if faces <= 2:  # one face (or none): the object itself, nothing inside it to see through
        return nothing
    lab = _lab(rgb)
    white = _white(lab, PAPER_LIGHTNESS)
    # counts over pixel lists, not weighted sums over the image (1.7x faster on 400 px drawings)
    area = np.bincount(face_labels.ravel(), minlength=faces)
    chosen = (area >= MIN_FACE) & (np.bincount(face_labels[white], minlength=faces) >= FACE_SHARE * area)
    chosen[0] = False
    if not chosen.any():
        return nothing
    page = _white(lab, PAGE_LIGHTNESS)  # (within ``white``: lighter, the same chroma bound)
    chosen &= np.bincount(face_labels[page], minlength=faces) >= PAGE_SHARE * area
    if hinted is not None and hinted.any():
        chosen[np.unique(face_labels[hinted])] = False
    if not chosen.any():
        return nothing
    # each chosen face's object (every pixel of a face lies in one): at most OBJECT_SHARE of it paper-white
    objects, object_labels = labelled(inside, 8)
    in_chosen = chosen[face_labels]
    face_object = np.zeros(faces, np.int64)
    face_object[face_labels[in_chosen]] = object_labels[in_chosen]
    object_area = np.bincount(object_labels[open_area], minlength=objects)
    object_white = np.bincount(object_labels[open_area & white], minlength=objects)
    chosen &= object_white[face_object] <= OBJECT_SHARE * np.maximum(object_area[face_object], 1)
    if not chosen.any():
        return nothing
    holes = cv2.dilate(chosen[face_labels].astype(np.uint8), _CROSS).astype(bool)  # the rim the grown strokes took
    return holes & inside & ~strokes
