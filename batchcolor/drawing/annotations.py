"""Leader lines, dimension lines and extension lines are notes about a drawing, not parts of it.

A product sheet labels its drawing: "LEATHER STRAP" with a thin straight line from the
words to the strap, and "32 cm" under a line with an arrow at each end. To the paper mask
those were strokes like any other: a dimension line with its arrowheads became an object of
its own, coloured as a dark lens under the drawing; a leader ending on the paper beside the
object (a dot where a part would be), a brown wedge; and leaders drawn on into an object
whose outline is too open to fill pulled its hull out to their words.

Two kinds of note are found (:func:`note_strokes`):

* **A loose note** (:func:`_loose_notes`) is a group of strokes that is

  - *a straight line*: at least ``NOTE_LENGTH`` of the drawing's objects (and 24 px) long,
    in a band ``NOTE_WIDTH`` of that size (or ``NOTE_ARROWS`` of its own length) across: a
    line with its arrowheads or its dot, not an outline round something or a curve;
  - *worded*: lettering (a label, a size) lies within two letters (or ``NOTE_WORDS`` of the
    size) of it. A bare straight line is left to the objects' rules: in an edge map of a
    photo it is a shadow's edge, a detached edge of the object or the photo's frame;
  - *out on the paper*: half its ink (and ``NOTE_OUTSIDE`` of the size) lies beyond the
    paper mask's closing distance from the objects the other strokes make.

* **A leader drawn into the object** (:func:`_leaders`) is one group with the object's
  strokes. It is found from its words instead: a straight line that starts within
  ``NOTE_END`` of a row of letters standing on the paper, runs away from them (not along
  them: a row of stitches beside an edge), and is followed pixel by pixel through the
  outline it crosses. Its part out on the paper is the note; inside the object it stays a
  stroke of it. It starts within ``NOTE_END`` of the objects' size or three quarters of a
  letter of its words, whichever is more (leaders ending on the paper measured as objects
  of their own make the size too small). An elbowed leader (a CAD callout: a level landing
  from the words, up to a few letters long, then a slant to the part) is followed round its
  bend: the walk's found points give the two straight pieces, and where the walk stopped
  at the bend, a straight stroke leaving the landing's end at an angle is followed on.

Neither may close a cell on the paper: taking it away must open no enclosed area there (a
television or a box is drawn in straight runs too, and they close cells).

* **A dimension** (:func:`dimension_lines`) is a technical drawing's way of giving a size: a
  dimension line drawn level or upright with arrowheads (or ticks, dots) at its ends and its
  size written beside its middle, between two extension lines drawn from the object's extreme
  points to it (across it and a little past, or up to it). With the object's edge they box in a cell of paper,
  which the paper mask filled and the network coloured as part of the object (and the lines,
  long straight runs closing cells, could pass for a panel's borders). It is found before
  the panels: the line must stand clear of the drawing (paper on both sides), with marked
  ends each met by an extension line; an object's straight edge has its body on one side, and
  a box's bottom edge over its sides or a cabinet's over its feet bare ends. The line and the
  extension lines' parts on the paper are notes; ``render`` makes them paper in what the
  network sees (:func:`batchcolor.drawing.paper.dimension_ink`).

Notes stay in the picture as drawn: outside the objects the output is the drawing's own paper
and ink. The words beside them are lettering (:func:`batchcolor.drawing.lettering.is_label`).

Left: a leader with more than one bend, or whose first piece is not level, keeps the
straight segment from its words to where the walk ended; a dimension drawn at a slant (an
aligned dimension), or with no extension line meeting its ends, is left to the other rules.
"""
from __future__ import annotations

import hashlib
import threading
from typing import Callable

import cv2
import numpy as np

from batchcolor.drawing.components import labelled, with_stats

NOTE_LENGTH = 0.2  # a note's line is at least this share of the objects' typical size
NOTE_MIN_PX = 24
NOTE_WIDTH = 0.06  # ... and lies in a band this share of the size across (and NOTE_MIN_WIDTH px) ...
NOTE_MIN_WIDTH = 6
NOTE_ARROWS = 0.05  # ... or this share of its own length (a long line's arrowheads)
NOTE_WORDS = 0.06  # ... and words within this share of the size of it
NOTE_WORD_HEIGHT = 10  # px: a word run together is at least this high (a short thick dash is not a word)
NOTE_LETTER = 0.02  # lettering is at least this share of the size (and 6 px) high
NOTE_END = 0.03  # a leader starts within this share of the size of its words ...
NOTE_ALONG = 0.35  # ... and runs up to them: at most this share of it lies within a letter's height of them
NOTE_OUTSIDE = 0.1  # ... with half its ink, and this share of the size (and NOTE_MIN_PX), out on the paper
LANDING_SLOPE = 0.17  # an elbowed leader's landing runs level with its words (within 10 degrees)
NOTE_CLEAR = 0.03  # a dimension line has paper this share of the size (and NOTE_MIN_WIDTH px) deep on both sides ...
NOTE_CLEAR_INK = 0.01  # ... holding at most this share of ink

