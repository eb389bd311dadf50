"""Layers that change spatial lengths by a fixed rule: UpSampling1D/2D/3D, ZeroPadding1D/2D/3D,
Cropping1D/2D/3D.

None of these create weights. Keras computes their symbolic output with
``compute_output_shape`` alone, so arguments checked only inside ``call`` (UpSampling2D's
``interpolation``) are not checked when a model is built, and shapecalc accepts them likewise;
the kernels refuse them as Keras's call does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..arithmetic import Field
from ..errors import ArgError, CallFailure, ShapeError
from ..lazy import lazy
from . import args as A
from .base import Arg, Dim, Layer, OutputShape, Shape, Sizes, require_rank
from .explaining import Step, show, spatial_names
from .registry import register

np = lazy("numpy")
reshaping_kernels = lazy("..kernels.reshaping", __package__)

Factor = int | float


def keras_tuple(n: int, allow_zero: bool = False) -> A.Parser:
    """keras standardize_tuple(value, n) as Keras really applies it: an int (true counts as 1)
    repeated n times, or n values each accepted by ``int()`` and > 0 (>= 0 with ``allow_zero``).

    Floats pass Keras's check and are kept as given: combined with a known dimension they make
    a non-integer size, which Keras then refuses (see :func:`_whole`).
    """
    bound = "an integer >= 0" if allow_zero else "a positive integer"

    def parse_tuple(value: Any) -> tuple[Factor, ...]:
        if isinstance(value, bool) or A.is_int(value):
            values: tuple[Any, ...] = (int(value),) * n
        elif isinstance(value, (list, tuple, dict)):
            values = tuple(value)  # a mapping iterates over its keys, as tuple() does in Keras
            if len(values) != n:
                raise ArgError(f"expected an integer or a list of {n} integers, got {A.describe(value)}")
            # int() accepts numeric strings, but Keras then compares them with 0 and fails.
            if not all(isinstance(v, int) or (isinstance(v, float) and math.isfinite(v)) for v in values):
                raise ArgError(f"expected a list of {n} integers, got {A.describe(value)}")
            values = tuple(int(v) if isinstance(v, bool) else v for v in values)
        else:
            raise ArgError(f"expected an integer or a list of {n} integers, got {A.describe(value)}")
        if any(v < 0 or (v == 0 and not allow_zero) for v in values):
            raise ArgError(f"every value must be {bound}, got {A.describe(value)}")
        return values

    return parse_tuple


def _whole(size: Factor, rule: str) -> int:
    """Keras computes sizes with whatever numbers it was given and refuses a non-integer result."""
    if isinstance(size, float):
        raise ShapeError(f"{rule} = {size} is not an integer size; use integer arguments")
    return size


def _scale(dim: Dim, factor: Factor, what: str) -> Dim:
    """A spatial size times an up-sampling factor; None stays None."""
    if dim is None:
        return None
    return _whole(dim * factor, f"{what}: {dim} * {factor}")


def upsampled_field(field: Field, axes: Iterable[int], factors: Iterable[int]) -> Field:
    """Up-sampling leaves the field of each axis it repeats undefined: there neighbouring
    outputs share one input position or not, by their position, so no single receptive field
    and stride describe the axis (see the README). An axis repeated once keeps its window."""
    return field.mixing(*(axis for axis, factor in zip(axes, factors, strict=True) if factor != 1))


def _spatial_axes(data_format: str, rank: int) -> range:
    return range(2, rank) if data_format == "channels_first" else range(1, rank - 1)


def _spatial_steps(
    input_shape: Shape, output_shape: Shape, axes: Iterable[int], amounts: Iterable[Any], op: str
) -> list[Step]:
    """``height: 28 * 2 = 56`` per spatial axis, then the channels, which these layers keep."""
    axes = list(axes)
    names = spatial_names(len(axes))
    steps = [
        Step(name, f"{show(input_shape[axis])} {op} {amount}", output_shape[axis])
        for name, axis, amount in zip(names, axes, amounts, strict=True)
    ]
    channel = next(k for k in range(1, len(input_shape)) if k not in axes)
    return [*steps, Step("channels", "kept", input_shape[channel])]


@register
class UpSampling1D(Layer):
    """(B, steps, C) -> (B, steps*size, C); no data_format."""

    arguments = (Arg("size", A.strict_positive_int, 2, "repeat factor of the steps axis"),)

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, rank=3)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        b, steps, c = input_shape
        return (b, _scale(steps, self.size, "steps"), c)

    def explain(self, input_shape: Shape) -> list[Step]:
        return _spatial_steps(input_shape, self.compute_output_shape(input_shape), [1], [self.size], "*")

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        return upsampled_field(fields[0], [1], [self.size])

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.repeat(inputs, self.size, axis=1)


def _interpolation(value: Any) -> str:
    # Keras lowercases the string in __init__ but validates it only when resizing real data.
    if not isinstance(value, str):
        raise ArgError(f"expected a string such as 'nearest' or 'bilinear', got {A.describe(value)}")
    return value.lower()


class _UpSamplingND(Layer):
    rank: int = 0
    interpolation: str = "nearest"  # UpSampling3D has no choice; UpSampling2D's argument overrides

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, rank=self.rank + 2)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        out = list(input_shape)
        for axis, factor in zip(_spatial_axes(self.data_format, len(input_shape)), self.size, strict=True):
            out[axis] = _scale(input_shape[axis], factor, f"axis {axis}")
        return tuple(out)

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        return upsampled_field(fields[0], _spatial_axes(self.data_format, len(input_shape)), self.size)

    def explain(self, input_shape: Shape) -> list[Step]:
        axes = _spatial_axes(self.data_format, len(input_shape))
        return _spatial_steps(input_shape, self.compute_output_shape(input_shape), axes, self.size, "*")

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        axes = _spatial_axes(self.data_format, inputs.ndim)
        if self.interpolation == "nearest":
            # Keras repeats each sample (ops.repeat) rather than resizing.
            for axis, factor in zip(axes, self.size, strict=True):
                inputs = np.repeat(inputs, factor, axis=axis)
            return inputs
        # Other interpolations go through ops.image.resize; Keras checks the name only here.
        size = [inputs.shape[a] * f for a, f in zip(axes, self.size, strict=True)]
        return reshaping_kernels.resize(inputs, size, axes, self.interpolation)


@register
class UpSampling2D(_UpSamplingND):
    """Rows and columns repeated by size = (rows, cols)."""

    rank = 2
    arguments = (
        Arg("size", keras_tuple(2), (2, 2)),
        Arg("data_format", A.data_format, "channels_last"),
        Arg("interpolation", _interpolation, "nearest", "nearest, bilinear, bicubic, lanczos3, lanczos5"),
    )


@register
class UpSampling3D(_UpSamplingND):
    """Three spatial axes repeated by size = (d1, d2, d3)."""

    rank = 3
    arguments = (
        Arg("size", keras_tuple(3), (2, 2, 2)),
        Arg("data_format", A.data_format, "channels_last"),
    )


# ----------------------------------------------------------------------------- padding and cropping
Pairs = tuple[tuple[Factor, Factor], ...]


def pairs(n: int, negative_int_ok: bool) -> A.Parser:
    """ZeroPadding2D/3D and Cropping2D/3D: one int for every side, or n entries, each an int
    (both sides) or a [before, after] pair.

    Keras checks a single int only for Cropping (ZeroPadding2D/3D accept a negative int and refuse
    only a negative resulting size); entries go through standardize_tuple(allow_zero=True).
    """
    pair = keras_tuple(2, allow_zero=True)

    def parse_pairs(value: Any) -> Pairs:
        if isinstance(value, bool) or A.is_int(value):
            if value < 0 and not negative_int_ok:
                raise ArgError(f"cannot be negative, got {value}")
            side = int(value)
            return ((side, side),) * n
        if not isinstance(value, (list, tuple, dict, str)):
            raise ArgError(
                f"expected an integer, a list of {n} integers, or a list of {n} [before, after] pairs, "
                f"got {A.describe(value)}"
            )
        if len(value) != n:
            raise ArgError(f"expected {n} entries (one per spatial axis), got {A.describe(value)}")
        entries = []
        for i in range(n):
            if isinstance(value, dict) and i not in value:
                raise ArgError(f"expected a list of {n} entries, got {A.describe(value)}")
            try:
                entries.append(pair(value[i]))
            except ArgError as err:
                raise ArgError(f"entry {i}: {err.message}") from None
        return tuple(entries)

    return parse_pairs


class _PadCrop(Layer):
    """Shared shape rule: each spatial size grows (padding) or shrinks (cropping) by before + after."""

    rank: int = 0
    cropping_layer: bool = False
    # Cropping1D has no data_format argument; its steps axis is always axis 1.
    data_format = "channels_last"

    def amounts(self) -> Pairs:
        raise NotImplementedError

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, rank=self.rank + 2)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        out = list(input_shape)
        axes = _spatial_axes(self.data_format, len(input_shape))
        for axis, (before, after) in zip(axes, self.amounts(), strict=True):
            dim = input_shape[axis]
            if dim is None:
                continue
            if self.cropping_layer:
                size = dim - before - after
                if size <= 0:
                    raise ShapeError(
                        f"cropping must leave something on axis {axis}: "
                        f"{dim} - {before} - {after} = {size} <= 0"
                    )
                out[axis] = _whole(size, f"axis {axis}: {dim} - {before} - {after}")
            else:
                size = dim + before + after
                if size < 0:
                    raise ShapeError(
                        f"padding makes axis {axis} negative: {dim} + {before} + {after} = {size}"
                    )
                out[axis] = _whole(size, f"axis {axis}: {dim} + {before} + {after}")
        return tuple(out)

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        # each kept position is the input's own; positions move, windows do not grow
        axes = _spatial_axes(self.data_format, len(input_shape))
        return Field(fields[0].windows, tuple(a - 1 for a in axes))

    def explain(self, input_shape: Shape) -> list[Step]:
        op = "-" if self.cropping_layer else "+"
        axes = _spatial_axes(self.data_format, len(input_shape))
        amounts = [f"{before} {op} {after}" for before, after in self.amounts()]
        return _spatial_steps(input_shape, self.compute_output_shape(input_shape), axes, amounts, op)

    def run_work_elements(self, input_shapes: Sizes, output_shapes: Sizes) -> int:
        return 0  # np.pad writes the output alone; a crop is a view

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        axes = list(_spatial_axes(self.data_format, inputs.ndim))
        amounts = dict(zip(axes, self.amounts(), strict=True))
        if self.cropping_layer:
            index = tuple(
                slice(amounts[a][0], inputs.shape[a] - amounts[a][1]) if a in amounts else slice(None)
                for a in range(inputs.ndim)
            )
            return inputs[index]
        if any(v < 0 for pair in amounts.values() for v in pair):
            # compute_output_shape subtracts, but the call pads with ops.pad, which refuses negative
            # widths on the numpy and jax backends: Keras fails at run time (torch's F.pad would crop).
            raise CallFailure(
                f"negative padding {self.amounts()} is accepted when Keras builds the model, "
                "but its call (ops.pad) refuses negative widths (numpy and jax backends)"
            )
        return np.pad(inputs, [amounts.get(a, (0, 0)) for a in range(inputs.ndim)])


@register
class ZeroPadding1D(_PadCrop):
    """(B, steps, C): steps + left + right."""

    rank = 1
    arguments = (
        Arg("padding", keras_tuple(2, allow_zero=True), (1, 1), "int, or [left, right]"),
        Arg("data_format", A.data_format, "channels_last"),
    )

    def amounts(self) -> Pairs:
        return (self.padding,)


@register
class ZeroPadding2D(_PadCrop):
    rank = 2
    arguments = (
        Arg("padding", pairs(2, negative_int_ok=True), ((1, 1), (1, 1)), "int, [h, w] or 2 pairs"),
        Arg("data_format", A.data_format, "channels_last"),
    )

    def amounts(self) -> Pairs:
        return self.padding


@register
class ZeroPadding3D(_PadCrop):
    rank = 3
    arguments = (
        Arg("padding", pairs(3, negative_int_ok=True), ((1, 1),) * 3, "int, [d1, d2, d3] or three pairs"),
        Arg("data_format", A.data_format, "channels_last"),
    )

    def amounts(self) -> Pairs:
        return self.padding


@register
class Cropping1D(_PadCrop):
    """(B, steps, C): steps - start - end, which must stay > 0."""

    rank = 1
    cropping_layer = True
    arguments = (Arg("cropping", keras_tuple(2, allow_zero=True), (1, 1), "int, or [start, end]"),)

    def amounts(self) -> Pairs:
        return (self.cropping,)


@register
class Cropping2D(_PadCrop):
    rank = 2
    cropping_layer = True
    arguments = (
        Arg("cropping", pairs(2, negative_int_ok=False), ((0, 0), (0, 0)), "int, [h, w] or two pairs"),
        Arg("data_format", A.data_format, "channels_last"),
    )

    def amounts(self) -> Pairs:
        return self.cropping


@register
class Cropping3D(_PadCrop):
    rank = 3
    cropping_layer = True
    arguments = (
        Arg("cropping", pairs(3, negative_int_ok=False), ((1, 1),) * 3, "int, [d1, d2, d3] or three pairs"),
        Arg("data_format", A.data_format, "channels_last"),
    )

    def amounts(self) -> Pairs:
        return self.cropping
