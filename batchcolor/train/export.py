"""``batchcolor export``: Paddle checkpoint -> ONNX -> OpenVINO IR + model card, parity-gated.

The route and its pitfalls (measured here, see ``shared/notes``):
* ``paddle.jit.save`` writes PIR (``.json`` + ``.pdiparams``), which OpenVINO cannot read, so
  the graph goes through ONNX with ``paddle2onnx.export``.
* ``paddle.onnx.export`` and paddle2onnx's default ``optimize_tool='polygraphy'`` pip-install
  packages at run time; we call ``paddle2onnx.export`` with ``optimize_tool='None'`` and a fixed
  opset, which works offline. paddle2onnx ``sys.exit``s on errors; we turn that into an error.
* paddle2onnx 2.1 corrupts LeakyReLU's alpha silently: the generator has none, and every
  export is checked against Paddle at f32 on random and real inputs (fail above 1e-3).
"""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from batchcolor.imageio.images import _UMASK
from batchcolor.inference.modelcard import DRAWING_MEAN, DRAWING_STD, card_from_dict, write_card

PARITY_LIMIT = 1e-3


@dataclass(frozen=True)
class ExportResult:
    model_dir: Path
    parity_random: float
    parity_real: float | None
    parameters: int
    gmac_per_tile: float


def to_onnx(gen: Any, in_channels: int, onnx_path: Path, opset: int = 13) -> None:
    import paddle
    import paddle2onnx

    with tempfile.TemporaryDirectory() as tmp:
        prefix = str(Path(tmp) / "gen")
        spec = [paddle.static.InputSpec([None, in_channels, None, None], "float32", "lineart")]
        paddle.jit.save(gen, prefix, input_spec=spec)
        model_file = prefix + ".json" if Path(prefix + ".json").exists() else prefix + ".pdmodel"
        try:
            paddle2onnx.export(model_file, prefix + ".pdiparams", str(onnx_path), opset_version=opset,
                               auto_upgrade_opset=False, enable_onnx_checker=True, optimize_tool="None")
        except SystemExit as exc:  # paddle2onnx exits the process on conversion errors
            raise RuntimeError(f"paddle2onnx failed to convert the generator (exit {exc.code})") from None
    if not onnx_path.exists():
        raise RuntimeError("paddle2onnx wrote no ONNX file")


def to_ir(onnx_path: Path, xml_path: Path, fp16: bool = True) -> int:
    """Convert to IR with the up-sampling spelled as Interpolate; returns how many were fused."""
    from batchcolor.inference.runtime import openvino

    ov = openvino()

    from batchcolor.inference.irgraph import fuse_upsampling

    # Core.read_model reads ONNX itself (the converter, ovc, would also send telemetry); the
    # MOC transformations are what convert_model runs on top: BatchNorm folded into the
    # convolutions, constants folded. Without them the bf16 CPU path ran at 30 tiles/s at 256.
    from openvino._offline_transformations import apply_fused_names_cleanup, apply_moc_transformations

    model = ov.Core().read_model(str(onnx_path))
    apply_moc_transformations(model, cf=True)
    apply_fused_names_cleanup(model)
    fused = fuse_upsampling(model)["nearest"]  # (a bilinear network's blur goes with its nearest x2)
    ov.save_model(model, str(xml_path), compress_to_fp16=fp16)
    return fused


