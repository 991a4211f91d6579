"""Tiling against whole-image inference, with real OpenVINO models built in the test."""
from __future__ import annotations

import numpy as np
import pytest

from batchcolor.tools import synthetic
from batchcolor.colorize.image import colorize_image
from batchcolor.inference.engine import Engine, EngineConfig
from batchcolor.errors import InferenceError
from batchcolor.inference.modelcard import resolve_model
from batchcolor.tools.seams import psnr, seam_gradient_ratio, seam_mask, whole_image
from batchcolor.tiling.tiler import TileSettings, colorize_array

from conftest import rng_image


def engine_for(folder, tile, precision="f32", **kw) -> Engine:
    ref = resolve_model(folder)
    return Engine(ref.model_path, ref.card, EngineConfig(tile=tile, precision=precision, **kw))


def pointwise_reference(model_channels: int, image: np.ndarray) -> np.ndarray:
    return whole_image(synthetic.pointwise(model_channels), image, stride=1, pad=0)


@pytest.mark.parametrize("shape", [(1, 1), (1, 777), (777, 1), (37, 91), (63, 65), (130, 201)])
def test_pointwise_tiling_is_exact(pointwise_rgb, shape):
    engine = engine_for(pointwise_rgb, 64)
    image = rng_image(*shape, 3, seed=sum(shape))
    tiled = colorize_array(image, engine, TileSettings(64, 16), as_uint8=False)
    expected = pointwise_reference(3, image)
    assert tiled.shape == shape + (3,)
    np.testing.assert_allclose(tiled, expected, atol=1e-5)


def test_pointwise_gray_model(pointwise_gray):
    engine = engine_for(pointwise_gray, 64)
    image = rng_image(45, 150, 1)
    tiled = colorize_array(image, engine, TileSettings(64, 32), as_uint8=False)
    np.testing.assert_allclose(tiled, pointwise_reference(1, image), atol=1e-5)


def test_rgba_alpha_carried_and_composited_over_white(pointwise_rgb):
    """The model sees the drawing composited over white; each output pixel is then either
    on an object (opaque, the model's colour) or the input's own pixel (its colour, its alpha)."""
    engine = engine_for(pointwise_rgb, 64)
    bgra = rng_image(50, 70, 4, seed=3)
    bgra[:10, :, 3] = 0  # fully transparent rows: their colour must not leak into the model
    bgra[:10, :, :3] = 0
    out = colorize_image(bgra, engine, TileSettings(64, 16))
    assert out.shape == (50, 70, 4)
    a = bgra[:, :, 3:].astype(np.float64) / 255
    composited = np.rint(bgra[:, :, :3] * a + 255 * (1 - a)).astype(np.uint8)[:, :, ::-1]  # RGB
    expected = np.clip(np.rint((pointwise_reference(3, composited) + 1) * 127.5), 0, 255)
    opaque = out[:, :, 3] == 255
    assert (out[:, :, 3] >= bgra[:, :, 3]).all()
    np.testing.assert_array_equal(out[~opaque], bgra[~opaque])  # the input's own pixels
    assert np.abs(out[opaque][:, 2::-1].astype(int) - expected[opaque]).max() <= 1
    assert opaque[10:].mean() > 0.8  # the noise is one big object ...
    assert not opaque[:8].any()  # ... and the clear rows above it stay clear


