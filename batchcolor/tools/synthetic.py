"""Small OpenVINO networks built in code, with model cards, for tests and benchmarks.

Tests need real inference on real graphs without shipping weights: a pointwise network (a
1x1 convolution, where tiling must be exact) and a random fully convolutional UNet of the
shipped architecture (where tiling must be seamless). Both are built with OpenVINO's opset
API and saved as IR with a card, exactly like an exported model.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from batchcolor.inference.modelcard import DRAWING_MEAN, DRAWING_STD, ModelCard, card_from_dict, write_card


def _ops():
    from batchcolor.inference.runtime import openvino

    openvino()
    import openvino.opset13 as ops

    return ops


def _const(array: np.ndarray):
    return _ops().constant(np.ascontiguousarray(array, dtype=np.float32))


def _conv(x, rng: np.random.Generator, cin: int, cout: int, k: int):
    ops = _ops()
    w = rng.normal(0.0, np.sqrt(2.0 / (cin * k * k)), size=(cout, cin, k, k))
    pad = k // 2
    y = ops.convolution(x, _const(w), [1, 1], [pad, pad], [pad, pad], [1, 1])
    return ops.add(y, _const(rng.normal(0, 0.05, size=(1, cout, 1, 1))))


def _bn_relu(x, rng: np.random.Generator, c: int):
    """BatchNorm in inference form (a per-channel scale and shift) followed by ReLU."""
    ops = _ops()
    scale = rng.uniform(0.7, 1.3, size=(1, c, 1, 1))
    shift = rng.normal(0, 0.1, size=(1, c, 1, 1))
    return ops.relu(ops.add(ops.multiply(x, _const(scale)), _const(shift)))


def _double_conv(x, rng, cin: int, cout: int):
    x = _bn_relu(_conv(x, rng, cin, cout, 3), rng, cout)
    return _bn_relu(_conv(x, rng, cout, cout, 3), rng, cout)


def random_unet(in_channels: int = 1, base: int = 8, depth: int = 4, seed: int = 0):
    """A random classic UNet (max-pool down, resize + 3x3 conv up, skips, tanh) of stride 2^depth."""
    from batchcolor.inference.runtime import openvino

    ov = openvino()

    ops = _ops()
    rng = np.random.default_rng(seed)
    param = ops.parameter([1, in_channels, -1, -1], np.float32, name="lineart")
    x = param
    skips = []
    c_in, c = in_channels, base
    for _ in range(depth):
        x = _double_conv(x, rng, c_in, c)
        skips.append((x, c))
        x = ops.max_pool(x, [2, 2], [1, 1], [0, 0], [0, 0], [2, 2]).output(0)
        c_in, c = c, c * 2
    x = _double_conv(x, rng, c_in, c)
    for skip, cs in reversed(skips):
        x = ops.interpolate(x, ops.constant(np.array([2.0, 2.0], np.float32)), mode="nearest",
                            shape_calculation_mode="scales", axes=ops.constant(np.array([2, 3], np.int64)))
        x = _bn_relu(_conv(x, rng, c, cs, 3), rng, cs)
        x = ops.concat([x, skip], 1)
        x = _double_conv(x, rng, 2 * cs, cs)
        c = cs
    y = ops.tanh(_conv(x, rng, c, 3, 1))
    return ov.Model([y], [param], "random_unet")


def pointwise(in_channels: int = 3, seed: int = 0):
    """A 1x1 convolution + tanh: every output pixel depends on its own input pixel only."""
    from batchcolor.inference.runtime import openvino

    ov = openvino()

    ops = _ops()
    rng = np.random.default_rng(seed)
    param = ops.parameter([1, in_channels, -1, -1], np.float32, name="lineart")
    w = rng.normal(0, 0.8, size=(3, in_channels, 1, 1))
    y = ops.tanh(ops.add(ops.convolution(param, _const(w), [1, 1], [0, 0], [0, 0], [1, 1]),
                         _const(rng.normal(0, 0.2, size=(1, 3, 1, 1)))))
    return ov.Model([y], [param], "pointwise")


def save_with_card(model, folder: Path, card: ModelCard) -> Path:
    from batchcolor.inference.runtime import openvino

    ov = openvino()

    folder.mkdir(parents=True, exist_ok=True)
    xml = folder / "model.xml"
    ov.save_model(model, str(xml), compress_to_fp16=False)
    write_card(card, folder / "card.json")
    return xml


def test_card(name: str, in_channels: int, stride: int, tile: int = 256, overlap: int = 64, hints: bool = False,
              lines: str = "none") -> ModelCard:
    """A card for a network built in code; ``hints`` declares the 8 hint planes after the
    drawing's ``in_channels`` (the network then takes ``in_channels + 8``)."""
    from batchcolor.drawing.hints import card_block

    return card_from_dict(
        hints=card_block() if hints else None,
        lines=lines,
        name=name,
        version="0",
        input_channels=in_channels,
        output_channels=3,
        input_mean=DRAWING_MEAN,
        input_std=DRAWING_STD,
        output_range=(-1.0, 1.0),
        stride=stride,
        tile=tile,
        overlap=overlap,
        training={"data": "none (random weights, built in code)", "licence": "n/a"},
    )


test_card.__test__ = False  # not a pytest test despite the name


def line_art(height: int, width: int, seed: int = 0, strokes: int | None = None) -> np.ndarray:
    """Dark strokes on white, H x W uint8: curves, circles and boxes drawn with OpenCV."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.full((height, width), 255, np.uint8)
    n = strokes if strokes is not None else max(4, height * width // 6000)
    for _ in range(n):
        kind = rng.integers(0, 3)
        thick = int(rng.integers(1, 4))
        p = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        if kind == 0:
            pts = np.cumsum(rng.normal(0, 12, size=(8, 2)), axis=0) + p
            cv2.polylines(img, [pts.astype(np.int32)], False, 0, thick, cv2.LINE_AA)
        elif kind == 1:
            cv2.circle(img, p, int(rng.integers(4, 60)), 0, thick, cv2.LINE_AA)
        else:
            q = (p[0] + int(rng.integers(-80, 80)), p[1] + int(rng.integers(-80, 80)))
            cv2.rectangle(img, p, q, 0, thick, cv2.LINE_AA)
    return img
