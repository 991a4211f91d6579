"""The Tile -> Interpolate rewrite: exact where it applies, untouched where it must not."""
from __future__ import annotations

import numpy as np
import openvino as ov
import pytest

from batchcolor.inference.irgraph import fuse_bilinear_upsample, fuse_nearest_upsample

ops = ov.opset11


def _i64(values):
    return ops.constant(np.array(values, np.int64))


def nearest_x2_model(repeats=(1, 1, 1, 2, 1, 2), axes=(3, 5), repeats_from_input=False, target=None):
    """conv -> pool -> [Unsqueeze -> Tile -> Reshape] -> conv, as paddle2onnx spells it: stride 2."""
    rng = np.random.default_rng(0)
    x = ops.parameter(ov.PartialShape([1, 1, -1, -1]), ov.Type.f32, name="x")
    y = ops.convolution(x, ops.constant(rng.normal(size=(4, 1, 3, 3)).astype(np.float32)), [1, 1], [1, 1], [1, 1], [1, 1])
    y = ops.max_pool(ops.relu(y), [2, 2], [1, 1], [0, 0], [0, 0], [2, 2]).output(0)
    u = ops.unsqueeze(y, _i64(list(axes)))
    if repeats_from_input:  # repeats that depend on the data's shape: cannot be evaluated offline
        reps = ops.concat([_i64([1, 1, 1]), ops.gather(ops.shape_of(x), _i64([0]), _i64(0)), _i64([1, 2])], 0)
    else:  # a Concat of constants, like paddle2onnx's Slice/Concat that the frontend leaves unfolded
        reps = ops.concat([_i64(list(repeats[:3])), _i64(list(repeats[3:]))], 0)
    t = ops.tile(u, reps)
    if target is None:
        width2 = ops.multiply(ops.gather(ops.shape_of(y), _i64([3]), _i64(0)), _i64([2]))
        target = ops.concat([_i64([0, 0, -1]), width2], 0)
    else:
        target = _i64(list(target))
    r = ops.reshape(t, target, special_zero=True)
    out = ops.convolution(r, ops.constant(rng.normal(size=(3, 4, 3, 3)).astype(np.float32)), [1, 1], [1, 1], [1, 1], [1, 1])
    return ov.Model([ops.result(out)], [x], "up")


def run(model, x):
    return ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})(x)[0]


def op_types(model):
    return [op.get_type_name() for op in model.get_ordered_ops()]


@pytest.mark.parametrize("static", [False, True])
def test_rewrite_is_exact_and_removes_tile(static):
    x = np.random.default_rng(1).normal(size=(1, 1, 24, 40)).astype(np.float32)
    original, rewritten = nearest_x2_model(), nearest_x2_model()
    if static:
        original.reshape([1, 1, 24, 40])
        rewritten.reshape([1, 1, 24, 40])
    assert fuse_nearest_upsample(rewritten) == 1
    assert "Tile" not in op_types(rewritten) and "Interpolate" in op_types(rewritten)
    expected, got = run(original, x), run(rewritten, x)
    assert got.shape == (1, 3, 24, 40)
    np.testing.assert_array_equal(got, expected)
    assert fuse_nearest_upsample(rewritten) == 0  # idempotent


@pytest.mark.parametrize("kwargs", [
    {"repeats": (1, 1, 1, 3, 1, 2)},  # x3 on H: not nearest x2
    {"repeats": (1, 1, 1, 2, 1, 1)},
    {"axes": (2, 4), "repeats": (1, 1, 2, 1, 2, 1)},  # same shape, interleaved the other way
    {"repeats_from_input": True},  # repeats not a constant
])
def test_lookalikes_are_left_alone(kwargs):
    model = nearest_x2_model(**kwargs)
    before = op_types(model)
    assert fuse_nearest_upsample(model) == 0
    assert op_types(model) == before


def test_static_reshape_to_another_layout_is_left_alone():
    # (1, 4, H, 2, W, 2) -> (1, 4, 4H, W) is a legal 4-D reshape, but not an up-sampling
    model = nearest_x2_model(target=(1, 4, 48, 20))
    model.reshape([1, 1, 24, 40])
    assert fuse_nearest_upsample(model) == 0
    assert "Tile" in op_types(model)


def test_engine_fuses_old_irs_and_gives_the_same_pixels(tmp_path):
    """An IR exported before the rewrite runs on the engine with Interpolate, same output."""
    from batchcolor.inference.engine import Engine, EngineConfig, prepare_model
    from batchcolor.tools.synthetic import save_with_card, test_card

    model = nearest_x2_model()
    folder = tmp_path / "old"
    save_with_card(model, folder, test_card("old", 1, 2, tile=32, overlap=8))
    from batchcolor.inference.modelcard import resolve_model

    ref = resolve_model(folder)
    core = ov.Core()
    prepared = prepare_model(core, ref.model_path, ref.card, 32)
    assert "Tile" not in op_types(prepared)
    engine = Engine(ref.model_path, ref.card, EngineConfig(tile=32, precision="f32"))
    tile = np.random.default_rng(2).integers(0, 256, size=(32, 32, 1), dtype=np.uint8)
    got = engine.infer_sync(tile)
    x = ((tile.astype(np.float32) - ref.card.input_mean) / ref.card.input_std).transpose(2, 0, 1)[None]
    expected = run(core.read_model(str(ref.model_path)), x)[0].transpose(1, 2, 0)
    assert got.shape == (32, 32, 3)
    np.testing.assert_allclose(got, expected, atol=1e-5)


