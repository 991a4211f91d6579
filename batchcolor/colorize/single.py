"""``batchcolor tile``: one image in, one colorized image out, with optional tile dumps.

The image takes :func:`batchcolor.colorize.image.colorize_file`, the path every command uses;
``--save-tiles`` only adds an observer that writes each tile as it finishes.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from batchcolor.drawing.hints import read_hint_layer
from batchcolor.imageio import images
from batchcolor.colorize.image import NEGATIVE_NOTE, colorize_file
from batchcolor.errors import InputError
from batchcolor.tiling.geometry import TilePlan
from batchcolor.colorize.guidance import guidance
from batchcolor.tiling.merger import to_uint8
from batchcolor.colorize.settings import InferenceSettings, open_engine
from batchcolor.inference.cores import blas_single_threaded
from batchcolor.tiling.tiler import TileSettings


def colorize_one(src: Path, dst: Path, settings: InferenceSettings, save_tiles: Path | None = None,
                 hints: Path | None = None, max_pixels: int | None = None) -> str:
    """``hints`` is a hint layer; without it, ``NAME.hints.png`` beside ``src`` is used if present."""
    images.output_suffix(dst)
    try:  # the header first: a 30000 x 30000 PNG is refused before anything is compiled or decoded
        info = images.probe(src, max_pixels)
    except InputError as exc:
        raise InputError(f"{src}: {exc}") from exc
    t0 = time.perf_counter()
    engine, tiling = open_engine(settings)
    t_compile = time.perf_counter() - t0
    beside = images.hint_layer_for(src)
    layer_path = hints or (beside if beside.is_file() else None)
    if hints is not None and not engine.card.hint_planes:
        raise ValueError(f"--hints needs a model trained with hints; {engine.model_path} takes none")
    layer = None
    if layer_path is not None:
        try:
            layer = read_hint_layer(layer_path)
        except InputError as exc:
            raise InputError(f"{layer_path}: hint layer: {exc}") from exc
    guide = guidance(settings, engine.card, layer)
    precision = engine.inference_precision()
    observer = TileDump(save_tiles, engine.card.output_range, engine.card.input_channels) if save_tiles else None
    t1 = time.perf_counter()
    try:
        with blas_single_threaded():
            written = colorize_file(src, dst, engine, tiling, settings.scale, guide, observer, info)
    except InputError as exc:
        raise InputError(f"{src}: {exc}") from exc
    finally:
        engine.close()
    tiles = engine.tiles_submitted  # counted where they ran: --scale and sheets change the plan
    t_infer = time.perf_counter() - t1
    if observer is not None and written.plan is not None:
        observer.write_grid(written.plan, tiling, images.decode(dst))
    h, w = written.height, written.width
    # the grid that ran at the image's size (W x H, as the image's size is given), or the bound
    sizes = (f"{written.plan.tile_shape[1]}x{written.plan.tile_shape[0]}" if written.plan
             else f"up to {tiling.tile}px, resized to the model's scale or object by object")
    return (
        f"{src} -> {dst}: {w}x{h}, {tiles} tiles of {sizes} (overlap {tiling.overlap}), "
        f"compile {t_compile:.2f}s, colorize {t_infer:.2f}s ({w * h / 1e6 / max(t_infer, 1e-9):.2f} MP/s, "
        f"{tiles / max(t_infer, 1e-9):.1f} tiles/s), precision {precision}"
        f"{', input streamed' if written.streamed else ''}"
        f"{'; ' + NEGATIVE_NOTE if written.negative else ''}"
    )


class TileDump:
    """Writes every input and output tile, and a picture of the grid, for people chasing seams."""

    def __init__(self, folder: Path, value_range: tuple[float, float], channels: int = 3):
        self.folder = folder
        self.value_range = value_range
        self.channels = channels  # the drawing's channels; hint planes after them are not dumped
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, key: tuple[int, int], tile_in: np.ndarray, tile_out: np.ndarray) -> None:
        k, j = key
        rgb = to_uint8(tile_out, self.value_range)
        images.atomic_write(self.folder / f"in_r{k:03d}_c{j:03d}.png", images.encode(tile_in[:, :, : self.channels][:, :, ::-1].copy(), ".png"))
        images.atomic_write(self.folder / f"out_r{k:03d}_c{j:03d}.png", images.encode(rgb[:, :, ::-1].copy(), ".png"))

    def write_grid(self, plan: TilePlan, tiling: TileSettings, out_bgr: np.ndarray) -> None:
        """Tile outlines (red), discarded margins (shaded) and ramp centres (green) on the output."""
        import cv2

        canvas = np.ascontiguousarray(out_bgr[:, :, :3]).copy()
        h, w = canvas.shape[:2]
        shade = canvas.copy()
        m = plan.rows.margin
        th, tw = plan.tile_shape
        for oy in plan.rows.origins:
            for ox in plan.cols.origins:
                cv2.rectangle(canvas, (ox, oy), (ox + tw - 1, oy + th - 1), (0, 0, 255), 1)
                cv2.rectangle(shade, (ox + m, oy + m), (ox + tw - m - 1, oy + th - m - 1), (255, 255, 255), 1)
        from batchcolor.tiling.geometry import seam_positions

        for y in seam_positions(plan.rows):
            cv2.line(canvas, (0, y), (w - 1, y), (0, 200, 0), 1)
        for x in seam_positions(plan.cols):
            cv2.line(canvas, (x, 0), (x, h - 1), (0, 200, 0), 1)
        grid = cv2.addWeighted(canvas, 0.8, shade, 0.2, 0)
        images.atomic_write(self.folder / "grid.png", images.encode(grid, ".png"))
