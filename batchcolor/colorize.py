"""Colorize one decoded image: the library entry point that ``tile`` and ``run`` share.

>>> from batchcolor.colorize import InferenceSettings, open_engine, colorize_image
>>> engine, tiling = open_engine(InferenceSettings(model="models/edges2color"))
>>> bgr = colorize_image(cv2.imread("sketch.png", cv2.IMREAD_UNCHANGED), engine, tiling)
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from . import pixels
from .engine import Engine, EngineConfig
from .hints import Hints, PlaneMap, fit_layer, parse_color
from .modelcard import ModelCard, ModelRef
from .registry import default_model, lookup
from .tiler import ArraySource, RowSource, TileObserver, TilePlanes, TileSettings, colorize_array, colorize_source


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


@dataclass(frozen=True)
class Guidance:
    """What steers one image besides its pixels: colour hints and the kept line layer."""

    hints: Hints | None = None
    keep_lines: bool = False

    def planes(self, card: ModelCard, height: int, width: int) -> TilePlanes | None:
        """Per-tile hint planes for a hinted model (automatic mode when there are no hints)."""
        if not card.hint_planes:
            return None
        return PlaneMap(fit_layer(self.hints or Hints(), height, width), height, width)


def guidance(settings: InferenceSettings, card: ModelCard, layer: Hints | None = None) -> Guidance:
    """The run's global colour and line setting plus one file's hint layer, for ``card``.

    A hint layer given to a model without hint inputs is ignored (the drawing still gets
    coloured); a ``--color`` for such a model is refused up front by :func:`resolve`.
    """
    lines = settings.lines or card.lines
    if not card.hint_planes:
        return Guidance(None, lines == "keep")
    rgb = parse_color(settings.color) if settings.color else None
    if layer is None and rgb is None:
        return Guidance(None, lines == "keep")
    return Guidance(Hints(layer.color if layer else None, layer.mask if layer else None, rgb), lines == "keep")


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
    if settings.lines is not None and settings.lines not in ("keep", "none"):
        raise ValueError(f"--lines must be keep or none, got {settings.lines!r}")
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
    # Validate the geometry now, so a bad --overlap fails once, not once per file.
    TileSettings(s.tile, s.overlap).plan(s.tile, s.tile, ref.card.stride)
    config = EngineConfig(
        tile=s.tile,
        device=s.device,
        precision=s.precision,
        cache_dir=s.cache_dir,
        threads=s.threads,
        num_requests=s.num_requests,
    )
    pad = ref.card.pad_value if ref.card.padding == "constant" else None
    return Engine(ref.model_path, ref.card, config), TileSettings(s.tile, s.overlap, pad_value=pad)


def scale_factor(model_input: np.ndarray, scale: str, card: ModelCard) -> float:
    """How much to resize before inference so the drawn objects match the training scale.

    ``auto`` measures the objects (groups of strokes, :func:`batchcolor.objects.object_extent`)
    and brings their typical longer side to the card's ``scale``: a network trained on 128 px
    shoes fills a 2000 px sketch with texture-less mush, and a sheet of nine drawings is
    coloured like each drawing alone. Within the card's ``scale_tolerance`` (the range of
    sizes the model was trained on) the drawing is left alone: resampling costs detail.
    """
    if scale == "none":
        return 1.0
    if scale == "auto":
        from .objects import object_extent
        from .streamread import STREAM_MIN_PIXELS

        # Posters and sheets this big are drawn at working size, and resizing one would need
        # it whole in memory: ``auto`` keeps them 1:1 (and streamed). A factor still applies.
        if not card.scale or model_input.shape[0] * model_input.shape[1] >= STREAM_MIN_PIXELS:
            return 1.0
        extent = object_extent(model_input.min(axis=2) if model_input.ndim == 3 else model_input)
        if extent is None:
            return 1.0
        factor = float(card.scale) / extent
        tolerance = float(card.extra.get("scale_tolerance", 1.0))
        return 1.0 if 1.0 / tolerance <= factor <= tolerance else factor
    return parse_scale(scale)


def parse_scale(scale: str) -> float:
    """A ``--scale`` factor; ValueError (a usage error) naming ``--scale`` otherwise."""
    try:
        factor = float(scale)
    except ValueError:
        raise ValueError(f"--scale must be 'none', 'auto' or a factor in [0.01, 100], got {scale!r}") from None
    if not 0.01 <= factor <= 100:
        raise ValueError(f"--scale must be 'none', 'auto' or a factor in [0.01, 100], got {scale}")
    return factor


def colorize_rows(
    decoded: np.ndarray,
    engine: Engine,
    tiling: TileSettings,
    emit: Callable[[int, np.ndarray], None],
    observe: TileObserver | None = None,
    bgr: bool = True,
    guide: Guidance = Guidance(),
) -> None:
    """Like :func:`colorize_image` at scale 1, but hands finished BGR[A] rows (RGB[A] with
    ``bgr=False``) to ``emit``.

    Nothing output-sized is allocated: with a streamed writer behind ``emit`` the memory is the
    decoded input plus a few tile-tall bands, whatever the image size.
    """
    _colorize_prepared(pixels.prepare(decoded, engine.card.input_channels), engine, tiling, emit, observe, bgr, guide)


def _colorize_prepared(prepared: pixels.Prepared, engine: Engine, tiling: TileSettings,
                       emit: Callable[[int, np.ndarray], None], observe: TileObserver | None, bgr: bool = True,
                       guide: Guidance = Guidance()) -> None:
    alpha = prepared.alpha

    def finish(start: int, rgb: np.ndarray) -> None:
        emit(start, pixels.finish(rgb, None if alpha is None else alpha[start : start + rgb.shape[0]], bgr))

    _colorize_rows_of(ArraySource(prepared.model_input), engine, tiling, finish, observe, guide)


def colorize_stream(source: RowSource, engine: Engine, tiling: TileSettings,
                    emit: Callable[[int, np.ndarray], None], guide: Guidance = Guidance()) -> None:
    """Colorize model-ready rows from ``source`` (e.g. a streamed decoder), RGB rows to ``emit``."""
    _colorize_rows_of(source, engine, tiling, emit, None, guide)


def _colorize_rows_of(source: RowSource, engine: Engine, tiling: TileSettings,
                      emit: Callable[[int, np.ndarray], None], observe: TileObserver | None,
                      guide: Guidance = Guidance()) -> None:
    # One open tile row is enough when a row alone keeps every infer request busy, and it
    # halves the float bands held for very wide images.
    height, width, _ = source.shape
    cols = tiling.plan(height, width, engine.card.stride).cols.count
    rows_in_flight = 1 if cols >= 2 * engine.num_requests else 2
    colorize_source(source, engine, tiling, emit, rows_in_flight, observe,
                    planes=guide.planes(engine.card, height, width), keep_lines=guide.keep_lines)


def colorize_image(
    decoded: np.ndarray,
    engine: Engine,
    tiling: TileSettings,
    scale: str = "none",
    observe: TileObserver | None = None,
    guide: Guidance = Guidance(),
) -> np.ndarray:
    """OpenCV-decoded pixels in (any depth, gray/BGR/BGRA/palette-expanded), BGR[A] uint8 out."""
    import cv2

    prepared = pixels.prepare(decoded, engine.card.input_channels)
    x = prepared.model_input
    h, w = x.shape[:2]
    factor = scale_factor(x, scale, engine.card)
    if abs(factor - 1.0) <= 1e-3:
        out = np.empty((h, w, 3 if prepared.alpha is None else 4), np.uint8)

        def emit(start: int, rows: np.ndarray) -> None:
            out[start : start + rows.shape[0]] = rows

        _colorize_prepared(prepared, engine, tiling, emit, observe, guide=guide)
        return out
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    x = cv2.resize(x, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)
    if x.ndim == 2:
        x = x[:, :, None]
    rgb = colorize_array(x, engine, tiling, observe=observe, planes=guide.planes(engine.card, x.shape[0], x.shape[1]))
    rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_CUBIC if factor < 1 else cv2.INTER_AREA)
    if guide.keep_lines:  # the drawing's own lines at full resolution, not the resized ones
        rgb = keep_lines(rgb, prepared.model_input)
    return pixels.finish(rgb, prepared.alpha)


def keep_lines(rgb: np.ndarray, drawing: np.ndarray) -> np.ndarray:
    """uint8 RGB times the drawing's lightness (the line layer on multiply), rounded."""
    import cv2

    from .tiler import lightness

    light = lightness(drawing)
    return np.clip(np.rint(rgb.astype(np.float32) * light), 0, 255).astype(np.uint8)
