"""What decides the pixels of a run: the settings, the model they resolve to, the engine.

``resolve`` fills every model-dependent default (tile, overlap, the model path) so a run's
settings say exactly what will run (the manifest keys outputs by them), and refuses bad
``--scale``/``--color``/``--lines`` values as usage errors before any file is touched.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from batchcolor.inference.engine import Engine, EngineConfig
from batchcolor.drawing.hints import parse_color
from batchcolor.inference.modelcard import LINE_MODES, ModelCard, ModelRef
from batchcolor.inference.registry import default_model, lookup
from batchcolor.tiling.tiler import TileSettings


MAX_SATURATION = 4.0
HUES = ("object", "pixel")
LEVELS = ("auto", "off")
CONSTRUCTION = ("drop", "keep")


@dataclass(frozen=True)
class InferenceSettings:
    """Everything that decides which pixels come out (plus where and how fast they're made)."""

    model: str | None = None  # folder, .xml or .onnx; None means the installed default
    tile: int | None = None  # None: the card's recommended tile
    overlap: int | None = None  # None: the card's recommended overlap
    device: str = "CPU"
    precision: str = "auto"
    scale: str = "none"  # "none", "auto" (fit the drawing to the card's scale) or a factor
    cache_dir: Path | None = None
    threads: int | None = None
    num_requests: int | None = None
    color: str | None = None  # '#RRGGBB': the drawn object's main colour (hinted models)
    lines: str | None = None  # "keep" or "none"; None: the card's default
    saturation: float | None = None  # chroma gain of automatic colours; None: the card's (1 if it has none)
    hue: str | None = None  # automatic colours: "object" (one per drawn object) or "pixel"; None: the card's
    levels: str | None = None  # "auto" (a scan's paper made white first) or "off"; None: auto
    construction: str | None = None  # "drop" (coloured pencil lines beside black ink made paper) or "keep"; None: drop


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "batchcolor" / "openvino"


def resolve(settings: InferenceSettings) -> tuple[ModelRef, InferenceSettings]:
    """Fill the model-dependent defaults so the settings say exactly what will run."""
    ref = lookup(settings.model) if settings.model else default_model()
    card = ref.card
    validate_guidance(settings, card, ref.model_path)
    filled = replace(
        settings,
        model=str(ref.model_path),
        tile=settings.tile or card.tile,
        overlap=card.overlap if settings.overlap is None else settings.overlap,
    )
    return ref, filled


def validate_guidance(settings: InferenceSettings, card: ModelCard, model_path: Path) -> None:
    """Usage errors (ValueError) for ``--scale``/``--color``/``--lines`` before any file is touched."""
    if settings.scale not in ("none", "auto"):
        parse_scale(settings.scale)
    if settings.lines is not None and settings.lines not in LINE_MODES:
        raise ValueError(f"--lines must be one of {', '.join(LINE_MODES)}, got {settings.lines!r}")
    if settings.saturation is not None and not 0.0 <= settings.saturation <= MAX_SATURATION:
        raise ValueError(f"--saturation must be between 0 and {MAX_SATURATION:g}, got {settings.saturation!r}")
    if settings.hue is not None and settings.hue not in HUES:
        raise ValueError(f"--hue must be one of {', '.join(HUES)}, got {settings.hue!r}")
    if settings.levels is not None and settings.levels not in LEVELS:
        raise ValueError(f"--levels must be one of {', '.join(LEVELS)}, got {settings.levels!r}")
    if settings.construction is not None and settings.construction not in CONSTRUCTION:
        raise ValueError(f"--construction must be one of {', '.join(CONSTRUCTION)}, got {settings.construction!r}")
    if settings.color is not None:
        parse_color(settings.color)
        if not card.hint_planes:
            raise ValueError(f"--color needs a model trained with hints; {model_path} takes none "
                             "(its card has no input.hints)")


def open_engine(settings: InferenceSettings) -> tuple[Engine, TileSettings]:
    ref, s = resolve(settings)
    assert s.tile is not None and s.overlap is not None
    if s.tile % ref.card.stride:
        raise ValueError(f"--tile {s.tile} must be a multiple of the model's stride {ref.card.stride}")
    tiling = tile_settings(ref.card, s)
    # Validate the geometry now, so a bad --overlap fails once, not once per file (on an
    # image that needs two tiles a side: one that fits in one needs no room to step).
    tiling.plan(2 * s.tile, 2 * s.tile, ref.card.stride)
    config = EngineConfig(
        tile=s.tile,
        device=s.device,
        precision=s.precision,
        cache_dir=s.cache_dir,
        threads=s.threads,
        num_requests=s.num_requests,
    )
    return Engine(ref.model_path, ref.card, config), tiling


def tile_settings(card: ModelCard, filled: InferenceSettings) -> TileSettings:
    """The tiling a run uses (``filled``: settings after :func:`resolve`): the card's padding
    and image border, the run's tile and overlap. ``bench`` plans with it too."""
    assert filled.tile is not None and filled.overlap is not None
    pad = card.pad_value if card.padding == "constant" else None
    return TileSettings(filled.tile, filled.overlap, pad_value=pad, border=card.border)


def parse_scale(scale: str) -> float:
    """A ``--scale`` factor; ValueError (a usage error) naming ``--scale`` otherwise."""
    try:
        factor = float(scale)
    except ValueError:
        raise ValueError(f"--scale must be 'none', 'auto' or a factor in [0.01, 100], got {scale!r}") from None
    if not 0.01 <= factor <= 100:
        raise ValueError(f"--scale must be 'none', 'auto' or a factor in [0.01, 100], got {scale}")
    return factor


