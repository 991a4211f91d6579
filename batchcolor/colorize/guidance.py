"""What steers one image besides its pixels: colour hints, ``--color``, kept lines, paper.

A :class:`Guidance` is resolved per file (the run's ``--color`` and ``--lines``, that file's
hint layer, and the finishing steps its model's card asks for) and cut per crop for drawings
coloured object by object. The finishing steps are functions of :mod:`batchcolor.drawing`
(``chroma``: ``--color`` and hint spreading; ``paper``): pointwise ones run row by row on
streamed images, whole-image ones (paper, hint spreading) on images held in memory.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from batchcolor.drawing.chroma import ChromaTarget
from batchcolor.drawing.hints import Hints, PlaneMap, fit_layer, parse_color
from batchcolor.inference.modelcard import HEAVY_INK, HEAVY_INK_OPACITY, LINES_AUTO_ENLARGEMENT, ModelCard
from batchcolor.colorize.settings import InferenceSettings
from batchcolor.tiling.tiler import TilePlanes


@dataclass(frozen=True)
class Guidance:
    """What steers one image besides its pixels: colour hints and the kept line layer."""

    hints: Hints | None = None
    keep_lines: bool = False
    chroma: tuple[int, int, int] | None = None  # --color's hue laid on the object (card: color_transfer)
    regions: bool = False  # local hints' colour spread over the drawing (card: color_transfer, hint_transfer)
    spread: str = "regions"  # how: "regions" (line-bounded areas, hue only) or "distance" (nearest hints, hue and lightness)
    paper: bool = False  # the drawing's own paper outside its objects (card: paper = keep)
    saturation: float = 1.0  # chroma gain of automatic colours (card: saturation; no hints, no --color)
    object_hue: bool = False  # automatic colours: one hue per drawn object (card: automatic_hue; no hints, no --color)
    hint_input: str = "points"  # what the network sees of a hint layer: "points", or "mean" (card: hint_input)
    lines_auto: bool = False  # --lines auto: keep_lines where the colouring is enlarged, or on comic pages (see :meth:`for_enlargement`, :meth:`for_comic_page`)
    levels: bool = True  # --levels auto: a scan's gray, uneven, grainy paper made white first (drawing.levels)
    construction: bool = True  # --construction drop: coloured pencil lines beside black ink made paper (drawing.construction)
    line_opacity: float = 1.0  # how much of the line layer keep_lines lays on (below 1: heavy ink, see :meth:`for_heavy_ink`)
    chroma_target: ChromaTarget | None = None  # automatic colours: one chroma level aimed at per object, in place of the fixed gain (card: chroma_target; with object_hue)

    @property
    def gain(self) -> float:
        """The fixed chroma gain :meth:`tint` applies: ``saturation``, unless each object's
        chroma is aimed at the card's target instead (one hue per object, no ``--saturation``)."""
        return 1.0 if self.object_hue and self.chroma_target is not None else self.saturation

    @property
    def by_rows(self) -> bool:
        """Whether a pointwise finishing step (``--color``'s chroma, saturation) runs on rows."""
        return self.chroma is not None or self.gain != 1.0

    @property
    def whole_image(self) -> bool:
        """Whether a finishing step needs the whole image (regions, paper): not row by row."""
        return self.paper or self.object_hue or (self.regions and self.hints is not None and self.hints.mask is not None)

    def finish(self, rgb: np.ndarray, drawing: np.ndarray, card: ModelCard, extent: float | None = None,
               printed: np.ndarray | None = None, shading: np.ndarray | None = None) -> np.ndarray:
        """The network's RGB (whole image, uint8) finished as a colourist would, in this order:
        paper kept outside the objects, ``--color``'s chroma (or the automatic colours' one hue
        per object and saturation), hint regions, then the line layer on multiply (last, so
        lines stay the drawing's own). ``extent``: the drawing's object size if the caller has
        measured it on the paper mask's gray (else the mask measures it). ``printed``: the
        drawing as it came, where ``drawing`` (what the masks read) had its screentone taken
        out: its pixels are the paper put back, and its lines the ones kept. ``shading``: a
        designer's marker shading alone on white (:mod:`batchcolor.drawing.shading`), laid on
        multiply inside the objects (with kept lines it is in ``printed`` already)."""
        h, w = rgb.shape[:2]
        printed = drawing if printed is None else printed
        # the hint layer fitted to the image, once: the see-through faces and the hint spreading read it
        layer = self._layer_planes(h, w) if self.paper or self.regions else None
        objects = None
        if self.paper:
            from batchcolor.drawing.paper import drawing_gray, keep_paper, object_weight
            from batchcolor.drawing.seethrough import see_through

            objects = object_weight(drawing, extent)
            # a handle's loop the network leaves paper-white: paper, not colour (drawing.seethrough)
            holes = see_through(objects, rgb, drawing_gray(drawing), None if layer is None else layer[:, :, 3] == 255)
            if holes.any():
                objects = np.where(holes, np.float32(0), objects)
            rgb = keep_paper(rgb, drawing, paper_from=printed, weight=objects)
        if self.object_hue:
            from batchcolor.drawing.chroma import one_hue_per_object

            rgb = one_hue_per_object(rgb, objects, self.chroma_target)
        rgb = self.fill_regions(self.tint(rgb, card, h, w), drawing, layer)
        if self.keep_lines:
            rgb = keep_lines(rgb, printed, objects, self.line_opacity)
        elif shading is not None:
            rgb = keep_lines(rgb, shading, objects)
        return rgb

    def for_enlargement(self, factor: float) -> "Guidance":
        """The guidance for a drawing coloured at ``factor`` times its size and brought back:
        with ``--lines auto``, the drawing's own lines are kept once that enlarges the colouring
        LINES_AUTO_ENLARGEMENT times or more (the network's line strokes blur away)."""
        if self.lines_auto and not self.keep_lines and factor * LINES_AUTO_ENLARGEMENT <= 1.0:
            return replace(self, keep_lines=True)
        return self

    def for_heavy_ink(self, width: float | None) -> "Guidance":
        """The guidance for a drawing whose strokes are ``width`` px wide at the scale the
        network colours it: with ``--lines auto``, heavy ink (:data:`HEAVY_INK` px and up) is
        kept at :data:`HEAVY_INK_OPACITY`, so a drawing's dark parts drawn as ink stay dark
        (:mod:`batchcolor.drawing.linework`). Kept whole, the ink costs where the heavy
        strokes mark edges rather than dark parts; at this opacity the re-drawn hold-outs gain
        on both heavy styles (see the card)."""
        if self.lines_auto and not self.keep_lines and width is not None and width >= HEAVY_INK:
            return replace(self, keep_lines=True, line_opacity=HEAVY_INK_OPACITY)
        return self

    def for_comic_page(self, comic: bool) -> "Guidance":
        """The guidance for a page with panels or screentone: with ``--lines auto``, the
        drawing's own lines are kept. On a comic page the ink is the artwork (a colourist
        colours under it), and the page's balloons, lettering and tone are its own pixels
        already; on a product sketch the photos the model learned from have no black lines,
        and keeping them costs 2.0 ; 1.4 dB on the hold-outs, so ``auto`` leaves them off."""
        if comic and self.lines_auto and not self.keep_lines:
            return replace(self, keep_lines=True)
        return self

    def without_finishing(self) -> "Guidance":
        """The same hints for the network, with every finishing step off (done once, later)."""
        return Guidance(self.hints, hint_input=self.hint_input, levels=self.levels, construction=self.construction)

    def streamed(self) -> "Guidance":
        """For images coloured band by band, where no whole-image step runs: a hint layer's
        points go to the network (``hint_input`` "mean" relies on the spreading step), and
        automatic colours keep the network's hue per pixel (an object's mean needs it whole)."""
        return replace(self, hint_input="points", object_hue=False)

    def _layer_planes(self, height: int, width: int) -> np.ndarray | None:
        """H x W x 4 uint8: the hint layer fitted to the image, its points' colour and alpha
        255 where it has a point (None: no layer)."""
        if self.hints is None or self.hints.mask is None:
            return None
        return PlaneMap(fit_layer(self.hints, height, width), height, width).tile(np.arange(height), np.arange(width))

    def fill_regions(self, rgb: np.ndarray, drawing: np.ndarray, planes: np.ndarray | None = None) -> np.ndarray:
        """Local hints spread over ``drawing`` (full image, in memory), the card's way.
        ``planes``: the layer as :meth:`_layer_planes` gives it, if the caller has it."""
        if not self.regions or self.hints is None or self.hints.mask is None:
            return rgb
        from batchcolor.drawing.chroma import spread_points, transfer_regions

        h, w = rgb.shape[:2]
        planes = self._layer_planes(h, w) if planes is None else planes
        colour, mask = np.ascontiguousarray(planes[:, :, 0:3]), planes[:, :, 3] == 255
        if self.spread == "distance":
            gray = drawing[:, :, 0] if drawing.shape[2] == 1 else cv2.cvtColor(np.ascontiguousarray(drawing), cv2.COLOR_RGB2GRAY)
            # heavy ink is laid back over the colour part way (for_heavy_ink): the hints colour under it
            return spread_points(rgb, colour, mask, gray, ink_coloured=self.keep_lines and self.line_opacity < 1.0)
        gray = drawing[:, :, 0] if drawing.shape[2] == 1 else drawing.min(axis=2)
        return transfer_regions(rgb, gray, colour, mask)

    def tint(self, rgb: np.ndarray, card: ModelCard, height: int, width: int, top: int = 0) -> np.ndarray:
        """Rows ``top..`` of an image of ``height`` x ``width``, with ``--color``'s chroma
        (:mod:`batchcolor.drawing.chroma`; local hints keep their own colour where they are),
        or, with no colour given, the automatic colours' saturation."""
        if self.chroma is None:
            if self.gain == 1.0:
                return rgb
            from batchcolor.drawing.chroma import saturate

            return saturate(rgb, self.gain)
        from batchcolor.drawing.chroma import transfer_chroma

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
        return replace(self, hints=local)

    def planes(self, card: ModelCard, height: int, width: int) -> TilePlanes | None:
        """Per-tile hint planes for a hinted model (automatic mode when there are no hints).

        With ``hint_input`` "mean" the network sees a hint layer only as its median colour
        (a global colour) and the finishing step lays the points: a network shown 5x5 dots
        paints each as a round blob of its own, and measured on the hold-outs the mean is
        also closer to the photos (10 points: shoes 17.50 -> 18.53 dB, bags 16.50 -> 17.00)."""
        if not card.hint_planes:
            return None
        hints = self.hints or Hints()
        if self.hint_input == "mean":
            hints = hints.as_global()
        return PlaneMap(fit_layer(hints, height, width), height, width)


