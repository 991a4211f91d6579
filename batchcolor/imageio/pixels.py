"""Pixel formats in and out: whatever a scanner or a drawing app wrote, to what the model eats.

Decoded images arrive as OpenCV gives them (BGR order; 8 or 16 bit; 1, 3 or 4 channels,
palette PNGs already expanded). The model sees 8-bit RGB or gray line art on white:

* 16-bit samples are scaled by 255/65535 and rounded, not truncated to the high byte;
* alpha is composited over white for the model (lines drawn on a transparent layer would
  otherwise sit on whatever colour the transparent pixels happen to hold), or over black
  where light lines sit on a mostly transparent layer (a dark-mode app's export: over white
  they vanished), which makes a negative for :mod:`batchcolor.drawing.levels` to turn over;
  the output keeps
  it, opaque where the colouring filled an object (:func:`batchcolor.drawing.paper.opaque_objects`),
  with the input's own colour (``layer``) where it is not opaque;
* output is 8-bit RGB, or RGBA when the input had alpha.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Prepared:
    """Model-ready pixels plus what must be put back on the way out."""

    model_input: np.ndarray  # H x W x C_in uint8, RGB or gray
    alpha: np.ndarray | None  # H x W uint8 (scaled to 8 bit) or None
    layer: np.ndarray | None = None  # with alpha: H x W x 3 uint8 RGB, the colour before compositing


def decode_gray(model_channels: int, has_alpha: bool) -> bool:
    """Whether to let the decoder make one gray channel: for a 1-channel model, unless there is
    alpha (it must be composited over white first, and carried to the output)."""
    return model_channels == 1 and not has_alpha


def to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if image.dtype in (np.float32, np.float64):
        return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    raise ValueError(f"unsupported sample type {image.dtype}")


def prepare(decoded: np.ndarray, channels: int) -> Prepared:
    """OpenCV-decoded pixels (BGR[A] or gray, 8/16 bit) to model input with ``channels``."""
    img = to_uint8(decoded)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"unsupported pixel layout {decoded.shape}")
    alpha = layer = None
    n = img.shape[2]
    if n in (2, 4):
        alpha = img[:, :, -1]
        layer = cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2RGB) if n == 4 else np.repeat(img[:, :, :1], 3, axis=2)
        img = over_paper(img)
        n -= 1
    if n == 3:
        rgb = img[:, :, ::-1]
    else:
        rgb = None
    if channels == 3:
        model_input = rgb if rgb is not None else np.repeat(img, 3, axis=2)
    elif channels == 1:
        model_input = img if rgb is None else gray_from_rgb(rgb)[:, :, None]
    else:
        raise ValueError(f"model input channels must be 1 or 3, got {channels}")
    if alpha is None:
        return Prepared(np.ascontiguousarray(model_input), None)
    return Prepared(np.ascontiguousarray(model_input), np.ascontiguousarray(alpha), np.ascontiguousarray(layer))


LIGHT_LINES = 160  # strokes this light (median luma) on a layer mostly transparent are white lines
MOSTLY_TRANSPARENT = 0.5  # the share of a layer's pixels under half cover for "mostly"


def over_paper(image: np.ndarray) -> np.ndarray:
    """uint8 colour + alpha (last channel) composited for the model: over white, or over black
    where the layer is mostly transparent and what is drawn on it is light (white lines would
    vanish over white; over black they are a negative, which levelling turns over)."""
    alpha = image[:, :, -1]
    drawn = alpha >= 128
    if np.count_nonzero(drawn) and np.count_nonzero(~drawn) >= MOSTLY_TRANSPARENT * alpha.size:
        colour = image[:, :, :-1][drawn]
        luma = colour[:, 0] if colour.shape[1] == 1 else gray_from_rgb(colour[:, ::-1])
        if float(np.median(luma)) >= LIGHT_LINES:
            a = alpha[:, :, None].astype(np.uint16)
            return ((image[:, :, :-1].astype(np.uint16) * a + 127) // 255).astype(np.uint8)
    return over_white(image)


def over_white(image: np.ndarray) -> np.ndarray:
    """uint8 colour + alpha (last channel) composited over white paper, alpha dropped: what the
    model sees of a layer, and what a format without alpha (JPEG) shows of an output."""
    color = image[:, :, :-1].astype(np.uint16)
    a = image[:, :, -1:].astype(np.uint16)
    return ((color * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)


def gray_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma, as OpenCV's and PIL's RGB->L conversions use."""
    weights = np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(np.rint(rgb.astype(np.float32) @ weights), 0, 255).astype(np.uint8)


def finish(rgb: np.ndarray, alpha: np.ndarray | None, bgr: bool = True) -> np.ndarray:
    """Model RGB output (+ original alpha) to OpenCV's BGR[A] order for encoding, or to
    RGB[A] with ``bgr=False`` (PNG's own order: the streamed writer then copies nothing)."""
    color = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if bgr else rgb
    if alpha is None:
        return np.ascontiguousarray(color)
    return np.ascontiguousarray(np.concatenate([color, alpha[:, :, None]], axis=2))
