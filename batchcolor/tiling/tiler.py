"""The overlap-tile driver: geometry + engine + merger, for one image of any size.

It walks tile rows top to bottom, gathers each tile from the source by reflect-101 index
mapping, submits it to the engine (which blocks when every request is busy), and lets the
merger hand finished rows to ``emit``. At most ``rows_in_flight`` tile rows are open at once,
which bounds memory to a few bands whatever the image height.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np

from batchcolor.tiling.geometry import TilePlan, fill_mask, fit_axis, plan_tiles, reflect_indices
from batchcolor.tiling.merger import BandMerger, RowSink

TileObserver = Callable[[tuple[int, int], np.ndarray, np.ndarray], None]
# Extra input planes for one tile, given its source rows and columns and where they are
# padding (None: no constant padding): Th x Tw x P uint8 (e.g. hints.PlaneMap.tile).
TilePlanes = Callable[[np.ndarray, np.ndarray, "np.ndarray | None", "np.ndarray | None"], np.ndarray]


class TileModel(Protocol):
    """What the tiler needs of a model (``engine.Engine`` is one; tests use plain NumPy ones).

    ``submit`` starts one uint8 Th x Tw x C tile and later calls ``done(key, output)`` with a
    Th x Tw x C_out float array (valid during the call only), possibly on another thread;
    ``raise_if_failed`` re-raises a failure of an earlier tile; ``card`` gives ``stride``,
    ``output_channels`` and ``output_range``."""

    card: Any

    def submit(self, tile: np.ndarray, done: Callable[[Any, np.ndarray], None], key: Any) -> None: ...

    def raise_if_failed(self) -> None: ...


class RowSource(Protocol):
    """Anything that can hand over whole rows by index (an array, a streamed decoder)."""

    @property
    def shape(self) -> tuple[int, int, int]: ...

    def take_rows(self, index: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ArraySource:
    array: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        h, w, c = self.array.shape
        return h, w, c

    def take_rows(self, index: np.ndarray) -> np.ndarray:
        """Rows by index; a plain in-image run of rows is a view (no copy), anything else a copy."""
        n = len(index)
        if n and index[0] >= 0 and index[-1] == index[0] + n - 1 and np.all(np.diff(index) == 1):
            return self.array[index[0] : index[0] + n]
        return self.array[index]


@dataclass(frozen=True)
class TileSettings:
    """``tile`` is the largest tile; ``pad_value`` None pads by mirroring (reflect-101, the
    UNet paper's choice), an int pads with that constant (the paper colour, for line art)."""

    tile: int
    overlap: int
    margin: int | None = None
    pad_value: int | None = None
    adaptive: bool = True
    border: int | None = None  # context beyond the image's edges (None: the seam margin)

    def tile_shape(self, height: int, width: int, stride: int) -> tuple[int, int]:
        """(rows, columns) of the tiles for one image: each axis fitted on its own when adaptive."""
        if not self.adaptive:
            return self.tile, self.tile
        return (fit_axis(height, self.tile, self.overlap, stride, self.margin, self.border),
                fit_axis(width, self.tile, self.overlap, stride, self.margin, self.border))

    def plan(self, height: int, width: int, stride: int) -> TilePlan:
        return plan_tiles(height, width, self.tile_shape(height, width, stride), self.overlap, stride, self.margin,
                          self.border)


def rows_in_flight_for(plan: TilePlan, requests: int) -> int:
    """One open tile row is enough when a row alone keeps every infer request busy, and it
    halves the float bands held for very wide images."""
    return 1 if plan.cols.count >= 2 * requests else 2


def colorize_source(
    source: RowSource,
    engine: TileModel,
    plan: TilePlan,
    emit: RowSink,
    pad_value: int | None = None,
    rows_in_flight: int = 2,
    observe: TileObserver | None = None,
    poll_seconds: float = 0.05,
    as_uint8: bool = True,
    planes: TilePlanes | None = None,
    keep_lines: bool = False,
    line_opacity: float = 1.0,
) -> None:
    """Colorize ``source`` tile by tile along ``plan``, handing finished RGB rows to ``emit``.

    The plan is made once per image by the caller (``TileSettings.plan``) and passed down, so
    what runs, what is reported and what ``--save-tiles`` draws are the same grid. ``pad_value``
    None pads by mirroring, an int with that constant (``TileSettings.pad_value``).

    Rows are uint8, or float32 in the model's output range with ``as_uint8=False`` (used to
    check tiling against whole-image inference without 8-bit rounding in the way).

    ``planes`` appends conditioning planes (colour hints) to each tile, cut with exactly the
    tile's own rows, columns and padding, so they never exist image-sized. ``keep_lines``
    multiplies each output tile by the drawing's lightness under it before blending: the
    product is pointwise, so blending it equals multiplying the blended image, and it streams.
    ``line_opacity``: the line layer's (see :func:`batchcolor.colorize.guidance.keep_lines`).
    """
    height, width, _ = source.shape
    card = engine.card
    if plan.shape != (height, width):
        raise ValueError(f"a tile plan for {plan.shape[1]}x{plan.shape[0]} given an image of {width}x{height}")
    merger = BandMerger(plan, card.output_channels, card.output_range, emit, as_uint8)
    done = merger.add
    pad = pad_value
    tile_rows, tile_cols = plan.tile_shape
    col_index = [reflect_indices(o, o + tile_cols, width) for o in plan.cols.origins]
    col_fill = [fill_mask(o, o + tile_cols, width) for o in plan.cols.origins]
    lo = card.output_range[0]
    for k, origin in enumerate(plan.rows.origins):
        if k >= rows_in_flight:
            _wait_row(merger, engine, k - rows_in_flight, poll_seconds)
            merger.flush_through(k - rows_in_flight)
        row_index = reflect_indices(origin, origin + tile_rows, height)
        row_fill = fill_mask(origin, origin + tile_rows, height) if pad is not None else None
        band = source.take_rows(row_index)
        if pad is not None and not _inside(origin, tile_rows, height):
            band = np.array(band, copy=True)  # never paint padding into the caller's image
            band[row_fill] = pad
        merger.open_row(k)
        for j, cols in enumerate(col_index):
            o = plan.cols.origins[j]
            if _inside(o, tile_cols, width):
                tile = band[:, o : o + tile_cols]  # a view; the engine copies it into its request
            else:
                tile = band[:, cols]
                if pad is not None:
                    tile[:, col_fill[j]] = pad
            done = merger.add
            if keep_lines:
                done = _lines_kept(done, tile, lo, line_opacity)
            if planes is not None:
                extra = planes(row_index, cols, row_fill, col_fill[j] if pad is not None else None)
                tile = np.concatenate([tile, extra], axis=2)
            if observe is not None:
                done = _observed(done, observe, tile)
            engine.submit(tile, done, (k, j))
    for k in range(max(0, plan.rows.count - rows_in_flight), plan.rows.count):
        _wait_row(merger, engine, k, poll_seconds)
    merger.flush_through(plan.rows.count - 1)
    engine.raise_if_failed()


def _inside(origin: int, tile: int, length: int) -> bool:
    return origin >= 0 and origin + tile <= length


def _wait_row(merger: BandMerger, engine: TileModel, k: int, poll_seconds: float) -> None:
    # Poll so a failed request (whose row would never complete) surfaces instead of hanging.
    while not merger.wait_row(k, poll_seconds):
        engine.raise_if_failed()


def lightness(tile: np.ndarray) -> np.ndarray:
    """Th x Tw x 1 float32 in [0, 1]: the drawing's lightness (gray, or BT.601 luma of RGB)."""
    import cv2

    gray = tile[:, :, 0] if tile.shape[2] == 1 else cv2.cvtColor(np.ascontiguousarray(tile[:, :, :3]), cv2.COLOR_RGB2GRAY)
    return (gray.astype(np.float32) * np.float32(1 / 255))[:, :, None]


def _lines_kept(add: Callable, tile: np.ndarray, lo: float, opacity: float = 1.0) -> Callable:
    """The line layer on multiply, in the model's output range: lo + (y - lo) * lightness
    (at ``opacity``: lightness 1 - opacity * (1 - lightness))."""
    light = lightness(tile)
    if opacity != 1.0:
        light = np.float32(1.0) - np.float32(opacity) * (np.float32(1.0) - light)

    def wrapped(key: tuple[int, int], out: np.ndarray) -> None:
        kept = out - np.float32(lo)
        kept *= light
        kept += np.float32(lo)
        add(key, kept)

    return wrapped


def _observed(add: Callable, observe: TileObserver, tile: np.ndarray) -> Callable:
    def wrapped(key: tuple[int, int], out: np.ndarray) -> None:
        observe(key, tile, np.array(out, copy=True))
        add(key, out)

    return wrapped


def colorize_array(
    image: np.ndarray,
    engine: TileModel,
    settings: TileSettings,
    rows_in_flight: int = 2,
    observe: TileObserver | None = None,
    as_uint8: bool = True,
    planes: TilePlanes | None = None,
    keep_lines: bool = False,
    line_opacity: float = 1.0,
) -> np.ndarray:
    """Colorize an H x W x C uint8 array in memory; returns H x W x 3 RGB (see ``as_uint8``)."""
    if image.ndim == 2:
        image = image[:, :, None]
    dtype = np.uint8 if as_uint8 else np.float32
    out = np.empty((image.shape[0], image.shape[1], engine.card.output_channels), dtype)

    def emit(start: int, rows: np.ndarray) -> None:
        out[start : start + rows.shape[0]] = rows

    plan = settings.plan(image.shape[0], image.shape[1], engine.card.stride)
    colorize_source(ArraySource(image), engine, plan, emit, settings.pad_value, rows_in_flight, observe,
                    as_uint8=as_uint8, planes=planes, keep_lines=keep_lines, line_opacity=line_opacity)
    return out
