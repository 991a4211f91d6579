"""Printed rulings: the lines, squares and dots of notebook and graph paper, made paper.

Designers sketch in ruled, squared and dot-grid notebooks and scan or photograph the page.
Coloured rulings (light blue lines, a red margin, green squares) were already dropped with the
pencil roughs (:mod:`batchcolor.drawing.construction`), but gray ones were read as strokes: a
dot grid round a bag came out as an orange halo stepped along the dots, gray ruled lines as
brown smears running out of the bag along each line, and a gray graph grid turned the whole bag
dark gray. A colourist would lift the drawing off the page first, so that is done here, before
the network and every mask see it; the rulings go, as the pencil roughs do.

A ruling is printed: marks that repeat at one spacing across the whole page, which a drawing's
strokes never do.

* **Lines** (ruled and squared paper): rows (columns) marked across at least
  :data:`LINE_SPAN` of the page, at least :data:`MIN_REPEATS` of them on one comb (a spacing,
  within :data:`SPACING_SLACK` px, and a phase), and as many as the page holds at that
  spacing (:data:`COVERAGE`). A drawing's own long horizontal stroke is
  kept unless it lies on the comb; a comic page's panel borders are too few and too far
  apart.
* **Askew**: a scanned page is rarely straight, so on a page that is ruled, or marked nearly
  everywhere, rows and columns are each counted along every slope up to :data:`MAX_SKEW`
  degrees, and the one that puts the most lines on a comb is kept (:func:`_along_best_slope`).
* **Dots** (dot-grid paper): small marks (a box of at most :data:`DOT_SIDE` px) whose centres
  sit on one lattice (its columns and rows each a comb, found as ruled lines are), at least
  :data:`MIN_DOTS` of them, :data:`ON_COMB` of all small marks,
  and :data:`COVERAGE` of the lattice's sites on the page (a field of coarse screentone shades
  a region, not the page: :mod:`batchcolor.drawing.tones` prints it back).

Only pixels no darker than the ruling itself are made paper (white; the drawing's paper is
white by now, :mod:`batchcolor.drawing.levels` runs first), so a pen line crossing a ruled line
keeps its ink. Pure functions on a gray image.
"""
from __future__ import annotations

import cv2
import numpy as np

from batchcolor.drawing.components import labelled, with_stats
from batchcolor.drawing.tones import without_tone

MARK_LEVEL = 235  # darker than this is a mark (rulings are often printed lighter than ink)
LINE_SPAN = 0.6  # a ruled line marks at least this share of its row
MIN_REPEATS = 8  # at least this many lines (dots along a row and a column) make a ruling
COVERAGE = 0.5  # a ruling covers the page: at least this share of its lines (lattice sites) are there
SPACING_SLACK = 1.5  # px: a ruling's gaps agree to within this
ON_COMB = 0.5  # share of the small marks that must sit on a dot grid's lattice (a scan's specks are the rest)
DOT_COLUMN = 0.4  # a dot grid's column holds at least this share of the fullest columns' dots
MIN_SPACING = 6  # px: rulings closer than this are a texture or screentone, not paper
DOT_SIDE = 6  # px: a printed dot's box is at most this a side
MIN_DOTS = 40  # fewer dots: no dot grid
DOT_CELLS = 12  # a dot grid has a dot in nearly every one of 12 x 12 cells over the page ...
DOT_CELLS_MARKED = 0.9  # ... this share of them at least
MAX_SKEW = 1.5  # degrees: ruled lines scanned up to this far askew are looked for along their slope
SKEW_SAMPLE = 20_000  # marks counted per slope at most (an even subsample of a big page's): a 12 MP page
# drawn densely all over, with no ruling, took 1.2 s with 200,000 and takes 0.18 s
INK_MARGIN = 40  # a pixel this much darker than the ruling's level is the drawing's ink, kept


