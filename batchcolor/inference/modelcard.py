"""Model cards: the JSON file beside each model that tells the runtime how to feed it.

A model file alone does not say whether its input is gray or RGB, how pixel values are
normalised, what its total stride is or what it was trained on; guessing any of these gives
plausible-looking wrong colours. So every model ships with a card, and a card that is missing
a field, or that disagrees with the network itself, is refused with the file and field named.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchcolor.drawing.hints import HINT_PLANE_NAMES
from batchcolor.errors import ModelError

CARD_FORMAT = "batchcolor-model-card/1"
CARD_NAME = "card.json"
MODEL_SUFFIXES = (".xml", ".onnx")
# How our trained models take a drawing (uint8 -> [-1, 1]): the training code, the export and
# the synthetic test networks all use these, so the card and the weights cannot disagree.
DRAWING_MEAN = 127.5
DRAWING_STD = 127.5



# ``--lines``: "keep" multiplies the colour by the drawing's lightness (its lines on top),
# "none" leaves the network's output as it is, "auto" keeps the lines only where the colouring
# was enlarged at least LINES_AUTO_ENLARGEMENT times to the drawing's size (a big drawing that
# ``--scale auto`` brought down to the model's scale): the network paints a drawing's lines
# as thin strokes of its own, and enlarged 5x those strokes are blurred bands (line recall
# 0.44-0.62 at 1024 px objects against 1.00 at 256, benchmarks/sizes.py). "auto" keeps them
# on comic pages too (panels or screentone found), where the ink is the artwork.
LINE_MODES = ("keep", "none", "auto")
LINES_AUTO_ENLARGEMENT = 2.0
# "auto" keeps heavy ink part way too: strokes at least HEAVY_INK px wide at the scale the
# network colours them (edge maps' lines measure 0.5-0.9 px there, XDoG's and an ink's 1.3-3)
# are laid on at HEAVY_INK_OPACITY (drawing.linework, Guidance.for_heavy_ink).
HEAVY_INK = 1.15
HEAVY_INK_OPACITY = 0.35


@dataclass(frozen=True)
class ModelCard:
    name: str
    version: str
    input_channels: int
    output_channels: int
    # x_model = (pixel_0_255 - input_mean) / input_std, per channel; output in output_range
    input_mean: float
    input_std: float
    output_range: tuple[float, float]
    stride: int
    tile: int
    overlap: int
    scale: int | None = None
    # context padded beyond the image's own edges (``tile.border``); None: the seam margin
    # (3/8 of the overlap), as for cards written before the two were told apart
    border: int | None = None
    # context beyond the image: "reflect" (mirror, the UNet paper) or "constant" (pad_value,
    # e.g. 255 = white paper, for line art whose network was trained on objects on white)
    padding: str = "reflect"
    pad_value: int = 255
    # ``input.hints``: a hinted model takes 8 more planes after the drawing (batchcolor.drawing.hints),
    # uint8-encoded and normalised per plane with these means and stds; None for plain models
    hints: dict[str, Any] | None = None
    # what ``--lines`` does when not given (LINE_MODES)
    lines: str = "none"
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def hint_planes(self) -> int:
        return len(self.hints["mean"]) if self.hints else 0

    @property
    def network_channels(self) -> int:
        """Channels of the network's input: the drawing's, then the hint planes."""
        return self.input_channels + self.hint_planes

    def channel_normalisation(self) -> tuple[list[float], list[float]]:
        """Per-channel (mean, std) of the network input, drawing channels first."""
        means = [self.input_mean] * self.input_channels
        stds = [self.input_std] * self.input_channels
        if self.hints:
            means += [float(v) for v in self.hints["mean"]]
            stds += [float(v) for v in self.hints["std"]]
        return means, stds

    def to_json(self) -> dict[str, Any]:
        doc = {
            "format": CARD_FORMAT,
            "name": self.name,
            "version": self.version,
            "input": {
                "channels": self.input_channels,
                "range": [0, 255],
                "mean": self.input_mean,
                "std": self.input_std,
                "layout": "NCHW",
                "content": "dark lines on a light background",
                **({"hints": self.hints} if self.hints else {}),
            },
            "output": {"channels": self.output_channels, "range": list(self.output_range), "layout": "NCHW"},
            "stride": self.stride,
            "tile": {"recommended": self.tile, "overlap": self.overlap,
                     **({"border": self.border} if self.border is not None else {})},
            "scale": self.scale,
            "padding": {"mode": self.padding, "value": self.pad_value},
            "lines": {"default": self.lines},
            "training": self.training,
            "metrics": self.metrics,
        }
        doc.update(self.extra)
        return doc


def _field(doc: dict[str, Any], path: str, kind: type | tuple[type, ...], source: Path) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ModelError(f"{source}: model card field '{path}' is missing")
        node = node[part]
    if not isinstance(node, kind) or isinstance(node, bool):
        raise ModelError(f"{source}: model card field '{path}' must be {_kind_name(kind)}, got {node!r}")
    return node


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def parse_card(doc: Any, source: Path) -> ModelCard:
    if not isinstance(doc, dict):
        raise ModelError(f"{source}: a model card must be a JSON object")
    fmt = doc.get("format")
    if fmt != CARD_FORMAT:
        raise ModelError(f"{source}: model card field 'format' must be '{CARD_FORMAT}', got {fmt!r}")
    num = (int, float)
    card = ModelCard(
        name=_field(doc, "name", str, source),
        version=str(_field(doc, "version", (str, int, float), source)),
        input_channels=_field(doc, "input.channels", int, source),
        output_channels=_field(doc, "output.channels", int, source),
        input_mean=float(_field(doc, "input.mean", num, source)),
        input_std=float(_field(doc, "input.std", num, source)),
        output_range=tuple(float(v) for v in _field(doc, "output.range", list, source)),  # type: ignore[arg-type]
        stride=_field(doc, "stride", int, source),
        tile=_field(doc, "tile.recommended", int, source),
        overlap=_field(doc, "tile.overlap", int, source),
        scale=doc.get("scale"),
        border=(doc.get("tile") or {}).get("border"),
        padding=(doc.get("padding") or {}).get("mode", "reflect"),
        pad_value=(doc.get("padding") or {}).get("value", 255),
        hints=_hints_block(doc, source),
        lines=(doc.get("lines") or {}).get("default", "none") if isinstance(doc.get("lines"), dict) else "none",
        training=doc.get("training") or {},
        metrics=doc.get("metrics") or {},
        extra={k: v for k, v in doc.items() if k not in _KNOWN},
    )
    _check(card, source)
    return card


_KNOWN = {"format", "name", "version", "input", "output", "stride", "tile", "scale", "padding", "lines", "training",
          "metrics"}


def _hints_block(doc: dict[str, Any], source: Path) -> dict[str, Any] | None:
    block = (doc.get("input") or {}).get("hints") if isinstance(doc.get("input"), dict) else None
    if block is None:
        return None
    if not isinstance(block, dict):
        raise ModelError(f"{source}: model card field 'input.hints' must be an object")
    planes = _field(doc, "input.hints.planes", list, source)
    mean = _field(doc, "input.hints.mean", list, source)
    std = _field(doc, "input.hints.std", list, source)
    if not (len(planes) == len(mean) == len(std)) or not planes:
        raise ModelError(f"{source}: model card fields 'input.hints.planes', '.mean' and '.std' must have the same, "
                         f"non-zero length")
    if any(not isinstance(v, (int, float)) or isinstance(v, bool) for v in mean + std) or any(v == 0 for v in std):
        raise ModelError(f"{source}: model card fields 'input.hints.mean' and '.std' must be numbers (std not 0)")
    return block


def _check(card: ModelCard, source: Path) -> None:
    if card.input_channels not in (1, 3):
        raise ModelError(f"{source}: model card field 'input.channels' must be 1 or 3, got {card.input_channels}")
    if card.output_channels != 3:
        raise ModelError(f"{source}: model card field 'output.channels' must be 3, got {card.output_channels}")
    if card.input_std == 0:
        raise ModelError(f"{source}: model card field 'input.std' must not be 0")
    lo_hi = card.output_range
    if len(lo_hi) != 2 or not lo_hi[0] < lo_hi[1]:
        raise ModelError(f"{source}: model card field 'output.range' must be [low, high] with low < high")
    if card.stride < 1 or card.stride & (card.stride - 1):
        raise ModelError(f"{source}: model card field 'stride' must be a power of two, got {card.stride}")
    if card.tile < card.stride or card.tile % card.stride:
        raise ModelError(
            f"{source}: model card field 'tile.recommended' ({card.tile}) must be a multiple of 'stride' ({card.stride})"
        )
    if not 0 <= card.overlap < card.tile:
        raise ModelError(f"{source}: model card field 'tile.overlap' must be in [0, tile), got {card.overlap}")
    if card.border is not None and (not isinstance(card.border, int) or isinstance(card.border, bool)
                                    or not 0 <= card.border <= card.tile // 2):
        raise ModelError(f"{source}: model card field 'tile.border' must be an integer in [0, tile/2], got {card.border!r}")
    if card.padding not in ("reflect", "constant"):
        raise ModelError(f"{source}: model card field 'padding.mode' must be reflect or constant, got {card.padding!r}")
    if not isinstance(card.pad_value, int) or not 0 <= card.pad_value <= 255:
        raise ModelError(f"{source}: model card field 'padding.value' must be an integer 0-255, got {card.pad_value!r}")
    if card.lines not in LINE_MODES:
        raise ModelError(f"{source}: model card field 'lines.default' must be one of {', '.join(LINE_MODES)}, "
                         f"got {card.lines!r}")
    if card.hints is not None and list(card.hints.get("planes", [])) != list(HINT_PLANE_NAMES):
        raise ModelError(f"{source}: model card field 'input.hints.planes' must be {list(HINT_PLANE_NAMES)} "
                         f"(the planes this runtime can build), got {card.hints.get('planes')!r}")
    if card.scale is not None and (not isinstance(card.scale, int) or card.scale < 8):
        raise ModelError(f"{source}: model card field 'scale' must be null or an integer >= 8, got {card.scale!r}")
    target = card.extra.get("chroma_target")
    if target is not None and not _is_chroma_target(target):
        raise ModelError(f"{source}: model card field 'chroma_target' must be {{\"chroma\": level > 0, \"gains\": "
                         f"[low, high] with 0 < low <= high}}, got {target!r}")


def _is_chroma_target(entry: Any) -> bool:
    """Whether a card's ``chroma_target`` is one :class:`batchcolor.drawing.chroma.ChromaTarget` reads."""
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
    if not isinstance(entry, dict) or not number(entry.get("chroma")) or entry["chroma"] <= 0:
        return False
    gains = entry.get("gains")
    return (isinstance(gains, list) and len(gains) == 2 and all(number(g) for g in gains)
            and 0 < gains[0] <= gains[1])


