"""Depthwise and separable convolutions: DepthwiseConv1D/2D, SeparableConv1D/2D.

After keras/src/layers/convolutional/base_depthwise_conv.py and base_separable_conv.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..lazy import lazy
from . import args as A
from .base import REQUIRED, Arg, OutputShape, RowMap, Shape, Sizes, Weight, known_product
from .convolutional import WINDOW_DOC, SpatialConv, channel_axis, to_channels_last, with_channels
from .explaining import Step
from .registry import register

np = lazy("numpy")
conv_kernels = lazy("..kernels.conv", __package__)


def _depthwise_common(rank: int) -> tuple[Arg, ...]:
    return (
        Arg("kernel_size", A.int_tuple(rank), REQUIRED, doc=WINDOW_DOC),
        Arg("strides", A.int_tuple(rank), (1,) * rank),
        Arg("padding", A.padding("valid", "same"), "valid", "valid or same (case-insensitive)"),
        Arg("data_format", A.data_format, "channels_last"),
        Arg("dilation_rate", A.int_tuple(rank), (1,) * rank),
        Arg("depth_multiplier", A.positive_int, 1, "output channels per input channel"),
        Arg("activation", A.activation, None),
        Arg("use_bias", A.truthy, True),
        Arg("depthwise_initializer", A.initializer, "glorot_uniform"),
        Arg("bias_initializer", A.initializer, "zeros"),
        Arg("depthwise_regularizer", A.regularizer, None),
        Arg("bias_regularizer", A.regularizer, None),
        Arg("depthwise_constraint", A.constraint, None),
        Arg("bias_constraint", A.constraint, None),
    )


def _separable_arguments(rank: int) -> tuple[Arg, ...]:
    return (
        Arg("filters", A.positive_int, REQUIRED, doc="number of output channels"),
        *_depthwise_common(rank),
        Arg("pointwise_initializer", A.initializer, "glorot_uniform"),
        Arg("pointwise_regularizer", A.regularizer, None),
        Arg("pointwise_constraint", A.constraint, None),
    )


# Unlike Conv, Keras checks neither strides against dilation nor offers causal padding here.
class DepthwiseConv(SpatialConv):
    """Each channel convolved alone: kernel (*kernel_size, C, depth_multiplier), bias (C*dm,)."""

    depth_multiplier: int
    use_bias: bool
    depthwise_initializer: Any
    bias_initializer: Any

    def build(self, input_shape: Shape) -> list[Weight]:
        channels = self.input_channels(input_shape)
        self.compute_output_shape(input_shape)
        weights = [
            self.weight(
                "kernel", (*self.kernel_size, channels, self.depth_multiplier), self.depthwise_initializer
            )
        ]
        if self.use_bias:
            weights.append(self.weight("bias", (channels * self.depth_multiplier,), self.bias_initializer))
        return weights

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        # Keras multiplies the channel count before anything else, so an unknown one fails here.
        channels = self.input_channels(input_shape) * self.depth_multiplier
        spatial = [out for _, out, _ in self.spatial_rules(input_shape)]
        return with_channels(input_shape, spatial, channels, self.data_format)

    def channels_step(self, input_shape: Shape) -> Step:
        channels = input_shape[channel_axis(self.data_format)]
        result = None if channels is None else channels * self.depth_multiplier
        return Step(
            "channels", f"{channels} * {self.depth_multiplier}", result, "input channels * depth_multiplier"
        )

    def macs(self, input_shape: Shape, output_shape: OutputShape) -> int | None:
        # each output position: kernel taps for each of its C * depth_multiplier channels
        channels = input_shape[channel_axis(self.data_format)]
        positions = self.output_positions(output_shape)  # type: ignore[arg-type]
        return known_product([positions, math.prod(self.kernel_size), channels, self.depth_multiplier])

    def run_work_elements(self, input_shapes: Sizes, output_shapes: Sizes) -> int:
        # what the kernel holds (kernels/conv.py says), a channels_last copy of the input and of
        # the output for channels_first, and the activation's array
        shape, out = input_shapes[0], math.prod(output_shapes[0])
        last = shape if self.data_format == "channels_last" else (shape[0], *shape[2:], shape[1])
        kernel = (*self.kernel_size, last[-1], self.depth_multiplier)
        work = conv_kernels.depthwise_workspace(last, kernel, self.strides, self.padding, self.dilation_rate)
        if self.data_format != "channels_last":
            work += math.prod(shape) + out
        return work + (2 * out if self.activation not in (None, "linear") else 0)

    def takes_row_epilogues(self, input_shapes: list[Shape]) -> bool:
        return False  # its kernel finishes the output in whole parts of the batch, not in blocks

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        x = to_channels_last(inputs, self.data_format)
        y = conv_kernels.depthwise_conv(x, weights["kernel"], self.strides, self.padding, self.dilation_rate)
        return self.finish(y, weights)


class SeparableConv(SpatialConv):
    """Depthwise then 1x1 pointwise: depthwise_kernel (*k, C, dm), pointwise_kernel (1.., C*dm, filters)."""

    filters: int
    depth_multiplier: int
    use_bias: bool
    depthwise_initializer: Any
    pointwise_initializer: Any
    bias_initializer: Any

    def build(self, input_shape: Shape) -> list[Weight]:
        channels = self.input_channels(input_shape)
        self.compute_output_shape(input_shape)
        depthwise = (*self.kernel_size, channels, self.depth_multiplier)
        pointwise = (*(1,) * self.rank, channels * self.depth_multiplier, self.filters)
        weights = [
            self.weight("depthwise_kernel", depthwise, self.depthwise_initializer),
            self.weight("pointwise_kernel", pointwise, self.pointwise_initializer),
        ]
        if self.use_bias:
            weights.append(self.weight("bias", (self.filters,), self.bias_initializer))
        return weights

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        spatial = [out for _, out, _ in self.spatial_rules(input_shape)]
        return with_channels(input_shape, spatial, self.filters, self.data_format)

    def macs(self, input_shape: Shape, output_shape: OutputShape) -> int | None:
        # each output position: the depthwise taps of its C * dm channels, then the 1x1
        # pointwise product of those C * dm values with each filter
        channels = input_shape[channel_axis(self.data_format)]
        positions = self.output_positions(output_shape)  # type: ignore[arg-type]
        if channels is None or positions is None:
            return None
        depthwise = math.prod(self.kernel_size) * channels * self.depth_multiplier
        pointwise = channels * self.depth_multiplier * self.filters
        return positions * (depthwise + pointwise)

    def forward(
        self, inputs: np.ndarray, weights: Mapping[str, np.ndarray], then: Sequence[RowMap] = ()
    ) -> np.ndarray:
        x = to_channels_last(inputs, self.data_format)
        depthwise = conv_kernels.depthwise_conv(
            x, weights["depthwise_kernel"], self.strides, self.padding, self.dilation_rate
        )
        ones = (1,) * self.rank
        return self.run_kernel(
            conv_kernels.conv, weights, depthwise, weights["pointwise_kernel"], ones, "valid", ones, then=then
        )


@register
class DepthwiseConv1D(DepthwiseConv):
    """Per-channel 1D convolution; output channels C * depth_multiplier."""

    rank = 1
    arguments = _depthwise_common(1)


@register
class DepthwiseConv2D(DepthwiseConv):
    """Per-channel 2D convolution; output channels C * depth_multiplier."""

    rank = 2
    arguments = _depthwise_common(2)


@register
class SeparableConv1D(SeparableConv):
    """Depthwise 1D convolution followed by a pointwise one to ``filters`` channels."""

    rank = 1
    arguments = _separable_arguments(1)


@register
class SeparableConv2D(SeparableConv):
    """Depthwise 2D convolution followed by a pointwise one to ``filters`` channels."""

    rank = 2
    arguments = _separable_arguments(2)