# --- the bilinear blur chain --------------------------------------------------------------

BLUR = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16.0


def bilinear_chain_model(kernel=BLUR, pad_mode="edge", pad=1, nearest_mode="floor", transform="asymmetric",
                         scale=2.0, fp16_kernel=True, channels=4):
    """conv -> pool -> nearest x2 Interpolate -> [Unsqueeze -> Pad -> Squeeze -> blur] -> conv,
    as paddle2onnx spells a bilinear generator's up-sampling (the Pad is 5-D, the kernel an
    fp16 constant behind a Convert, as in a compressed IR)."""
    rng = np.random.default_rng(0)
    x = ops.parameter(ov.PartialShape([1, 1, -1, -1]), ov.Type.f32, name="x")
    y = ops.convolution(x, ops.constant(rng.normal(size=(channels, 1, 3, 3)).astype(np.float32)), [1, 1], [1, 1], [1, 1], [1, 1])
    y = ops.max_pool(ops.relu(y), [2, 2], [1, 1], [0, 0], [0, 0], [2, 2]).output(0)
    up = ops.interpolate(y, ops.constant(np.array([scale, scale], np.float32)), mode="nearest",
                         shape_calculation_mode="scales", axes=_i64([2, 3]),
                         coordinate_transformation_mode=transform, nearest_mode=nearest_mode)
    u = ops.unsqueeze(up, _i64([2]))
    p = ops.pad(u, _i64([0, 0, 0, pad, pad]), _i64([0, 0, 0, pad, pad]), pad_mode)
    s = ops.squeeze(p, _i64([2]))
    k = np.broadcast_to(np.asarray(kernel, np.float32), (channels, 1, 1, 3, 3)).copy()
    weights = ops.convert(ops.constant(k.astype(np.float16)), ov.Type.f32) if fp16_kernel else ops.constant(k)
    blurred = ops.group_convolution(s, weights, [1, 1], [0, 0], [0, 0], [1, 1])
    out = ops.convolution(blurred, ops.constant(rng.normal(size=(3, channels, 3, 3)).astype(np.float32)), [1, 1], [1, 1], [1, 1], [1, 1])
    return ov.Model([ops.result(out)], [x], "bilinear")


def numpy_bilinear_x2(x: np.ndarray) -> np.ndarray:
    """Half-pixel bilinear x2 of an N x C x H x W array, clamped at the border: the reference."""
    def axis_x2(a, axis):
        n = a.shape[axis]
        src = (np.arange(2 * n) + 0.5) / 2 - 0.5
        lo = np.clip(np.floor(src).astype(int), 0, n - 1)
        hi = np.clip(lo + 1, 0, n - 1)
        w = np.clip(src - np.floor(src), 0, 1)
        w = np.where(src < 0, 0.0, w)
        shape = [1] * a.ndim
        shape[axis] = 2 * n
        return np.take(a, lo, axis) * (1 - w).reshape(shape) + np.take(a, hi, axis) * w.reshape(shape)
    return axis_x2(axis_x2(x, 2), 3)


@pytest.mark.parametrize("fp16_kernel", [True, False])
def test_bilinear_rewrite_is_exact_and_removes_the_pad_and_blur(fp16_kernel):
    x = np.random.default_rng(1).normal(size=(1, 1, 24, 40)).astype(np.float32)
    original, rewritten = bilinear_chain_model(fp16_kernel=fp16_kernel), bilinear_chain_model(fp16_kernel=fp16_kernel)
    assert fuse_bilinear_upsample(rewritten) == 1
    types = op_types(rewritten)
    assert "Pad" not in types and "GroupConvolution" not in types and types.count("Interpolate") == 1
    expected, got = run(original, x), run(rewritten, x)
    assert got.shape == (1, 3, 24, 40)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert fuse_bilinear_upsample(rewritten) == 0  # idempotent