Shape = Callable[[np.ndarray], np.ndarray]


def note_strokes(lines: np.ndarray, size: float, objects_of: Shape, holes_of: Shape, words_of: Shape) -> np.ndarray | None:
    """bool mask of the dimension lines and leader lines among ``lines`` (bool), or None.

    ``size``: the objects' typical size in px. ``objects_of(lines)``: the filled objects
    those strokes make (the paper mask's own rule, hulls included); ``holes_of(lines)``: the
    areas they enclose; ``words_of(lines)``: the loose lettering among them. All three are the
    caller's, so a note is judged by the same shapes the paper mask then draws."""
    labels, stats = _stroke_groups(lines)
    found = [m for m in (_loose_notes(lines, size, labels, stats, objects_of, words_of),
                         _leaders(lines, size, labels, stats, objects_of)) if m is not None]
    if not found:
        return None
    removed = np.logical_or.reduce(found)
    # cells these lines close on the paper: they bound something (a box drawn in straight runs)
    lost = holes_of(lines) & ~holes_of(lines & ~removed) & ~objects_of(lines & ~removed)
    if lost.any():
        pieces, piece_labels = labelled(_grow(removed, 1))
        bounding = np.unique(piece_labels[_grow(lost, 3) & removed])
        removed &= ~np.isin(piece_labels, bounding[bounding > 0])
    return removed if removed.any() else None


_LAST_GROUPS = threading.local()  # .entry: ((shape, digest), labels, stats), the last strokes this thread grouped


