"""The Tile -> Interpolate rewrite: exact where it applies, untouched where it must not."""
from __future__ import annotations

import numpy as np
import openvino as ov
import pytest

from batchcolor.inference.irgraph import fuse_nearest_upsample

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