def guidance(settings: InferenceSettings, card: ModelCard, layer: Hints | None = None) -> Guidance:
    """The run's global colour and line setting plus one file's hint layer, for ``card``.

    A hint layer given to a model without hint inputs is ignored (the drawing still gets
    coloured); a ``--color`` for such a model is refused up front by :func:`resolve`. The
    saturation applies to automatic colours only: given colours are the user's own.
    """
    lines = settings.lines or card.lines
    keep, auto = lines == "keep", lines == "auto"
    paper = card.extra.get("paper") == "keep"
    levels = (settings.levels or "auto") == "auto"
    construction = (settings.construction or "drop") == "drop"
    rgb = parse_color(settings.color) if settings.color and card.hint_planes else None
    if not card.hint_planes or (layer is None and rgb is None):
        return Guidance(None, keep, paper=paper, saturation=effective_saturation(settings, card), lines_auto=auto,
                        object_hue=effective_hue(settings, card) == "object", levels=levels, construction=construction,
                        chroma_target=effective_chroma_target(settings, card))
    transfer = card.extra.get("color_transfer") == "chroma"
    # the points can be left out of the network only where the finishing step lays them
    hint_input = str(card.extra.get("hint_input", "points")) if transfer else "points"
    return Guidance(Hints(layer.color if layer else None, layer.mask if layer else None, rgb), keep,
                    rgb if transfer else None, transfer and layer is not None,
                    str(card.extra.get("hint_transfer", "regions")), paper, hint_input=hint_input, lines_auto=auto,
                    levels=levels, construction=construction)


