"""Pipeline presets: TOML files of run settings, e.g. ``pipelines/huge-sheets.toml``.

Precedence, highest first: command line > environment (``BATCHCOLOR_*``) > pipeline file >
built-in defaults. A preset is found by path, or by name in ``$BATCHCOLOR_PIPELINES``, the
``pipelines/`` folder of a source checkout and ``<prefix>/share/batchcolor/pipelines``.
A relative ``model`` path in a preset is relative to the preset file.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from batchcolor.errors import ConfigError
from batchcolor.inference.modelcard import LINE_MODES

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

ENV_PIPELINES = "BATCHCOLOR_PIPELINES"
KEYS = {
    "model": str, "tile": int, "overlap": int, "device": str, "precision": str, "scale": str,
    "format": str, "max_pixels": int, "inflight_megapixels": (int, float), "workers": int,
    "color": str, "lines": str, "saturation": (int, float), "hue": str, "levels": str, "construction": str,
}


def search_path() -> list[Path]:
    paths = [Path(p) for p in os.environ.get(ENV_PIPELINES, "").split(os.pathsep) if p]
    paths.append(Path(__file__).resolve().parents[2] / "pipelines")
    paths.append(Path(sys.prefix) / "share" / "batchcolor" / "pipelines")
    return paths


def find_pipeline(spec: str) -> Path:
    path = Path(spec).expanduser()
    if path.suffix == ".toml" or os.sep in spec:
        if not path.is_file():
            raise ConfigError(f"{path}: pipeline file not found")
        return path
    for folder in search_path():
        candidate = folder / f"{spec}.toml"
        if candidate.is_file():
            return candidate
    known = sorted({p.stem for f in search_path() if f.is_dir() for p in f.glob("*.toml")})
    raise ConfigError(f"pipeline {spec!r} not found (known: {', '.join(known) or 'none'})")


def _check_values(path: Path, values: dict[str, Any]) -> None:
    """Values a pipeline file can get wrong in ways the type check cannot see."""
    from batchcolor.drawing.hints import parse_color

    if "color" in values:
        try:
            parse_color(values["color"])
        except ValueError as exc:
            raise ConfigError(f"{path}: setting 'color': {exc}") from None
    if "lines" in values and values["lines"] not in LINE_MODES:
        raise ConfigError(f"{path}: setting 'lines' must be one of {', '.join(LINE_MODES)}, got {values['lines']!r}")


def load_pipeline(spec: str) -> dict[str, Any]:
    path = find_pipeline(spec)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    values: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "description":
            continue
        name = key.replace("-", "_")
        if name not in KEYS:
            raise ConfigError(f"{path}: unknown setting {key!r} (known: {', '.join(sorted(KEYS))})")
        if not isinstance(value, KEYS[name]) or isinstance(value, bool):
            raise ConfigError(f"{path}: setting {key!r} has the wrong type ({type(value).__name__})")
        values[name] = value
    _check_values(path, values)
    if "model" in values and not os.path.isabs(values["model"]) and ("/" in values["model"] or values["model"].startswith(".")):
        values["model"] = str((path.parent / values["model"]).resolve())
    return values