def ruling_mask(gray: np.ndarray) -> np.ndarray | None:
    """H x W bool: the printed rulings of a gray drawing (lines either way, or dots), or None
    where it has none."""
    marks = gray < MARK_LEVEL
    if not marks.any():
        return None
    h, w = gray.shape
    marked = marks.view(np.uint8)
    # each row's and column's marked share (OpenCV's sums: 8x NumPy's mean over a bool array)
    ruled_level = _comb(cv2.reduce(marked, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() >= LINE_SPAN * w) is not None or \
        _comb(cv2.reduce(marked, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() >= LINE_SPAN * h) is not None
    everywhere = _marks_everywhere(marks)
    if not (ruled_level or everywhere):  # (most drawings end here)
        return None
    # lines level or scanned a little askew: each way along the slope that rules the most
    rows, cols = _along_best_slope(marks), _along_best_slope(marks.T)
    if rows is not None or cols is not None:
        found = np.zeros(gray.shape, bool)
        if rows is not None:
            found |= rows
        if cols is not None:
            found |= cols.T
    else:
        found = _dot_lattice(marks) if everywhere else None
        if found is None:
            return None
    level = float(np.median(gray[found])) if found.any() else 0.0
    found &= gray >= level - INK_MARGIN  # (a pen line crossing a ruled line keeps its ink)
    return found if found.any() else None


def _comb(full: np.ndarray) -> np.ndarray | None:
    """Indices of the rows (columns) that are ruled, from which rows are ``full`` (marked
    across :data:`LINE_SPAN`; for dots, holding a column of them): the runs of full rows whose
    centres sit on one comb (a spacing and a phase), as many as the page holds. A drawing's
    own long strokes off the comb stay."""
    if np.count_nonzero(full) < MIN_REPEATS:
        return None
    edges = np.flatnonzero(np.diff(np.concatenate([[0], full.view(np.int8), [0]])))
    starts, ends = edges[::2], edges[1::2]  # runs of ruled rows (a line 1-3 px thick)
    if len(starts) < MIN_REPEATS:
        return None
    centres = (starts + ends - 1) / 2.0
    gaps = np.diff(centres)
    gaps = gaps[gaps >= MIN_SPACING]
    if len(gaps) < MIN_REPEATS - 1:
        return None
    # the spacing: the gap most others agree with (a drawn line between two rulings splits one gap)
    agree = np.abs(gaps[:, None] - gaps[None, :]) <= SPACING_SLACK
    best = int(np.argmax(agree.sum(axis=1)))
    typical = float(np.median(gaps[agree[best]]))
    spacing = float(gaps[np.abs(gaps - typical) <= 1.0].mean())  # (17.4 px: gaps of 17 and 18)
    # the phase: the centre that puts most centres on the comb
    steps = (centres[None, :] - centres[:, None]) / spacing
    on = np.abs(steps - np.rint(steps)) * spacing <= SPACING_SLACK
    anchor = int(np.argmax(on.sum(axis=1)))
    if np.count_nonzero(on[anchor]) < max(MIN_REPEATS, COVERAGE * len(full) / spacing):
        return None
    # the comb refitted through its lines, twice (a printed spacing is rarely a whole number
    # of px, and a spacing off by a tenth drifts a px in ten lines)
    k, lines = np.rint(steps[anchor][on[anchor]]), centres[on[anchor]]
    for _ in range(2):
        slope, origin = np.polyfit(k, lines, 1)
        offset = (centres - origin) / slope
        near = np.abs(offset - np.rint(offset)) * slope <= SPACING_SLACK
        k, lines = np.rint(offset[near]), centres[near]
    # the ruled rows: marked across, within a px of the comb (a drawn line's run that merged
    # with a ruled line keeps its other rows, and its ink is kept by the caller's level test)
    index = np.flatnonzero(full)
    offset = (index - origin) / slope
    return index[np.abs(offset - np.rint(offset)) * slope <= 1.0]


def _marks_everywhere(marks: np.ndarray) -> bool:
    """The quick exit of most drawings: a ruling marks nearly every cell of a coarse grid over
    the page, the paper round the drawing included."""
    ch, cw = marks.shape[0] // DOT_CELLS, marks.shape[1] // DOT_CELLS
    if ch == 0 or cw == 0:
        return False
    cells = marks[: ch * DOT_CELLS, : cw * DOT_CELLS].reshape(DOT_CELLS, ch, DOT_CELLS, cw).any(axis=(1, 3))
    return np.count_nonzero(cells) >= DOT_CELLS_MARKED * cells.size


def _along_best_slope(marks: np.ndarray) -> np.ndarray | None:
    """H x W bool: the marks on ruled rows, the rows counted along each slope up to
    :data:`MAX_SKEW` degrees either way in steps of a px across the page (0 among them, on up
    to :data:`SKEW_SAMPLE` of the marks), the slope that puts most lines on a comb kept; None
    where no slope gives a comb. Transposed, the same finds ruled columns."""
    h, w = marks.shape
    ys, xs = np.nonzero(marks)
    step = max(1, len(ys) // SKEW_SAMPLE)
    sy, sx = ys[::step], xs[::step]
    limit = np.tan(np.radians(MAX_SKEW))
    best, best_count = None, 0
    for slope in np.concatenate([[0.0], np.arange(1, int(limit * w) + 1) / w, -np.arange(1, int(limit * w) + 1) / w]):
        index = np.rint(sy - sx * slope).astype(np.int64)
        lo = int(index.min())
        comb = _comb(np.bincount(index - lo) * step >= LINE_SPAN * w)
        if comb is not None and len(comb) > best_count:
            best, best_count = (slope, lo, comb), len(comb)
    if best is None:
        return None
    slope, lo, comb = best
    index = np.rint(ys - xs * slope).astype(np.int64) - lo
    on = np.zeros(max(int(index.max()) + 1, int(comb.max()) + 1), bool)
    on[comb] = True
    ruled = (index >= 0) & on[np.clip(index, 0, len(on) - 1)]
    found = np.zeros(marks.shape, bool)
    found[ys[ruled], xs[ruled]] = True
    return found


def _dot_lattice(marks: np.ndarray) -> np.ndarray | None:
    """The dots of a dot grid: small marks whose centres sit on one lattice, its columns and
    its rows each a comb (:func:`_dot_comb`). The caller has checked :func:`_marks_everywhere`."""
    if labelled(marks)[0] - 1 < MIN_DOTS:
        return None
    count, labels, stats = with_stats(marks.view(np.uint8))
    w, h = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    small = np.flatnonzero((w <= DOT_SIDE) & (h <= DOT_SIDE)) + 1
    if len(small) < MIN_DOTS:
        return None
    cx = np.rint(stats[small, cv2.CC_STAT_LEFT] + (stats[small, cv2.CC_STAT_WIDTH] - 1) / 2.0).astype(np.int64)
    cy = np.rint(stats[small, cv2.CC_STAT_TOP] + (stats[small, cv2.CC_STAT_HEIGHT] - 1) / 2.0).astype(np.int64)
    on = np.ones(len(small), bool)
    sites = 1.0
    for centres, extent in ((cx, marks.shape[1]), (cy, marks.shape[0])):
        lattice, positions = _dot_comb(np.bincount(centres, minlength=extent))
        if lattice is None:
            return None
        on &= lattice[centres]
        sites *= positions
    found = np.count_nonzero(on)
    if found < max(MIN_DOTS, ON_COMB * len(small), COVERAGE * sites):
        return None
    is_dot = np.zeros(count, bool)
    is_dot[small[on]] = True
    return is_dot[labels]


def _dot_comb(counts: np.ndarray) -> tuple[np.ndarray | None, int]:
    """(bool per column (row): within a px of a dot grid's column; how many columns) from how
    many small marks' centres fall in each column. A grid's columns each hold a dot every
    spacing down the page; a drawing's specks are one or two here and there."""
    if not counts.any():
        return None, 0
    top = float(np.percentile(counts[counts > 0], 90))
    comb = _comb(counts >= max(3.0, DOT_COLUMN * top))
    if comb is None:
        return None, 0
    lattice = np.zeros(len(counts), np.uint8)
    lattice[comb] = 1
    positions = int(np.count_nonzero(np.diff(np.concatenate([[0], lattice])) == 1))  # runs: one per column
    return cv2.dilate(lattice[None, :], np.ones((1, 3), np.uint8)).ravel().astype(bool), positions


def without_rulings(drawing: np.ndarray, rulings: np.ndarray | None) -> np.ndarray:
    """The drawing (H x W x C uint8) with its rulings made paper (white), as screentone is;
    itself if none."""
    return without_tone(drawing, rulings)
