"""Where a size came from: for a call that refuses its inputs, which layer made each input and,
on the axes where the inputs disagree, which layer made each disagreeing size and by what rule.

A U-Net decoder whose skip connection meets an up-sampled tensor of another size is told
``axis 1 (height): 32 = 16 * 2 at up_sampling2d; 33 = floor((66 - 2) / 2) + 1 at
max_pooling2d_1``: the size is followed back through the layers that kept it on that axis to
the one that changed it, and that layer's own explanation gives the working.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .graph import Call, TensorRef
from .layers.base import Shape, fmt_shape
from .layers.explaining import spatial_names
from .layers.input_layer import InputLayer


def source_name(ref: TensorRef) -> str:
    """How the spec names the tensor: the producing layer, or the name a Reuse gave its output."""
    return ref.call.alias or ref.call.layer.name


def describe_inputs(call: Call, shapes: Mapping[Call, Any]) -> str:
    """``(None, 32, 32, 16) from up_sampling2d, (None, 33, 33, 16) from conv2d_3``, then, for
    the axes where known sizes disagree, where each size was made."""
    refs = _expanded(call, shapes)
    if not refs:
        return ""
    given = [shapes[ref.call].outputs[index] for ref, index in refs]
    parts = [
        f"{fmt_shape(shape)} from {source_name(ref)}" for (ref, _), shape in zip(refs, given, strict=True)
    ]
    text = ", ".join(parts)
    # axes whose sizes came about the same way (height and width of a square image) share a line
    traced: dict[str, list[int]] = {}
    for axis in _disagreeing_axes(given):
        traced.setdefault(_axis_origins(refs, given, axis, shapes), []).append(axis)
    return text + "".join(f"; {_axes_label(axes, len(given[0]))}: {line}" for line, axes in traced.items())


def _expanded(call: Call, shapes: Mapping[Call, Any]) -> list[tuple[TensorRef, int]]:
    """Each input tensor with its output index (a reference to all of a call's outputs is one per output)."""
    refs = []
    for ref in call.inputs:
        if ref.call not in shapes:
            return []
        count = len(shapes[ref.call].outputs)
        indexes = range(count) if ref.index is None else [ref.index]
        refs.extend((ref, k) for k in indexes if k < count)
    return refs


def _disagreeing_axes(given: list[Shape]) -> list[int]:
    """Axes after the batch one where the inputs (all of one rank) have different known sizes."""
    if len(given) < 2 or len({len(s) for s in given}) != 1:
        return []
    return [axis for axis in range(1, len(given[0])) if len({s[axis] for s in given} - {None}) > 1]


def _axis_origins(
    refs: list[tuple[TensorRef, int]], given: list[Shape], axis: int, shapes: Mapping[Call, Any]
) -> str:
    origins = []
    for (ref, index), shape in zip(refs, given, strict=True):
        size = shape[axis]
        if size is not None:
            origins.append(f"{size} = {_origin(ref.call, index, axis, size, shapes)}")
    return "; ".join(dict.fromkeys(origins))


def _axes_label(axes: list[int], rank: int) -> str:
    """``axis 1 (height)``, ``axes 1, 2 (height, width)``."""
    names = [_axis_name(rank, axis).strip(" ()") for axis in axes]
    hint = f" ({', '.join(names)})" if all(names) else ""
    if len(axes) == 1:
        return f"axis {axes[0]}{hint}"
    return f"axes {', '.join(str(a) for a in axes)}{hint}"


def _axis_name(rank: int, axis: int) -> str:
    """`` (height)`` for a channels_last spatial axis, as a hint; nothing where no name fits."""
    spatial = rank - 2
    if 1 <= spatial <= 3 and 1 <= axis <= spatial:
        return f" ({spatial_names(spatial)[axis - 1]})"
    return ""


def _origin(call: Call, index: int, axis: int, size: int, shapes: Mapping[Call, Any]) -> str:
    """The working of the layer that gave the output ``index`` of ``call`` its ``size`` on
    ``axis``: back through every layer whose (first) input already had it there."""
    while True:
        layer = call.layer
        if isinstance(layer, InputLayer):
            return f"the declared size of the input {layer.name}"
        record = shapes[call]
        out = record.outputs[index]
        first = record.inputs[0] if record.inputs else None
        if first is not None and len(first) == len(out) and first[axis] == size and call.inputs:
            ref = call.inputs[0]
            call, index = ref.call, ref.index or 0
            continue
        return f"{_working(layer, record, axis, size)} at {layer.name}"


def _working(layer: Any, record: Any, axis: int, size: int) -> str:
    """The step of the layer's explanation that made ``size`` on ``axis``, or its type alone."""
    given = record.inputs if layer.takes_list else record.inputs[0]
    steps = layer.explain(given)
    rank = len(record.outputs[0])
    wanted = _axis_name(rank, axis).strip(" ()") or f"axis {axis}"
    matching = [s for s in steps if s.result == size]
    step = next((s for s in matching if s.axis == wanted), matching[0] if matching else None)
    if step is None:
        return f"the output of {layer.type_name()}"
    return step.formula
