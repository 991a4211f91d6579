"""How big are the drawn objects? The measure behind ``--scale auto``.

A network trained on objects of about ``card.scale`` px colours an object of another size
worse (texture-less mush when it is much bigger, blobs when much smaller), so ``auto``
resizes each drawing to bring its objects to that size. The image's extent is the wrong
measure: a sheet of nine 256 px drawings is 800 px wide, and a comic page is a page, not a
character. So objects are found as groups of strokes:

1. lines are pixels darker than the paper (< 160 of 255);
2. strokes a few px apart are joined (a small closing), so one drawing with broken or
   detached inner lines is one group, while drawings separated by white space stay apart;
3. groups whose box lies inside a bigger group's box are details of it (an eye inside a
   face, a buckle inside a shoe), not objects of their own;
4. groups whose boxes overlap are pieces of one drawing (an outline broken into pieces by
   thick or sketchy lines: the upper and the sole of a boot), joined into one group;
5. the extent is the ink-weighted median of the remaining groups' longer sides, so a few
   specks or one big frame do not decide it.

A comic page's panel borders make page- or panel-sized groups, and every drawing inside one
would be a detail of that "object". So first, groups drawn mostly of long horizontal and
vertical runs that close cells with a drawing in each, two or more such cells on the page,
are panels (:func:`frame_strokes`): their long runs are not strokes of any object (a
character drawn across a border keeps its own lines). The paper mask leaves them out too.

Pure NumPy + OpenCV on a gray image; big images are measured on a reduced copy.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from batchcolor.drawing.annotations import dimension_lines, leader_strokes
from batchcolor.drawing.components import with_stats

LINE_LEVEL = 160
MEASURE_SIDE = 1024  # measure on at most this many px per side
JOIN_PX = 3  # strokes closer than about twice this (at the measured size) join
MAX_GROUPS = 400
JOIN_INK = 0.05  # overlapping groups join for the scale where the lesser has this share of the other's ink
JOIN_GROWTH = 1.5  # ... and where their common box is at most this much bigger than the bigger one's
FRAME_RUN = 0.15  # a straight run at least this share of the page's longer side may be a border
FRAME_SIDE = 128  # panels are looked for on a copy of this many px a side or a little more
FRAME_CONTENT = 0.5  # a panel's drawing spans at least this share of the panel's width or height
FRAME_SHARE = 0.85  # a group with at least this share of its pixels in such runs may be a panel border
FRAME_BLOCK = 0.02  # ink this thick both ways (of the longer side) is a block, never a border
FRAME_JOIN = 0.03  # pieces of a drawing touching its border this close (of the group's longer side) are one
FRAME_TOUCHED = 0.5  # ... or this share, where drawings touching the borders joined them into one group
FRAME_AROUND = 0.9  # a border spanning this share of the picture both ways frames it, even round one drawing


def object_extent(gray: np.ndarray) -> float | None:
    """Typical longer side, in px of ``gray``, of the drawn objects; None on blank paper."""
    found = _measured(gray)
    return None if found is None else found[3]


def _measured(gray: np.ndarray) -> tuple[np.ndarray, float, bool, float | None] | None:
    """(outermost groups, shrink, panels found, extent), the groups measured again without
    dimension lines and their extension lines (:func:`dimension_lines`) and without leader
    lines where a drawing has labels drawn into it (:func:`leader_strokes`), and then with
    the groups whose boxes overlap joined (:func:`_joined`)."""
    found = _groups(gray)
    if found is None:
        return None
    boxes, shrink, panels, lines = found
    extent = _extent(boxes, shrink)
    if extent is not None:
        dimensions = dimension_lines(lines, extent / shrink)
        if dimensions is not None:  # a technical drawing's sizes: their extension lines reach out from it
            lines = lines & ~(dimensions[0] | dimensions[1])
            again = _group_boxes(lines) if lines.any() else np.zeros((0, 5), np.int64)
            measured = _extent(again, shrink) if len(again) else None
            if measured is not None:
                boxes, extent = again, measured
    if extent is not None:
        leaders = leader_strokes(lines, extent / shrink)
        if leaders is not None:
            # only their parts on the paper: a leader's stroke across the drawing may hold
            # its pieces together, and taken out whole it split a drawing in two
            inside = np.zeros(lines.shape, bool)
            for x, y, bw, bh, _ in _group_boxes(lines & ~leaders):
                inside[y : y + bh, x : x + bw] = True
            again = _group_boxes(lines & ~(leaders & ~inside))
            measured = _extent(again, shrink) if len(again) else None
            if measured is not None:
                boxes, extent = again, measured
    if extent is not None and len(boxes) > 1:
        joined = _joined(boxes, JOIN_INK, JOIN_GROWTH)
        if len(joined) < len(boxes):
            boxes, extent = joined, _extent(joined, shrink) or extent
    return boxes, shrink, panels, extent


def _extent(boxes: np.ndarray, shrink: float) -> float | None:
    sides = np.maximum(boxes[:, 2], boxes[:, 3]).astype(np.float64) - 2 * JOIN_PX
    weights = boxes[:, 4].astype(np.float64)
    keep = sides >= 4
    if not keep.any():
        return None
    return float(_weighted_median(np.maximum(sides[keep], 1.0), weights[keep]) * shrink)


@dataclass(frozen=True)
class DrawnObjects:
    """A drawing's objects as ``--scale auto`` measures them: the typical longer side (None on
    blank paper), the boxes of those big enough to colour alone, largest first, and whether
    the drawing is a page of panels (:func:`frame_strokes`)."""

    extent: float | None
    boxes: list[tuple[int, int, int, int]]
    panels: bool = False


def measure_objects(gray: np.ndarray, min_fraction: float = 0.25) -> DrawnObjects:
    """:func:`object_extent` and :func:`object_boxes` from one pass over the stroke groups:
    they are most of the time of both, and ``run``'s default path needs both, and the extent
    again for the paper mask."""
    found = _measured(gray)
    if found is None:
        return DrawnObjects(None, [])
    boxes, shrink, panels, extent = found
    if extent is None:
        return DrawnObjects(None, [], panels)
    h, w = (gray.shape[0], gray.shape[1])
    out = []
    for x, y, bw, bh, _ in boxes[np.argsort(-(boxes[:, 2] * boxes[:, 3]))]:
        if max(bw, bh) * shrink < min_fraction * extent:
            continue
        x0, y0 = max(0, int((x + JOIN_PX) * shrink)), max(0, int((y + JOIN_PX) * shrink))
        x1, y1 = min(w, int(np.ceil((x + bw - JOIN_PX) * shrink))), min(h, int(np.ceil((y + bh - JOIN_PX) * shrink)))
        if x1 > x0 and y1 > y0:
            out.append((x0, y0, x1, y1))
    if len(out) > 1:  # a piece too slight to set the scale is still coloured with what it overlaps
        rows = _joined(np.array([(x0, y0, x1 - x0, y1 - y0, 0) for x0, y0, x1, y1 in out], np.int64))
        rows = rows[np.argsort(-(rows[:, 2] * rows[:, 3]), kind="stable")]
        out = [(int(x), int(y), int(x + w), int(y + h)) for x, y, w, h, _ in rows]
    return DrawnObjects(extent, out, panels)


def _joined(rows: np.ndarray, min_share: float = 0.0, max_growth: float | None = None) -> np.ndarray:
    """Groups (x, y, w, h, ink rows) whose boxes overlap, joined into one row (their common
    box, their ink summed), again until none overlap; two groups join only where the one with
    less ink has at least ``min_share`` of the other's, and (``max_growth``) where their common
    box's longer side is at most that many times the bigger one's.

    Drawings on a sheet stand apart; groups whose boxes overlap are one drawing whose outline
    broke into pieces (thick or sketchy lines: of 50 XDoG re-drawings of the shoes hold-out,
    28 were coloured in pieces before this join and 7 after). Measured and coloured as objects of their own, each piece
    was cut out and coloured at its own scale, and the crops' mean where they overlap showed
    as rectangles across the drawing; and the pieces' sides, not the drawing's, set its scale.
    For the scale, a label's words or a leader left in a drawing's box are not pieces of it
    (JOIN_INK): joined, they made a product sheet's drawing measure up to 15% bigger than
    the same drawing alone. Nor is a second drawing whose box overlaps this one's at a corner
    (two views of a product drawn overlapping, JOIN_GROWTH): joined, the two measured 1.8x
    one of them and were coloured at half their scale; they are coloured in one crop, at the
    scale measured in it."""
    x0, y0 = rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64)
    box = np.stack([x0, y0, x0 + rows[:, 2], y0 + rows[:, 3]], axis=1)
    group = np.arange(len(rows))
    while True:
        ids, member = np.unique(group, return_inverse=True)
        common = np.array([np.concatenate([box[member == g, :2].min(axis=0), box[member == g, 2:].max(axis=0)])
                           for g in range(len(ids))]).reshape(-1, 4)
        ink = np.bincount(member, weights=rows[:, 4].astype(np.float64), minlength=len(ids))
        apart = ((common[:, None, 0] >= common[None, :, 2]) | (common[None, :, 0] >= common[:, None, 2])
                 | (common[:, None, 1] >= common[None, :, 3]) | (common[None, :, 1] >= common[:, None, 3]))
        slight = np.minimum(ink[:, None], ink[None, :]) < min_share * np.maximum(ink[:, None], ink[None, :])
        linked = ~apart & ~slight
        if max_growth is not None:  # pieces lie within their drawing; two drawings make a bigger box than either
            side = np.maximum(common[:, 2] - common[:, 0], common[:, 3] - common[:, 1])
            both = np.maximum(np.maximum(common[:, None, 2], common[None, :, 2]) - np.minimum(common[:, None, 0], common[None, :, 0]),
                              np.maximum(common[:, None, 3], common[None, :, 3]) - np.minimum(common[:, None, 1], common[None, :, 1]))
            linked &= both <= max_growth * np.maximum(side[:, None], side[None, :])
        if linked.sum() == len(ids):  # (each group is linked to itself only)
            break
        group = _components(linked)[member]
    return np.column_stack([common[:, :2], common[:, 2:] - common[:, :2], ink]).astype(rows.dtype)


def _components(linked: np.ndarray) -> np.ndarray:
    """The connected component of each node of a symmetric boolean adjacency matrix."""
    group = np.arange(len(linked))
    while True:  # each node takes the smallest label among its neighbours, until none changes
        nxt = np.minimum(np.where(linked, group[None, :], len(group)).min(axis=1), group)
        if (nxt == group).all():
            return group
        group = nxt


def object_boxes(gray: np.ndarray, min_fraction: float = 0.25) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) of the drawn objects, in px of ``gray``, largest first.

    Groups smaller than ``min_fraction`` of the typical object (specks, signatures) are left
    out: they are not drawings to colour on their own."""
    return measure_objects(gray, min_fraction).boxes


