"""Paper stays paper: where a drawing has no object, the output shows the drawing's own paper.

A network trained on photos of one object filling the frame has never seen wide blank paper,
and it paints it: brown smears under a clutch on a sheet, a shadow under a boot. A colourist
colours inside the outline. So the runtime finds each object's silhouette (its strokes closed
over small gaps, holes filled; the convex hull where the outline is too open to fill) and
lays the model's colour inside it only, with a soft edge of a few pixels. Outside, the output
is the input's own paper (white, cream or a scan's gray).

Pure functions on whole images (the in-memory paths; huge streamed posters keep the model's
output as it is). Which models get it is the card's ``paper`` key (``"keep"`` or ``"model"``),
decided by measurement in ``models/ship.py``.
"""
from __future__ import annotations

import hashlib
from typing import Callable

import cv2
import numpy as np

from batchcolor.drawing.annotations import dimension_lines, note_strokes
from batchcolor.drawing.chroma import restore_where
from batchcolor.drawing.components import labelled, with_stats
from batchcolor.drawing.lettering import SOLID_SHARE, is_balloon, is_label, is_solid_ink
from batchcolor.drawing.objects import frame_strokes

LINE_LEVEL = 200  # darker than this is a stroke
WORK_SIDE = 1024  # silhouettes are found on at most this many px per side
MIN_LETTERED = 24  # px a side: smaller shapes are not looked at as balloons or ink blocks
MAX_LABEL_HEIGHT = 0.15  # shapes up to this share of the objects' size are looked at as labels
BALLOON_COMPANY = 0.25  # a balloon speaks for a drawing: at least this share of the strokes lies outside it
DRAWING_PAPER = 0.3  # a shape holding the page's strokes with at least this share of paper inside is a drawing, however inked
SEAM = 0.02  # slivers of paper up to about twice this share of the objects' size between a hull and its neighbours close
POCKET_MOUTHS = (0.04, 0.06)  # gaps up to about twice these shares of the objects' size hold a pocket of paper in
POCKET_WIDTH = 1.5  # ... if the pocket holds a point this many mouths' half-widths from every stroke
EDGE_CAP = 0.12  # strokes running off the page at most this share of the objects' size apart hold a part between them
EDGE_CAP_DEPTH = 2.0  # ... if that part is at least this many times as deep as the gap between them is wide


def silhouette(gray: np.ndarray, extent: float | None = None) -> np.ndarray:
    """H x W bool: the drawn objects, filled.

    ``extent`` is the objects' typical size in pixels (:func:`batchcolor.drawing.objects.object_extent`);
    gaps up to ~3% of it in an outline are closed before filling."""
    strokes = (gray < LINE_LEVEL).astype(np.uint8)
    if not strokes.any():
        return np.zeros(gray.shape, bool)
    small, shrink = _working_copy(strokes)
    mask = _silhouette_of_strokes(small, (extent or float(max(gray.shape))) * shrink)
    return _full_size(mask, gray.shape) if shrink < 1 else mask


def _working_copy(strokes: np.ndarray) -> tuple[np.ndarray, float]:
    """(the strokes as the masks are found on them, the shrink): a big drawing's on a reduced
    copy of at most WORK_SIDE px a side, where any ink in a cell counts."""
    shrink = min(1.0, WORK_SIDE / max(strokes.shape))
    if shrink >= 1:
        return strokes, 1.0
    h, w = strokes.shape
    small = cv2.resize(strokes * np.uint8(255), (max(1, round(w * shrink)), max(1, round(h * shrink))),
                       interpolation=cv2.INTER_AREA) > 0
    return small.astype(np.uint8), shrink


def _full_size(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)