def test_unet_seams_meet_targets_at_default_overlap(unet_model):
    folder, model = unet_model
    card = resolve_model(folder).card
    engine = engine_for(folder, card.tile)
    art = synthetic.line_art(1000, 1300, seed=5)[:, :, None]
    settings = TileSettings(card.tile, card.overlap)
    tiled = (colorize_array(art, engine, settings, as_uint8=False) + 1) / 2
    truth = (whole_image(model, art, 16, 128) + 1) / 2
    plan = settings.plan(1000, 1300, 16)
    assert plan.count > 4, "the test must actually cross seams"
    mask = seam_mask(plan, 8)
    overall, near = psnr(tiled, truth, 1.0), psnr(tiled[mask], truth[mask], 1.0)
    # A random UNet's output is blocky on its 16 px pooling grid, and the ramp centres sit on
    # that grid, so the raw ratio carries the network's own structure (1.17 for whole-image
    # inference too). Dividing by the whole-image ratio on the same lines leaves the seams'.
    ratio = seam_gradient_ratio(tiled, plan) / seam_gradient_ratio(truth, plan)
    assert overall >= 50, overall
    assert near >= 45, near
    assert 0.97 <= ratio <= 1.03, ratio


def test_unet_misaligned_tiles_would_be_worse(unet_model):
    """Guards the alignment rule: a stride-1 grid (misaligned origins) loses >5 dB."""
    folder, model = unet_model
    engine = engine_for(folder, 512)
    art = synthetic.line_art(600, 700, seed=6)[:, :, None]
    truth = (whole_image(model, art, 16, 128) + 1) / 2
    good = (colorize_array(art, engine, TileSettings(512, 128), as_uint8=False) + 1) / 2
    shifted = np.pad(art, ((3, 0), (5, 0), (0, 0)), mode="reflect")  # moves the pooling grid
    bad = (colorize_array(shifted, engine, TileSettings(512, 128), as_uint8=False)[3:, 5:] + 1) / 2
    assert psnr(good, truth, 1.0) > psnr(bad, truth, 1.0) + 5


def test_async_equals_sync_bit_for_bit(unet_model):
    folder, _ = unet_model
    engine = engine_for(folder, 128)
    tiles = [synthetic.line_art(128, 128, seed=s)[:, :, None] for s in range(12)]
    results: dict[int, np.ndarray] = {}
    for i, t in enumerate(tiles):
        engine.submit(t, lambda key, out: results.__setitem__(key, out.copy()), i)
    engine.wait_all()
    for i, t in enumerate(tiles):
        np.testing.assert_array_equal(results[i], engine.infer_sync(t))


def test_failing_completion_raises_instead_of_hanging(pointwise_rgb):
    engine = engine_for(pointwise_rgb, 64)

    def boom(key, out):
        raise RuntimeError("blender exploded")

    with pytest.raises(InferenceError, match="blender exploded"):
        for i in range(20):
            engine.submit(rng_image(64, 64, 3), boom, i)
        engine.wait_all()


def test_failure_inside_tiled_image_surfaces(pointwise_rgb, monkeypatch):
    engine = engine_for(pointwise_rgb, 64)
    from batchcolor.tiling import merger

    def broken_add(self, key, out):
        raise ValueError("bad tile")

    monkeypatch.setattr(merger.BandMerger, "add", broken_add)
    with pytest.raises(InferenceError, match="bad tile"):
        colorize_array(rng_image(300, 300, 3), engine, TileSettings(64, 16))


@pytest.mark.parametrize("shape", [(72, 64, 3), (64, 80, 3), (64, 64, 4), (64, 64), (0, 64, 3)])
def test_wrong_tile_shape_is_refused(pointwise_rgb, shape):
    engine = engine_for(pointwise_rgb, 64)
    with pytest.raises(InferenceError, match="tile must be"):
        engine.submit(np.zeros(shape, np.uint8), lambda k, o: None, 0)
    with pytest.raises(InferenceError, match="tile must be"):
        engine.submit(np.zeros((64, 64, 3), np.float32), lambda k, o: None, 0)