def parity(gen: Any, xml_path: Path, inputs: np.ndarray) -> float:
    """Max |Paddle - OpenVINO| on NCHW float inputs, OpenVINO pinned to f32."""
    from batchcolor.inference.runtime import openvino

    ov = openvino()
    import paddle

    with paddle.no_grad():
        expected = gen(paddle.to_tensor(inputs)).numpy()
    compiled = ov.Core().compile_model(str(xml_path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    got = np.concatenate([compiled(inputs[i : i + 1])[0] for i in range(len(inputs))])
    return float(np.max(np.abs(expected - got)))


def object_scale(config: dict[str, Any]) -> int | None:
    """The card's ``scale`` for a training config: the object size ``--scale auto`` brings a
    drawing to. Scale augmentation draws each training object at ``s`` times the training size,
    ``s`` log-uniform in [scale_min, scale_max], so the middle of what the network saw is the
    geometric mean: a run at 128 px with 0.8-1.8x saw objects of 154 px most typically
    (0.5-2x: 128). Bigger is better for thin lines (measured: a 256 px shoe run at 0.75x keeps
    92% of its lines findable, at 0.55x 78%), so the middle, not the bottom, of the range."""
    size = int(config.get("size", 0) or 0)
    if not size:
        return None
    if not config.get("augment"):
        return size
    lo, hi = float(config.get("scale_min", 1.0)), float(config.get("scale_max", 1.0))
    return int(round(size * (lo * hi) ** 0.5))


def export(
    run: Path,
    model_dir: Path,
    name: str | None = None,
    tile: int = 256,
    overlap: int | None = None,
    fp16: bool = True,
    real_inputs: np.ndarray | None = None,
    mean_color: list[float] | None = None,
    extra_card: dict[str, Any] | None = None,
    lines: str = "none",
    seam_sheet: np.ndarray | list[np.ndarray] | None = None,
    seam_overlaps: tuple[int, ...] | None = None,
    object_px: int | None = None,
) -> ExportResult:
    """Export a run (or checkpoint) to ``model_dir`` with a card; raises on parity failure.

    With ``seam_sheet`` (H x W x C uint8 drawings), the exported model itself is measured at
    f32, tiled at ``tile`` against one tile over the whole sheet, for each overlap; the card
    records the table, and ``overlap`` (when None) becomes the smallest one that meets the
    seam bar (>= 50 dB overall, >= 45 dB within 8 px of seams)."""
    from batchcolor.train.models import UNetConfig, count_parameters, unet_macs_per_tile
    from batchcolor.train.trainer import load_generator

    gen, ckpt = load_generator(Path(run))
    unet = UNetConfig(**ckpt["unet"])
    cfg = ckpt.get("config", {})
    if tile % unet.stride:
        raise ValueError(f"tile {tile} must be a multiple of the model stride {unet.stride}")
    from batchcolor.drawing.hints import HINT_PLANES, card_block

    hinted = bool(cfg.get("hints"))
    edge_channels = 1 if cfg.get("gray_edges") else 3
    if unet.in_channels != edge_channels + (HINT_PLANES if hinted else 0):
        edge_channels = unet.in_channels  # an older checkpoint without these config keys: a plain model
        hinted = False
    chosen_overlap = overlap
    overlap = overlap if overlap is not None else min(128, tile // 4 // unet.stride * unet.stride * 2)
    model_dir = Path(model_dir)
    # Staged beside the destination (one file system: the final rename cannot fail across
    # mounts), with the folder mode outputs get (mkdtemp makes 0700; Dask workers and other
    # users must read a model).
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}.export-", dir=model_dir.parent))
    staging.chmod(0o777 & ~_UMASK)
    try:
        onnx_path = staging / "model.onnx"
        to_onnx(gen, unet.in_channels, onnx_path)
        # Parity is checked on the f32 IR (after the Interpolate rewrite, which it also
        # proves); fp16 weight compression is a separate, known loss.
        f32_xml = staging / "f32" / "model.xml"
        f32_xml.parent.mkdir()
        to_ir(onnx_path, f32_xml, fp16=False)
        xml = staging / "model.xml"
        fused = to_ir(onnx_path, xml, fp16=fp16)
        onnx_path.unlink()
        rand = np.random.default_rng(0).uniform(-1, 1, size=(2, unet.in_channels, 64, 96)).astype(np.float32)
        p_rand = parity(gen, f32_xml, rand)
        p_real = parity(gen, f32_xml, real_inputs) if real_inputs is not None and real_inputs.shape[1] == unet.in_channels else None
        shutil.rmtree(f32_xml.parent)
        worst = max(p_rand, p_real or 0.0)
        if not worst <= PARITY_LIMIT:
            raise RuntimeError(f"parity check failed: OpenVINO f32 differs from Paddle by {worst:.2e} (> {PARITY_LIMIT})")
        params = count_parameters(gen)
        gmac = unet_macs_per_tile(unet, 256) / 1e9
        card_fields = dict(
            name=name or model_dir.name,
            version="1",
            input_channels=edge_channels,
            hints=card_block() if hinted else None,
            lines=lines,
            output_channels=3,
            input_mean=DRAWING_MEAN,
            input_std=DRAWING_STD,
            output_range=(-1.0, 1.0),
            stride=unet.stride,
            tile=tile,
            overlap=overlap,
            scale=object_px or object_scale(cfg),
            # trained on objects on white paper: context beyond a drawing is more paper, not a
            # mirror image of the drawing (measured on the shoes hold-out: reflect -5 dB)
            padding="constant",
            pad_value=255,
            training={"recipe": {k: cfg.get(k) for k in ("arch", "size", "gray_edges", "width", "depth", "up", "epochs",
                                                          "time_budget_min", "batch_size", "lr", "beta1", "l1_weight",
                                                          "gan_mode", "seed", "val_last", "recon", "hints", "augment",
                                                          "scale_min", "scale_max", "line_max", "restyle", "recolour",
                                                          "hint_weight", "gradient_weight", "line_weight")},
                      "command": cfg.get("command", ""), "data": list(cfg.get("data", [])),
                      "mean_color": mean_color,
                      "steps": ckpt["state"]["step"], "train_seconds": round(ckpt["state"]["seconds"], 1),
                      "history": ckpt["state"]["history"][-1:] if ckpt["state"]["history"] else [],
                      **({"hint_protocol": _hint_protocol()} if hinted else {}),
                      **({"averaged_from": cfg["averaged_from"]} if cfg.get("averaged_from") else {})},
            extra={"architecture": {"type": "unet", **unet.to_dict()}, "parameters": params,
                   "gmac_per_256_tile": round(gmac, 3), "gflops_per_256_tile": round(2 * gmac, 3), "upsample_ops_fused": fused, "weights": "fp16" if fp16 else "fp32",
                   "parity_max_abs_f32": {"random": p_rand, "real": p_real}, **(extra_card or {})},
        )
        card = card_from_dict(**card_fields)
        write_card(card, staging / "card.json")
        if seam_sheet is not None:
            from batchcolor.inference.modelcard import ModelRef
            from batchcolor.tools.seams import SEAM_OVERLAPS, seam_report

            # Several sheets (drawings at different sizes put different strokes under the seams):
            # each overlap is judged by its worst sheet.
            sheets = seam_sheet if isinstance(seam_sheet, list) else [seam_sheet]
            ref = ModelRef(xml, staging / "card.json", card)
            report = seam_report(ref, sheets, tile, seam_overlaps or SEAM_OVERLAPS)
            best = report["smallest_passing_overlap"]
            if chosen_overlap is None and best is not None:
                card_fields["overlap"] = best
            card_fields["extra"] = {**card_fields["extra"], "seams": report}
            card = card_from_dict(**card_fields)
            write_card(card, staging / "card.json")
        if model_dir.exists():
            shutil.rmtree(model_dir)
        staging.rename(model_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(model_dir, p_rand, p_real, params, gmac)


def _hint_protocol() -> dict[str, Any]:
    from batchcolor.drawing import hints as h

    return {"points": f"geometric count, p = {h.POINT_P:g} (none in 1/8 of samples, mean 7)",
            "patch_px": [min(h.PATCH_SIZES), max(h.PATCH_SIZES)], "strokes_fraction": h.STROKE_P,
            "global_color_probability": h.GLOBAL_P,
            "global_color": f"per-channel median of object pixels (RGB distance from white > {h.OBJECT_DISTANCE:g})"}


def export_run(run: Path, model_dir: Path, name: str | None = None, tile: int = 512, overlap: int | None = None,
               fp16: bool = True, lines: str = "none", color_transfer: str = "none", hint_transfer: str = "regions",
               hint_input: str = "points",
               paper: str = "model", saturation: float = 1.0, object_px: int | None = None,
               make_default: bool = False, automatic_hue: str = "pixel") -> ExportResult:
    """``batchcolor export``: a run (or checkpoint) to a model folder, with real validation
    drawings for the parity gate, the mean training colour for the flat baseline, and the
    seam sheet that decides the card's overlap. ``color_transfer`` and ``paper`` are the card's
    finishing steps (``chroma``/``none``, ``keep``/``model``, the automatic ``saturation`` and
    ``automatic_hue``, ``object``/``pixel``);
    ``object_px`` overrides the card's scale (:func:`object_scale`)."""
    real, mean_color = reference_data(run)
    extra: dict[str, Any] = {"default": True} if make_default else {}
    if saturation != 1.0:
        extra["saturation"] = saturation
    if automatic_hue != "pixel":
        extra["automatic_hue"] = automatic_hue
    if color_transfer != "none":
        extra["color_transfer"] = color_transfer
        extra["hint_transfer"] = hint_transfer
        if hint_input != "points":
            extra["hint_input"] = hint_input
    if paper != "model":
        extra["paper"] = paper
    return export(run, model_dir, name=name, tile=tile, overlap=overlap, fp16=fp16, real_inputs=real,
                  mean_color=mean_color, extra_card=extra, lines=lines, seam_sheet=seam_sheets(run), object_px=object_px)


def seam_sheets(run: Path) -> list[np.ndarray] | None:
    """Two sheets of validation drawings, at 256 px (24 of them) and at 400 px (12): the
    overlap is chosen by the worse of the two (one sheet alone once picked an overlap that
    another sheet failed: 56 against 43.8 dB)."""
    import cv2

    small = seam_sheet(run)
    if small is None:
        return None
    part = small[: 3 * 256, : 4 * 256]
    big = cv2.resize(part, (part.shape[1] * 25 // 16, part.shape[0] * 25 // 16), interpolation=cv2.INTER_CUBIC)
    return [small, np.ascontiguousarray(big.reshape(big.shape[0], big.shape[1], small.shape[2]))]


def seam_sheet(run: Path, cols: int = 6, rows: int = 4, size: int = 256) -> np.ndarray | None:
    """A sheet of validation drawings (``rows`` x ``cols`` at ``size`` px) for the seam measurement."""
    from batchcolor.train import data as datamod
    from batchcolor.train.trainer import TrainConfig

    cfg_path = (Path(run) if Path(run).is_dir() else Path(run).parent) / "config.json"
    if not cfg_path.exists():
        return None
    doc = json.loads(cfg_path.read_text())
    config = TrainConfig(**{**doc, "data": tuple(doc["data"]), "val_dirs": tuple(doc.get("val_dirs", ()))})
    pairs = []
    try:
        for folder in config.val_dirs or config.data:
            pairs += datamod.find_pairs(Path(folder))[-(cols * rows):]
        arrays = datamod.load_arrays(pairs[-(cols * rows):], size, config.gray_edges)
    except (FileNotFoundError, ValueError):
        return None
    a = np.asarray(arrays.a)
    if not len(a):
        return None
    a = a[np.arange(cols * rows) % len(a)]  # a small data set repeats its drawings
    _, s, _, c = a.shape
    return np.ascontiguousarray(a.reshape(rows, cols, s, s, c).transpose(0, 2, 1, 3, 4).reshape(rows * s, cols * s, c))


def reference_data(run: Path, count: int = 4) -> tuple[np.ndarray | None, list[float] | None]:
    """Real validation inputs (NCHW, [-1, 1], with simulated hint planes for a hinted run) for
    the parity gate, and the mean training colour."""
    from batchcolor.train.data import to_tensor_range
    from batchcolor.train.trainer import TrainConfig, load_data

    cfg_path = (Path(run) if Path(run).is_dir() else Path(run).parent) / "config.json"
    if not cfg_path.exists():
        return None, None
    doc = json.loads(cfg_path.read_text())
    config = TrainConfig(**{**doc, "data": tuple(doc["data"]), "val_dirs": tuple(doc.get("val_dirs", ()))})
    try:
        train_set, val_set = load_data(config)
    except (FileNotFoundError, ValueError):
        return None, None
    source = val_set if val_set is not None else train_set
    real = to_tensor_range(np.asarray(source.a[:count]))
    if config.hints:
        from batchcolor.drawing import hints as hintmod

        rng = np.random.default_rng(0)
        targets = np.asarray(source.b[:count])
        if targets.shape[1:3] != real.shape[2:]:
            import cv2

            targets = np.stack([cv2.resize(t, real.shape[2:][::-1], interpolation=cv2.INTER_AREA) for t in targets])
        planes = np.stack([hintmod.hint_planes(hintmod.simulate(rng, t), *real.shape[2:]) for t in targets])
        real = np.concatenate([real, planes], axis=1)
    mean = np.asarray(train_set.b, dtype=np.float64).reshape(-1, 3).mean(axis=0)
    return real, [round(float(v), 2) for v in mean]
