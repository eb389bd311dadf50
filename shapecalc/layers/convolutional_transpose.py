"""Transposed convolution layers: Conv1D/2D/3DTranspose.

After keras/src/layers/convolutional/base_conv_transpose.py; the spatial-axis helpers and
SpatialConv are convolutional.py's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..arithmetic import Field, conv_transpose_rule
from ..errors import ArgError
from ..lazy import lazy
from . import args as A
from .base import REQUIRED, Arg, OutputShape, RowMap, Shape, Weight, known_product, weight_arguments
from .convolutional import (
    WINDOW_DOC,
    SpatialConv,
    channel_axis,
    check_strides_dilation,
    spatial_axes,
    spatial_sizes,
    to_channels_last,
    with_channels,
)
from .explaining import Step
from .registry import register

np = lazy("numpy")
conv_kernels = lazy("..kernels.conv", __package__)


def _conv_transpose_arguments(rank: int) -> tuple[Arg, ...]:
    return (
        Arg("filters", A.positive_int, REQUIRED, doc="number of output channels"),
        Arg("kernel_size", A.int_tuple(rank), REQUIRED, doc=WINDOW_DOC),
        Arg("strides", A.int_tuple(rank), (1,) * rank),
        Arg("padding", A.padding("valid", "same"), "valid", "valid or same (case-insensitive)"),
        Arg(
            "output_padding",
            A.optional(A.int_tuple(rank, allow_zero=True)),
            None,
            "extra length per axis, each < its stride; default: inferred",
        ),
        Arg("data_format", A.data_format, "channels_last"),
        Arg("dilation_rate", A.int_tuple(rank), (1,) * rank),
        Arg("activation", A.activation, None),
        Arg("use_bias", A.truthy, True),
        *weight_arguments(kernel="glorot_uniform", bias="zeros"),
    )


class ConvTranspose(SpatialConv):
    """Kernel (*kernel_size, filters, C) (last two axes swapped against Conv), bias (filters,)."""

    pads_input = False

    filters: int
    output_padding: tuple[int, ...] | None
    use_bias: bool
    kernel_initializer: Any
    bias_initializer: Any

    def configure(self) -> None:
        if self.output_padding is not None:
            for i, (extra, stride) in enumerate(zip(self.output_padding, self.strides, strict=True)):
                if extra >= stride:
                    raise ArgError(
                        f"output_padding must be < strides on every axis; axis {i}: "
                        f"output_padding {extra} >= stride {stride}",
                        argument="output_padding",
                    )
        check_strides_dilation(self.strides, self.dilation_rate)

    def build(self, input_shape: Shape) -> list[Weight]:
        channels = self.input_channels(input_shape)
        weights = [
            self.weight("kernel", (*self.kernel_size, self.filters, channels), self.kernel_initializer)
        ]
        if self.use_bias:
            weights.append(self.weight("bias", (self.filters,), self.bias_initializer))
        return weights

    def spatial_rules(self, input_shape: Shape) -> list[tuple[int, int | None, str]]:
        rules = []
        for i, axis in enumerate(spatial_axes(self.rank, self.data_format)):
            extra = None if self.output_padding is None else self.output_padding[i]
            out, formula = conv_transpose_rule(
                input_shape[axis],
                self.kernel_size[i],
                self.strides[i],
                self.dilation_rate[i],
                self.padding,
                extra,
            )
            rules.append((axis, out, formula))
        return rules

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        spatial = [out for _, out, _ in self.spatial_rules(input_shape)]
        return with_channels(input_shape, spatial, self.filters, self.data_format)

    def axis_step(self, name: str, length: int | None, i: int) -> Step:
        extra = None if self.output_padding is None else self.output_padding[i]
        stride, dilation = self.strides[i], self.dilation_rate[i]
        out, formula = conv_transpose_rule(length, self.kernel_size[i], stride, dilation, self.padding, extra)
        if extra is not None:
            return Step(name, formula, out, f"output_padding {extra}")
        undo = f"the length a {self.padding} convolution with stride {stride} takes back to {length}"
        return Step(name, formula, out, f"output_padding None: Keras picks {undo}")

    def macs(self, input_shape: Shape, output_shape: OutputShape) -> int | None:
        # each input position spreads over kernel taps x filters, for each input channel
        positions = known_product(spatial_sizes(input_shape, self.rank, self.data_format))
        channels = input_shape[channel_axis(self.data_format)]
        return known_product([positions, math.prod(self.kernel_size), channels, self.filters])

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        # Undefined: neighbouring outputs see one input position or two, by their position (see
        # the README), so no single receptive field and stride describe the layer.
        return None

    def forward(
        self, inputs: np.ndarray, weights: Mapping[str, np.ndarray], then: Sequence[RowMap] = ()
    ) -> np.ndarray:
        x = to_channels_last(inputs, self.data_format)
        args = (x, weights["kernel"], self.strides, self.padding, self.output_padding, self.dilation_rate)
        return self.run_kernel(conv_kernels.conv_transpose, weights, *args, then=then)


@register
class Conv1DTranspose(ConvTranspose):
    """Transposed 1D convolution (upsampling by strides)."""

    rank = 1
    arguments = _conv_transpose_arguments(1)


@register
class Conv2DTranspose(ConvTranspose):
    """Transposed 2D convolution (upsampling by strides)."""

    rank = 2
    arguments = _conv_transpose_arguments(2)


@register
class Conv3DTranspose(ConvTranspose):
    """Transposed 3D convolution (upsampling by strides)."""

    rank = 3
    arguments = _conv_transpose_arguments(3)
