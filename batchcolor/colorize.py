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
    chroma: tuple[int, int, int] | None = None  # --color's hue laid on the object (card: color_transfer)
    regions: bool = False  # local hints' hue laid on the drawing's regions they sit in (card: color_transfer)

    def fill_regions(self, rgb: np.ndarray, drawing: np.ndarray) -> np.ndarray:
        """Local hints spread over their regions of ``drawing`` (full image, in memory)."""
        if not self.regions or self.hints is None or self.hints.mask is None:
            return rgb
        from .chroma import transfer_regions

        h, w = rgb.shape[:2]
        planes = PlaneMap(fit_layer(self.hints, h, w), h, w).tile(np.arange(h), np.arange(w))
        gray = drawing[:, :, 0] if drawing.shape[2] == 1 else drawing.min(axis=2)
        return transfer_regions(rgb, gray, np.ascontiguousarray(planes[:, :, 0:3]), planes[:, :, 3] == 255)

    def tint(self, rgb: np.ndarray, card: ModelCard, height: int, width: int, top: int = 0) -> np.ndarray:
        """Rows ``top..`` of an image of ``height`` x ``width``, with ``--color``'s chroma
        (:mod:`batchcolor.chroma`); local hints keep their own colour where they are."""
        if self.chroma is None:
            return rgb
        from .chroma import transfer_chroma

        keep = None
        if self.hints is not None and self.hints.mask is not None:
            rows, cols = np.arange(top, top + rgb.shape[0]), np.arange(width)
            keep = PlaneMap(fit_layer(self.hints, height, width), height, width).tile(rows, cols)[:, :, 3] == 255
        return transfer_chroma(rgb, self.chroma, keep)

    def crop(self, card: ModelCard, height: int, width: int, top: int, left: int, crop_h: int, crop_w: int) -> "Guidance":
        """The guidance of a ``crop_h`` x ``crop_w`` window at (``top``, ``left``) of an image of
        ``height`` x ``width``: the hint layer cut to it (nothing outside the image), the same
        global colour and line setting."""
        if not card.hint_planes or self.hints is None or self.hints.mask is None:
            return self
        rows, cols = np.arange(top, top + crop_h), np.arange(left, left + crop_w)
        outside_r, outside_c = (rows < 0) | (rows >= height), (cols < 0) | (cols >= width)
        planes = PlaneMap(fit_layer(self.hints, height, width), height, width).tile(
            np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1), outside_r, outside_c)
        local = Hints(np.ascontiguousarray(planes[:, :, 0:3]), planes[:, :, 3] == 255, self.hints.global_rgb)
        return Guidance(local, self.keep_lines, self.chroma, self.regions)

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
    transfer = card.extra.get("color_transfer") == "chroma"
    return Guidance(Hints(layer.color if layer else None, layer.mask if layer else None, rgb), lines == "keep",
                    rgb if transfer else None, transfer and layer is not None)


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
    height, width, _ = source.shape
    rows_in_flight = _rows_in_flight(engine, tiling, height, width)
    if guide.chroma is not None:
        plain_emit = emit

        def emit(start: int, rows: np.ndarray) -> None:
            plain_emit(start, guide.tint(rows, engine.card, height, width, start))

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
    """OpenCV-decoded pixels in (any depth, gray/BGR/BGRA/palette-expanded), BGR[A] uint8 out.

    With ``scale="auto"``, a drawing of several objects (a sheet of sketches, a comic page's
    panels) is coloured object by object: each one is cut out with white paper around it and
    coloured at its own scale, exactly as if it had been drawn alone, so neighbours neither
    shrink it nor bleed into it. One object, or a poster of 16 MP and more, takes the whole
    image at once.
    """
    prepared = pixels.prepare(decoded, engine.card.input_channels)
    x = prepared.model_input
    h, w = x.shape[:2]
    boxes = _objects_to_colour_alone(x, scale, engine.card)
    if len(boxes) > 1:
        rgb = _colorize_objects(x, boxes, engine, tiling, replace(guide, keep_lines=False, chroma=None, regions=False))
        rgb = guide.fill_regions(guide.tint(rgb, engine.card, h, w), x)
        if guide.keep_lines:
            rgb = keep_lines(rgb, x)
        return pixels.finish(rgb, prepared.alpha)
    factor = scale_factor(x, scale, engine.card)
    if abs(factor - 1.0) <= 1e-3:
        out = np.empty((h, w, 3 if prepared.alpha is None else 4), np.uint8)

        def emit(start: int, rows: np.ndarray) -> None:
            out[start : start + rows.shape[0]] = rows

        _colorize_prepared(prepared, engine, tiling, emit, observe, guide=guide)
        return out
    rgb = _colorize_resized(x, factor, engine, tiling, replace(guide, keep_lines=False, chroma=None, regions=False),
                            observe)
    rgb = guide.fill_regions(guide.tint(rgb, engine.card, h, w), x)
    if guide.keep_lines:  # the drawing's own lines at full resolution, not the resized ones
        rgb = keep_lines(rgb, x)
    return pixels.finish(rgb, prepared.alpha)


