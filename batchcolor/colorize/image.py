"""One image, one path: from a file (or decoded pixels) to its colour version.

``run`` (local workers and Dask), ``tile`` (``--save-tiles`` too), ``eval`` and the Python
API all come through here::

    colorize_file(src, dst)        a file (path or bytes) -> a written output
      |- huge PNG/TIFF at 1:1:     rows streamed in (streamread) ---------------.
      '- otherwise:                decode -> prepare (pixels) -> render() --------+-> rows
                                                                                 |
         rows -> streamed encoder (PNG, TIFF: pngstream, tiffstream) or encode ('images')
    colorize_image(decoded)        decoded pixels -> uint8 BGR[A] array (same render())

:func:`render` takes one route per image and plans its tiles once:

* **objects**: ``--scale auto`` on a sheet or page of several drawings colours each one
  alone, at its own scale, with paper around it (:func:`_colorize_objects`);
* **resized**: one drawing brought to the card's training scale and back;
* **1:1**: tiles straight from the image, finished rows streamed out.

Every route ends in :meth:`Guidance.finish <batchcolor.colorize.guidance.Guidance.finish>` (paper kept,
``--color``, hint regions, kept lines): on the whole image, or row by row on the 1:1 route
when no step needs the whole image.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from batchcolor.errors import InputError
from batchcolor.imageio import images, pixels
from batchcolor.inference.engine import Engine
from batchcolor.tiling.geometry import TilePlan
from batchcolor.colorize.guidance import Guidance
from batchcolor.drawing.hints import Hints
from batchcolor.drawing.linework import stroke_width
from batchcolor.drawing.levels import LevelledRows, level_paper, levelled, measure_grid, sample_rows, turned_over
from batchcolor.drawing.shading import shade_layer, shade_mask, without_shade
from batchcolor.drawing.tones import tone_mask, without_tone
from batchcolor.inference.modelcard import ModelCard
from batchcolor.colorize.settings import parse_scale
from batchcolor.imageio.streamread import STREAM_MIN_PIXELS, open_streamed
from batchcolor.tiling.tiler import (ArraySource, RowSource, TileObserver, TileSettings, colorize_array, colorize_source,
                    rows_in_flight_for)

if TYPE_CHECKING:  # (the measuring module imports OpenCV: only where a drawing is measured)
    from batchcolor.drawing.objects import DrawnObjects

RowSink = Callable[[int, np.ndarray], None]


NEGATIVE_NOTE = "light lines on dark paper: coloured as its negative, --levels off to leave it"


@dataclass(frozen=True)
class Written:
    """What :func:`colorize_file` did: the image's size, whether its input was streamed, and
    the tile grid that ran at the image's own size (None when it was resized or coloured
    object by object, which run grids of their own)."""

    height: int
    width: int
    streamed: bool
    plan: TilePlan | None
    negative: bool = False  # light lines on dark paper, turned over before colouring (drawing.levels)


@dataclass(frozen=True)
class Rendered:
    """What :func:`render` did: the tile grid that ran at the image's own size (None when
    resized or coloured object by object) and whether the drawing was a negative."""

    plan: TilePlan | None
    negative: bool = False


def colorize_file(src: Path | bytes, dst: Path, engine: Engine, tiling: TileSettings, scale: str = "none",
                  guide: Guidance = Guidance(), observe: TileObserver | None = None,
                  info: images.ImageInfo | None = None) -> Written:
    """Decode ``src`` (a path or the file's bytes), colour it, write ``dst`` atomically.

    ``info`` is the header probe if the caller has it. Inputs of 16 MP and more whose output
    can be streamed (PNG, TIFF) at 1:1 are decoded band by band, so neither input nor output
    exists whole in memory. Decode errors are :class:`InputError` without the file name: the
    caller adds it.
    """
    suffix = images.output_suffix(dst)
    writer = images.row_writer(suffix)
    info = info or images.probe(src)
    # ``auto`` keeps huge inputs at 1:1 (posters and sheets: their objects are drawn at
    # working size, and resizing would need them whole in memory); an explicit factor does not.
    if info.pixels >= STREAM_MIN_PIXELS and scale in ("none", "auto") and writer is not None:
        channels = engine.card.input_channels
        first = open_streamed(src, channels)
        if first is not None:
            h, w, _ = first.shape
            # the paper measured on the whole drawing first: one more decoding pass
            measured = measure_grid(sample_rows(first), h, w) if guide.levels else None

            def rows() -> RowSource:  # a fresh reading, top to bottom, levelled by that measurement
                source = open_streamed(src, channels)
                if source is None:
                    raise InputError("the image could not be read again")
                return source if measured is None else LevelledRows(source, measured)

            def colour_rows() -> RowSource | None:  # RGB, for the pencil (a colour file only)
                return open_streamed(src, 3) if guide.construction and info.colour else None

            if scale == "auto" and engine.card.scale:  # a page drawn big: coloured on a reduced copy
                written = _colorize_drawn_big(rows, colour_rows, measured, dst, writer, engine, tiling, guide, observe)
                if written is not None:
                    return replace(written, negative=turned_over(measured))
            source = rows()
            plan = tiling.plan(h, w, engine.card.stride)
            _write_rows(dst, writer, w, h, 3,
                        lambda emit: _tiled(source, plan, engine, tiling, guide.streamed(), emit, observe))
            return Written(h, w, True, plan, turned_over(measured))
    gray = pixels.decode_gray(engine.card.input_channels, info.has_alpha)
    look = guide.construction and info.colour  # (found by their colour: decoded in colour even for a gray model)
    decode = (lambda as_gray: images.decode(src, as_gray)) if isinstance(src, Path) else \
        (lambda as_gray: images.decode_bytes(src, as_gray))
    decoded = decode(gray and not look)
    dropped = _without_construction(decoded) if look else None
    if dropped is not None:
        decoded = dropped
    elif look and gray:  # nothing to drop: decoded again as gray, to the pixel what it was without the look
        decoded = decode(True)
    prepared = pixels.prepare(decoded, engine.card.input_channels)
    h, w = prepared.model_input.shape[:2]
    channels = 3 if prepared.alpha is None else 4
    if writer is None:
        out = np.empty((h, w, channels), np.uint8)
        rendered = render(prepared, engine, tiling, scale, guide, _into(out), observe)
        images.atomic_write(dst, images.encode(out, suffix))
    else:
        done: list[Rendered] = []
        _write_rows(dst, writer, w, h, channels,
                    lambda emit: done.append(render(prepared, engine, tiling, scale, guide, emit, observe, bgr=False)))
        rendered = done[0]
    return Written(h, w, False, rendered.plan, rendered.negative)


def colorize_image(decoded: np.ndarray, engine: Engine, tiling: TileSettings, scale: str = "none",
                   observe: TileObserver | None = None, guide: Guidance = Guidance()) -> np.ndarray:
    """OpenCV-decoded pixels in (any depth, gray/BGR/BGRA/palette-expanded), BGR[A] uint8 out.

    >>> from batchcolor.colorize.settings import InferenceSettings, open_engine
    >>> engine, tiling = open_engine(InferenceSettings())
    >>> bgr = colorize_image(cv2.imread("sketch.png", cv2.IMREAD_UNCHANGED), engine, tiling, "auto")
    """
    dropped = _without_construction(decoded) if guide.construction else None
    prepared = pixels.prepare(decoded if dropped is None else dropped, engine.card.input_channels)
    h, w = prepared.model_input.shape[:2]
    out = np.empty((h, w, 3 if prepared.alpha is None else 4), np.uint8)
    render(prepared, engine, tiling, scale, guide, _into(out), observe)
    return out


def _colorize_drawn_big(rows: Callable[[], RowSource], colour_rows: Callable[[], RowSource | None],
                        measured: list | None, dst: Path, writer: Any, engine: Engine, tiling: TileSettings,
                        guide: Guidance, observe: TileObserver | None = None) -> Written | None:
    """A huge drawing whose objects are drawn bigger than the model wants, coloured on a
    reduced copy and finished at full size band by band (:mod:`batchcolor.colorize.reduced`);
    None for a poster of drawings at working size (the 1:1 route). ``rows`` gives a fresh
    reading of the drawing each time: one for the copy, one for the full pixels;
    ``colour_rows`` one in RGB where its pencil is to be looked for (``measured``: its levels)."""
    from batchcolor.colorize import reduced
    from batchcolor.drawing.construction import pencil_lines, pencilled_paper
    from batchcolor.drawing.paper import object_weight

    card = engine.card
    source, pencil = colour_rows(), None
    if source is not None:  # pencil looked for on a colour copy: dropped at full size, where ink crossing it is ink
        h, w, _ = source.shape
        k = reduced.reduction(h * w)
        bgr = np.ascontiguousarray(reduced.reduced_copy(source, k)[:, :, ::-1])
        paper = pencilled_paper(bgr)
        pencil = paper if paper is not None and pencil_lines(bgr, paper) is not None else None

    def full_rows() -> RowSource:
        return rows() if pencil is None else reduced.PencilDropped(colour_rows(), pencil, k, card.input_channels, measured)

    source = full_rows()
    h, w, _ = source.shape
    k = reduced.reduction(h * w)
    small = reduced.reduced_copy(source, k)
    x, _ = _tone_set_aside(level_paper(small) if guide.levels else small)  # (as render sees it)
    drawn = _objects_measured(x, "auto", card)
    if drawn is None or drawn.extent is None:
        return None
    tolerance = float(card.extra.get("scale_tolerance", 1.0))
    if float(card.scale) / (drawn.extent * k) * tolerance >= 1.0:
        return None  # its objects are drawn at working size
    keep_lines = guide.keep_lines or guide.lines_auto  # (enlarged k times or more: --lines auto keeps them)
    colour = np.empty((*small.shape[:2], 3), np.uint8)
    render(pixels.Prepared(small, None), engine, tiling, "auto", replace(guide, keep_lines=False, lines_auto=False),
           _into(colour), observe, bgr=False)
    extent = drawn.extent if x.shape[2] == 1 else None
    weight = object_weight(x, extent) if guide.paper else np.ones(small.shape[:2], np.float32)
    full = full_rows()  # (a second reading)

    def produce(emit: RowSink) -> None:
        for top in range(0, h, reduced.BAND):
            n = min(reduced.BAND, h - top)
            band = full.take_rows(np.arange(top, top + n))
            emit(top, reduced.finish_band(reduced.resampled_rows(colour, top, n, h, w),
                                          reduced.resampled_rows(weight, top, n, h, w), band, keep_lines))

    _write_rows(dst, writer, w, h, 3, produce)
    return Written(h, w, True, None)


def _without_rulings(drawing: np.ndarray) -> np.ndarray:
    """The drawing with the printed lines, squares or dots of its notebook page made paper
    (:mod:`batchcolor.drawing.rulings`); the same array where there are none."""
    from batchcolor.drawing.rulings import ruling_mask, without_rulings

    return without_rulings(drawing, ruling_mask(drawing[:, :, 0] if drawing.shape[2] == 1 else drawing.min(axis=2)))


def _tone_set_aside(drawing: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The drawing as the network and every mask see it, its screentone made paper
    (:mod:`batchcolor.drawing.tones`), and the tone's mask (None: no tone)."""
    tone = tone_mask(drawing[:, :, 0] if drawing.shape[2] == 1 else drawing.min(axis=2))
    return without_tone(drawing, tone), tone


def _darkest(x: np.ndarray) -> np.ndarray:
    """H x W uint8: a model input's darkest channel, where the strokes are read (a coloured
    line is as much a line as a black one)."""
    return x[:, :, 0] if x.shape[2] == 1 else x.min(axis=2)


def _without_dimensions(x: np.ndarray, extent: float | None) -> np.ndarray:
    """``x`` with a sheet's dimensions made paper (:func:`batchcolor.drawing.paper.dimension_ink`):
    what the network and the masks see. The same array where there are none (most drawings)."""
    from batchcolor.drawing.paper import dimension_ink

    gray = _darkest(x)
    notes = dimension_ink(gray, extent)
    if notes is None:
        return x
    x = x.copy()
    x[notes] = 255
    return x


def _without_construction(decoded: np.ndarray) -> np.ndarray | None:
    """A colour drawing with its construction lines dropped (``--construction drop``;
    :mod:`batchcolor.drawing.construction`), or None where it has none (or is gray)."""
    if decoded.ndim != 3 or decoded.shape[2] not in (3, 4):
        return None
    from batchcolor.drawing.construction import construction_mask, drop_construction

    colour = pixels.to_uint8(decoded)
    found = construction_mask(pixels.over_white(colour) if colour.shape[2] == 4 else colour)
    return None if found is None else drop_construction(colour, found)


def render(prepared: pixels.Prepared, engine: Engine, tiling: TileSettings, scale: str, guide: Guidance,
           emit: RowSink, observe: TileObserver | None = None, bgr: bool = True) -> Rendered:
    """Colour model-ready pixels, handing finished BGR[A] rows (RGB[A] with ``bgr=False``) to
    ``emit``; returns the tile plan that ran at the image's size (None: resized or by object)
    and whether the drawing was a negative.

    On the 1:1 route with nothing that needs the whole image, rows leave as the tiles finish:
    the memory is the decoded input plus a few tile-tall bands.
    """
    alpha = prepared.alpha
    # a scan's gray, uneven, grainy paper made white first: the network, the masks, the kept
    # lines and the paper left outside the objects all see the drawing as it was trained on
    drawing, negative = levelled(prepared.model_input) if guide.levels else (prepared.model_input, False)
    if guide.construction:  # a notebook's printed rulings made paper, as the pencil roughs are
        drawing = _without_rulings(drawing)
    # screentone made paper for the network and every mask (drawing.tones); the finishing step
    # puts the drawing's own pixels, tone and all, back outside the objects
    x, tone = _tone_set_aside(drawing)
    # a designer's gray marker shading made paper too, and laid back over the colour on multiply
    gray = _darkest(x)
    shade = shade_mask(gray)
    shading = None if shade is None else shade_layer(gray, shade)
    x = without_shade(x, shade)
    card = engine.card
    h, w = x.shape[:2]

    drawn = _objects_measured(x, scale, card)  # the stroke groups once, for all three uses
    if guide.paper:  # a sheet's dimensions made paper for the network (drawing keeps them)
        x = _without_dimensions(x, drawn.extent if drawn is not None else None)
    boxes = drawn.boxes if drawn is not None else []
    # (on a sheet: its typical drawing's factor, which only --lines auto needs)
    factor = scale_factor(x, scale, card, drawn) if len(boxes) <= 1 or guide.lines_auto else 1.0
    guide = guide.for_enlargement(factor).for_comic_page(tone is not None or (drawn is not None and drawn.panels))
    if guide.lines_auto and not guide.keep_lines:  # (measured only where --lines auto is still open)
        width = stroke_width(_darkest(x))
        guide = guide.for_heavy_ink(None if width is None else width * factor)
    # the paper mask's object size, when its gray is the one measured (a 1-channel drawing)
    extent = drawn.extent if drawn is not None and x.shape[2] == 1 else None
    own = None
    if alpha is not None:  # line art on a transparent layer: its coloured objects made opaque
        from batchcolor.drawing.paper import opaque_objects

        alpha, own = opaque_objects(alpha, x, extent)

    def finished(start: int, rgb: np.ndarray) -> None:
        if alpha is None:
            emit(start, pixels.finish(rgb, None, bgr))
            return
        rows = slice(start, start + rgb.shape[0])
        # outside the objects, where not opaque, the layer's own colour (its lines' rims)
        rgb = np.where(own[rows][:, :, None], prepared.layer[rows], rgb)
        emit(start, pixels.finish(rgb, alpha[rows], bgr))

    if len(boxes) > 1:
        finished(0, guide.finish(_colorize_objects(x, boxes, engine, tiling, guide.without_finishing()), x, card, extent,
                                 drawing, shading))
        return Rendered(None, negative)
    if abs(factor - 1.0) > 1e-3:
        rgb = _colorize_resized(x, factor, engine, tiling, guide.without_finishing(), observe)
        finished(0, guide.finish(rgb, x, card, extent, drawing, shading))
        return Rendered(None, negative)
    plan = tiling.plan(h, w, card.stride)
    if guide.whole_image or shading is not None:
        rgb = np.empty((h, w, 3), np.uint8)
        _tiled(ArraySource(x), plan, engine, tiling, guide.without_finishing(), _into(rgb), observe)
        finished(0, guide.finish(rgb, x, card, extent, drawing, shading))
    else:
        _tiled(ArraySource(x), plan, engine, tiling, guide, finished, observe)
    return Rendered(plan, negative)


def _tiled(source: RowSource, plan: TilePlan, engine: Engine, tiling: TileSettings, guide: Guidance,
           emit: RowSink, observe: TileObserver | None) -> None:
    """The 1:1 route: RGB rows of ``source`` tiled along ``plan``, with the row-by-row
    finishing steps (``--color``'s chroma after the network; kept lines inside the tiler)."""
    height, width, _ = source.shape
    if guide.by_rows:
        plain = emit

        def emit(start: int, rows: np.ndarray) -> None:
            plain(start, guide.tint(rows, engine.card, height, width, start))

    colorize_source(source, engine, plan, emit, tiling.pad_value, rows_in_flight_for(plan, engine.num_requests),
                    observe, planes=guide.planes(engine.card, height, width), keep_lines=guide.keep_lines,
                    line_opacity=guide.line_opacity)


def _into(out: np.ndarray) -> RowSink:
    def emit(start: int, rows: np.ndarray) -> None:
        out[start : start + rows.shape[0]] = rows

    return emit


def _write_rows(dst: Path, writer: Any, width: int, height: int, channels: int,
                produce: Callable[[RowSink], Any]) -> None:
    with images.atomic_output(dst) as tmp, open(tmp, "wb") as fh:
        out = writer(fh, width, height, channels)
        try:
            produce(lambda start, rows: out.write_rows(rows))
            out.close()
        except BaseException:
            out.abort()
            raise


def scale_factor(model_input: np.ndarray, scale: str, card: ModelCard, drawn: DrawnObjects | None = None) -> float:
    """How much to resize before inference so the drawn objects match the training scale.

    ``auto`` measures the objects (groups of strokes, :func:`batchcolor.drawing.objects.object_extent`)
    and brings their typical longer side to the card's ``scale``: a network trained on 128 px
    shoes fills a 2000 px sketch with texture-less mush, and a sheet of nine drawings is
    coloured like each drawing alone. Within the card's ``scale_tolerance`` (the range of
    sizes the model was trained on) the drawing is left alone: resampling costs detail.
    ``drawn``: the objects already measured on this input (:func:`_objects_measured`).
    """
    if scale == "none":
        return 1.0
    if scale == "auto":
        from batchcolor.drawing.objects import object_extent

        # Posters and sheets this big are drawn at working size, and resizing one would need
        # it whole in memory: ``auto`` keeps them 1:1 (and streamed). A factor still applies.
        if not card.scale or model_input.shape[0] * model_input.shape[1] >= STREAM_MIN_PIXELS:
            return 1.0
        if drawn is not None:
            extent = drawn.extent
        else:
            extent = object_extent(model_input.min(axis=2) if model_input.ndim == 3 else model_input)
        if extent is None:
            return 1.0
        factor = float(card.scale) / extent
        tolerance = float(card.extra.get("scale_tolerance", 1.0))
        return 1.0 if 1.0 / tolerance <= factor <= tolerance else factor
    return parse_scale(scale)


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
    rgb = colorize_array(small, engine, tiling, rows_in_flight=rows_in_flight_for(tiling.plan(sh, sw, engine.card.stride), engine.num_requests),
                         observe=observe, planes=guide.planes(engine.card, sh, sw), keep_lines=guide.keep_lines)
    if (sh, sw) != (h, w):
        rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_CUBIC if factor < 1 else cv2.INTER_AREA)
    return rgb


def _objects_measured(x: np.ndarray, scale: str, card: ModelCard) -> DrawnObjects | None:
    """The drawn objects of a model input (H x W x C), where ``--scale auto`` looks at them."""
    from batchcolor.drawing.objects import measure_objects

    if scale != "auto" or not card.scale or x.shape[0] * x.shape[1] >= STREAM_MIN_PIXELS:
        return None
    return measure_objects(_darkest(x))


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


