"""Scanned paper made white: the drawing as the network was trained to see it.

The shipped model learned from edge maps with black lines on pure white. A scan or a phone
photo of a pencil drawing has gray paper (190-240), lighter at one side than the other, with
grain and JPEG noise on it. Fed as it is, the network reads the gray as ink: the whole sheet
comes out one dark, greenish object, and the paper mask takes the paper for strokes. So
before anything else looks at a drawing its paper is levelled, the way a colourist's first
step is to clean the scan:

1. **The paper's light, as a smooth surface.** The image is cut into cells; each cell's bright
   percentile is the paper's level there (lines are thin, so most cells show paper). A
   quadratic surface is fitted to those levels, dropping cells far darker than the fit
   (solid black fills, dense hatching) and refitting: uneven lighting is smooth, a fill is
   not, so a comic's black areas never become paper.
2. **Divided out**, so the paper is one level everywhere and the lines keep their contrast.
3. **Grain removed**: the paper's noise is measured (median absolute deviation, on pixels at
   full resolution: a reduced copy averages grain away) and the white point put 3 noise widths
   below the paper's level, so grain becomes white.
4. **Pencil made ink**: the black point is the median of the lines' cores, so gray pencil
   and faded ink come out as dark as the pen lines the model was trained on (and as the
   lines ``--lines keep`` lays back over the colour). Only a drawing whose paper needed
   levelling gets it: a digital drawing with gray lines on white keeps them gray.

A drawing already on clean white (every digital drawing, the training data) is left as it is:
:func:`measure_levels` says there is nothing to do, and :func:`level_paper` returns the same
array. Measuring and applying are separate so that a huge drawing streamed band by band is
levelled with what was measured on all of it (:func:`apply_levels` takes any run of rows).
Each channel of a colour drawing is levelled on its own (a cream or yellowed sheet becomes
white).

**A negative** (light lines on dark paper: chalk on a blackboard, a blueprint, a drawing made
in a dark-mode app, a scanned film negative) is turned over first, then levelled like any
sheet: its paper comes out white and its lines dark, as the model was trained to see them.
Left as it was, the whole sheet read as ink: no object was found and the output was the
input again, reported as done. :func:`is_negative` decides once, on the luminance of the same
grid, so that every route (in memory, reduced, streamed) turns over the same drawings.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from batchcolor.tiling.tiler import RowSource

CELLS = 24  # about this many cells along the longer side
PAPER_PERCENTILE = 90  # a cell's paper level: most of a cell is paper
OUTLIER = 12.0  # gray levels below the fitted surface at which a cell is not paper (min)
NOISE_WIDTHS = 3.0  # white point: this many noise widths below the paper's level
MIN_PAPER = 96  # paper darker than this is not paper: a photo, or a dark page; left alone
MAX_FALLOFF = 0.5  # paper darkest at least this share of its lightest, or it is a scene, not a page
MIN_PAPER_SHARE = 0.5  # at least this share of the image is paper, or it is not line art to level
MAX_GRAIN = 12.0  # paper grain wider than this (a standard deviation, gray levels) is a photo or a pattern
CLEAN_SHARE = 0.6  # paper this share white in every sixteenth of the image is clean already
UNCHANGED = 253.0  # paper at least this light everywhere, with grain this small: nothing to do
INK_SHARE = 0.6  # darker than this share of the white point is a line's core, for the black point
FAINT_INK_WIDTHS = 6.0  # faint lines' samples: this many noise widths below the white point
FAINT_MAX_GAIN = 8.0  # faint lines' contrast is stretched at most this many times
NOISE_SAMPLES = 128  # the paper is measured on up to this many x this many pixels, spread evenly
NEGATIVE_LINES = (0.001, 0.2)  # a negative's light strokes: at least / at most this share of the sample
NEGATIVE_STEP = 0.25  # a negative's stroke: turned over and levelled, darker than this share below the white point
NEGATIVE_DARK = 0.25  # at most this many dark strokes per light one: toned paper drawn in ink and white chalk is no negative
NEGATIVE_SOLID = 0.5  # at most this share of the light samples with all four neighbours light: strokes, not areas


@dataclass(frozen=True)
class Levels:
    """One channel's paper: its light as a quadratic surface over the image (coordinates
    -1..1 across each axis), and the white and black points once that is divided out."""

    coeffs: tuple[float, ...]
    white: float
    black: float = 0.0
    negative: bool = False  # the channel is turned over (255 - v) before it is levelled

    def at(self, rows: np.ndarray, cols: np.ndarray, height: int, width: int, clip: bool = True) -> np.ndarray:
        """len(rows) x len(cols) float32: the paper's level at those pixels of the image
        (``clip``: within :data:`MIN_PAPER`..255, as it divides)."""
        c0, c1, c2, c3, c4, c5 = self.coeffs
        y, x = _axis(rows.astype(np.float64), height), _axis(cols.astype(np.float64), width)
        # the quadratic of _design, by rows and columns: no N x 6 matrix for an N-pixel grid
        grid = (c0 + c2 * y + c5 * y * y)[:, None] + (c1 + c4 * y)[:, None] * x[None, :] + (c3 * x * x)[None, :]
        return (np.clip(grid, MIN_PAPER, 255.0) if clip else grid).astype(np.float32)

    def surface(self, rows: np.ndarray, height: int, width: int) -> np.ndarray:
        """len(rows) x width float32: the paper's level under image rows ``rows``.

        Evaluated on at most 64 columns and brought up smoothly: the surface has no detail
        to lose, and a band costs one small resize."""
        cols = min(width, 64)
        grid = self.at(rows, np.linspace(0, width - 1, cols), height, width)
        return grid if cols == width else cv2.resize(grid, (width, len(rows)), interpolation=cv2.INTER_LINEAR)


def _axis(index: np.ndarray, n: int) -> np.ndarray:
    return index / max(n - 1, 1) * 2.0 - 1.0


def _design(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)


def measure_levels(sample: np.ndarray, height: int, width: int) -> Levels | None:
    """The paper of one uint8 channel of a ``height`` x ``width`` image, from its pixels at
    :func:`grain_sample`'s grid (``sample``), or None where there is nothing to level: the
    paper is clean white already, or there is no paper (lighter parts darker than
    :data:`MIN_PAPER`, lit more unevenly than :data:`MAX_FALLOFF`, grainier than
    :data:`MAX_GRAIN`, or under :data:`MIN_PAPER_SHARE` of the image).

    An even grid of at most 128 x 128 pixels is enough for both the smooth light and the grain
    (which a reduced copy would average away), costs the same on any image, and is all a
    streamed huge drawing has to gather."""
    if sample.size == 0 or _clean_white(sample):
        return None
    found = _flattened(sample, height, width)
    if found is None:
        return None
    levels, flat, grain, lowest = found
    if lowest >= UNCHANGED and levels.white >= UNCHANGED:
        return None
    return Levels(levels.coeffs, levels.white, _black_point(flat, levels.white, grain))


def _flattened(sample: np.ndarray, height: int, width: int) -> tuple[Levels, np.ndarray, float, float] | None:
    """The paper of a sampled channel that is not clean white: (its light and white point,
    the sample divided by that light, its grain, the light's lowest level), or None where it
    is no paper with lines on it (see :func:`measure_levels`)."""
    rows, cols = grain_sample(height, width)
    levels = Levels(tuple(float(c) for c in _paper_fit(sample, rows, cols, height, width)), 255.0)
    raw = levels.at(np.linspace(0, height - 1, 17), np.linspace(0, width - 1, 17), height, width, clip=False)
    if float(raw.min()) < max(MIN_PAPER, MAX_FALLOFF * float(raw.max())):  # no paper is lit that unevenly
        return None
    flat = sample.astype(np.float32) * (255.0 / levels.at(rows, cols, height, width))
    white, grain = _white_point(flat)
    if grain > MAX_GRAIN or np.count_nonzero(flat >= white) < MIN_PAPER_SHARE * flat.size:
        return None  # a photo, a pattern, a dark page: not paper with lines on it
    return Levels(levels.coeffs, white), flat, grain, float(raw.min())


def _clean_white(sample: np.ndarray) -> bool:
    """Whether the paper is white already, everywhere: most of every one of 4 x 4 blocks of
    the sample is at least :data:`UNCHANGED` (a scan's gray paper has almost none; a
    digital drawing's paper is exactly 255). Most drawings end here, in microseconds."""
    white = sample >= UNCHANGED
    if np.count_nonzero(white) >= 0.95 * sample.size:
        return True
    h, w = sample.shape
    if h < 4 or w < 4:
        return False
    rows, cols = np.array_split(np.arange(h), 4), np.array_split(np.arange(w), 4)
    return all(white[r[0] : r[-1] + 1, c[0] : c[-1] + 1].mean() >= CLEAN_SHARE for r in rows for c in cols)


def grain_sample(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of an even grid of up to :data:`NOISE_SAMPLES` squared pixels."""
    rows = np.unique(np.linspace(0, height - 1, min(height, NOISE_SAMPLES)).astype(np.int64))
    cols = np.unique(np.linspace(0, width - 1, min(width, NOISE_SAMPLES)).astype(np.int64))
    return rows, cols


def _paper_fit(sample: np.ndarray, rows: np.ndarray, cols: np.ndarray, height: int, width: int) -> np.ndarray:
    """Coefficients of the quadratic surface through the paper cells of a sampled channel.

    It starts from the brighter half of the cells (a page may be more than half ink) and
    refits without the cells far below the surface: dark outliers are ink, never light."""
    levels, centres = _cell_levels(sample, rows, cols, height, width)
    a = _design(centres[:, 0], centres[:, 1])
    if len(levels) < 6:  # too few cells for a surface: one level
        return np.array([float(np.max(levels)), 0, 0, 0, 0, 0])
    keep = levels >= np.percentile(levels, 50)
    coeffs = np.array([float(np.median(levels[keep])), 0, 0, 0, 0, 0])
    for _ in range(4):
        if keep.sum() < 6:
            break
        coeffs, *_ = np.linalg.lstsq(a[keep], levels[keep], rcond=None)
        residual = levels - a @ coeffs
        spread = 1.4826 * float(np.median(np.abs(residual[keep])))
        new = residual > -max(OUTLIER, 3.0 * spread)
        if np.array_equal(new, keep):
            break
        keep = new
    return coeffs


def _cell_levels(sample: np.ndarray, rows: np.ndarray, cols: np.ndarray, height: int,
                 width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's bright percentile, and its centre in -1..1 image coordinates."""
    h, w = sample.shape
    cell = max(2, int(np.ceil(max(h, w) / CELLS)))
    ny, nx = max(1, h // cell), max(1, w // cell)
    ch, cw = max(1, h // ny), max(1, w // nx)
    blocks = sample[: ny * ch, : nx * cw].reshape(ny, ch, nx, cw).transpose(0, 2, 1, 3).reshape(ny * nx, ch * cw)
    k = min(blocks.shape[1] - 1, int(blocks.shape[1] * PAPER_PERCENTILE / 100))
    levels = np.partition(blocks, k, axis=1)[:, k].astype(np.float64)
    cy = _axis(rows[: ny * ch].reshape(ny, ch).mean(axis=1), height)
    cx = _axis(cols[: nx * cw].reshape(nx, cw).mean(axis=1), width)
    yy, xx = np.meshgrid(cy, cx, indexing="ij")
    return levels, np.stack([xx.ravel(), yy.ravel()], axis=1)


def _white_point(flat: np.ndarray) -> tuple[float, float]:
    """The level above which a flattened pixel is paper (the paper's median less
    :data:`NOISE_WIDTHS` noise widths), and the noise width (the bright pixels' median
    absolute deviation, scaled to a standard deviation)."""
    bright = flat[flat > 0.75 * 255.0]
    if bright.size == 0:
        return 255.0, 0.0
    paper = float(np.median(bright))
    noise = 1.4826 * float(np.median(np.abs(bright - paper)))
    return float(np.clip(paper - NOISE_WIDTHS * noise, 0.75 * 255.0, 255.0)), noise


def _black_point(flat: np.ndarray, white: float, noise: float = 0.0) -> float:
    """The level below which a flattened pixel is solid ink: the median of the pixels darker
    than :data:`INK_SHARE` of the white point (a line's core), so pencil reads as pen.

    Where fewer than 16 samples are that dark, the lines are faint: soft 1 px lines (chalk,
    an anti-aliased pen) peak at about half their ink. Then the samples clearly off the paper
    (:data:`FAINT_INK_WIDTHS` noise widths, at least :data:`OUTLIER` levels, below the white
    point) give it: their lower quartile (the lines' cores), with the contrast stretched at
    most :data:`FAINT_MAX_GAIN` times. Left at 0, such lines came out
    light gray. None of those either (a blank scan): 0."""
    ink = flat[flat < INK_SHARE * white]
    if ink.size >= 16:
        return float(np.clip(np.median(ink), 0.0, 0.5 * white))
    faint = flat[flat < white - max(OUTLIER, FAINT_INK_WIDTHS * noise)]
    if faint.size < 16:
        return 0.0
    return float(np.clip(np.percentile(faint, 25), 0.0, white - 255.0 / FAINT_MAX_GAIN))


TURNED_OVER = Levels((255.0, 0.0, 0.0, 0.0, 0.0, 0.0), 255.0, 0.0, True)  # a negative with nothing else to level


def apply_levels(rows: np.ndarray, index: np.ndarray, height: int, levels: Levels) -> np.ndarray:
    """uint8 rows (n x W) of one channel, which are image rows ``index`` of an image
    ``height`` tall, levelled."""
    if levels.negative:
        rows = 255 - rows
        if levels == TURNED_OVER:
            return rows
    flat = rows.astype(np.float32) * (255.0 / levels.surface(np.asarray(index), height, rows.shape[1]))
    return np.clip(np.rint((flat - levels.black) * (255.0 / (levels.white - levels.black))), 0, 255).astype(np.uint8)


def level_rows(rows: np.ndarray, index: np.ndarray, height: int, measured: list[Levels | None]) -> np.ndarray:
    """n x W x C uint8 rows levelled channel by channel (a new array; ``rows`` untouched)."""
    out = rows.copy()
    for c, m in enumerate(measured):
        if m is not None:
            out[:, :, c] = apply_levels(rows[:, :, c], index, height, m)
    return out


def measure_grid(grid: np.ndarray, height: int, width: int) -> list[Levels | None] | None:
    """Each channel's paper from the image's pixels at :func:`grain_sample`'s grid
    (rows x cols x C), or None when no channel needs levelling. A negative's channels are
    all turned over (:data:`TURNED_OVER` where that is all they need)."""
    negative = is_negative(grid, height, width)
    if negative:
        grid = 255 - grid
    measured = [measure_levels(np.ascontiguousarray(grid[:, :, c]), height, width) for c in range(grid.shape[2])]
    if negative:
        return [TURNED_OVER if m is None else replace(m, negative=True) for m in measured]
    return None if all(m is None for m in measured) else measured


def is_negative(grid: np.ndarray, height: int, width: int) -> bool:
    """Whether a sampled drawing (rows x cols x C uint8) is light lines on dark paper.

    Five things must hold, each ruling out something else that is mostly dark: the paper
    (the median) is darker than :data:`MIN_PAPER`; turned over, it is paper as
    :func:`measure_levels` knows it (even light, fine grain: not a night photo); the light
    pixels are a small share (:data:`NEGATIVE_LINES`: not a comic page with a black panel,
    whose gutters and balloons are light, nor a blank black image); nothing much darker than
    the paper is drawn beside them (:data:`NEGATIVE_DARK`: an ink drawing on dark toned paper
    with white chalk highlights keeps its ink); and they are strokes (:data:`NEGATIVE_SOLID`:
    a light area's samples have light neighbours, a line's few)."""
    gray = grid[:, :, 0] if grid.shape[2] == 1 else grid.mean(axis=2)
    if 2 * np.count_nonzero(gray < MIN_PAPER) <= gray.size:  # the median is paper-light: most drawings end here
        return False
    # turned over and divided by its paper's light, as a sheet is levelled: a blackboard lit
    # from one side has one paper level, and its strokes and any ink are measured against it
    over = np.clip(np.rint(255.0 - gray), 0, 255).astype(np.uint8)
    if _clean_white(over):
        flat = over.astype(np.float32)
        white, noise = _white_point(flat)
    else:
        found = _flattened(over, height, width)
        if found is None:
            return False
        levels, flat, noise, _ = found
        white = levels.white
    light = flat < (1.0 - NEGATIVE_STEP) * white  # the negative's strokes (a soft 1 px chalk line peaks halfway)
    if not NEGATIVE_LINES[0] <= light.mean() <= NEGATIVE_LINES[1]:
        return False
    paper = white + NOISE_WIDTHS * noise
    dark = flat > paper + max(2 * OUTLIER, NOISE_WIDTHS * noise)  # ink darker than the paper, turned over
    if np.count_nonzero(dark) > NEGATIVE_DARK * np.count_nonzero(light):
        return False
    inner = light[1:-1, 1:-1] & light[:-2, 1:-1] & light[2:, 1:-1] & light[1:-1, :-2] & light[1:-1, 2:]
    return float(inner.sum()) <= NEGATIVE_SOLID * float(light.sum())


def level_paper(drawing: np.ndarray) -> np.ndarray:
    """A uint8 H x W x C drawing (gray or RGB) with its paper made white, channel by channel;
    the same array when no channel needs it."""
    return levelled(drawing)[0]


def levelled(drawing: np.ndarray) -> tuple[np.ndarray, bool]:
    """:func:`level_paper`, and whether the drawing was a negative turned over (the run's log
    says so: a dark photo taken for one is then found, and ``--levels off`` named)."""
    h, w = drawing.shape[:2]
    measured = measure_grid(drawing[np.ix_(*grain_sample(h, w))], h, w)
    if measured is None:
        return drawing, False
    return level_rows(drawing, np.arange(h), h, measured), turned_over(measured)


def turned_over(measured: list[Levels | None] | None) -> bool:
    """Whether :func:`measure_grid`'s answer turns the drawing over (a negative)."""
    return measured is not None and any(m is not None and m.negative for m in measured)


def sample_rows(source: RowSource, band: int = 256) -> np.ndarray:
    """The :func:`grain_sample` grid of a source read top to bottom in bands of ``band``
    rows (a streamed huge drawing: one decoding pass, holding a band at a time).

    The grid is allocated once and filled: small arrays kept alive between the bands'
    big transient ones stop the allocator from giving memory back (measured: +80 MB over
    40,000 rows when each band's sample rows were kept as arrays of their own)."""
    height, width, channels = source.shape
    rows, cols = grain_sample(height, width)
    grid = np.empty((len(rows), len(cols), channels), np.uint8)
    for top in range(0, height, band):
        at = np.flatnonzero((rows >= top) & (rows < top + band))
        block = source.take_rows(np.arange(top, min(height, top + band)))
        if len(at):
            grid[at] = block[rows[at] - top][:, cols]
    return grid


@dataclass(frozen=True)
class LevelledRows:
    """A row source whose rows come out levelled by what was measured on the whole image."""

    source: RowSource
    measured: list[Levels | None]

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.source.shape

    def take_rows(self, index: np.ndarray) -> np.ndarray:
        return level_rows(self.source.take_rows(index), index, self.source.shape[0], self.measured)