def _colorize_resized(x: np.ndarray, factor: float, engine: Engine, tiling: TileSettings, guide: Guidance,
                      observe: TileObserver | None = None) -> np.ndarray:
    """RGB uint8 of ``x`` coloured at ``factor`` times its size, resized back."""
    import cv2

    h, w = x.shape[:2]
    if abs(factor - 1.0) <= 1e-3:
        small = x
    else:
        small = cv2.resize(x, (max(1, round(w * factor)), max(1, round(h * factor))),
                           interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)
        small = small[:, :, None] if small.ndim == 2 else small
    sh, sw = small.shape[:2]
    rgb = colorize_array(small, engine, tiling, rows_in_flight=_rows_in_flight(engine, tiling, sh, sw),
                         observe=observe, planes=guide.planes(engine.card, sh, sw), keep_lines=guide.keep_lines)
    if (sh, sw) != (h, w):
        rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_CUBIC if factor < 1 else cv2.INTER_AREA)
    return rgb


def _objects_to_colour_alone(x: np.ndarray, scale: str, card: ModelCard) -> list[tuple[int, int, int, int]]:
    from .objects import object_boxes
    from .streamread import STREAM_MIN_PIXELS

    if scale != "auto" or not card.scale or x.shape[0] * x.shape[1] >= STREAM_MIN_PIXELS:
        return []
    return object_boxes(x.min(axis=2))


def _colorize_objects(x: np.ndarray, boxes: list[tuple[int, int, int, int]], engine: Engine, tiling: TileSettings,
                      guide: Guidance) -> np.ndarray:
    """Each object cut out with paper around it, coloured at its own scale, put back.

    Crops overlap only where objects nearly touch; there the weights (1 inside a box, falling
    to 0 across its paper margin) blend them. Paper no crop reaches stays white."""
    h, w = x.shape[:2]
    acc = np.zeros((h, w, 3), np.float32)
    weight = np.zeros((h, w), np.float32)
    card = engine.card
    for x0, y0, x1, y1 in boxes:
        margin = max(8, round(0.08 * max(x1 - x0, y1 - y0)))
        cy0, cy1, cx0, cx1 = max(0, y0 - margin), min(h, y1 + margin), max(0, x0 - margin), min(w, x1 + margin)
        crop = np.full((y1 - y0 + 2 * margin, x1 - x0 + 2 * margin, x.shape[2]), 255, np.uint8)
        oy, ox = cy0 - (y0 - margin), cx0 - (x0 - margin)
        crop[oy : oy + cy1 - cy0, ox : ox + cx1 - cx0] = x[cy0:cy1, cx0:cx1]
        # other objects reaching into this one's margin are not part of it: paper there
        inside = np.zeros(crop.shape[:2], bool)
        inside[margin : margin + y1 - y0, margin : margin + x1 - x0] = True
        crop[~inside] = 255
        local = guide.crop(card, h, w, y0 - margin, x0 - margin, crop.shape[0], crop.shape[1])
        rgb = _colorize_resized(crop, scale_factor(crop, "auto", card), engine, tiling, local)
        ramp = _box_weight(crop.shape[0], crop.shape[1], margin)
        sl = (slice(cy0, cy1), slice(cx0, cx1))
        part = (slice(oy, oy + cy1 - cy0), slice(ox, ox + cx1 - cx0))
        acc[sl] += rgb[part].astype(np.float32) * ramp[part][:, :, None]
        weight[sl] += ramp[part]
    # where crops overlap, their weighted mean; where one fades out, towards the colour the
    # model gives blank paper (what the paper around a drawing coloured alone would get)
    paper = _paper_colour(x.shape[2], engine, tiling, Guidance(Hints(global_rgb=guide.hints.global_rgb) if guide.hints else None))
    out = (acc + paper * np.clip(1.0 - weight, 0.0, None)[:, :, None]) / np.maximum(weight, 1.0)[:, :, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _paper_colour(channels: int, engine: Engine, tiling: TileSettings, guide: Guidance) -> np.ndarray:
    """The model's colour for blank paper (RGB float32), from one small white drawing."""
    side = 4 * engine.card.stride
    blank = np.full((side, side, channels), 255, np.uint8)
    rgb = colorize_array(blank, engine, tiling, planes=guide.planes(engine.card, side, side))
    return np.median(rgb.reshape(-1, 3), axis=0).astype(np.float32)


def _box_weight(height: int, width: int, margin: int) -> np.ndarray:
    """1 inside the box, a linear ramp down to 0 across the paper margin around it."""
    def axis(n: int) -> np.ndarray:
        d = np.minimum(np.arange(n), np.arange(n)[::-1]).astype(np.float32)
        return np.clip((d + 1) / (margin + 1), 0, 1)

    return np.minimum(axis(height)[:, None], axis(width)[None, :])


def _rows_in_flight(engine: Engine, tiling: TileSettings, height: int, width: int) -> int:
    """One open tile row is enough when a row alone keeps every infer request busy, and it
    halves the float bands held for very wide images."""
    cols = tiling.plan(height, width, engine.card.stride).cols.count
    return 1 if cols >= 2 * engine.num_requests else 2


def keep_lines(rgb: np.ndarray, drawing: np.ndarray) -> np.ndarray:
    """uint8 RGB times the drawing's lightness (the line layer on multiply), rounded."""
    import cv2

    from .tiler import lightness

    light = lightness(drawing)
    return np.clip(np.rint(rgb.astype(np.float32) * light), 0, 255).astype(np.uint8)