def _groups(gray: np.ndarray) -> tuple[np.ndarray, float, bool, np.ndarray] | None:
    """Outermost stroke groups as (x, y, w, h, ink) rows at the measured size, the shrink,
    whether panel borders were found (and left out), and the lines they were found on."""
    g = gray[:, :, 0] if gray.ndim == 3 else gray
    h, w = g.shape
    shrink = max(1.0, max(h, w) / MEASURE_SIDE)
    if shrink > 1:
        g = cv2.resize(g, (max(1, round(w / shrink)), max(1, round(h / shrink))), interpolation=cv2.INTER_AREA)
        # thin lines fade when shrunk: a pixel with any ink in it is still a line
        lines = g < 255 - (255 - LINE_LEVEL) / shrink
    else:
        lines = g < LINE_LEVEL
    if not lines.any():
        return None
    frames = frame_strokes(lines)
    if frames is not None:
        lines &= ~frames
        if not lines.any():
            return None
    return _group_boxes(lines), shrink, frames is not None, lines


def _group_boxes(lines: np.ndarray) -> np.ndarray:
    """The outermost groups of ``lines`` joined over JOIN_PX, as (x, y, w, h, ink) rows."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * JOIN_PX + 1, 2 * JOIN_PX + 1))
    joined = cv2.dilate(lines.astype(np.uint8), kernel)
    n, _, stats = with_stats(joined)
    boxes = stats[1:]  # x, y, w, h, area (of the dilated group)
    if len(boxes) > MAX_GROUPS:
        boxes = boxes[np.argsort(-boxes[:, 4])[:MAX_GROUPS]]
    return _outermost(boxes)


def frame_strokes(lines: np.ndarray) -> np.ndarray | None:
    """bool mask of the panel borders among a drawing's ``lines`` (bool), or None.

    A border is a horizontal or vertical run of at least :data:`FRAME_RUN` of the longer side.
    A group of touching lines is a panel (or a grid of them) when at least :data:`FRAME_SHARE`
    of its pixels are such runs and they close cells that hold a drawing of their own (a
    group of lines at least half the cell's width or height, not itself all straight runs);
    a page has panels when two or more cells do, or when the group runs round the whole
    picture (:data:`FRAME_AROUND`). A drawn box, cabinet or phone is straight lines round
    smaller details (knobs, buttons) or round ruled parts (a TV's screen, a fridge's door
    and handle), and one bordered drawing inside a smaller box is as likely a framed object,
    so these stay objects. Only the runs are returned: a character drawn across a border
    keeps its lines.

    Panels are big, so they are looked for on a copy reduced by a whole factor to
    :data:`FRAME_SIDE` px a side or a little more (any ink in a cell is a line): every drawing
    pays that, about 0.3 ms; only a page that has panels has its runs found at full size."""
    h, w = lines.shape
    k = max(h, w) // FRAME_SIDE  # an integer factor: any ink in a k x k cell is a line there
    if k <= 1:
        found = _panel_runs(lines)
        return None if found is None else found & ~_ink_blocks(lines)
    ink = lines[: h // k * k, : w // k * k].astype(np.uint8) * np.uint8(255)
    small = cv2.resize(ink, (w // k, h // k), interpolation=cv2.INTER_AREA) > 0  # (whole factors: OpenCV's fast path)
    found = _panel_runs(small)
    if found is None:
        return None
    near = cv2.dilate(found.astype(np.uint8), np.ones((3, 3), np.uint8))
    near = np.pad(np.repeat(np.repeat(near, k, axis=0), k, axis=1), ((0, h % k), (0, w % k)), mode="edge")
    across, down = _long_runs(lines)
    return (across | down) & near.astype(bool) & ~_ink_blocks(lines)


def _ink_blocks(lines: np.ndarray) -> np.ndarray:
    """Ink thick both ways (:data:`FRAME_BLOCK` of the longer side or more): a caption box or
    a solid black shape near a border. Its rows are long runs too, but it is no border (taken
    for one, half a black caption box was left out of the paper mask and half coloured)."""
    side = max(7, int(FRAME_BLOCK * max(lines.shape)))
    return cv2.morphologyEx(lines.astype(np.uint8), cv2.MORPH_OPEN, np.ones((side, side), np.uint8)).astype(bool)


def _long_runs(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The horizontal and the vertical runs of at least :data:`FRAME_RUN` of the longer side."""
    h, w = lines.shape
    length = max(8, int(FRAME_RUN * max(h, w)))
    u8 = lines.astype(np.uint8)
    return (cv2.morphologyEx(u8, cv2.MORPH_OPEN, np.ones((1, length), np.uint8)).astype(bool),
            cv2.morphologyEx(u8, cv2.MORPH_OPEN, np.ones((length, 1), np.uint8)).astype(bool))


def _panel_runs(lines: np.ndarray) -> np.ndarray | None:
    """:func:`frame_strokes` at the size it is given."""
    across, down = _long_runs(lines)
    if not (across.any() and down.any()):  # most drawings: a panel has both
        return None
    runs = across | down
    n, labels, stats = with_stats(lines)
    straight = np.bincount(labels[runs], minlength=n)
    held = np.zeros(n, np.int64)
    h, w = lines.shape
    around = (stats[:, 2] >= FRAME_AROUND * w) & (stats[:, 3] >= FRAME_AROUND * h)
    around[0] = False
    # a group drawn all in straight runs inside a cell is a box's part (a screen, a door, a
    # handle), not a panel's drawing: a TV or a fridge filling the picture stays an object
    ruled = straight >= FRAME_SHARE * stats[:, 4]
    ruled[0] = True
    for i in range(1, n):
        if ruled[i]:
            held[i] = _holds_drawings(runs, labels, stats, ruled, i)
        elif straight[i] >= FRAME_TOUCHED * stats[i, 4]:
            # borders that a drawing touches or crosses join it into one group: the drawings
            # are then looked for among the group's own lines, its straight runs taken out
            held[i] = _holds_drawings(runs, labels, stats, ruled, i, touching=True)
    # one bordered drawing or a drawn box is an object; a border round the whole picture
    # with a drawing inside is the picture's frame (a single panel, a framed sketch)
    if held.sum() < 2 and not (held[around] > 0).any():
        return None
    return runs & (held > 0)[labels]


def _holds_drawings(runs: np.ndarray, labels: np.ndarray, stats: np.ndarray, ruled: np.ndarray, group: int,
                    touching: bool = False) -> int:
    """How many cells closed by ``group``'s straight runs hold a drawing: another group, not
    itself ``ruled``, inside the cell and spanning at least :data:`FRAME_CONTENT` of the
    cell's width or height (a 300 px bag in a 680 x 500 panel spans 0.6 of its height).

    With ``touching``, the group's own lines less its runs are a drawing too, their pieces
    inside one cell taken together: taking the runs out also takes out the straight edges of
    a drawing that touches its border (a bag's top and bottom), and leaves it in pieces. Such
    a group may as well be a product drawn with straight sides and a curved part (a box with
    a domed lid), so there the drawing must span :data:`FRAME_CONTENT` of the cell's longer
    side: width-or-height took three times as many of the tests' random boxes with circles
    inside for panels."""
    x, y, bw, bh = stats[group, :4]
    mine = labels[y : y + bh, x : x + bw] == group
    walls = (runs[y : y + bh, x : x + bw] & mine).astype(np.uint8)
    count, cell_labels, cells = with_stats(1 - walls, connectivity=4)
    others = stats[(np.arange(len(stats)) != group) & ~ruled]  # (ruled[0]: the background)
    if touching:  # its own lines less its runs, pieces a few px apart joined (not across a wall)
        r = max(1, round(FRAME_JOIN * max(bw, bh)))
        own = cv2.dilate((mine & (walls == 0)).astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)) & (1 - walls)
        _, _, pieces = with_stats(own)
        others = np.concatenate([others, pieces[1:] + np.array([x + r, y + r, -2 * r, -2 * r, 0])])  # (less the joining)
    ox0, oy0 = others[:, 0] - x, others[:, 1] - y
    ox1, oy1 = ox0 + others[:, 2], oy0 + others[:, 3]
    held = 0
    for c in range(1, count):
        cx, cy, cw, ch, area = cells[c]
        if cx == 0 or cy == 0 or cx + cw == bw or cy + ch == bh or area < 0.01 * bw * bh:
            continue  # open to the outside, or a sliver between double lines
        inside = (ox0 >= cx) & (oy0 >= cy) & (ox1 <= cx + cw) & (oy1 <= cy + ch)
        if touching:
            spans = np.maximum(ox1 - ox0, oy1 - oy0)[inside] / max(cw, ch)
        else:
            spans = np.maximum((ox1 - ox0)[inside] / cw, (oy1 - oy0)[inside] / ch)
        held += bool((spans >= FRAME_CONTENT).any())
    return held


def _outermost(boxes: np.ndarray) -> np.ndarray:
    """Drop groups whose box lies inside a larger group's box; their ink counts for it."""
    x0, y0 = boxes[:, 0], boxes[:, 1]
    x1, y1 = x0 + boxes[:, 2], y0 + boxes[:, 3]
    area = boxes[:, 2].astype(np.int64) * boxes[:, 3]
    inside = ((x0[:, None] >= x0[None]) & (y0[:, None] >= y0[None]) & (x1[:, None] <= x1[None])
              & (y1[:, None] <= y1[None]) & (area[:, None] < area[None]))
    np.fill_diagonal(inside, False)
    out = boxes.copy()
    contained = inside.any(axis=1)
    for i in np.nonzero(contained)[0]:
        j = np.nonzero(inside[i])[0]
        out[j[np.argmax(area[j])], 4] += boxes[i, 4]
    return out[~contained]


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2)])
