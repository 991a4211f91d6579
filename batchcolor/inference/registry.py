"""Where installed models live, and which one is the default.

Search order (first hit wins for a name):
1. ``$BATCHCOLOR_MODELS`` (a folder of model folders; the user's own models),
2. the ``models/`` folder of a source checkout (beside the package),
3. ``<prefix>/share/batchcolor/models`` (where installing the package puts the shipped models).

A model folder holds one IR (or ONNX) and its ``card.json``. The default is the model whose
card says ``"default": true``; a user folder can override it the same way.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from batchcolor.errors import ModelError
from batchcolor.inference.modelcard import ModelCard, ModelRef, resolve_model

ENV_MODELS = "BATCHCOLOR_MODELS"


def search_path() -> list[Path]:
    paths = []
    if os.environ.get(ENV_MODELS):
        paths.extend(Path(p).expanduser() for p in os.environ[ENV_MODELS].split(os.pathsep) if p)
    paths.append(Path(__file__).resolve().parents[2] / "models")
    paths.append(Path(sys.prefix) / "share" / "batchcolor" / "models")
    return paths


def installed_models() -> list[tuple[ModelRef | None, Path, str | None]]:
    """Every model folder on the search path: (model, folder, error), in search order."""
    seen: set[str] = set()
    found: list[tuple[ModelRef | None, Path, str | None]] = []
    for root in search_path():
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if folder.name in seen or not _looks_like_model(folder):
                continue
            seen.add(folder.name)
            try:
                found.append((resolve_model(folder), folder, None))
            except ModelError as exc:
                found.append((None, folder, str(exc)))
    return found


def _looks_like_model(folder: Path) -> bool:
    return (folder / "card.json").exists() or any(p.suffix in (".xml", ".onnx") for p in folder.iterdir())


def lookup(spec: str) -> ModelRef:
    """A path (folder, .xml, .onnx) or the folder name of an installed model."""
    from pathlib import Path as _P

    if _P(spec).expanduser().exists() or "/" in spec or spec.endswith((".xml", ".onnx")):
        return resolve_model(spec)
    for ref, folder, error in installed_models():
        if folder.name == spec:
            if ref is None:
                raise ModelError(error or f"{folder}: unusable model")
            return ref
    raise ModelError(f"{spec}: model not found (not a path, nor an installed model; see `batchcolor models`)")


def default_model() -> ModelRef:
    for ref, _, _ in installed_models():
        if ref is not None and ref.card.extra.get("default") is True:
            return ref
    where = ", ".join(str(p) for p in search_path())
    raise ModelError(f"no default model is installed (looked in {where}); pass --model DIR_OR_XML")


def summary(card: ModelCard, folder: Path) -> dict[str, Any]:
    """What ``batchcolor models`` shows of a card: identity, inputs, tiling, speed and the
    shoes hold-out figures (automatic, ``--color``, 10 point hints), from either card layout."""
    m = card.metrics or {}
    shoes = m.get("shoes_holdout", {})
    auto = shoes.get("automatic", shoes)  # cards before hints kept one flat dict
    return {
        "name": card.name, "path": str(folder), "version": card.version, "default": card.extra.get("default") is True,
        "input_channels": card.input_channels, "hints": bool(card.hint_planes), "lines": card.lines,
        "stride": card.stride, "tile": card.tile, "overlap": card.overlap, "scale": card.scale,
        "tiles_per_second_256": card.extra.get("speed", {}).get("tiles_per_second_256"),
        "val_psnr": auto.get("psnr"), "val_ciede2000": auto.get("ciede2000"),
        "val_colorfulness_ratio": auto.get("colorfulness_ratio"), "val_line_recall": auto.get("line_recall"),
        "val_global_psnr": shoes.get("global", {}).get("psnr"),
        "val_points10_psnr": shoes.get("points10", {}).get("psnr"),
        "val_hint_fidelity": shoes.get("points10", {}).get("hint_fidelity"),
    }


def installed_rows() -> list[dict[str, Any]]:
    """:func:`summary` of every installed model; an unusable one says why."""
    return [summary(ref.card, folder) if ref is not None else {"name": folder.name, "path": str(folder), "error": error}
            for ref, folder, error in installed_models()]


def describe(row: dict[str, Any]) -> str:
    """One line of ``batchcolor models`` for a :func:`summary` row."""
    if "error" in row:
        return f"{row['name']:<24} UNUSABLE: {row['error']}"

    def num(key: str, spec: str) -> str:
        return "n/a" if row.get(key) is None else format(row[key], spec)

    speed = f"{num('tiles_per_second_256', '.0f')} tiles/s@256"
    quality = f"auto {num('val_psnr', '.2f')} dB"
    if row["hints"]:
        quality += f", --color {num('val_global_psnr', '.2f')} dB, 10 hints {num('val_points10_psnr', '.2f')} dB"
    inputs = f"{row['input_channels']}ch{' + hints' if row['hints'] else ''} in"
    return (f"{row['name']:<24}{'*' if row['default'] else ' '} v{row['version']}  {inputs}, stride {row['stride']}, "
            f"tile {row['tile']}/{row['overlap']}, lines {row['lines']}, {speed}, {quality}  {row['path']}")