def test_the_blur_chain_is_bilinear_x2_by_the_textbook():
    """What the rewrite relies on, checked against a from-scratch half-pixel bilinear."""
    x = np.random.default_rng(4).normal(size=(1, 2, 5, 7)).astype(np.float32)
    p = ops.parameter(ov.PartialShape([1, 2, 5, 7]), ov.Type.f32)
    up = ops.interpolate(p, ops.constant(np.array([2.0, 2.0], np.float32)), mode="nearest", shape_calculation_mode="scales",
                         axes=_i64([2, 3]), coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    padded = ops.pad(up, _i64([0, 0, 1, 1]), _i64([0, 0, 1, 1]), "edge")
    blurred = ops.group_convolution(padded, ops.constant(np.broadcast_to(BLUR, (2, 1, 1, 3, 3)).astype(np.float32)),
                                    [1, 1], [0, 0], [0, 0], [1, 1])
    chain = run(ov.Model([ops.result(blurred)], [p], "chain"), x)
    np.testing.assert_allclose(chain, numpy_bilinear_x2(x), atol=1e-6)
    np.testing.assert_allclose(numpy_bilinear_x2(x)[:, :, ::2, ::2][:, :, 1:, 1:],  # the reference is not nearest
                               0.5625 * x[:, :, 1:, 1:] + 0.1875 * (x[:, :, :-1, 1:] + x[:, :, 1:, :-1]) + 0.0625 * x[:, :, :-1, :-1],
                               atol=1e-6)


@pytest.mark.parametrize("kwargs", [
    {"kernel": np.full((3, 3), 1 / 9)},  # a box blur: not bilinear
    {"kernel": BLUR * 1.01},
    {"pad_mode": "reflect"},  # mirrors the border instead of clamping
    {"pad_mode": "constant"},
    {"pad": 2},
    {"nearest_mode": "round_prefer_ceil"},  # shifts the grid by one pixel
    {"transform": "half_pixel", "nearest_mode": "round_prefer_floor"},
    {"scale": 3.0},
])
def test_blur_lookalikes_are_left_alone(kwargs):
    model = bilinear_chain_model(**kwargs)
    before = op_types(model)
    assert fuse_bilinear_upsample(model) == 0
    assert op_types(model) == before


def test_engine_fuses_the_blur_chain_of_old_bilinear_irs(tmp_path):
    from batchcolor.inference.engine import Engine, EngineConfig, prepare_model
    from batchcolor.inference.modelcard import resolve_model
    from batchcolor.tools.synthetic import save_with_card, test_card

    folder = tmp_path / "old"
    save_with_card(bilinear_chain_model(), folder, test_card("old", 1, 2, tile=32, overlap=8))
    ref = resolve_model(folder)
    core = ov.Core()
    prepared = prepare_model(core, ref.model_path, ref.card, 32)
    assert "Pad" not in op_types(prepared) and "GroupConvolution" not in op_types(prepared)
    engine = Engine(ref.model_path, ref.card, EngineConfig(tile=32, precision="f32"))
    tile = np.random.default_rng(2).integers(0, 256, size=(32, 32, 1), dtype=np.uint8)
    x = ((tile.astype(np.float32) - ref.card.input_mean) / ref.card.input_std).transpose(2, 0, 1)[None]
    expected = run(core.read_model(str(ref.model_path)), x)[0].transpose(1, 2, 0)
    np.testing.assert_allclose(engine.infer_sync(tile), expected, atol=1e-4)


def _ship():
    import importlib.util

    from conftest import REPO

    spec = importlib.util.spec_from_file_location("ship", REPO / "models" / "ship.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ship_rewrites_an_old_ir_in_place_with_the_same_function(tmp_path):
    """models/ship.py --rewrite-ir: the file gets the rewritten graph, outputs unchanged."""
    from batchcolor.tools.synthetic import save_with_card, test_card

    folder = tmp_path / "old"
    save_with_card(bilinear_chain_model(), folder, test_card("old", 1, 2, tile=32, overlap=8))
    core = ov.Core()
    x = np.random.default_rng(5).normal(size=(1, 1, 48, 64)).astype(np.float32)
    before = run(core.read_model(str(folder / "model.xml")), x)
    report = _ship().rewrite_ir(folder)
    assert report["bilinear"] == 1 and report["max_abs_difference_f32"] <= 1e-4
    after_model = core.read_model(str(folder / "model.xml"))
    assert "Pad" not in op_types(after_model) and "GroupConvolution" not in op_types(after_model)
    np.testing.assert_allclose(run(after_model, x), before, atol=1e-4)
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []  # no temporary left
    assert _ship().rewrite_ir(folder) == {"rewritten": 0}  # nothing left to do: the file is not touched


def test_ship_refuses_a_rewrite_that_changes_the_output(tmp_path, monkeypatch):
    """The check can fail: a rewrite that is not exact leaves the shipped IR as it was."""
    import batchcolor.inference.irgraph as irgraph
    from batchcolor.tools.synthetic import save_with_card, test_card

    folder = tmp_path / "old"
    save_with_card(bilinear_chain_model(), folder, test_card("old", 1, 2, tile=32, overlap=8))
    original = (folder / "model.xml").read_bytes()

    def wrong(model):  # nearest instead of bilinear: a plausible mistake, 1 op "fused"
        for node in model.get_ordered_ops():
            if node.get_type_name() == "GroupConvolution":
                node.output(0).replace(irgraph._through_rank_changes(
                    irgraph._through_rank_changes(node.input_value(0)).get_node().input_value(0)))
                model.validate_nodes_and_infer_types()
                return 1
        return 0

    monkeypatch.setattr(irgraph, "fuse_bilinear_upsample", wrong)
    with pytest.raises(SystemExit, match="differs"):
        _ship().rewrite_ir(folder)
    assert (folder / "model.xml").read_bytes() == original
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