def effective_saturation(settings: InferenceSettings, card: ModelCard) -> float:
    """``--saturation`` if given, else the card's measured gain, else 1 (the network's own)."""
    return float(settings.saturation if settings.saturation is not None else card.extra.get("saturation", 1.0))


def effective_chroma_target(settings: InferenceSettings, card: ModelCard) -> ChromaTarget | None:
    """The card's per-object chroma target, unless ``--saturation`` asks for a fixed gain.
    (It acts only with one hue per object; streamed huge images and ``--hue pixel`` keep the
    card's fixed ``saturation``.)"""
    return None if settings.saturation is not None else ChromaTarget.from_card(card.extra.get("chroma_target"))


def effective_hue(settings: InferenceSettings, card: ModelCard) -> str:
    """``--hue`` if given, else the card's ``automatic_hue``, else "pixel" (the network's own)."""
    return str(settings.hue or card.extra.get("automatic_hue", "pixel"))


def keep_lines(rgb: np.ndarray, drawing: np.ndarray, where: np.ndarray | None = None, opacity: float = 1.0) -> np.ndarray:
    """uint8 RGB times the drawing's lightness (the line layer on multiply), rounded.

    ``where`` (H x W in [0, 1]) limits the layer to the objects: where the drawing's own
    pixels were put back (its paper, balloons, lettering), they already are its lines, and
    multiplied again their anti-aliased edges darkened (a balloon's lettering came out bold).
    ``opacity``: the layer's, as a paint program's (1: the lines as drawn)."""
    from batchcolor.tiling.tiler import lightness

    light = lightness(drawing)
    if where is not None or opacity != 1.0:
        cover = opacity if where is None else opacity * where.reshape(light.shape)
        light = 1.0 - cover * (1.0 - light)
    return np.clip(np.rint(rgb.astype(np.float32) * light), 0, 255).astype(np.uint8)


