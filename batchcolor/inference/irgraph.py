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

A ``bilinear`` generator follows each nearest x2 with a fixed [1 2 1] blur, spelled
``Unsqueeze -> Pad(edge) -> Squeeze -> GroupConvolution`` by paddle2onnx. The reference Pad and
the layout reorders around it (the Pad works on a plain layout, the convolutions on a blocked
one) took 28 of the 157 ms of a 256x256 tile of the base-24 default (f32, 2 cores). Nearest x2,
edge padding and the [1 2 1]/4 blur on both axes are exactly bilinear x2 with half-pixel
centres (row ``2i`` is ``x[i-1]/4 + 3x[i]/4``, row ``2i+1`` is ``3x[i]/4 + x[i+1]/4``, and the
edge padding is bilinear's clamp at the border), which OpenVINO runs as one JIT
``Interpolate``: 12.9 -> 15.3 tiles/s, outputs within 2e-6. The chain is matched op by op
(kernel values, pads, mode) and needs no shape proof: every step is local.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

NEAREST_X2_REPEATS = [1, 1, 1, 2, 1, 2]
BLUR121 = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16.0  # exact in fp16, as the IR stores it


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
    def source_of(node: Any) -> Any | None:
        if node.get_type_name() != "Tile" or (only is not None and node.get_friendly_name() not in only):
            return None
        return _nearest_x2_source(node)

    def reshape_of(tile: Any) -> Any:  # the op whose output the Interpolate takes over
        return next(iter(tile.output(0).get_target_inputs())).get_node()

    return _replace_by_x2_interpolate(model, source_of, reshape_of, mode="nearest",
                                      coordinate_transformation_mode="asymmetric", nearest_mode="floor")


def _replace_by_x2_interpolate(model: Any, source_of: Callable[[Any], Any | None], replaced_op: Callable[[Any], Any],
                               **interpolate: str) -> int:
    """For every op with a ``source_of`` (the 4-D tensor it up-samples by 2), put an x2
    Interpolate with these attributes in the place of ``replaced_op(op)``; how many."""
    ops = _ov().opset11
    replaced = 0
    for node in model.get_ordered_ops():
        source = source_of(node)
        if source is None:
            continue
        target = replaced_op(node)
        interp = ops.interpolate(source, ops.constant(np.array([2.0, 2.0], np.float32)), shape_calculation_mode="scales",
                                 axes=ops.constant(np.array([2, 3], np.int64)), **interpolate)
        interp.set_friendly_name(target.get_friendly_name())
        target.output(0).replace(interp.output(0))
        replaced += 1
    if replaced:
        model.validate_nodes_and_infer_types()
    return replaced


def _constant_array(output: Any) -> np.ndarray | None:
    """A Constant's data, also through the Convert that fp16-compressed IRs put after it."""
    node = output.get_node()
    if node.get_type_name() == "Convert" and node.input_value(0).get_node().get_type_name() == "Constant":
        return node.input_value(0).get_node().get_data().astype(np.float64)
    if node.get_type_name() == "Constant":
        return np.asarray(node.get_data())
    return None


def _through_rank_changes(output: Any) -> Any:
    """Walk up through Unsqueeze/Squeeze that leave the last two (H, W) axes alone.

    paddle2onnx pads a 4-D tensor as a 5-D one; anything that could move H or W stops the walk."""
    while output.get_node().get_type_name() in ("Unsqueeze", "Squeeze"):
        node = output.get_node()
        axes = _constant_array(node.input_value(1))
        ranks = (node.get_input_partial_shape(0).rank, node.get_output_partial_shape(0).rank)
        if axes is None or any(r.is_dynamic for r in ranks):
            return output
        rank = max(r.get_length() for r in ranks)
        if any(int(a) % rank >= rank - 2 for a in np.ravel(axes)):
            return output
        output = node.input_value(0)
    return output


def _is_nearest_x2(node: Any) -> bool:
    if node.get_type_name() != "Interpolate" or len(node.input_values()) != 3:
        return False
    attrs = node.get_attributes()
    if (attrs["mode"], attrs["shape_calculation_mode"], attrs["coordinate_transformation_mode"], attrs["nearest_mode"]) != (
            "nearest", "scales", "asymmetric", "floor") or any(attrs["pads_begin"]) or any(attrs["pads_end"]):
        return False
    scales, axes = _constant_array(node.input_value(1)), _constant_array(node.input_value(2))
    rank = node.get_input_partial_shape(0).rank
    return scales is not None and axes is not None and list(np.ravel(scales)) == [2.0, 2.0] and sorted(
        int(a) % 4 for a in np.ravel(axes)) == [2, 3] and rank.is_static and rank.get_length() == 4


def _bilinear_x2_source(conv: Any) -> Any | None:
    """The 4-D input of a nearest x2 + edge Pad + [1 2 1] blur chain ending in ``conv``, or None."""
    attrs = conv.get_attributes()
    if attrs["strides"] != [1, 1] or attrs["dilations"] != [1, 1] or any(attrs["pads_begin"]) or any(attrs["pads_end"]):
        return None
    if attrs.get("auto_pad", "explicit") not in ("explicit", "notset"):
        return None
    kernel = _constant_array(conv.input_value(1))  # G x 1 x 1 x 3 x 3: one blur per channel
    if kernel is None or kernel.ndim != 5 or kernel.shape[1:] != (1, 1, 3, 3) or not np.array_equal(kernel, np.broadcast_to(BLUR121, kernel.shape)):
        return None
    pad = _through_rank_changes(conv.input_value(0)).get_node()
    if pad.get_type_name() != "Pad" or pad.get_attributes()["pad_mode"] != "edge":
        return None
    begin, end = _constant_array(pad.input_value(1)), _constant_array(pad.input_value(2))
    if begin is None or end is None:
        return None
    if list(begin[-2:]) != [1, 1] or list(end[-2:]) != [1, 1] or begin[:-2].any() or end[:-2].any():
        return None
    nearest = _through_rank_changes(pad.input_value(0)).get_node()
    if not _is_nearest_x2(nearest):
        return None
    channels = nearest.get_input_partial_shape(0)[1]
    if channels.is_dynamic or channels.get_length() != kernel.shape[0]:
        return None
    return nearest.input_value(0)


def fuse_bilinear_upsample(model: Any) -> int:
    """Replace every nearest x2 + edge Pad + [1 2 1] blur by a bilinear Interpolate, in place.

    Run it after :func:`fuse_nearest_upsample` (it matches the nearest x2 as an Interpolate).
    Returns how many were replaced; the nearest Interpolate and the Pad are left to dead-code
    removal when nothing else reads them."""
    def source_of(node: Any) -> Any | None:
        return _bilinear_x2_source(node) if node.get_type_name() == "GroupConvolution" else None

    return _replace_by_x2_interpolate(model, source_of, lambda conv: conv, mode="linear_onnx",
                                      coordinate_transformation_mode="half_pixel")


def fuse_upsampling(model: Any) -> dict[str, int]:
    """The export's graph rewrites, in their order (the bilinear one matches the nearest
    Interpolate the first one makes): how many of each were made. ``export`` writes IRs with
    them and ``models/ship.py --rewrite-ir`` brings a shipped IR up to date with them."""
    return {"nearest": fuse_nearest_upsample(model), "bilinear": fuse_bilinear_upsample(model)}
