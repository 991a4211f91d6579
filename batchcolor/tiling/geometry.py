"""Overlap-tile geometry: where tiles go, and which source pixel feeds each tile pixel.

Pure functions and small frozen dataclasses, no I/O and no image data, so the whole layout
of a 20000x20000 sheet costs a few kilobytes and can be property-tested exhaustively.

Terms (per axis; a 2-D grid is the product of two 1-D axes):

* ``tile`` (T): the network's input size, a multiple of the network's total stride ``s``.
* ``overlap`` (O): pixels two neighbouring tiles share. It is split into
  ``margin`` (m) pixels at each tile edge that get zero weight, because a convolutional
  network's output near a tile edge sees padding instead of real context, and a
  ``ramp`` (r = O - 2m) in the middle of the shared strip over which the left tile fades out
  and the right tile fades in (see :mod:`batchcolor.tiling.blending`).
* Tile origins sit on multiples of ``s`` relative to the image origin. A misaligned origin
  shifts the max-pool grid, and the network then sees a different image than its neighbour.
* Context outside the image comes from mirror padding (reflect-101, as in the UNet paper),
  realised by index mapping (:func:`reflect_indices`), never by padding a copy of the image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AxisPlan:
    """Tile layout along one axis of length ``length``."""

    length: int
    tile: int
    stride: int
    margin: int
    origins: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.origins)

    @property
    def canvas_start(self) -> int:
        """First canvas coordinate (<= 0): mirror padding before the image."""
        return self.origins[0]

    @property
    def canvas_stop(self) -> int:
        """One past the last canvas coordinate (>= length): mirror padding after the image."""
        return self.origins[-1] + self.tile

    def shared(self, k: int) -> int:
        """Pixels tile ``k`` shares with tile ``k + 1`` (>= the requested overlap)."""
        return self.origins[k] + self.tile - self.origins[k + 1]


@dataclass(frozen=True)
class TilePlan:
    """A 2-D grid of tiles: the product of a row axis and a column axis."""

    rows: AxisPlan
    cols: AxisPlan

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows.length, self.cols.length

    @property
    def tile_shape(self) -> tuple[int, int]:
        """(rows, columns) of every tile: an axis that fits in one tile gets its own size."""
        return self.rows.tile, self.cols.tile

    @property
    def count(self) -> int:
        return self.rows.count * self.cols.count

    def network_pixels(self) -> int:
        """Pixels pushed through the network for the whole image."""
        return self.count * self.rows.tile * self.cols.tile

    def overhead(self) -> float:
        """Pixels pushed through the network per image pixel (1.0 would be no waste)."""
        h, w = self.shape
        return self.network_pixels() / float(h * w)


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def split_overlap(overlap: int, margin: int | None = None) -> tuple[int, int]:
    """Split ``overlap`` into (margin, ramp) with ``2 * margin + ramp == overlap``.

    The default gives 3/8 of the overlap to each discarded margin and the middle quarter to
    the cross-fade. Measured on random depth-4 UNets (``benchmarks/seams.py``, 512 px tiles),
    context is what matters: at overlap 128 a 3/8 margin gives 54 dB against whole-image
    inference where a 1/4 margin gives 47 dB, and the narrower ramp still leaves the seam
    gradient ratio within 0.3% of 1.
    """
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0, got {overlap}")
    if margin is None:
        margin = overlap * 3 // 8
    if margin < 0 or 2 * margin > overlap:
        raise ValueError(f"margin {margin} does not fit twice into overlap {overlap}")
    return margin, overlap - 2 * margin


def plan_axis(length: int, tile: int, overlap: int, stride: int, margin: int | None = None,
              border: int | None = None) -> AxisPlan:
    """Lay tiles along one axis so that every pixel of ``[0, length)`` has full context.

    The first tile starts ``round_up(border, stride)`` pixels before the image so the image's
    first pixel has at least ``border`` pixels of padded context (``border`` None: the seam
    ``margin``); tiles then advance by the largest stride-aligned step that keeps ``overlap``
    shared pixels; the last tile is pulled back to the smallest aligned origin that still
    gives the image's last pixel ``border`` pixels of context, so no tile is wasted on
    padding alone. An axis that fits in one tile needs no step, whatever the overlap.
    """
    if length < 1:
        raise ValueError(f"image axis length must be >= 1, got {length}")
    if stride < 1 or tile < 1 or tile % stride:
        raise ValueError(f"tile {tile} must be a positive multiple of the model stride {stride}")
    m, _ = split_overlap(overlap, margin)
    b = image_border(overlap, margin, border)
    first = -round_up(b, stride)
    last = max(first, round_up(length + b - tile, stride))
    origins = [first]
    if last != first:
        step = (tile - overlap) // stride * stride
        if step <= 0:
            raise ValueError(
                f"overlap {overlap} leaves no room to advance a {tile}px tile by a multiple of the "
                f"stride {stride}; use a larger tile or a smaller overlap"
            )
        while origins[-1] + step < last:
            origins.append(origins[-1] + step)
        origins.append(last)
    return AxisPlan(length=length, tile=tile, stride=stride, margin=m, origins=tuple(origins))


def image_border(overlap: int, margin: int | None = None, border: int | None = None) -> int:
    """Context given beyond the image's own edges: ``border``, or the seam margin when None.

    The two are different needs. A seam's margin is discarded output that saw padding
    instead of the neighbour's pixels, so it must cover the network's reach. Beyond the
    image's edge there is no neighbour: the padding (paper, for line art) is all the
    context there is, and more of it is only more paper round the drawing. A network trained
    on object-filled frames colours a drawing lost in paper worse (models/HISTORY.md,
    session 15), and every pixel of it costs network time.
    """
    if border is None:
        return split_overlap(overlap, margin)[0]
    if border < 0:
        raise ValueError(f"border must be >= 0, got {border}")
    return border


def plan_tiles(
    height: int, width: int, tile: int | tuple[int, int], overlap: int, stride: int, margin: int | None = None,
    border: int | None = None,
) -> TilePlan:
    """``tile`` is one size for both axes, or (rows, columns)."""
    tile_rows, tile_cols = (tile, tile) if isinstance(tile, int) else tile
    return TilePlan(
        rows=plan_axis(height, tile_rows, overlap, stride, margin, border),
        cols=plan_axis(width, tile_cols, overlap, stride, margin, border),
    )


# Smaller multi-tile sizes run on the engine's dynamic model, not its static full-size one,
# and that held 83-108 MB more at the peak for a 2-6% speed-up on 1200 x 1600 and 2048 x
# 6000 drawings (session 33); a 1000 px axis saves 15% and ran 1.29-1.33x faster at +13-17 MB.
BALANCE_MIN_SAVING = 0.1


def fit_axis(length: int, max_tile: int, overlap: int, stride: int, margin: int | None = None,
             border: int | None = None) -> int:
    """The tile size along one axis: the card's tile, or less where fewer pixels do.

    A 300 px drawing in a 640 px tile is mostly padding: wasted work, and a network trained
    on object-filled frames colours differently when its receptive field sees a sea of
    padding (measured: -3 dB on the shoes hold-out). So an axis that fits in one tile with
    its border context gets the smallest stride-aligned size that holds it, whatever the
    other axis needs: a 300 x 500 drawing runs as one 336 x 544 tile, not 544 x 544 (18%
    less network work on drawings of 256-512 px a side), and a 300 px tall banner as a row
    of 336 x 768 tiles. An axis that needs several tiles gets the smallest size at which as
    many still cover it, where that saves BALANCE_MIN_SAVING (a 1000 px axis: two tiles of
    656 px, not 768).
    """
    b = image_border(overlap, margin, border)
    one = round_up(length + 2 * round_up(b, stride), stride)
    if one <= max_tile:
        return one
    # An axis that needs n tiles at the card's size gets the smallest size that n tiles still
    # cover, where that saves a tenth of its network pixels or more: a 1000 px axis takes two
    # 656 px tiles, not two 768 px ones (the second pulled back over the first). Seams keep
    # the full overlap; only the overlap sets their quality.
    try:
        count = plan_axis(length, max_tile, overlap, stride, margin, border).count
    except ValueError:
        return max_tile  # no plan at the card's size either: planning says why
    for tile in range(round_up(overlap + stride, stride), max_tile, stride):  # (each steps >= a stride)
        needed = plan_axis(length, tile, overlap, stride, margin, border).count
        if needed <= count:  # the smallest that does; any larger one saves less
            return tile if needed * tile <= (1 - BALANCE_MIN_SAVING) * count * max_tile else max_tile
    return max_tile


def fill_mask(start: int, stop: int, length: int) -> np.ndarray:
    """True where canvas coordinates ``[start, stop)`` fall outside ``[0, length)``."""
    idx = np.arange(start, stop)
    return (idx < 0) | (idx >= length)


def reflect_indices(start: int, stop: int, length: int) -> np.ndarray:
    """Source indices for canvas coordinates ``[start, stop)`` under reflect-101 padding.

    Reflect-101 (``dcb|abcd|cba``) does not repeat the edge pixel, like OpenCV's
    ``BORDER_REFLECT_101`` and NumPy's ``mode='reflect'``; pads longer than the image keep
    bouncing, and a 1-pixel axis maps everything to 0.
    """
    idx = np.arange(start, stop, dtype=np.int64)
    if length == 1:
        return np.zeros_like(idx)
    period = 2 * (length - 1)
    idx = np.mod(idx, period)
    return np.where(idx < length, idx, period - idx)


def seam_positions(axis: AxisPlan) -> list[int]:
    """Image coordinates of the middle of each blend ramp (where one tile hands over)."""
    out = []
    for k in range(axis.count - 1):
        centre = axis.origins[k + 1] + axis.shared(k) // 2
        if 0 < centre < axis.length:
            out.append(centre)
    return out
