"""Pooling layers: Max/AveragePooling1D/2D/3D and GlobalMax/GlobalAveragePooling1D/2D/3D.

After keras/src/layers/pooling/base_pooling.py and base_global_pooling.py. None of them has weights.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from ..arithmetic import Field, pool_rule
from ..errors import ArgError
from ..lazy import lazy
from . import args as A
from .base import REQUIRED, Arg, Layer, OutputShape, Shape, Sizes, require_rank
from .convolutional import (
    WINDOW_DOC,
    channel_axis,
    from_channels_last,
    padded_elements,
    spatial_axes,
    to_channels_last,
    window_field,
    with_channels,
)
from .explaining import Step, pool_step, product, show, spatial_names
from .registry import register

np = lazy("numpy")
pooling_kernels = lazy("..kernels.pooling", __package__)


def _pooling_arguments(rank: int, pool_size_default: Any) -> tuple[Arg, ...]:
    return (
        Arg("pool_size", A.int_tuple(rank), pool_size_default, WINDOW_DOC),
        # Keras accepts 0 here (standardize_tuple(allow_zero=True)); configure refuses it.
        Arg("strides", A.optional(A.int_tuple(rank, allow_zero=True)), None, "default: pool_size"),
        # Pooling keeps the string as given and its shape rule compares it to lowercase names.
        Arg("padding", A.one_of("valid", "same"), "valid", "valid or same (lowercase only)"),
        Arg("data_format", A.data_format, "channels_last"),
    )


class Pooling(Layer):
    """A window of ``pool_size`` slides by ``strides`` over each spatial axis; channels are kept."""

    rank: ClassVar[int]
    mode: ClassVar[str]  # "max" or "average"
    pool_size: tuple[int, ...]
    strides: tuple[int, ...] | None
    padding: str
    data_format: str

    def configure(self) -> None:
        if self.strides is None:
            self.strides = self.pool_size
        elif 0 in self.strides:
            # Keras accepts the argument, then divides by it when the layer is called.
            raise ArgError(f"strides must be positive, got {list(self.strides)}", argument="strides")

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, rank=self.rank + 2)

    def spatial_rules(self, input_shape: Shape) -> list[tuple[int, int | None, str]]:
        """(axis, output length, formula) per spatial axis; valid padding may not empty an axis."""
        assert self.strides is not None
        rules = []
        for i, axis in enumerate(spatial_axes(self.rank, self.data_format)):
            out, formula = pool_rule(input_shape[axis], self.pool_size[i], self.strides[i], self.padding)
            rules.append((axis, out, formula))
        return rules

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        spatial = [out for _, out, _ in self.spatial_rules(input_shape)]
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        return with_channels(input_shape, spatial, channels, self.data_format)

    def explain(self, input_shape: Shape) -> list[Step]:
        assert self.strides is not None
        names = spatial_names(self.rank)
        steps = [
            pool_step(names[i], input_shape[axis], self.pool_size[i], self.strides[i], self.padding)
            for i, axis in enumerate(spatial_axes(self.rank, self.data_format))
        ]
        channels = input_shape[channel_axis(self.data_format)]
        return [*steps, Step("channels", "kept", channels, "each channel pooled alone")]

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        assert self.strides is not None
        axes = spatial_axes(self.rank, self.data_format)
        return window_field(fields[0], axes, self.pool_size, self.strides)

    def run_work_elements(self, input_shapes: Sizes, output_shapes: Sizes) -> int:
        # the input padded for same padding (a window far wider than the input pads far more
        # than it holds), the windows combined along the first axis (about the padded input
        # over its stride), and the parts of the batch before they are joined (the output's)
        assert self.strides is not None
        axes, ones = spatial_axes(self.rank, self.data_format), (1,) * self.rank
        windows = (self.pool_size, self.strides, ones, self.padding)
        padded = padded_elements(input_shapes[0], output_shapes[0], axes, *windows)
        copied = padded if padded != math.prod(input_shapes[0]) else 0
        return copied + padded // self.strides[0] + math.prod(output_shapes[0])

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        assert self.strides is not None
        x = to_channels_last(inputs, self.data_format)
        pool = pooling_kernels.max_pool if self.mode == "max" else pooling_kernels.average_pool
        return from_channels_last(pool(x, self.pool_size, self.strides, self.padding), self.data_format)


@register
class MaxPooling1D(Pooling):
    """Max over windows of ``pool_size`` steps (default 2)."""

    rank = 1
    mode = "max"
    arguments = _pooling_arguments(1, (2,))


@register
class MaxPooling2D(Pooling):
    """Max over ``pool_size`` windows (default 2x2)."""

    rank = 2
    mode = "max"
    arguments = _pooling_arguments(2, (2, 2))


@register
class MaxPooling3D(Pooling):
    """Max over ``pool_size`` windows (default 2x2x2)."""

    rank = 3
    mode = "max"
    arguments = _pooling_arguments(3, (2, 2, 2))


@register
class AveragePooling1D(Pooling):
    """Mean over windows of ``pool_size`` steps (required: Keras gives no default)."""

    rank = 1
    mode = "average"
    arguments = _pooling_arguments(1, REQUIRED)


@register
class AveragePooling2D(Pooling):
    """Mean over ``pool_size`` windows (required: Keras gives no default)."""

    rank = 2
    mode = "average"
    arguments = _pooling_arguments(2, REQUIRED)


@register
class AveragePooling3D(Pooling):
    """Mean over ``pool_size`` windows (required: Keras gives no default)."""

    rank = 3
    mode = "average"
    arguments = _pooling_arguments(3, REQUIRED)


# ----------------------------------------------------------------------------- global pooling
_GLOBAL_ARGUMENTS = (
    Arg("data_format", A.data_format, "channels_last"),
    Arg("keepdims", A.truthy, False, "keep the spatial axes, with length 1"),
)


class GlobalPooling(Layer):
    """Reduces every spatial axis: (batch, channels), or 1s in the spatial places with keepdims."""

    rank: ClassVar[int]
    mode: ClassVar[str]  # "max" or "average"
    arguments = _GLOBAL_ARGUMENTS
    data_format: str
    keepdims: bool

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, rank=self.rank + 2)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        spatial: list[int | None] = [1] * self.rank if self.keepdims else []
        return with_channels(input_shape, spatial, channels, self.data_format)

    def explain(self, input_shape: Shape) -> list[Step]:
        names = spatial_names(self.rank)
        sizes = [input_shape[axis] for axis in spatial_axes(self.rank, self.data_format)]
        count, total = product(sizes)
        how = "max" if self.mode == "max" else "mean"
        whole = f"the {how} over all {count} = {show(total)} positions ({' x '.join(names)})"
        if self.keepdims:
            steps = [Step(name, f"{whole}, kept as length 1 (keepdims)", 1) for name in names]
        else:
            output = self.compute_output_shape(input_shape)
            steps = [Step("shape", f"{whole}; the spatial axes removed", list(output))]
        return [*steps, Step("channels", "kept", input_shape[channel_axis(self.data_format)])]

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        axes = tuple(spatial_axes(self.rank, self.data_format))
        reduce = np.max if self.mode == "max" else np.mean
        return reduce(inputs, axis=axes, keepdims=bool(self.keepdims))


@register
class GlobalMaxPooling1D(GlobalPooling):
    """Max over the steps axis: (batch, channels), or 1s in their places with keepdims."""

    rank = 1
    mode = "max"


@register
class GlobalMaxPooling2D(GlobalPooling):
    """Max over both spatial axes: (batch, channels), or 1s in their places with keepdims."""

    rank = 2
    mode = "max"


@register
class GlobalMaxPooling3D(GlobalPooling):
    """Max over the three spatial axes: (batch, channels), or 1s in their places with keepdims."""

    rank = 3
    mode = "max"


@register
class GlobalAveragePooling1D(GlobalPooling):
    """Mean over the steps axis: (batch, channels), or 1s in their places with keepdims.

    The only global pooling that reads a Keras mask: the mean of the unmasked steps (NaN for a
    sequence with none, as in Keras). Its output has no mask.
    """

    rank = 1
    mode = "average"
    supports_masking = True

    def forward(
        self, inputs: np.ndarray, weights: Mapping[str, np.ndarray], mask: np.ndarray | None = None
    ) -> np.ndarray:
        if mask is None:
            return super().forward(inputs, weights)
        first = self.data_format != "channels_last"
        # the (B, T) mask gets the channel axis, which precedes the steps with channels_first
        keep = np.expand_dims(mask, 1 if first else 2).astype(bool)
        kept = np.where(keep, inputs, np.zeros((), inputs.dtype))
        axis, keepdims = 2 if first else 1, bool(self.keepdims)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.sum(kept, axis=axis, keepdims=keepdims) / np.sum(
                keep.astype(kept.dtype), axis=axis, keepdims=keepdims
            )

    def compute_mask(self, inputs: np.ndarray, mask: Any) -> None:
        return None


@register
class GlobalAveragePooling2D(GlobalPooling):
    """Mean over both spatial axes: (batch, channels), or 1s in their places with keepdims."""

    rank = 2
    mode = "average"


@register
class GlobalAveragePooling3D(GlobalPooling):
    """Mean over the three spatial axes: (batch, channels), or 1s in their places with keepdims."""

    rank = 3
    mode = "average"