@dataclass(frozen=True)
class ModelRef:
    """A model file and its card, resolved from what the user typed."""

    model_path: Path
    card_path: Path
    card: ModelCard


def card_path_for(model_path: Path) -> Path:
    """``dir/card.json`` when the model sits alone in its folder, else ``<stem>.card.json``."""
    specific = model_path.with_suffix(".card.json")
    if specific.exists():
        return specific
    return model_path.parent / CARD_NAME


def resolve_model(spec: str | Path) -> ModelRef:
    """Turn a folder, an ``.xml`` IR or an ``.onnx`` file into a model file plus its card."""
    path = Path(spec).expanduser()
    if path.is_dir():
        candidates = sorted(p for p in path.iterdir() if p.suffix in MODEL_SUFFIXES)
        xml = [p for p in candidates if p.suffix == ".xml"]
        chosen = xml or candidates
        if len(chosen) != 1:
            found = ", ".join(p.name for p in candidates) or "none"
            raise ModelError(f"{path}: expected exactly one .xml or .onnx model in the folder, found {found}")
        path = chosen[0]
    elif not path.exists():
        raise ModelError(f"{path}: model not found")
    elif path.suffix not in MODEL_SUFFIXES:
        raise ModelError(f"{path}: a model must be an OpenVINO IR (.xml + .bin) or an .onnx file")
    if path.suffix == ".xml" and not path.with_suffix(".bin").exists():
        raise ModelError(f"{path}: the IR's weights file {path.with_suffix('.bin').name} is missing")
    card_path = card_path_for(path)
    if not card_path.exists():
        raise ModelError(f"{card_path}: model card missing (every model needs a {CARD_NAME} beside it)")
    return ModelRef(model_path=path, card_path=card_path, card=load_card(card_path))


def load_card(path: Path) -> ModelCard:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: model card is not valid JSON ({exc})") from exc
    return parse_card(doc, path)


def write_card(card: ModelCard, path: Path) -> None:
    path.write_text(json.dumps(card.to_json(), indent=2, sort_keys=False) + "\n", encoding="utf-8")


def card_from_dict(**kwargs: Any) -> ModelCard:
    """Build a card in code (tests, export) with the same validation as a file on disk."""
    card = ModelCard(**kwargs)
    _check(card, Path("<in-memory card>"))
    return card


__all__ = ["ModelCard", "ModelRef", "resolve_model", "load_card", "write_card", "card_from_dict"]


def is_model_folder(path: Path) -> bool:
    """A folder holding a card (a model to use or quantize), not a training run."""
    return Path(path).is_dir() and (Path(path) / CARD_NAME).is_file()
