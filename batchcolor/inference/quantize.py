"""INT8 post-training quantization of an exported model with NNCF (OpenVINO's own toolkit).

Calibration uses real line art from a folder (AB pairs contribute their left half), resized
to the model's training scale, so activation ranges match what the model sees in use. The
first and last convolutions stay in floating point by default: they touch raw pixels and
final colours, and quantizing them is where most of INT8's visible error comes from (see the
facts notes: keeping them halves the error).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from batchcolor.inference.modelcard import ModelCard, ModelRef, resolve_model


def calibration_tiles(folder: Path, card: ModelCard, size: int, count: int = 64, seed: int = 0) -> list[np.ndarray]:
    """Up to ``count`` NCHW float32 inputs, normalised as the card says.

    A hinted model is calibrated on what users give it: for AB pairs, hints simulated from
    the photo by the training protocol (so some tiles are automatic, some hinted); for
    plain drawings, no local hints and, for half of them, a random global colour.
    """
    import cv2

    from batchcolor.drawing import hints as hintmod
    from batchcolor.imageio.pairs import find_pairs, normalise, read_pair

    pairs = find_pairs(Path(folder))
    rng = np.random.default_rng(seed)
    chosen = [pairs[i] for i in sorted(rng.choice(len(pairs), size=min(count, len(pairs)), replace=False))]
    mean, std = card.channel_normalisation()
    tiles = []
    for pair in chosen:
        try:
            drawing, photo = read_pair(pair, size)
        except ValueError:
            continue  # calibration takes what decodes; the count says how many
        x = cv2.cvtColor(drawing, cv2.COLOR_RGB2GRAY)[:, :, None] if card.input_channels == 1 else drawing
        if card.hint_planes:
            if photo is not None:
                hints = hintmod.simulate(rng, photo)
            else:
                pick = tuple(int(v) for v in rng.integers(0, 256, 3)) if rng.random() < 0.5 else None
                hints = hintmod.Hints(global_rgb=pick)  # type: ignore[arg-type]
            x = np.concatenate([x, hintmod.hint_planes_u8(hints, size, size).transpose(1, 2, 0)], axis=2)
        tiles.append(normalise(x[None], mean, std).copy())
    if not tiles:
        raise FileNotFoundError(f"{folder}: no decodable calibration images")
    return tiles


def calibration_size(card: ModelCard) -> int:
    """Calibration tiles show objects at the card's scale, on a whole number of strides (a
    154 px tile would not pass a stride-16 UNet's skip connections)."""
    size = card.scale or card.tile
    return -(-size // card.stride) * card.stride


def _edge_convolutions(model: Any) -> list[str]:
    convs = [op for op in model.get_ordered_ops() if op.get_type_name() == "Convolution"]
    return [convs[0].get_friendly_name(), convs[-1].get_friendly_name()] if len(convs) >= 2 else []


def quantize_model(src: ModelRef, calibration: Path, dst: Path, count: int = 64, keep_edges: bool = True) -> Path:
    """Write an INT8 copy of ``src`` to ``dst`` (IR + card) and return the folder."""
    from batchcolor.inference.runtime import openvino

    ov = openvino()  # before nncf, which imports openvino too
    import nncf

    core = ov.Core()
    model = core.read_model(str(src.model_path))
    card = src.card
    size = calibration_size(card)
    data = calibration_tiles(calibration, card, size, count)
    # The up-sampling path (Interpolate, and a bilinear model's fixed blur: replicate Pad +
    # depthwise GroupConvolution) stays float: a quantizer placed on it ends up before the
    # replicate Pad, and OpenVINO's low-precision PadTransformation then throws at compile time
    # ("in_t_range"; the session-9 base-24 bilinear model). Ignoring the blur alone moved the
    # quantizer up through the Interpolate onto the ReLU before it, with the same error.
    ignored = nncf.IgnoredScope(names=_edge_convolutions(model) if keep_edges else [],
                                types=["GroupConvolution", "Pad", "Interpolate"], validate=False)
    kwargs = {"subset_size": len(data), "ignored_scope": ignored}
    quantized = nncf.quantize(model, nncf.Dataset(data), **kwargs)
    staging = dst.with_name(f".{dst.name}.partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    ov.save_model(quantized, str(staging / "model.xml"))
    doc = json.loads(src.card_path.read_text())
    doc["name"] = f"{card.name}-int8"
    for key in ("default", "metrics", "speed"):  # the float model's; measure the INT8 one anew
        doc.pop(key, None)
    doc["weights"] = "int8 (NNCF post-training quantization)"
    doc["quantization"] = {"tool": f"nncf {nncf.__version__}", "calibration_images": len(data),
                           "calibration_size": size, "float_layers": _edge_convolutions(model) if keep_edges else [],
                           "source_model": card.name}
    (staging / "card.json").write_text(json.dumps(doc, indent=2) + "\n")
    if dst.exists():
        shutil.rmtree(dst)
    staging.rename(dst)
    return dst


def quantize_folder(model_dir: Path, calibration: Path, dst: Path, count: int = 64) -> Path:
    return quantize_model(resolve_model(model_dir), calibration, dst, count)
