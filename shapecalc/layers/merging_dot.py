"""Dot, the merging layer that contracts two tensors (keras/src/layers/merging/dot.py): the two
given axes are contracted and the rest kept; the batch axis is not protected (``call`` refuses
it: batch_dot cannot contract axis 0). No weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ArgError, CallFailure, ShapeError
from ..lazy import lazy
from . import args as A
from .base import (
    REQUIRED,
    Arg,
    Layer,
    OutputShape,
    Shape,
    fmt_shape,
    known_product,
)
from .explaining import Step, show
from .merging import axis_index, common_dtype
from .registry import register

np = lazy("numpy")


def _dot_axes(value: Any) -> int | tuple[int, int]:
    """An int, or a list of two ints (true/false count as 1/0, as isinstance(x, int) says)."""
    if isinstance(value, bool) or A.is_int(value):
        return int(value)
    if not isinstance(value, (list, tuple)):
        raise ArgError(f"expected an integer or a list of two integers, got {A.describe(value)}")
    if len(value) != 2:
        raise ArgError(f"expected a list of exactly two axes, got {A.describe(value)}")
    if not all(isinstance(v, int) for v in value):
        raise ArgError(f"both axes must be integers, got {A.describe(value)}")
    return (int(value[0]), int(value[1]))


@register
class Dot(Layer):
    """Dot product of two inputs along axes (a1, a2): shape1 without a1, then shape2 without the
    batch axis and a2; a single remaining axis gets a trailing 1."""

    takes_list = True
    supports_masking = True  # and compute_mask gives none: the product has no mask

    arguments = (
        Arg("axes", _dot_axes, REQUIRED, "one axis for both inputs, or [axis1, axis2]"),
        Arg("normalize", A.anything, False, "L2-normalise before the product; shape unchanged"),
    )

    def _axes(self, shape1: Shape, shape2: Shape) -> tuple[int, int]:
        if isinstance(self.axes, tuple):
            return self.axes
        if self.axes < 0:
            if not shape1 or not shape2:
                raise ShapeError("cannot take a negative axis of a rank-0 input")
            return (self.axes % len(shape1), self.axes % len(shape2))
        return (self.axes, self.axes)

    def check_input(self, input_shape: list[Shape]) -> None:
        if len(input_shape) != 2:
            raise ShapeError(f"needs a list of exactly 2 inputs, got {len(input_shape)}")
        shape1, shape2 = input_shape
        a1, a2 = self._axes(shape1, shape2)
        d1 = shape1[axis_index(shape1, a1, "axis")]
        d2 = shape2[axis_index(shape2, a2, "axis")]
        if d1 != d2:
            raise ShapeError(
                f"the contracted axes must have equal sizes: axis {a1} of {fmt_shape(shape1)} is {d1}, "
                f"axis {a2} of {fmt_shape(shape2)} is {d2}"
                + (" (an unknown size cannot be checked against a known one)" if None in (d1, d2) else "")
            )
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        shape1, shape2 = (list(s) for s in input_shape)
        a1, a2 = self._axes(tuple(shape1), tuple(shape2))
        del shape1[axis_index(tuple(shape1), a1, "axis")]
        del shape2[axis_index(tuple(shape2), a2, "axis")]
        if not shape2:
            raise ShapeError(
                f"the second input {fmt_shape(input_shape[1])} has no axis left to drop as its batch axis "
                f"after contracting axis {a2}"
            )
        del shape2[0]  # the second input's batch axis
        out = shape1 + shape2
        return (*out, 1) if len(out) == 1 else tuple(out)

    def compute_mask(self, inputs: list[np.ndarray], mask: Any) -> None:
        return None

    def explain(self, input_shape: list[Shape]) -> list[Step]:
        shape1, shape2 = input_shape
        a1, a2 = self._axes(shape1, shape2)
        a1, a2 = axis_index(shape1, a1, "axis"), axis_index(shape2, a2, "axis")
        output = self.compute_output_shape(input_shape)
        kept1 = [d for k, d in enumerate(shape1) if k != a1]
        kept2 = [d for k, d in enumerate(shape2) if k != a2][1:]
        summed = (
            f"axis {a1} of the first ({show(shape1[a1])}) times axis {a2} of the second ({show(shape2[a2])})"
        )
        rule = f"{show(kept1)} + {show(kept2)}" + (
            " + (1,) for a lone axis" if len(kept1) + len(kept2) == 1 else ""
        )
        return [
            Step("contracted", f"summed products along {summed}", shape1[a1]),
            Step(
                "shape",
                f"the first without its axis {a1}, then the second without batch and axis {a2}: {rule}",
                list(output),
            ),
        ]

    def macs(self, input_shape: list[Shape], output_shape: OutputShape) -> int | None:
        # each output value sums the products along the contracted axis
        shape1, shape2 = input_shape
        a1, _ = self._axes(shape1, shape2)
        return known_product([*output_shape[1:], shape1[axis_index(shape1, a1, "axis")]])  # type: ignore[list-item]

    def forward(self, inputs: list[np.ndarray], weights: Mapping[str, np.ndarray]) -> np.ndarray:
        x, y = common_dtype(inputs)
        axes = self.axes if isinstance(self.axes, tuple) else (self.axes, self.axes)
        a1, a2 = (a % arr.ndim if a < 0 else a for a, arr in zip(axes, (x, y), strict=True))
        if 0 in (a1, a2):
            # The shape rule lets the batch axis be contracted; Keras's batch_dot refuses it in call.
            raise CallFailure(f"Keras's batch_dot cannot contract the batch axis (axes {self.axes})")
        if self.normalize:
            x, y = _l2_normalize(x, a1), _l2_normalize(y, a2)
        # Per batch item: x's contracted axis last, y's first, the remaining axes flattened.
        x = np.moveaxis(x, a1, -1)
        y = np.moveaxis(y, a2, 1)
        x_rest, y_rest = x.shape[1:-1], y.shape[2:]
        batch, depth = x.shape[0], x.shape[-1]
        out = np.matmul(x.reshape(batch, -1, depth), y.reshape(batch, depth, -1))
        out = out.reshape(batch, *x_rest, *y_rest)
        return out[:, np.newaxis] if out.ndim == 1 else out


def _l2_normalize(x: np.ndarray, axis: int) -> np.ndarray:
    """Keras's numpy backend divides by the L2 norm, a zero norm counting as 1 (no epsilon).

    (The other backends clamp instead: x * min(1/sqrt(sum x^2), 1e7); the two differ only when
    0 < norm < 1e-7.)
    """
    norm = np.linalg.norm(x, 2, axis, keepdims=True)
    return x / np.where(norm == 0, np.ones_like(norm), norm)