def test_a_rectangular_tile_runs_on_the_dynamic_model(unet_model):
    """A drawing that fits one tile along each axis runs as one tile of its own height and
    width: the network is given the rectangle (no square of paper round a wide drawing), and
    the drawing's part of its output is what ``run`` writes."""
    folder, _ = unet_model
    engine = engine_for(folder, 256)
    image = rng_image(70, 200, 1, seed=3)
    seen: list = []
    settings = TileSettings(256, 64, pad_value=255, border=16)
    tiled = colorize_array(image, engine, settings, as_uint8=False, observe=lambda key, t, o: seen.append(t.shape))
    assert seen == [(112, 240, 1)]
    canvas = np.full((112, 240, 1), 255, np.uint8)
    canvas[16:86, 16:216] = image
    out: dict = {}
    engine.submit(canvas, lambda k, o: out.setdefault(k, o.copy()), "whole")
    engine.close()
    assert out["whole"].shape == (112, 240, 3)
    np.testing.assert_allclose(tiled, out["whole"][16:86, 16:216], atol=1e-5)


def test_bf16_runs_and_is_close(unet_model):
    folder, _ = unet_model
    f32 = engine_for(folder, 256, precision="f32")
    auto = engine_for(folder, 256, precision="bf16")
    art = synthetic.line_art(256, 256, seed=9)[:, :, None]
    a = colorize_array(art, f32, TileSettings(256, 64), as_uint8=False)
    b = colorize_array(art, auto, TileSettings(256, 64), as_uint8=False)
    diff = np.abs(a - b)
    # measured on Zen 4 (bf16 default): max 0.027, mean 0.0004 on a [-1, 1] output
    assert diff.max() < 0.08 and diff.mean() < 0.003, (diff.max(), diff.mean())
    if auto.inference_precision() == "bf16":
        assert diff.max() > 0, "bf16 was reported but the output is f32's bit for bit"


