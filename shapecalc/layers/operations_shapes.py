"""Operation nodes that move values around: ``ops.transpose``, ``ops.reshape``,
``ops.expand_dims``, ``ops.squeeze``, and ``ops.matmul``; the element-wise ones and the
reductions are in operations.py, with what every operation shares. The shape rules are
``keras/src/ops/operation_utils.py``'s: the batch axis is an axis like the others here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ArgError, ShapeError
from ..lazy import lazy
from . import args as A
from .base import Arg, Shape, fmt_shape, known_product
from .explaining import Step, show
from .operations import FLOAT_DTYPES, Operation, axis_list, broadcast_shapes, canonical
from .registry import register

np = lazy("numpy")


@register
class Transpose(Operation):
    """keras.ops.transpose(x, axes=None): operation_utils.compute_transpose_output_shape."""

    spec_name = "ops.transpose"
    arguments = (Arg("axes", axis_list, None, "the permutation of the axes; null: reversed"),)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rank = len(input_shape)
        if self.axes is None:
            return tuple(reversed(input_shape))
        if len(self.axes) != rank:
            raise ShapeError(
                f"axes {list(self.axes)} must list the {rank} axes of the input, got {len(self.axes)}"
            )
        order = [canonical(a, rank) for a in self.axes]
        if len(set(order)) != rank:
            raise ShapeError(f"axes {list(self.axes)} must be a permutation of the input's axes (no repeats)")
        return tuple(input_shape[a] for a in order)

    def check_input(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)

    def forward(self, inputs: Any, weights: Mapping[str, Any]) -> Any:
        return np.transpose(inputs, None if self.axes is None else [a % inputs.ndim for a in self.axes])

    def explain(self, input_shape: Shape) -> list[Step]:
        order = "reversed" if self.axes is None else f"in the order {list(self.axes)}"
        return [
            Step(
                "shape",
                f"the axes of {show(input_shape)} {order}",
                list(self.compute_output_shape(input_shape)),
            )
        ]


def _newshape(value: Any) -> tuple[int, ...]:
    if A.is_int(value):
        value = [value]
    if not isinstance(value, list) or not all(A.is_int(v) and v >= -1 for v in value):
        raise ArgError(f"expected a shape (a list of sizes, one of them may be -1), got {A.describe(value)}")
    if value.count(-1) > 1:
        raise ArgError(f"only one size can be -1, got {A.describe(value)}")
    return tuple(value)


@register
class Reshape(Operation):
    """keras.ops.reshape(x, newshape): the batch axis is an axis like any other here."""

    spec_name = "ops.reshape"
    arguments = (Arg("newshape", _newshape, doc="the new shape, batch axis included; one size may be -1"),)

    def check_input(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        target = self.newshape
        if None in input_shape:
            return tuple(None if d == -1 else d for d in target)
        size = math.prod(input_shape)
        known = math.prod(d for d in target if d != -1)
        if -1 not in target:
            if size != known:
                raise ShapeError(
                    f"cannot reshape {fmt_shape(input_shape)} ({size} values) into {fmt_shape(target)}"
                )
            return target
        if known == 0 or size % known:
            raise ShapeError(
                f"cannot reshape {fmt_shape(input_shape)} ({size} values) into {fmt_shape(target)}: "
                f"{size} is not a multiple of {known}"
            )
        return tuple(size // known if d == -1 else d for d in target)

    def forward(self, inputs: Any, weights: Mapping[str, Any]) -> Any:
        return np.reshape(inputs, self.newshape)

    def explain(self, input_shape: Shape) -> list[Step]:
        output = self.compute_output_shape(input_shape)
        if -1 not in self.newshape:
            why = "as given"
        elif None in input_shape:
            why = "the -1 unknown, as a size of the input is"
        else:
            known = math.prod(d for d in self.newshape if d != -1)
            why = f"the -1 is {math.prod(input_shape)} values / {known}"
        return [
            Step(
                "shape", f"newshape {show(list(self.newshape))}, the batch axis included: {why}", list(output)
            )
        ]


@register
class ExpandDims(Operation):
    """keras.ops.expand_dims(x, axis): a 1 inserted at each axis of the output."""

    spec_name = "ops.expand_dims"
    arguments = (Arg("axis", axis_list, doc="where the new axes stand in the output"),)

    def check_input(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rank = len(input_shape) + len(self.axis)
        axes = {canonical(a, rank) for a in self.axis}
        rest = iter(input_shape)
        return tuple(1 if k in axes else next(rest) for k in range(rank))

    def forward(self, inputs: Any, weights: Mapping[str, Any]) -> Any:
        return np.reshape(inputs, self.compute_output_shape(inputs.shape))

    def explain(self, input_shape: Shape) -> list[Step]:
        listed = ", ".join(str(a) for a in self.axis)
        return [
            Step(
                "shape",
                f"{show(input_shape)} with a 1 at axis {listed} of the output",
                list(self.compute_output_shape(input_shape)),
            )
        ]


@register
class Squeeze(Operation):
    """keras.ops.squeeze(x, axis=None): axes of size 1 removed (every such axis without ``axis``)."""

    spec_name = "ops.squeeze"
    arguments = (Arg("axis", axis_list, None, "the axes removed, each of size 1; null: every 1"),)

    def check_input(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if self.axis is None:
            return tuple(d for d in input_shape if d != 1)
        axes = {canonical(a, len(input_shape)) for a in self.axis}
        for a in sorted(axes):
            if input_shape[a] != 1:
                raise ShapeError(f"cannot squeeze axis {a} of {fmt_shape(input_shape)}: its size is not 1")
        return tuple(d for k, d in enumerate(input_shape) if k not in axes)

    def forward(self, inputs: Any, weights: Mapping[str, Any]) -> Any:
        return np.reshape(inputs, self.compute_output_shape(inputs.shape))

    def explain(self, input_shape: Shape) -> list[Step]:
        which = (
            "every axis of size 1" if self.axis is None else "axis " + ", ".join(str(a) for a in self.axis)
        )
        return [
            Step(
                "shape", f"{show(input_shape)} without {which}", list(self.compute_output_shape(input_shape))
            )
        ]


@register
class Matmul(Operation):
    """keras.ops.matmul(x1, x2): operation_utils.compute_matmul_output_shape."""

    spec_name = "ops.matmul"
    takes_list = True
    list_inputs = "[x1, x2]"

    def check_input(self, input_shape: list[Shape]) -> None:
        if len(input_shape) != 2:
            raise ShapeError(f"takes two tensors, x1 and x2, got {len(input_shape)}")
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        first, second = (tuple(s) for s in input_shape)
        if not first or not second:
            raise ShapeError("matmul needs tensors of rank 1 or more")
        a = (1, first[0]) if len(first) == 1 else first
        b = (second[0], 1) if len(second) == 1 else second
        if a[-1] is not None and b[-2] is not None and a[-1] != b[-2]:
            raise ShapeError(
                f"the last axis of x1 {fmt_shape(first)} and the second-to-last of x2 {fmt_shape(second)} "
                f"must be equal: {a[-1]} vs {b[-2]}"
            )
        out = [*broadcast_shapes(a[:-2], b[:-2]), a[-2], b[-1]]
        if len(first) == 1:
            del out[-2]
        if len(second) == 1:
            del out[-1]
        return tuple(out)

    def macs(self, input_shape: list[Shape], output_shape: Any) -> int | None:
        inner = input_shape[0][-1]
        per_example = known_product(output_shape[1:]) if output_shape else 1
        return None if inner is None or per_example is None else per_example * inner

    def output_dtype(self, input_dtypes: Sequence[str]) -> str:
        floats = [d for d in input_dtypes if d in FLOAT_DTYPES]
        return max(floats, key=A.dtype_size) if floats else (input_dtypes[0] if input_dtypes else "float32")

    def forward(self, inputs: list[Any], weights: Mapping[str, Any]) -> Any:
        return np.matmul(inputs[0], inputs[1])

    def explain(self, input_shape: list[Shape]) -> list[Step]:
        first, second = input_shape
        return [
            Step(
                "shape",
                f"{show(first)} @ {show(second)}: leading axes broadcast, then rows of x1 by columns of x2",
                list(self.compute_output_shape(input_shape)),
            )
        ]


@register
class ConcatenateTensors(Operation):
    """keras.ops.concatenate(xs, axis=0): the tensors joined along ``axis``, the other sizes equal
    (an unknown size matches any)."""

    spec_name = "ops.concatenate"
    takes_list = True
    list_inputs = "[x1, x2, ...]"
    arguments = (Arg("axis", A.integer, 0, "the axis the tensors are joined along"),)

    @classmethod
    def type_name(cls) -> str:
        return "Concatenate"  # Keras's class (the layer of that name is another class here)

    def check_input(self, input_shape: list[Shape]) -> None:
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        first = tuple(input_shape[0])
        axis = canonical(self.axis, len(first))
        total: int | None = 0
        for shape in input_shape:
            if len(shape) != len(first) or any(
                k != axis and a is not None and b is not None and a != b
                for k, (a, b) in enumerate(zip(shape, first, strict=True))
            ):
                raise ShapeError(
                    f"every tensor must have the shape of the first, {fmt_shape(first)}, except on axis "
                    f"{axis}; got {fmt_shape(shape)}"
                )
            total = None if total is None or shape[axis] is None else total + shape[axis]
        return (*first[:axis], total, *first[axis + 1 :])

    def output_dtype(self, input_dtypes: Sequence[str]) -> str:
        return input_dtypes[0] if len(set(input_dtypes)) == 1 else "float32"

    def forward(self, inputs: list[Any], weights: Mapping[str, Any]) -> Any:
        return np.concatenate(inputs, axis=self.axis)

    def explain(self, input_shape: list[Shape]) -> list[Step]:
        sizes = " + ".join(show(s[self.axis]) for s in input_shape)
        output = self.compute_output_shape(input_shape)
        return [Step("shape", f"joined on axis {self.axis}: {sizes}", list(output))]


class _Filled(Operation):
    """``ops.f(x, dtype=None)``: a tensor of the input's shape, every value the same."""

    arguments = (Arg("dtype", A.optional(A.dtype_policy), None, "the values' dtype; null: the input's"),)
    pointwise = True
    keeps_shape = "a tensor of the input's shape"
    value: float

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def output_dtype(self, input_dtypes: Sequence[str]) -> str:
        return self.dtype or (input_dtypes[0] if input_dtypes else "float32")

    def forward(self, inputs: Any, weights: Mapping[str, Any]) -> Any:
        return np.full(inputs.shape, self.value, dtype=self.output_dtype([inputs.dtype.name]))


@register
class OnesLike(_Filled):
    """keras.ops.ones_like(x, dtype=None)."""

    spec_name, value = "ops.ones_like", 1


@register
class ZerosLike(_Filled):
    """keras.ops.zeros_like(x, dtype=None)."""

    spec_name, value = "ops.zeros_like", 0
