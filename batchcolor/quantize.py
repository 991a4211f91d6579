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

from .modelcard import ModelRef, resolve_model


def calibration_tiles(folder: Path, card_channels: int, size: int, count: int = 64, seed: int = 0) -> list[np.ndarray]:
    """Up to ``count`` NCHW float32 inputs in the model's normalised range."""
    import cv2

    from .walk import iter_inputs

    paths = iter_inputs(Path(folder))
    if not paths:
        raise FileNotFoundError(f"{folder}: no calibration images")
    rng = np.random.default_rng(seed)
    chosen = [paths[i] for i in sorted(rng.choice(len(paths), size=min(count, len(paths)), replace=False))]
    tiles = []
    for path in chosen:
        img = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            continue
        if path.stem.endswith("_AB") or img.shape[1] == 2 * img.shape[0]:
            img = img[:, : img.shape[1] // 2]
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        x = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[:, :, None] if card_channels == 1 else img[:, :, ::-1]
        tiles.append(((x.astype(np.float32) - 127.5) / 127.5).transpose(2, 0, 1)[None].copy())
    if not tiles:
        raise FileNotFoundError(f"{folder}: no decodable calibration images")
    return tiles


def _edge_convolutions(model: Any) -> list[str]:
    convs = [op for op in model.get_ordered_ops() if op.get_type_name() == "Convolution"]
    return [convs[0].get_friendly_name(), convs[-1].get_friendly_name()] if len(convs) >= 2 else []


def quantize_model(src: ModelRef, calibration: Path, dst: Path, count: int = 64, keep_edges: bool = True) -> Path:
    """Write an INT8 copy of ``src`` to ``dst`` (IR + card) and return the folder."""
    import nncf
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(src.model_path))
    card = src.card
    size = card.scale or card.tile
    data = calibration_tiles(calibration, card.input_channels, size, count)
    ignored = nncf.IgnoredScope(names=_edge_convolutions(model)) if keep_edges else None
    kwargs = {"subset_size": len(data)}
    if ignored is not None:
        kwargs["ignored_scope"] = ignored
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
