"""A shipped UNet's IR back into trainable weights: fine-tune the model you have, not its lost checkpoint.

Why: the IR is the one artifact that is sure to exist (a run folder does not survive the
machine it trained on; checkpoints are never committed), and an ML engineer who wants the
default on their own paired data should start from it, not from scratch.

The export folds every BatchNorm into its convolution (weights scaled, one bias ``Add``), so
the IR holds ``y = W' * x + b'`` where the network had ``gamma * (W * x - mean) / std + beta``.
Any split of that affine map is the same function in eval mode, but training normalises by
the *batch's* statistics, so a split with made-up statistics would change the function at the
first training step. The statistics are therefore measured: the IR runs on ``calibration``
inputs with every convolution's output exposed, and each BatchNorm gets

    conv weight = W',  _mean = m,  _variance = v,  weight (gamma) = sqrt(v + eps),  bias = m + b'

with m, v the per-channel mean and variance of ``W' * x`` on those inputs. Eval mode then
reproduces the IR exactly, and train mode, whose batch statistics are close to m and v on
inputs like the calibration ones, starts where the IR is.

Pure NumPy + OpenVINO: nothing here needs Paddle.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

BN_EPS = 1e-5  # Paddle's BatchNorm2D default, which the export folded with


def unet_layout(unet: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The UNet's convolutions in forward order: (conv weight name, BatchNorm prefix or None).

    Mirrors :class:`batchcolor.train.models.UNet` for the resize/bilinear up-sampling (the
    transposed-convolution variant has no shipped IR and is refused)."""
    if unet.get("up", "resize") not in ("resize", "bilinear"):
        raise ValueError(f"up-sampling {unet.get('up')!r}: only resize/bilinear UNets can be recovered from an IR")
    layout: list[tuple[str, str | None]] = []

    def double(prefix: str) -> None:
        layout.extend([(f"{prefix}.0.weight", f"{prefix}.1"), (f"{prefix}.3.weight", f"{prefix}.4")])

    for i in range(unet["depth"]):
        double(f"downs.{i}")
    double("bottom")
    for i in range(unet["depth"]):
        layout.append((f"ups.{i}.up.0.weight", f"ups.{i}.up.1"))
        double(f"ups.{i}.conv")
    layout.append(("head.weight", None))
    return layout


def _constant_value(node) -> np.ndarray:
    """A weight input's value, through the fp16 -> f32 ``Convert`` of compressed IRs."""
    while node.get_type_name() == "Convert":
        node = node.input_value(0).get_node()
    if node.get_type_name() != "Constant":
        raise ValueError(f"expected a constant weight, found {node.get_type_name()} {node.get_friendly_name()}")
    return np.asarray(node.get_data(), np.float32)


def folded_convolutions(model) -> list[tuple[Any, np.ndarray, np.ndarray]]:
    """(output to expose, W', b') for every ``Convolution -> Add(bias)`` of the IR, in topological order."""
    out = []
    for op in model.get_ordered_ops():
        if op.get_type_name() != "Convolution":
            continue
        weight = _constant_value(op.input_value(1).get_node())
        consumers = [t.get_node() for t in op.output(0).get_target_inputs()]
        if len(consumers) != 1 or consumers[0].get_type_name() != "Add":
            raise ValueError(f"{op.get_friendly_name()}: a convolution without its folded bias Add; not an exported batchcolor UNet")
        add = consumers[0]
        bias = _constant_value(add.input_value(1).get_node()).reshape(-1)
        if bias.shape[0] != weight.shape[0]:
            raise ValueError(f"{add.get_friendly_name()}: bias of {bias.shape[0]} for {weight.shape[0]} channels")
        out.append((op.output(0), weight, bias))
    return out


