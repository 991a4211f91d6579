"""Graph rewrites on OpenVINO models that make exported networks run faster, bit for bit.

The generator's nearest x2 up-sampling has to be spelled ``Unsqueeze -> Tile -> Reshape`` to
get through paddle2onnx (see ``train/models.py``). OpenVINO's CPU plugin has no optimised
kernel for a 6-D Tile: it runs the reference implementation plus a layout reorder, which
measured 8 of the 34 ms of a 256x256 tile of the shipped model (bf16, 2 cores). The same
operation as an ``Interpolate`` (nearest, asymmetric, floor; exact for an integer factor) runs
in a JIT kernel: 58.5 -> 77.4 tiles/s with identical f32 outputs.

A match is rewritten only when it is nearest x2 on H and W: Unsqueeze at axes 3 and 5 of a
4-D tensor, Tile repeats that evaluate to ``[1, 1, 1, 2, 1, 2]`` (a constant subgraph,
evaluated here) and one Reshape back to 4-D. With static shapes (an engine's model, reshaped
to its tile) the Reshape must give ``(N, C, 2H, 2W)``, which proves it: the row-major merge of
``(H, 2)`` and ``(W, 2)`` is exactly nearest x2. With dynamic H and W (an exported IR) that
last step cannot be read off the shapes, so ``export`` checks the rewritten IR against Paddle.
"""
from __future__ import annotations

from typing import Any

import numpy as np

NEAREST_X2_REPEATS = [1, 1, 1, 2, 1, 2]


def _ov():
    from batchcolor.inference.runtime import openvino

    ov = openvino()

    return ov


def _constant_value(output: Any) -> list[int] | None:
    """Evaluate a parameter-free subgraph (paddle2onnx builds Tile repeats from Slice/Concat
    of constants that OpenVINO's frontend does not fold); None if it needs an input."""
    ov = _ov()
    node = output.get_node()
    if node.get_type_name() == "Constant":
        return [int(v) for v in np.ravel(node.get_data())]
    try:
        probe = ov.Model([ov.opset11.result(output)], [], "repeats")
        values = ov.Core().compile_model(probe, "CPU")({})[0]
    except Exception:  # depends on a Parameter, or not evaluable: not ours to touch
        return None
    return [int(v) for v in np.ravel(values)]


def _nearest_x2_source(tile: Any) -> Any | None:
    """The 4-D input of an Unsqueeze/Tile/Reshape nearest x2, or None if ``tile`` is not one."""
    unsqueeze = tile.input_value(0).get_node()
    if unsqueeze.get_type_name() != "Unsqueeze":
        return None
    source = unsqueeze.input_value(0)
    if source.get_partial_shape().rank.is_dynamic or source.get_partial_shape().rank.get_length() != 4:
        return None
    axes = _constant_value(unsqueeze.input_value(1))
    if axes is None or sorted(a % 6 for a in axes) != [3, 5]:
        return None
    if _constant_value(tile.input_value(1)) != NEAREST_X2_REPEATS:
        return None
    consumers = list(tile.output(0).get_target_inputs())
    if len(consumers) != 1 or consumers[0].get_node().get_type_name() != "Reshape":
        return None
    out_shape = consumers[0].get_node().get_output_partial_shape(0)
    if out_shape.rank.is_dynamic or out_shape.rank.get_length() != 4:
        return None
    in_shape = source.get_partial_shape()
    if in_shape.is_static and out_shape.is_static:
        n, c, h, w = in_shape.to_shape()
        if list(out_shape.to_shape()) != [n, c, 2 * h, 2 * w]:
            return None
    return source


def proven_nearest_upsamples(model: Any, shape: list[int]) -> set[str]:
    """Names of the Tile nodes that are nearest x2 with ``model``'s input fixed to ``shape``
    (on a clone; the model itself is untouched): the static-shape proof for a dynamic model."""
    probe = model.clone()
    probe.reshape({probe.input(0): _ov().PartialShape(shape)})
    return {n.get_friendly_name() for n in probe.get_ordered_ops()
            if n.get_type_name() == "Tile" and _nearest_x2_source(n) is not None}


def fuse_nearest_upsample(model: Any, only: set[str] | None = None) -> int:
    """Replace every provable Unsqueeze/Tile/Reshape nearest x2 by an Interpolate, in place.

    Returns how many were replaced (see the module docstring for when a match counts);
    ``only`` restricts the rewrite to Tile nodes of these names (see
    :func:`proven_nearest_upsamples`).
    """
    ov = _ov()
    ops = ov.opset11
    replaced = 0
    for node in model.get_ordered_ops():
        if node.get_type_name() != "Tile" or (only is not None and node.get_friendly_name() not in only):
            continue
        source = _nearest_x2_source(node)
        if source is None:
            continue
        reshape = next(iter(node.output(0).get_target_inputs())).get_node()
        interp = ops.interpolate(
            source,
            ops.constant(np.array([2.0, 2.0], np.float32)),
            mode="nearest",
            shape_calculation_mode="scales",
            axes=ops.constant(np.array([2, 3], np.int64)),
            coordinate_transformation_mode="asymmetric",
            nearest_mode="floor",
        )
        interp.set_friendly_name(reshape.get_friendly_name())
        reshape.output(0).replace(interp.output(0))
        replaced += 1
    if replaced:
        model.validate_nodes_and_infer_types()
    return replaced
