"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector.

None of these create weights; each is a pure shape rule plus a NumPy kernel (``forward``).
The layers that change spatial lengths by a fixed rule (UpSampling, ZeroPadding, Cropping)
live in spatial_resizing.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..arithmetic import Field
from ..errors import ArgError, CallFailure, ShapeError
from ..lazy import lazy
from . import args as A
from .base import REQUIRED, Arg, Layer, OutputShape, Shape, fmt_shape, require_rank
from .explaining import Step, product, show
from .registry import register

np = lazy("numpy")
reshaping_kernels = lazy("..kernels.reshaping", __package__)


@register
class Flatten(Layer):
    """(B, d1, ..., dk) -> (B, d1*...*dk); any None -> (B, None); (B,) -> (B, 1)."""

    keeps_input_dtype = True

    arguments = (Arg("data_format", A.data_format, "channels_last", "only reorders values, not the shape"),)

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, min_rank=1)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rest = input_shape[1:]
        if any(d is None for d in rest):
            return (input_shape[0], None)
        return (input_shape[0], math.prod(rest))  # prod of () is 1: a rank-1 input becomes (B, 1)

    def explain(self, input_shape: Shape) -> list[Step]:
        text, size = product(input_shape[1:])
        note = "an unknown size makes the product unknown" if size is None and len(input_shape) > 1 else ""
        return [Step("features", text, size, note or "every value of one example in a row")]

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        # a rank-2 input comes out as it is; otherwise one axis holds every position
        return fields[0] if len(input_shape) == 2 else None

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        if self.data_format == "channels_first" and inputs.ndim > 2:
            # Keras moves the channels last first, so the values come out in channels_last order.
            inputs = np.moveaxis(inputs, 1, -1)
        return inputs.reshape(inputs.shape[0], -1)


# ----------------------------------------------------------------------------- Reshape, Permute, RepeatVector
def _target_shape(value: Any) -> tuple[int | None, ...]:
    """Reshape's target_shape: ints (one -1 at most); any other entry (null, ...) is an unknown size."""
    if not isinstance(value, (list, tuple, dict, str)):
        raise ArgError(f"expected a list of sizes, got {A.describe(value)}")
    # Keras treats entries that are not integers as sizes known only at run time.
    dims = tuple(int(d) if isinstance(d, int) else None for d in tuple(value))
    if any(d is not None and d < -1 for d in dims):
        raise ArgError(f"sizes must be >= 0, or -1 for one size to infer, got {A.describe(value)}")
    if dims.count(-1) > 1:
        raise ArgError(f"at most one size can be -1, got {A.describe(value)}")
    return dims


@register
class Reshape(Layer):
    """(B, ...) -> (B, *target_shape); a -1 is solved from the input size when everything is known."""

    keeps_input_dtype = True

    arguments = (Arg("target_shape", _target_shape, REQUIRED, "sizes without the batch axis; one may be -1"),)

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, min_rank=1)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rest, target = input_shape[1:], self.target_shape
        if None in rest or None in target:
            return (input_shape[0], *(None if d == -1 else d for d in target))
        size = math.prod(rest)
        if -1 not in target:
            if math.prod(target) != size:
                raise ShapeError(
                    f"the number of values must not change: input {fmt_shape(rest)} holds {size}, "
                    f"target {fmt_shape(target)} holds {math.prod(target)}"
                )
            return (input_shape[0], *target)
        known = math.prod(d for d in target if d != -1)
        if known == 0 or size % known:
            raise ShapeError(
                f"cannot infer the -1 in {fmt_shape(target)}: input {fmt_shape(rest)} holds {size} values, "
                f"not a multiple of the other sizes' product {known}"
            )
        return (input_shape[0], *(size // known if d == -1 else d for d in target))

    def explain(self, input_shape: Shape) -> list[Step]:
        held, size = product(input_shape[1:])
        target = self.target_shape
        output = self.compute_output_shape(input_shape)
        steps = [Step("values", f"one example holds {held}", size)]
        if -1 in target:
            others, _ = product([d for d in target if d != -1])
            solved = output[1 + target.index(-1)]
            steps.append(Step(f"axis {1 + target.index(-1)}", f"the -1: {show(size)} / ({others})", solved))
        return [
            *steps,
            Step("shape", f"target_shape {show(list(target))} after the batch axis", list(output)),
        ]

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        # Sizes unknown when the model was built become -1, as in Keras's call, which then fails
        # as NumPy does where two are unknown or the sizes do not hold the input's values.
        target = tuple(-1 if d is None else d for d in self.target_shape)
        try:
            return inputs.reshape(inputs.shape[0], *target)
        except ValueError as err:
            raise CallFailure(f"cannot reshape {inputs.shape} to target_shape {target}: {err}") from None


def _permutation(value: Any) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple, dict, str)):
        raise ArgError(f"expected a list such as [2, 1], got {A.describe(value)}")
    dims = tuple(value)
    if not all(isinstance(d, int) for d in dims) or sorted(dims) != list(range(1, len(dims) + 1)):
        raise ArgError(
            f"expected a permutation of 1..{len(dims)} (axes counted from 1, batch axis excluded), "
            f"got {A.describe(value)}"
        )
    return tuple(int(d) for d in dims)


@register
class Permute(Layer):
    """Reorders the non-batch axes: output axis i is input axis dims[i-1]."""

    keeps_input_dtype = True

    arguments = (Arg("dims", _permutation, REQUIRED, "a permutation of 1..rank-1"),)

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, rank=len(self.dims) + 1)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        field = fields[0]
        windows = tuple(field.windows[d - 1] for d in self.dims)
        spatial = tuple(i for i, d in enumerate(self.dims) if d - 1 in field.spatial)
        return Field(windows, spatial)

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.transpose(inputs, (0, *self.dims))

    def explain(self, input_shape: Shape) -> list[Step]:
        return [
            Step(f"axis {k}", f"input axis {d}", input_shape[d]) for k, d in enumerate(self.dims, start=1)
        ]


@register
class RepeatVector(Layer):
    """(B, C) -> (B, n, C)."""

    arguments = (Arg("n", A.strict_positive_int, REQUIRED, "number of repetitions"),)

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, rank=2)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], self.n, input_shape[1])

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.repeat(inputs[:, np.newaxis, :], self.n, axis=1)

    def explain(self, input_shape: Shape) -> list[Step]:
        return [
            Step("axis 1", "n", self.n, "the vector repeated n times on a new axis"),
            Step("axis 2", "kept", input_shape[1]),
        ]