def test_compiled_model_cache_is_written_reused_and_keyed_by_tile(pointwise_rgb, tmp_path):
    cache = tmp_path / "cache"

    def blobs() -> set[str]:
        return {p.name for p in cache.iterdir() if p.suffix == ".blob"}

    engine_for(pointwise_rgb, 64, cache_dir=cache)
    first = blobs()
    assert len(first) == 1, "one compiled network for one tile size"
    mtimes = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    engine_for(pointwise_rgb, 64, cache_dir=cache)
    assert blobs() == first and {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == mtimes, \
        "the second open reads the cache, it does not compile and write again"
    engine_for(pointwise_rgb, 128, cache_dir=cache)
    assert len(blobs()) == 2 and first < blobs(), "another tile size is another compiled network"


def test_memory_is_bands_not_whole_image(pointwise_rgb, monkeypatch):
    """The merger holds rows_in_flight tile-tall bands plus one overlap strip, however tall
    the image: 2 x 64 + 16 float rows here (a 3000-row image)."""
    engine = engine_for(pointwise_rgb, 64)
    from batchcolor.tiling import merger as merger_mod

    peak = {"bands": 0, "rows": 0}
    original = merger_mod.BandMerger.open_row

    def spy(self, k):
        original(self, k)
        peak["bands"] = max(peak["bands"], self.live_bands)
        peak["rows"] = max(peak["rows"], self.held_rows)

    monkeypatch.setattr(merger_mod.BandMerger, "open_row", spy)
    out = colorize_array(rng_image(3000, 80, 3), engine, TileSettings(64, 16))
    assert out.shape == (3000, 80, 3)
    assert peak["bands"] <= 3 and peak["rows"] <= 2 * 64 + 16, peak


def test_onnx_model_with_card(tmp_path):
    """An .onnx file (not only IR) is read, reshaped and run with its card."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).normal(0, 0.5, (3, 1, 1, 1)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"]), helper.make_node("Tanh", ["c"], ["y"])],
        "pointwise", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, "h", "w"])], [numpy_helper.from_array(w, "w")])
    folder = tmp_path / "onnx_model"
    folder.mkdir()
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(folder / "model.onnx"))
    from batchcolor.inference.modelcard import write_card

    write_card(synthetic.test_card("onnx", 1, 1, tile=32, overlap=0), folder / "card.json")
    engine = engine_for(folder, 32)
    image = rng_image(50, 70, 1)
    out = colorize_array(image, engine, TileSettings(32, 0), as_uint8=False)
    expected = np.tanh(((image.astype(np.float32) - 127.5) / 127.5) * w[:, 0, 0, 0])
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_an_engine_is_freed_where_its_last_user_lets_go(pointwise_rgb):
    """No engine <-> queue cycle (a weak callback, tokens as userdata): dropping the last
    reference frees it at once, on this thread, never later in the garbage collector on an
    OpenVINO callback thread (which aborted the process: "Resource deadlock avoided")."""
    import gc
    import weakref

    engine = engine_for(pointwise_rgb, 64)
    out = colorize_array(rng_image(150, 130, 3), engine, TileSettings(64, 16))  # closures referencing a merger
    assert out.shape == (150, 130, 3)
    ref = weakref.ref(engine)
    gc.disable()
    try:
        del engine
        assert ref() is None, "the engine outlived its last reference: a cycle left for the collector"
    finally:
        gc.enable()


@pytest.mark.parametrize("size", [64, 32])  # the card's tile (static model) and a smaller one (dynamic)
def test_a_tile_buffer_may_be_reused_as_soon_as_submit_returns(pointwise_rgb, size):
    """The tiler fills views of one band into requests; a request that read its input in place
    (OpenVINO's ``share_inputs``, tried for speed) would colour whatever the buffer held when
    it ran, not what it held at ``submit``."""
    import threading

    engine = engine_for(pointwise_rgb, 64, num_requests=2)
    buffer = rng_image(size, size, 3, seed=5)
    first = buffer.copy()
    got: dict = {}
    finished = threading.Event()

    def done(key, out):
        got[key] = out.copy()
        if len(got) == 8:
            finished.set()

    for i in range(8):
        buffer[:] = first if i % 2 == 0 else 255 - first
        engine.submit(buffer, done, i)
    buffer[:] = 0
    assert finished.wait(30)
    engine.close()
    even, odd = pointwise_reference(3, first), pointwise_reference(3, 255 - first)
    for i in range(8):
        np.testing.assert_allclose(got[i], even if i % 2 == 0 else odd, atol=1e-5, err_msg=f"tile {i}")


def test_the_card_border_is_the_context_round_a_drawing(unet_model, tmp_path):
    """A drawing that fits one tile gets the card's ``tile.border`` of padding all round, not
    the seam margin: its tile is the drawing plus the border, and its pixels are the network's
    on exactly that padded canvas (whole-image inference with the same padding)."""
    import json
    import shutil

    from batchcolor.colorize.settings import InferenceSettings, open_engine

    folder, model = unet_model
    bordered = tmp_path / "bordered"
    shutil.copytree(folder, bordered)
    card = json.loads((bordered / "card.json").read_text())
    card["tile"]["border"] = 16
    (bordered / "card.json").write_text(json.dumps(card))
    art = synthetic.line_art(100, 100, seed=5)[:, :, None]  # square: whole_image pads to the same canvas
    outputs = {}
    for name, path in (("margin", folder), ("border", bordered)):
        engine, tiling = open_engine(InferenceSettings(model=str(path), precision="f32"))
        try:
            sizes = []
            submit = engine.submit
            engine.submit = lambda tile, done, key: (sizes.append(tile.shape[0]), submit(tile, done, key))[1]
            outputs[name] = colorize_array(art, engine, tiling, as_uint8=False)
        finally:
            engine.close()
        assert tiling.border == (16 if name == "border" else None)
        assert sizes == ([144] if name == "border" else [208])  # 100 + 2 x 16, and 100 + 2 x round_up(48, 16)
    np.testing.assert_allclose(outputs["border"], whole_image(model, art, 16, 16), atol=1e-4)
    np.testing.assert_allclose(outputs["margin"], whole_image(model, art, 16, 48), atol=1e-4)
    assert np.abs(outputs["border"] - outputs["margin"]).max() > 1e-2  # the context reaches the pixels