def _stroke_groups(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels, stats) of the strokes' 8-connected groups, grown one px first: a thin
    anti-aliased line is broken where it crosses pixel rows, and grown it is one group.
    The last result is kept: the dimensions' test and the notes' test group the same
    strokes, one after the other, whenever a drawing has no dimension lines. Callers do not
    write into what they get."""
    key = (lines.shape, hashlib.blake2b(np.packbits(lines.astype(bool)).tobytes(), digest_size=16).digest())
    last = getattr(_LAST_GROUPS, "entry", None)
    if last is not None and last[0] == key:
        return last[1], last[2]
    _, labels, stats = with_stats(_grow(lines, 1))
    _LAST_GROUPS.entry = (key, labels, stats)
    return labels, stats


def _loose_notes(lines: np.ndarray, size: float, labels: np.ndarray, stats: np.ndarray, objects_of: Shape,
                 words_of: Shape) -> np.ndarray | None:
    """Groups of strokes that are a straight line with its words, out on the paper: dimension
    lines, and leaders that stop short of the drawing."""
    length, width = max(NOTE_MIN_PX, NOTE_LENGTH * size), max(NOTE_MIN_WIDTH, NOTE_WIDTH * size)
    boxed = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) >= 0.7 * length  # (a diagonal's box is shorter)
    marks = _word_marks(stats, NOTE_WORDS * 2 * size, max(6.0, NOTE_LETTER * size))
    if not marks:
        return None
    # words sit a letter or two from their line, however big the drawing is
    letter = float(np.median(stats[marks, cv2.CC_STAT_HEIGHT]))
    near = max(NOTE_MIN_WIDTH, int(round(NOTE_WORDS * size)), int(round(2 * letter)))
    groups = [i for i in np.flatnonzero(boxed[1:]) + 1
              if _boxes_near(stats, i, marks, near) and _line_like(labels, stats[i], i, length, width)]
    if not groups:
        return None
    labels = np.where(lines, labels, 0)
    candidates = np.isin(labels, groups)
    # a note comes with its words: a bare straight line (a shadow's edge, a detached edge of
    # the object, the photo's frame in an edge map) is left to the objects' rules
    words = _grow(words_of(lines & ~candidates), near)
    worded = set(np.unique(labels[words]).tolist())
    groups = [i for i in groups if i in worded]
    if not groups:
        return None
    # out on the paper: beyond the reach of the paper mask's closing, which would join it to an object
    objects = _grow(objects_of(lines & ~candidates), max(2, int(round(0.03 * size))))
    ink = np.bincount(labels.ravel(), minlength=len(stats))
    outside = np.bincount(labels[~objects], minlength=len(stats))
    reach = max(NOTE_MIN_PX, NOTE_OUTSIDE * size)
    notes = [i for i in groups if outside[i] >= max(reach, 0.5 * ink[i])]
    return np.isin(labels, notes) if notes else None


def dimension_lines(lines: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray] | None:
    """bool masks (the dimension lines, their extension lines) among ``lines``, or None.

    A technical drawing's dimension: a straight line drawn level or upright, standing clear
    of the drawing (paper on both sides), with arrowheads (or ticks, dots) at both ends, its
    size written beside its middle, and at each end an extension line that runs from the
    object's extreme point to it (across it and a little past, or up to it). With the object's edge
    the extension lines box in a cell of paper, which the paper mask filled as an object (and
    frame_strokes could take the lines for a panel's border). The dimension line (a band
    across it, arrowheads included) is a note, and so are the extension lines' parts outside
    the object, which the caller finds (left hanging from the object, they pulled a hull out
    along them): the straight runs that meet the line at its ends. A line with bare ends is
    an outline's edge (a box's bottom with its sides ending at it, a cabinet's over its feet),
    and a line with no words beside it, or with ink along one side (an object's straight
    edge), is left to the objects' rules. None of the
    1,200 hold-out masks and object measures changes."""
    lettering: list = []

    def words(upright: bool) -> tuple[np.ndarray, int] | None:
        """The lettering's boxes (read as rows of letters the right way up; swapped for the
        upright pass) and how near a size is written, looked for once."""
        if not lettering:
            _, stats = _stroke_groups(lines)
            marks = _word_marks(stats, NOTE_WORDS * 2 * size, max(6.0, NOTE_LETTER * size))
            if not marks:
                lettering.append(None)
            else:
                boxes = stats[marks, :4].astype(np.int64)
                near = max(NOTE_MIN_WIDTH, int(round(NOTE_WORDS * size)), int(round(2 * float(np.median(boxes[:, 3])))))
                lettering.append((boxes, near))
        if lettering[0] is None:
            return None
        boxes, near = lettering[0]
        return (boxes[:, [1, 0, 3, 2]] if upright else boxes), near

    if words(False) is None:  # (the cheaper test first: most drawings have no lettering)
        return None
    level = _dimension_rows(lines, size, lambda: words(False))
    upright = _dimension_rows(np.ascontiguousarray(lines.T), size, lambda: words(True))
    found = ([level] if level is not None else []) + ([(upright[0].T, upright[1].T)] if upright is not None else [])
    if not found:
        return None
    return np.logical_or.reduce([d for d, _ in found]), np.logical_or.reduce([e for _, e in found])


def _dimension_rows(lines: np.ndarray, size: float,
                    lettering: Callable[[], tuple[np.ndarray, int] | None]) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`dimension_lines` drawn level (the caller transposes for upright ones);
    ``lettering()``: the lettering's boxes (x, y, w, h) in the same orientation, and how near
    to a line its size is written."""
    length = int(round(max(NOTE_MIN_PX, NOTE_LENGTH * size)))
    band = max(3, int(round(NOTE_ARROWS * 0.5 * length)))
    h, w = lines.shape
    if w < length or h < 2 * band + 3:
        return None
    # level runs, a px of drift allowed: each row holds its neighbours' ink too
    thick = cv2.dilate(lines.astype(np.uint8), np.ones((3, 1), np.uint8))
    runs = cv2.morphologyEx(thick, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    if not runs.any():
        return None
    n, _, run_stats = with_stats(runs)
    candidates = [i for i in range(1, n) if run_stats[i, cv2.CC_STAT_HEIGHT] <= 2 * band]
    if not candidates:
        return None
    found_words = lettering()
    if found_words is None:
        return None
    words, near = found_words
    # upright runs that cross a level line: at least the band across, a px of drift allowed
    upright = cv2.morphologyEx(cv2.dilate(lines.astype(np.uint8), np.ones((1, 3), np.uint8)), cv2.MORPH_OPEN,
                               np.ones((2 * band + 7, 1), np.uint8))
    _, legs, leg_stats = with_stats(upright)
    core = cv2.erode(upright, np.ones((1, 3), np.uint8)).astype(bool)  # (the runs' own px: a small arrowhead touches them)
    groups, _ = _stroke_groups(lines)
    end = max(NOTE_MIN_WIDTH, band)
    clear = max(NOTE_MIN_WIDTH, int(round(NOTE_CLEAR * size)))
    found = np.zeros(lines.shape, bool)
    extension = np.zeros(lines.shape, bool)
    for i in candidates:
        x, y, rw, rh = (int(v) for v in run_stats[i, :4])
        yc = y + rh // 2
        top, bottom = max(0, yc - band), min(h, yc + band + 1)
        middle = (x + rw // 5, y - near, 3 * rw // 5, rh + 2 * near)
        if not _near_any(middle, words, 0):
            continue  # no size written beside its middle
        arrows = max(band, int(round(NOTE_ARROWS * rw))) + 2  # an arrowhead's reach off the line
        if not _paper_both_sides(lines, words, x + end + arrows, x + rw - end - arrows, top, bottom, clear):
            continue  # an object's straight edge: its body or texture lies on one side
        meeting = []
        for x_end in (x, x + rw - 1):
            cols = slice(max(0, x_end - end), min(w, x_end + end + 1))
            above = legs[max(0, top - 3) : top, cols]
            below = legs[bottom : bottom + 3, cols]
            # an extension line across the end, or one that stops at it (drawn to the line, not past)
            met = set(np.unique(above[above > 0]).tolist()) | set(np.unique(below[below > 0]).tolist())
            # a line, not an arrowhead's tip: it runs on a letter's length or more
            meeting.append(sorted(leg for leg in met if leg_stats[leg, cv2.CC_STAT_HEIGHT] >= NOTE_MIN_PX + bottom - top))
        if not all(meeting):
            continue  # an end no extension line meets: not a dimension between two of them
        if not all(_end_marked(lines & ~core, x_end, y, y + rh, arrows) for x_end in (x, x + rw - 1)):
            continue  # no arrowheads (or ticks, dots): a table's edge over its legs, with its name below
        meeting = meeting[0] + meeting[1]
        # the line with its arrowheads: its strokes within an arrowhead's reach of it (and
        # within the paper found clear beside it: the extension lines join it to the object)
        own = np.unique(groups[y : y + rh, x : x + rw][lines[y : y + rh, x : x + rw]])
        reach = min(arrows, clear)
        near_line = np.zeros(lines.shape, bool)
        near_line[max(0, yc - reach) : yc + reach + 1, max(0, x - end) : min(w, x + rw + end)] = True
        found |= near_line & np.isin(groups, own[own > 0])
        for leg in meeting:
            extension |= _extension_line(legs == leg, lines, top, bottom, arrows)
    found &= lines
    return (found, extension & lines & ~found) if found.any() else None


def _end_marked(marks: np.ndarray, x_end: int, top: int, bottom: int, reach: int) -> bool:
    """Whether a level line's end at ``x_end`` carries an arrowhead, a tick or a dot: ink off
    the line (its own rows ``top``-``bottom``) both above and below it within ``reach`` px of the end,
    ``marks`` being the strokes without upright runs (the extension line crossing there)."""
    h, w = marks.shape
    cols = slice(max(0, x_end - reach), min(w, x_end + reach + 1))
    return bool(marks[max(0, top - reach) : top, cols].any() and marks[bottom : min(h, bottom + reach), cols].any())


def _paper_both_sides(lines: np.ndarray, words: np.ndarray, x0: int, x1: int, top: int, bottom: int, clear: int) -> bool:
    """Whether the ``clear`` rows above and below a level line between columns ``x0``-``x1``
    are paper (its size's lettering aside): a dimension line stands clear of the object,
    where an object's straight edge has its body, texture or details on one side."""
    h, w = lines.shape
    if x1 - x0 < NOTE_MIN_PX:
        return False
    near = np.zeros((h, w), bool)
    near[max(0, top - clear) : top, x0:x1] = True
    near[bottom : min(h, bottom + clear), x0:x1] = True
    for bx, by, bw, bh in words:
        near[max(0, by - 2) : by + bh + 2, max(0, bx - 2) : bx + bw + 2] = False
    return np.count_nonzero(lines & near) <= NOTE_CLEAR_INK * max(1, np.count_nonzero(near))


def _extension_line(leg: np.ndarray, lines: np.ndarray, top: int, bottom: int, arrows: int) -> np.ndarray:
    """The part of an upright run ``leg`` that is an extension line: from its end past the
    dimension line (rows ``top``-``bottom``) to where it meets the object, the first row going
    the other way with ink on one side of it, beyond the ``arrows`` rows where the arrowheads
    touch it. An object's straight side in line with the extension line (a tote's upright side
    above its corner) goes on from there and stays the object's."""
    rows = np.flatnonzero(leg.any(axis=1))
    out = np.zeros(leg.shape, bool)
    if len(rows) == 0:
        return out
    toward = 1 if rows.max() - bottom > top - rows.min() else -1  # the object lies where the leg runs on
    h, w = leg.shape
    r = bottom if toward == 1 else top - 1
    stop = r
    while 0 <= r < h and leg[r].any():
        cols = np.flatnonzero(leg[r])
        c0, c1 = int(cols.min()), int(cols.max())
        left, right = lines[r, max(0, c0 - 4) : c0].any(), lines[r, c1 + 1 : min(w, c1 + 5)].any()
        # ink on one side: the object's outline turning away; on both, a line across (the
        # other dimension's extension line) that it goes on past
        if left != right and abs(r - (bottom if toward == 1 else top - 1)) > arrows:
            break  # the object's outline meets it here
        stop = r
        r += toward
    near, far = (bottom, stop + 1) if toward == 1 else (stop, top)
    out[near:far] = leg[near:far]
    out[top:bottom] = leg[top:bottom]
    beyond = slice(0, top) if toward == 1 else slice(bottom, h)  # its end past the dimension line
    out[beyond] = leg[beyond]
    return out


def _near_any(box: tuple[int, ...], boxes: np.ndarray, margin: int) -> bool:
    """Whether any of ``boxes`` (x, y, w, h rows) lies within ``margin`` px of ``box``."""
    x, y, w, h = box
    return bool(np.any((boxes[:, 0] + boxes[:, 2] >= x - margin) & (boxes[:, 0] <= x + w + margin)
                       & (boxes[:, 1] + boxes[:, 3] >= y - margin) & (boxes[:, 1] <= y + h + margin)))


def leader_strokes(lines: np.ndarray, size: float) -> np.ndarray | None:
    """bool mask of whole leader lines (inside an object too) among ``lines``, or None: what
    the objects' measure leaves out, so that labels drawn into a drawing do not make it look
    bigger to ``--scale auto`` (three leaders made a sheet's drawing measure 9-15% bigger).
    The paper mask keeps a leader's part inside the object as a stroke (:func:`note_strokes`)."""
    found = _leader_lines(lines, size, *_stroke_groups(lines))
    return None if found is None else np.logical_or.reduce([pixels for pixels, _ in found[0]])


def _leaders(lines: np.ndarray, size: float, labels: np.ndarray, stats: np.ndarray, objects_of: Shape) -> np.ndarray | None:
    """The parts out on the paper of straight lines that start at words and run into a
    drawing: a leader drawn on to the part it names is one group with the drawing's strokes,
    and where the drawing's outline is too open to fill, its hull reached out along it."""
    # (5 px across: what is left of a leader's anti-aliased rims, closed with its words, made
    # a hull out to them; the measure's 3 px, as before, leaves the hold-outs' measures as they were)
    found = _leader_lines(lines, size, labels, stats, width=5)
    if found is None:
        return None
    leaders, boxes, margin = found
    objects = _grow(objects_of(lines & ~np.logical_or.reduce([p for p, _ in leaders])), 2)
    # the words are out on the paper, beside the drawing (marks inside it are its own details)
    cx = boxes[:, 0] + boxes[:, 2] // 2
    cy = boxes[:, 1] + boxes[:, 3] // 2
    on_paper = ~objects[np.clip(cy, 0, lines.shape[0] - 1), np.clip(cx, 0, lines.shape[1] - 1)]
    reach = max(NOTE_MIN_PX, NOTE_OUTSIDE * size)
    kept = []
    for pixels, start in leaders:
        if not (_near_box(start, boxes, margin) & on_paper).any():
            continue
        outside = pixels & ~objects
        if np.count_nonzero(outside) >= reach:
            kept.append(outside)
    return np.logical_or.reduce(kept) if kept else None


def _leader_lines(lines: np.ndarray, size: float, labels: np.ndarray, stats: np.ndarray,
                  width: int = 3) -> tuple[list[tuple[np.ndarray, tuple[int, int]]], np.ndarray, int] | None:
    """Lines followed from rows of letters: ([(their pixels, up to ``width`` px across; their
    start)], the letters' boxes, how near a start is to its words), or None."""
    tallest = NOTE_WORDS * 2 * size
    words = _word_marks(stats, tallest, max(6.0, NOTE_LETTER * size), row=3)  # (a label names a part: a word or more)
    if not words:
        return None
    length = max(NOTE_MIN_PX, NOTE_LENGTH * size)
    boxes = stats[words, :4].astype(np.int64)
    letter = int(round(float(np.median(boxes[:, 3]))))
    # a leader starts a letter's space from its words (the objects' size alone misjudges it
    # where the leaders themselves make the drawing look small: three elbowed leaders ending
    # on the paper measured as objects of their own, and a boot's sheet measured half its size)
    near = max(NOTE_MIN_WIDTH, int(round(NOTE_END * size)), int(round(0.75 * letter)))
    in_words = np.isin(labels, words) & lines
    leaders = []
    landing = max(0.5 * length, 3.0 * letter)  # an elbowed leader's level landing: up to a few letters long
    for segment, trace in _lines_from_words(lines & ~in_words, boxes, near, letter, landing):
        if _length(segment) < 0.5 * length:
            continue
        if _on_the_border(segment, lines.shape):
            continue  # the frame of a photo's edge map, not a leader
        if _share_along(segment, boxes, letter) > NOTE_ALONG:
            continue  # it runs beside the marks, not up to them: a row of stitches along an edge
        pixels = np.logical_or.reduce([_segment_pixels(lines, _longer(piece, near), width)
                                       for piece in _straight_pieces(segment, trace, landing)])
        if np.count_nonzero(pixels & in_words) > 0.3 * max(1, np.count_nonzero(pixels)):
            continue  # a row of letters is straight too
        leaders.append((pixels, segment[:2]))
    # (a start is followed from a letter in from the words)
    return (leaders, boxes, near + max(6, letter)) if leaders else None


def _lines_from_words(strokes: np.ndarray, boxes: np.ndarray, near: int, letter: int,
                      landing: float) -> list[tuple[tuple[int, int, int, int], np.ndarray]]:
    """Lines that start beside words (within ``near`` px of their ``boxes``) and run away from
    them, followed pixel by pixel along the direction they leave in: ((x0, y0) at the words,
    (x1, y1) where the line ends), and the points the walk found on the way. A Hough
    transform found a leader that crosses an outline in pieces, or not at all, depending on
    the other strokes round it.

    A level line that stops shorter than ``landing`` px may be an elbowed leader's landing (a
    CAD callout: a short level stroke from the words, then a slant to the part): where a
    straight stroke leaves its end at an angle, the walk goes on along it (one bend)."""
    h, w = strokes.shape
    ring = np.zeros((h, w), bool)
    for x, y, bw, bh in boxes:
        ring[max(0, y - near) : y + bh + near, max(0, x - near) : x + bw + near] = True
    for x, y, bw, bh in boxes:
        ring[y : y + bh, x : x + bw] = False
    starts, start_labels = labelled(ring & strokes)
    found = []
    radius = max(6, letter)
    for i in range(1, starts):
        ys, xs = np.nonzero(start_labels == i)
        centre_x, centre_y = xs.mean(), ys.mean()
        y0, y1, x0, x1 = (max(0, int(centre_y) - radius), min(h, int(centre_y) + radius + 1),
                          max(0, int(centre_x) - radius), min(w, int(centre_x) + radius + 1))
        py, px = np.nonzero(strokes[y0:y1, x0:x1])
        if len(px) < radius:
            continue
        pts = np.column_stack([px + x0, py + y0]).astype(np.float64)
        mean = pts.mean(axis=0)
        values, vectors = np.linalg.eigh(np.cov((pts - mean).T))
        if values[1] < 16 * max(values[0], 1e-6):
            continue  # not a line there: a corner, a blob
        d = vectors[:, 1]
        owner = boxes[np.argmax(_near_box((int(centre_x), int(centre_y)), boxes, near))]
        away = mean - (owner[:2] + owner[2:] / 2.0)
        if d @ away < 0:
            d = -d
        start = mean
        trace: list = [start]
        end = _walk(strokes, start, d, trace=trace)
        if np.hypot(*(end - start)) < landing and abs(d[1]) < LANDING_SLOPE:  # short and level with its words: a landing
            turn = _bend(strokes, start, end, d, radius)
            if turn is not None:
                bent = [end]
                after = _walk(strokes, end, turn, trace=bent)
                if np.hypot(*(after - end)) >= 2 * radius:
                    trace += bent[1:]
                    end = after
        found.append(((int(round(start[0])), int(round(start[1])), int(round(end[0])), int(round(end[1]))),
                      np.array(trace)))
    return found


def _bend(strokes: np.ndarray, start: np.ndarray, end: np.ndarray, d: np.ndarray, radius: int) -> np.ndarray | None:
    """The direction of a straight stroke leaving a line's ``end`` at 20 degrees or more from
    the line's direction ``d``, or None: the strokes within ``2 * radius`` px of the end and
    more than 2 px off the line so far, if they lie along one line."""
    h, w = strokes.shape
    x0, y0 = max(0, int(end[0]) - 2 * radius), max(0, int(end[1]) - 2 * radius)
    py, px = np.nonzero(strokes[y0 : min(h, int(end[1]) + 2 * radius + 1), x0 : min(w, int(end[0]) + 2 * radius + 1)])
    pts = np.column_stack([px + x0, py + y0]).astype(np.float64)
    off = np.abs((pts - start) @ np.array([-d[1], d[0]]))  # distance from the line so far
    pts = pts[(off > 2) & (np.hypot(*(pts - end).T) <= 2 * radius)]
    if len(pts) < radius:
        return None
    mean = pts.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov((pts - mean).T))
    if values[1] < 16 * max(values[0], 1e-6):
        return None  # not one straight stroke: an outline's curve, a blob
    turn = vectors[:, 1]
    if turn @ (mean - end) < 0:
        turn = -turn
    return turn if abs(float(turn @ d)) < np.cos(np.radians(20)) else None


def _walk(strokes: np.ndarray, start: np.ndarray, d: np.ndarray, gap: int = 3, follow: int = 2,
          trace: list | None = None) -> np.ndarray:
    """The last point along the line from ``start`` in direction ``d`` with stroke pixels under
    it: the point follows the stroke up to ``follow`` px sideways at each step (a direction
    measured on a few px drifts off a long thin line), and ``gap`` px without any end it (an
    anti-aliased line breaks; a crossing stroke does not stop it). ``trace`` gets the points
    it found: the line as drawn, which bends where an elbowed leader does (the direction is
    taken again from the whole way every 16 px, so a walk turns with the line)."""
    h, w = strokes.shape
    normal = np.array([-d[1], d[0]])
    here, last, misses, steps = start.astype(np.float64), start.astype(np.float64), 0, 0
    while misses <= gap:
        here = here + d
        steps += 1
        for offset in sorted(range(-follow, follow + 1), key=abs):
            x, y = here + offset * normal
            xi, yi = int(round(x)), int(round(y))
            if 0 <= xi < w and 0 <= yi < h and strokes[yi, xi]:
                here, last, misses = here + offset * normal, here + offset * normal, 0
                if trace is not None:
                    trace.append(last)
                break
        else:
            misses += 1
            x, y = here
            if not (0 <= x < w and 0 <= y < h):
                break
        if steps % 16 == 0 and np.hypot(*(last - start)) > 16:  # the direction again, from the whole way so far
            d = (last - start) / np.hypot(*(last - start))
            normal = np.array([-d[1], d[0]])
    return last


def _length(segment: tuple[int, int, int, int]) -> float:
    x0, y0, x1, y1 = segment
    return float(np.hypot(x1 - x0, y1 - y0))


def _word_marks(stats: np.ndarray, tallest: float, shortest: float, row: int = 2) -> list[int]:
    """Groups that look like lettering: letter-high marks with another beside them on their
    line (``row`` of them: 2 or 3), or a whole word run together (several times as wide as
    high, densely inked)."""
    h = stats[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    w = stats[:, cv2.CC_STAT_WIDTH].astype(np.float64)
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    small = np.flatnonzero((h[1:] <= tallest) & (h[1:] - 2 >= shortest)) + 1  # (the groups were grown 1 px each way)
    if len(small) == 0:
        return []
    x0 = stats[small, cv2.CC_STAT_LEFT].astype(np.float64)
    x1 = x0 + w[small]
    cy = stats[small, cv2.CC_STAT_TOP] + h[small] / 2.0
    hs = h[small]
    same_line = np.abs(cy[:, None] - cy[None, :]) <= 0.4 * np.minimum(hs[:, None], hs[None, :])
    alike = np.abs(hs[:, None] - hs[None, :]) <= 0.4 * np.maximum(hs[:, None], hs[None, :])
    gap = np.maximum(x0[:, None] - x1[None, :], x0[None, :] - x1[:, None])
    beside = same_line & alike & (gap <= np.minimum(hs[:, None], hs[None, :]))
    np.fill_diagonal(beside, False)
    neighbours = beside.sum(axis=1)
    if row <= 2:
        letters = neighbours >= 1
    else:  # on a row of three or more: two neighbours, or a neighbour that has two
        letters = (neighbours >= 2) | ((neighbours >= 1) & (beside.astype(np.int32) @ (neighbours >= 2).astype(np.int32) > 0))
    word = (w[small] >= 3 * hs) & (area[small] >= 0.5 * w[small] * hs) & (hs - 2 >= NOTE_WORD_HEIGHT)
    return [int(i) for i in small[letters | word]]


def _on_the_border(segment: tuple[int, int, int, int], shape: tuple[int, ...], px: int = 4) -> bool:
    x0, y0, x1, y1 = segment
    h, w = shape[:2]
    return (max(x0, x1) < px or min(x0, x1) >= w - px or max(y0, y1) < px or min(y0, y1) >= h - px)


def _share_along(segment: tuple[int, int, int, int], boxes: np.ndarray, margin: int) -> float:
    """Share of the segment's length within ``margin`` px of any of the ``boxes``."""
    x0, y0, x1, y1 = segment
    n = max(2, int(np.hypot(x1 - x0, y1 - y0)) // 2)
    t = np.linspace(0.0, 1.0, n)[:, None]
    xs, ys = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
    inside = ((xs >= boxes[:, 0] - margin) & (xs <= boxes[:, 0] + boxes[:, 2] + margin)
              & (ys >= boxes[:, 1] - margin) & (ys <= boxes[:, 1] + boxes[:, 3] + margin))
    return float(inside.any(axis=1).mean())


def _near_box(point: tuple[int, int], boxes: np.ndarray, margin: int) -> np.ndarray:
    """Which ``boxes`` (x, y, w, h rows) lie within ``margin`` px of ``point``."""
    x, y = point
    return ((x >= boxes[:, 0] - margin) & (x <= boxes[:, 0] + boxes[:, 2] + margin)
            & (y >= boxes[:, 1] - margin) & (y <= boxes[:, 1] + boxes[:, 3] + margin))


def _straight_pieces(segment: tuple[int, int, int, int], trace: np.ndarray,
                     landing: float) -> list[tuple[int, int, int, int]]:
    """The straight pieces of a walk from words: the segment itself where the walk kept to it
    (within 3 px), or a level landing shorter than ``landing`` px and the straight slant after
    it (an elbowed leader). A walk that curved (along an outline it reached) keeps its
    straight segment, as before: the traced curve is the object's, not the leader's."""
    x0, y0, x1, y1 = segment
    chord = np.array([x1 - x0, y1 - y0], np.float64)
    n = float(np.hypot(*chord))
    if n == 0 or len(trace) < 3:
        return [segment]
    off = np.abs((trace - [x0, y0]) @ (np.array([-chord[1], chord[0]]) / n))
    if off.max() <= 3:
        return [segment]
    # the landing: the walk's first points level with its start (the points are the stroke
    # pixels it found, on the landing or on the slant, however it turned between them)
    level = np.abs(trace[:, 1] - y0) <= 2
    k = len(trace) if level.all() else int(np.argmin(level))
    if k < 2 or k >= len(trace) - 2:
        return [segment]
    bend, tip = trace[k - 1], trace[-1]
    pieces = [(x0, y0, int(round(bend[0])), int(round(bend[1]))),
              (int(round(bend[0])), int(round(bend[1])), int(round(tip[0])), int(round(tip[1])))]
    if _length(pieces[0]) < landing and _within(trace[k:], pieces[1], 3):
        return pieces
    return [segment]


def _within(points: np.ndarray, segment: tuple[int, int, int, int], px: float) -> bool:
    """Whether ``points`` lie within ``px`` of the line through ``segment``."""
    x0, y0, x1, y1 = segment
    d = np.array([x1 - x0, y1 - y0], np.float64)
    n = float(np.hypot(*d))
    return n == 0 or bool(np.all(np.abs((points - [x0, y0]) @ (np.array([-d[1], d[0]]) / n)) <= px))


def _longer(segment: tuple[int, int, int, int], px: int) -> tuple[int, int, int, int]:
    """The segment drawn on ``px`` further at each end: it was followed from a point a letter
    in from its words, and it ends where the walk lost it, a few px short of its faint ends."""
    x0, y0, x1, y1 = segment
    n = max(1e-6, float(np.hypot(x1 - x0, y1 - y0)))
    dx, dy = (x1 - x0) / n * px, (y1 - y0) / n * px
    return int(round(x0 - dx)), int(round(y0 - dy)), int(round(x1 + dx)), int(round(y1 + dy))


def _segment_pixels(lines: np.ndarray, segment: tuple[int, int, int, int], width: int = 3) -> np.ndarray:
    """The line pixels a segment covers (its stroke, up to ``width`` px across)."""
    x0, y0, x1, y1 = segment
    canvas = np.zeros(lines.shape, np.uint8)
    cv2.line(canvas, (x0, y0), (x1, y1), 1, width)
    return (canvas > 0) & lines

def _boxes_near(stats: np.ndarray, group: int, others: list[int], margin: int) -> bool:
    """Whether any of the ``others`` groups' boxes lies within ``margin`` px of ``group``'s:
    a cheap first look for a note's words, before the lettering is looked at properly."""
    box = tuple(int(v) for v in stats[group, :4])
    return _near_any(box, stats[[i for i in others if i != group], :4].astype(np.int64), margin)

def _line_like(labels: np.ndarray, stat: np.ndarray, label: int, length: float, width: float) -> bool:
    """Whether a group of strokes lies in a band at most ``width`` px across and ``length`` px
    or more long (its rotated box): a straight line with its arrowheads or its dot, not an
    outline round something or a curve."""
    x, y, w, h = (int(v) for v in stat[:4])
    ys, xs = np.nonzero(labels[y : y + h, x : x + w] == label)
    (_, _), (a, b), _ = cv2.minAreaRect(np.column_stack([xs, ys]).astype(np.float32))
    # a word written in a row is a band too, but inked across its whole height
    short, long = min(a, b), max(a, b)
    return short <= max(width, NOTE_ARROWS * long) and long >= length and (short <= NOTE_MIN_WIDTH or len(xs) <= 0.5 * short * long)

def _grow(mask: np.ndarray, px: int) -> np.ndarray:
    """``mask`` grown by ``px`` each way (by a square beyond 3 px: these are nearness tests,
    and OpenCV grows by a rectangle in two passes, by a disc in one pass per row of it)."""
    shape = cv2.MORPH_RECT if px > 3 else cv2.MORPH_ELLIPSE
    return cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(shape, (2 * px + 1, 2 * px + 1))).astype(bool)