def unet_arrays_from_ir(xml: Path, unet: dict[str, Any], calibration: np.ndarray) -> dict[str, np.ndarray]:
    """Paddle-named UNet arrays (what ``checkpoint_from_arrays`` and ``models/gpu_train.py``
    take) that compute the IR's function; ``calibration`` is N x C x H x W network input, in
    the form training feeds (a few hundred training samples; H, W multiples of the stride)."""
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(xml))
    convs = folded_convolutions(model)
    layout = unet_layout(unet)
    if len(convs) != len(layout):
        raise ValueError(f"{xml}: {len(convs)} convolutions, a UNet{unet} has {len(layout)}")
    if convs[0][1].shape[1] != unet["in_channels"]:
        raise ValueError(f"{xml}: takes {convs[0][1].shape[1]} channels, the UNet {unet['in_channels']}")
    exposed = [c[0] for c, (_, bn) in zip(convs, layout) if bn is not None]
    model.add_outputs(exposed)
    compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    outputs = compiled.outputs[1:]  # [0] is the colour output
    sums = [np.zeros(o.get_partial_shape()[1].get_length(), np.float64) for o in outputs]
    squares = [np.zeros_like(s) for s in sums]
    counts = [0] * len(outputs)  # per layer: deeper layers see fewer pixels
    request = compiled.create_infer_request()
    for start in range(0, len(calibration), 16):
        batch = np.ascontiguousarray(calibration[start : start + 16], np.float32)
        result = request.infer({0: batch})
        for i, port in enumerate(outputs):
            z = np.asarray(result[port], np.float64)
            sums[i] += z.sum(axis=(0, 2, 3))
            squares[i] += (z * z).sum(axis=(0, 2, 3))
            counts[i] += z.shape[0] * z.shape[2] * z.shape[3]
    if not len(calibration):
        raise ValueError("no calibration inputs")
    arrays: dict[str, np.ndarray] = {}
    k = 0
    for (_, weight, bias), (conv_name, bn) in zip(convs, layout):
        arrays[conv_name] = weight
        if bn is None:  # the head keeps its own bias
            arrays[conv_name.rsplit(".", 1)[0] + ".bias"] = bias
            continue
        mean = sums[k] / counts[k]
        var = np.maximum(squares[k] / counts[k] - mean * mean, 0.0)
        k += 1
        arrays[f"{bn}._mean"] = mean.astype(np.float32)
        arrays[f"{bn}._variance"] = var.astype(np.float32)
        arrays[f"{bn}.weight"] = np.sqrt(var + BN_EPS).astype(np.float32)
        arrays[f"{bn}.bias"] = (mean + bias).astype(np.float32)
    return arrays


def is_model_folder(path: Path) -> bool:
    """A shipped/exported model (``card.json`` + ``model.xml``), as opposed to a run or checkpoint."""
    path = Path(path)
    return path.is_dir() and (path / "card.json").is_file() and (path / "model.xml").is_file()


def card_unet(model_dir: Path) -> dict[str, Any]:
    """The UNet config a model's card declares (``architecture`` without its ``type``)."""
    import json

    card = json.loads((Path(model_dir) / "card.json").read_text())
    arch = dict(card.get("architecture") or {})
    if arch.pop("type", None) != "unet":
        raise ValueError(f"{model_dir}: the card declares no UNet architecture; cannot recover trainable weights")
    return arch


def calibration_inputs(pairs, config, count: int = 512, seed: int = 5) -> np.ndarray:
    """``count`` network inputs made the way training makes them (line style, scale, hints):
    BatchNorm's statistics are measured on what the network will be trained on."""
    from batchcolor.train import data as datamod

    rng = np.random.default_rng(seed)
    batch = min(64, count, len(pairs))  # an epoch yields only full batches: a small set needs small ones
    if batch < 1:
        raise ValueError("no training pairs to calibrate BatchNorm statistics on")
    xs: list[np.ndarray] = []
    n = 0
    while n < count:
        for x, _ in datamod.hinted_batches(pairs, batch, rng, config.flip, config.size, config.augmentation(),
                                           config.hints, config.recolour):
            xs.append(x)
            n += len(x)
            if n >= count:
                break
    return np.concatenate(xs)[:count]


def recover_from_model(model_dir: Path, pairs, config) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, unet) of a model folder, calibrated on ``pairs`` as ``config`` trains."""
    unet = card_unet(model_dir)
    return unet_arrays_from_ir(Path(model_dir) / "model.xml", unet, calibration_inputs(pairs, config)), unet