def dimension_ink(gray: np.ndarray, extent: float | None = None) -> np.ndarray | None:
    """H x W bool: a sheet's dimensions (dimension lines and their extension lines' parts on
    the paper) with the light rims of their strokes, or None where it has none.

    The paper mask leaves them out of the objects, but the network sees the drawing whole:
    two extension lines and a dimension line round a cell of paper beside a shoe had it
    colour that cell, and the shoe's soft edge, as part of the shoe. So ``render`` makes them
    paper in what the network and the masks see, and the drawing's own pixels come back
    outside the objects. (Leaders and loose notes stay in the network's view, as in session
    22: they box nothing in.)"""
    strokes = (gray < LINE_LEVEL).astype(np.uint8)
    if not strokes.any():
        return None
    small, shrink = _working_copy(strokes)
    lines = small.astype(bool)
    size = (extent or float(max(gray.shape))) * shrink
    found = dimension_lines(lines, size)
    if found is None:
        return None
    notes = _dimension_notes(lines, found, size, _closings(size))
    if shrink < 1:
        notes = _full_size(notes, gray.shape)
    # the strokes' anti-aliased rims too (lighter than a stroke), but not the rims of other ink
    others = strokes.astype(bool) & ~notes
    rims = cv2.dilate(notes.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    rims &= ~cv2.dilate(others.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return (notes | rims) & (gray < 255)


def _silhouette_of_strokes(strokes: np.ndarray, size: float) -> np.ndarray:
    lines = strokes.astype(bool)
    closed = _closings(size)  # (the notes' checks close the same strokes more than once)
    dimensions = dimension_lines(lines, size)
    if dimensions is not None:  # (before the panels: a dimension and its extension lines box paper in)
        lines &= ~_dimension_notes(lines, dimensions, size, closed)
    frames = frame_strokes(lines)
    if frames is not None:  # panel borders: what they enclose is paper and drawings, not one object
        lines &= ~frames
    notes = note_strokes(lines, size, lambda s: _filled_objects(s, size, closed), lambda s: _enclosed(s, closed),
                         lambda s: _words(s, size, closed))
    if notes is not None:  # leader and dimension lines: notes about the objects, not parts of them
        lines &= ~notes
    lines = lines | _edge_caps(lines, size, closed)
    objects = _filled_objects(lines, size, closed)
    return objects | _pockets(objects, objects | closed(lines).astype(bool), size)


def _edge_caps(lines: np.ndarray, size: float, closed_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """bool: the page's edge drawn in, one pixel thick, across a part that runs off the page
    between two strokes close together.

    A drawing cut by the page's edge (a bag's strap running off the top, as photos crop
    them) leaves the part between its two lines open there, and it came out as white paper
    beside the coloured strap on the other side. A colourist reads the edge as the part's
    end. The gap along the edge is at most EDGE_CAP of the objects' size (the paper between
    two straps, wider than a strap, stays open), and the part it closes is a channel at least
    EDGE_CAP_DEPTH times as deep as that gap is wide: the notches between a boot's cleats or
    a sole's bumps, which the page's edge cuts too, are shallow and stay paper. Strokes count
    as reaching the edge within the closing's reach of it (the closing joins them to the cap)."""
    gaps = _edge_gaps(lines, max(1, int(round(0.03 * size))), EDGE_CAP * size)
    out = np.zeros(lines.shape, bool)
    if not gaps:
        return out
    for cap, _, _ in gaps:
        out[cap] = True
    # the paper the caps enclose that the strokes alone did not
    held = _enclosed(lines | out, closed_of) & ~_fill_holes(closed_of(lines)).astype(bool)
    _, labels = labelled(held, 4)
    areas = np.bincount(labels.ravel())
    out[:] = False
    for cap, beside, width in gaps:
        parts = np.unique(labels[beside])
        if areas[parts[parts > 0]].sum() >= EDGE_CAP_DEPTH * width * width:
            out[cap] = True
    return out


def _edge_gaps(lines: np.ndarray, reach: int, widest: float) -> list[tuple[tuple[slice, slice], tuple[slice, slice], int]]:
    """(the cap's pixels, the paper beside it, the gap's width) for each gap of at most
    ``widest`` px between strokes that come within ``reach`` px of the page's edge."""
    found = []
    for axis in (0, 1):  # 0: the top and bottom edges, 1: the left and right ones
        n = lines.shape[axis]
        for near, edge, beside in ((slice(0, reach), slice(0, 1), slice(0, reach + 2)),
                                   (slice(n - reach, n), slice(n - 1, n), slice(max(0, n - reach - 2), n))):
            hits = lines[near].any(0) if axis == 0 else lines[:, near].any(1)
            for a, b in _gaps(hits):
                if b - a <= widest:
                    along = slice(a, b)
                    cap, by = ((edge, along), (beside, along)) if axis == 0 else ((along, edge), (along, beside))
                    found.append((cap, by, b - a))
    return found


def _gaps(hits: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of False with True on both sides."""
    change = np.flatnonzero(np.diff(hits.astype(np.int8)))
    starts = change[hits[change]] + 1  # a hit, then a miss
    stops = change[~hits[change]] + 1  # a miss, then a hit
    if len(starts) and len(stops) and stops[0] <= starts[0]:
        stops = stops[1:]  # (a miss at the start has no hit before it)
    return list(zip(starts.tolist(), stops.tolist()))


def _dimension_notes(lines: np.ndarray, dimensions: tuple[np.ndarray, np.ndarray], size: float,
                     closed: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The dimension lines and their extension lines' parts on the paper: off the objects the
    other strokes make (grown 2 px)."""
    dimension, extension = dimensions
    objects = cv2.dilate(_filled_objects(lines & ~dimension & ~extension, size, closed).astype(np.uint8),
                         cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))).astype(bool)
    return dimension | (extension & ~objects)


def _closings(size: float) -> Callable[[np.ndarray], np.ndarray]:
    """:func:`_closed` at ``size``, remembered by the strokes' bits for one mask's making."""
    seen: dict[bytes, np.ndarray] = {}

    def closed(lines: np.ndarray) -> np.ndarray:
        key = hashlib.blake2b(np.packbits(lines.astype(bool)).tobytes(), digest_size=16).digest()
        if key not in seen:
            seen[key] = _closed(lines, size)
        return seen[key]

    return closed


def _closed(lines: np.ndarray, size: float) -> np.ndarray:
    """uint8 0/1: the strokes with gaps up to ~3% of ``size`` closed."""
    return _closing(lines, max(1, int(round(0.03 * size))))


def _closing(mask: np.ndarray, k: int) -> np.ndarray:
    """uint8 0/1: ``mask`` closed by a disc of radius ``k`` (gaps up to about 2k px), with
    paper beyond the image's edge (so nothing closes against it)."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    padded = cv2.copyMakeBorder(mask.astype(np.uint8), k + 1, k + 1, k + 1, k + 1, cv2.BORDER_CONSTANT, value=0)
    return cv2.morphologyEx(padded, cv2.MORPH_CLOSE, kernel)[k + 1 : -k - 1, k + 1 : -k - 1]


def _enclosed(lines: np.ndarray, closed_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """bool: the areas the (closed) strokes enclose, the strokes themselves not included."""
    closed = closed_of(lines)
    return (_fill_holes(closed) > 0) & (closed == 0)


def _words(lines: np.ndarray, size: float, closed_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """bool: the loose lettering among the strokes (labels, sizes), as the mask leaves it."""
    closed = closed_of(lines)
    count, labels, stats = with_stats(closed)
    out = np.zeros(lines.shape, bool)
    for i in range(1, count):
        x, y, w, h, _ = stats[i]
        if w * h < 16 or h > MAX_LABEL_HEIGHT * size:
            continue
        box = (slice(y, y + h), slice(x, x + w))
        part = labels[box] == i
        if is_label(part, lines[box].astype(bool)):
            out[box] |= part
    return out


def _filled_objects(lines: np.ndarray, size: float, closed_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """bool: the objects ``lines`` make: closed, holes filled, the hull where too open to fill."""
    strokes = lines.astype(np.uint8)
    if not strokes.any():
        return np.zeros(strokes.shape, bool)
    filled = _fill_holes(closed_of(strokes))
    count, labels, stats = with_stats(filled)
    out = filled.astype(bool)
    patched = np.zeros(out.shape, bool)
    page_ink = int(np.count_nonzero(strokes))
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        if w * h < 16:
            continue
        box = (slice(y, y + h), slice(x, x + w))
        part = (labels[box] == i).astype(np.uint8)
        if h <= MAX_LABEL_HEIGHT * size and is_label(part.astype(bool), strokes[box].astype(bool)):
            out[box] &= part == 0  # words beside the drawing: left as written
            continue
        hull = None
        if w >= MIN_LETTERED and h >= MIN_LETTERED:
            drawn_as_is, hull = _left_as_drawn(part, strokes[box], area, page_ink)
            if drawn_as_is:  # a balloon or a block of ink
                out[box] &= part == 0
                continue
        if area >= 0.6 * w * h:  # its hull is no bigger than its box: filled enough
            continue
        hull = _hull(part) if hull is None else hull
        if area < 0.6 * max(cv2.contourArea(hull), 1.0):  # an outline too open to fill: its hull is the better guess
            patch = np.zeros_like(part)
            cv2.fillConvexPoly(patch, hull, 1)
            out[y : y + h, x : x + w] |= patch.astype(bool)
            patched[y : y + h, x : x + w] |= patch.astype(bool)
    return out | _seams(out, patched, size) if patched.any() else out


def _pockets(objects: np.ndarray, walls: np.ndarray, size: float) -> np.ndarray:
    """bool: paper the objects hold in through a mouth narrower than the pocket is wide.

    An edge map drops an edge here and there. Where the gap is wider than the closing
    reaches, the object's outline no longer encloses its inside: the Michael Kors bag's lower
    half, under its strap, was paper, with its outline round it (a white triangle in a
    brown bag); so were a wallet's front and a sneaker's toe cap. A colourist sees the part
    as closed. A disc of radius r rolled in from the paper cannot pass a gap narrower than
    2r; the paper it cannot reach, where that paper is wider than the gap (a point at least
    POCKET_WIDTH * r from every stroke), is held in. A concavity open as wide as it is deep
    (under a heel's arch, between two handles) and a thin sliver are reached or too narrow,
    and stay paper. Two mouth widths: a wide disc alone misses a small pocket's narrow
    mouth."""
    out = np.zeros(walls.shape, bool)
    if not walls.any():
        return out
    radii = [max(2.0, share * size) for share in POCKET_MOUTHS]
    pad = int(max(radii)) + 2
    free = np.pad(~walls, pad, constant_values=True).astype(np.uint8)
    clearance = cv2.distanceTransform(free, cv2.DIST_L2, 5)
    inside = (slice(pad, -pad), slice(pad, -pad))
    # paper the strokes enclose with no gap is decided already: a balloon, a label's counter
    enclosed = _fill_holes(walls.astype(np.uint8)).astype(bool)
    beside = cv2.dilate(objects.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    for r in radii:
        centres = (clearance >= r).astype(np.uint8)
        cv2.floodFill(centres, None, (0, 0), 2)  # where the disc's centre gets to from outside
        swept = cv2.distanceTransform((centres != 2).astype(np.uint8), cv2.DIST_L2, 5) <= r
        unreached = ((free > 0) & ~swept)[inside] & ~enclosed
        deep = unreached & (clearance[inside] >= POCKET_WIDTH * r)
        if deep.any():
            _, labels = labelled(unreached, 4)
            held = np.intersect1d(labels[deep], labels[beside])  # (a pocket borders an object)
            out |= np.isin(labels, held)
    return out | _strokes_round(out, walls & ~objects) if out.any() else out


def _strokes_round(pockets: np.ndarray, loose: np.ndarray) -> np.ndarray:
    """bool: the pieces of ``loose`` strokes (not in the objects: a line the label rule took
    for a word) that touch a pocket: its outline, object too, so no paper line runs round it."""
    if not loose.any():
        return loose
    _, labels = labelled(loose)
    touching = np.unique(labels[cv2.dilate(pockets.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & loose])
    return np.isin(labels, touching[touching > 0])


def _seams(objects: np.ndarray, patched: np.ndarray, size: float) -> np.ndarray:
    """bool: the thin slivers of paper left between a hull put in for an open outline and the
    objects beside it. An outline broken in two pieces, each too open to fill, gets two hulls,
    and the paper between them ran as a white slash across the drawing (a tote bag drawn with
    thick, broken lines). Slivers up to about 4% of the objects' size wide are closed, next
    to the hulls only."""
    k = max(2, int(round(SEAM * size)))
    # only round the hulls: a sliver closes up to 2k px wide, so all of it lies within 2k of a
    # hull, and the closing there reads the objects up to 2k further (the cut is exact)
    x, y, w, h = cv2.boundingRect(patched.astype(np.uint8))
    m = 4 * k + 2
    rows, cols = slice(max(0, y - m), min(objects.shape[0], y + h + m)), slice(max(0, x - m), min(objects.shape[1], x + w + m))
    found, hulls = objects[rows, cols], patched[rows, cols]
    closed = _closing(found, k).astype(bool)
    near = cv2.dilate(hulls.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (4 * k + 1, 4 * k + 1)))
    out = np.zeros(objects.shape, bool)
    out[rows, cols] = closed & ~found & near.astype(bool)
    return out


def _hull(part: np.ndarray) -> np.ndarray:
    """The convex hull of a 0/1 shape (of its outline: the same hull from far fewer points)."""
    outline, _ = cv2.findContours(part, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return cv2.convexHull(np.concatenate(outline))


def _left_as_drawn(part: np.ndarray, strokes: np.ndarray, area: int, page_ink: int) -> tuple[bool, np.ndarray | None]:
    """Whether a filled shape is one a colourist leaves as drawn (solid ink, or a speech
    balloon), and its hull if that had to be found (the caller needs it too).

    A shape that holds nearly all of the page's strokes is the drawing, not a balloon beside
    one: a handbag whose handles' inner lines or clasp read as a row of letters came out
    wholly uncoloured (6 of 2,000 re-drawn hold-outs). ``page_ink``: the strokes' pixels."""
    shape, ink = part.astype(bool), strokes.astype(bool)
    own = np.count_nonzero(ink & shape)
    whole_drawing = own > (1 - BALLOON_COMPANY) * page_ink
    if own >= SOLID_SHARE * area:  # (solid ink is at least that much ink)
        # ... but the page's whole drawing with paper inside it is an object: a shoe inked
        # heavily (4 px outlines, a solid black sole) read as a block and came out uncoloured
        if whole_drawing and area - own >= DRAWING_PAPER * area:
            return False, None
        return is_solid_ink(shape, ink), None
    if whole_drawing:
        return False, None
    hull = _hull(part)
    return is_balloon(shape, ink, cv2.contourArea(hull)), hull


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """uint8 0/1 mask with every region it encloses set (4-connected background).

    The outside is what a 4-connected flood from a one-pixel frame round the mask reaches:
    the background areas that touch the image's edge, in one pass (a labelling of every
    background area and a lookup took twice as long)."""
    h, w = mask.shape
    framed = cv2.copyMakeBorder((mask == 0).astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=1)
    cv2.floodFill(framed, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 2, flags=4)
    outside = framed[1:-1, 1:-1] == 2
    return (~outside).astype(np.uint8) * (mask.max() > 0)


def paper_weight(gray: np.ndarray, extent: float | None = None, feather: float = 2.0) -> np.ndarray:
    """H x W float32 in [0, 1]: 1 on the objects, falling to 0 over ~``feather`` px outside."""
    inside = silhouette(gray, extent).astype(np.float32)
    if feather <= 0:
        return inside
    grown = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    return np.maximum(inside, cv2.GaussianBlur(grown, (0, 0), feather))


def object_weight(drawing: np.ndarray, extent: float | None = None) -> np.ndarray:
    """:func:`paper_weight` of a model-ready drawing (H x W x C), its objects measured if
    ``extent`` is not given: where the model's colour stands (1) and where the paper (0)."""
    gray = drawing_gray(drawing)
    if extent is None:
        from batchcolor.drawing.objects import object_extent

        extent = object_extent(gray)
    return paper_weight(gray, extent)


def drawing_gray(drawing: np.ndarray) -> np.ndarray:
    """H x W uint8: the gray the masks read (a 1-channel drawing as it is, RGB as luma)."""
    if drawing.ndim == 2:
        return drawing
    if drawing.shape[2] == 1:
        return drawing[:, :, 0]
    return cv2.cvtColor(np.ascontiguousarray(drawing[:, :, :3]), cv2.COLOR_RGB2GRAY)


def opaque_objects(alpha: np.ndarray, drawing: np.ndarray, extent: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The output's alpha for a drawing that came with one, and where the input's own pixels stay.

    Line art drawn on a transparent layer (what drawing apps export) holds its drawing in the
    alpha: the lines opaque, everything else transparent. Carried through unchanged, that alpha
    hid the colour the model laid inside the outlines, and the output looked like the bare
    lines again. So the objects' filled silhouettes (as the paper mask finds them, on the
    drawing composited over white) become opaque, and outside them the input's alpha stands:
    a cut-out keeps its shape, a layer's paper stays transparent.

    Returns ``(alpha, own)``: ``own`` marks the pixels outside the objects that are not opaque,
    where the output must show the input's own colour (an outline's anti-aliased rim is black
    at part coverage; the model's colour mixed with white paper there made a light fringe on
    any dark background the layer is put over)."""
    if extent is None:
        from batchcolor.drawing.objects import object_extent

        extent = object_extent(drawing_gray(drawing))
    inside = silhouette(drawing_gray(drawing), extent).astype(np.uint8)
    # less its outermost pixel: the outline's anti-aliased outer rim, which the silhouette takes
    # in, keeps the layer's own partial cover (made opaque, the model's gray of a half-covered
    # line pixel drew a light dotted ring round the object on a dark background)
    core = cv2.erode(inside, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)), borderType=cv2.BORDER_CONSTANT,
                     borderValue=1).astype(bool)
    return np.where(core, np.uint8(255), alpha), ~core & (alpha < 255)


def keep_paper(rgb: np.ndarray, drawing: np.ndarray, extent: float | None = None, rows: int = 256,
               paper_from: np.ndarray | None = None, weight: np.ndarray | None = None) -> np.ndarray:
    """uint8 RGB with the drawing's own paper wherever there is no object (``rows`` at a time,
    so a big drawing needs no image-sized float buffers). ``paper_from``: the pixels to put
    back there, if not ``drawing``'s (the drawing with its screentone, where the objects were
    found on it without). ``weight``: :func:`object_weight` of ``drawing``, if the caller has it."""
    gray = drawing_gray(drawing)
    if weight is None:
        weight = object_weight(drawing, extent)
    if paper_from is not None and paper_from is not drawing:
        drawing = paper_from
        gray = drawing_gray(drawing)
    colour = drawing.ndim == 3 and drawing.shape[2] == 3
    out = np.empty_like(rgb)
    for top in range(0, rgb.shape[0], rows):
        band = slice(top, top + rows)
        w = weight[band]
        paper = np.ascontiguousarray(drawing[band]) if colour else cv2.cvtColor(np.ascontiguousarray(gray[band]), cv2.COLOR_GRAY2RGB)
        # the model's colour inside, the paper outside: only the soft edge between is mixed
        done = restore_where(rgb[band].copy(), paper, w == 0)
        flat_w, flat_done, flat_paper = w.ravel(), done.reshape(-1, 3), paper.reshape(-1, 3)
        mixed = np.flatnonzero((flat_w > 0) & (flat_w < 1))
        wm = flat_w[mixed][:, None]
        flat_done[mixed] = np.clip(np.rint(np.take(flat_done, mixed, axis=0) * wm + np.take(flat_paper, mixed, axis=0) * (1.0 - wm)), 0, 255)
        out[band] = done
    return out
