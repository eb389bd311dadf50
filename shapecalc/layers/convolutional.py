"""Convolution layers: Conv1D/2D/3D (the transposed ones: convolutional_transpose.py).

After keras/src/layers/convolutional/base_conv.py. The spatial-axis helpers and SpatialConv here
are shared with convolutional_transpose, depthwise_separable, pooling and conv_lstm.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from ..arithmetic import Field, conv_rule, same_padding
from ..errors import ArgError, ShapeError
from ..lazy import lazy
from . import args as A
from .base import (
    LORA_ARGUMENTS,
    REQUIRED,
    Arg,
    Layer,
    OutputShape,
    RowMap,
    Shape,
    Sizes,
    Weight,
    fmt_shape,
    known_product,
    lora_factors,
    refuse_lora_with_kernel_constraint,
    require_known,
    require_rank,
    weight_arguments,
)
from .explaining import Step, conv_step, spatial_names
from .registry import register

np = lazy("numpy")
kernels = lazy("..kernels", __package__)
activation_kernels = lazy("..kernels.activations", __package__)
conv_kernels = lazy("..kernels.conv", __package__)
conv_lanes_kernels = lazy("..kernels.conv_lanes", __package__)

# ----------------------------------------------------------------------------- shared helpers
WINDOW_DOC = "window size: an integer, or one per spatial axis"
# the activations a convolution's kernel applies to each block itself (fused_epilogue)
FUSED_ACTIVATIONS = (None, "linear", "relu")


def spatial_axes(rank: int, data_format: str) -> range:
    """Positions of the spatial axes in a batch shape of rank ``rank + 2``."""
    return range(1, rank + 1) if data_format == "channels_last" else range(2, rank + 2)


def channel_axis(data_format: str) -> int:
    return -1 if data_format == "channels_last" else 1


def with_channels(
    input_shape: Shape, spatial: list[int | None], channels: int | None, data_format: str
) -> Shape:
    """Batch axis, then spatial axes and channels in the order ``data_format`` puts them."""
    if data_format == "channels_last":
        return (input_shape[0], *spatial, channels)
    return (input_shape[0], channels, *spatial)


# One spatial length of a convolution, with its formula (raises where Keras refuses).
conv_output_length = conv_rule


def window_field(
    field: Field,
    axes: range,
    kernels: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int] | None = None,
    mixed_axis: int | None = None,
) -> Field:
    """The field after a window sliding over ``axes`` (batch-shape positions): each spatial
    window grows by its kernel and stride (see :meth:`Window.through`); ``mixed_axis`` (the
    channel axis of a convolution, which sums over every input channel) becomes undefined."""
    windows = list(field.windows)
    for i, axis in enumerate(axes):
        window = windows[axis - 1]
        if window is not None:
            windows[axis - 1] = window.through(kernels[i], strides[i], dilations[i] if dilations else 1)
    if mixed_axis is not None:
        windows[mixed_axis - 1 if mixed_axis > 0 else mixed_axis] = None
    return Field(tuple(windows), tuple(axis - 1 for axis in axes))


def spatial_sizes(shape: Shape, rank: int, data_format: str) -> list[int | None]:
    return [shape[axis] for axis in spatial_axes(rank, data_format)]


def padded_elements(
    input_shape: Sequence[int],
    output_shape: Sequence[int],
    axes: Sequence[int],
    windows: Sequence[int],
    strides: Sequence[int],
    dilation: Sequence[int],
    padding: str,
) -> int:
    """Values of the input as a kernel pads it for its windows: ``same`` adds what the last
    window needs on each spatial axis, ``causal`` (k - 1) * d before. A window far wider than
    the input (a huge pool_size or dilation_rate) pads far more than the input holds."""
    sizes = list(input_shape)
    for i, axis in enumerate(axes):
        if padding == "same":
            sizes[axis] += sum(
                same_padding(sizes[axis], output_shape[axis], windows[i], strides[i], dilation[i])
            )
        elif padding == "causal":
            sizes[axis] += (windows[i] - 1) * dilation[i]
    return math.prod(sizes)


def check_strides_dilation(strides: tuple[int, ...], dilation_rate: tuple[int, ...]) -> None:
    """Keras refuses any stride > 1 together with any dilation > 1, even on different axes."""
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ArgError(
            f"strides > 1 cannot be combined with dilation_rate > 1: strides={list(strides)}, "
            f"dilation_rate={list(dilation_rate)}",
            argument="dilation_rate",
        )


def to_channels_last(x: np.ndarray, data_format: str) -> np.ndarray:
    """The kernels work on channels_last arrays: move the channel axis of channels_first data last."""
    return x if data_format == "channels_last" else np.moveaxis(x, 1, -1)


def from_channels_last(y: np.ndarray, data_format: str) -> np.ndarray:
    return y if data_format == "channels_last" else np.ascontiguousarray(np.moveaxis(y, -1, 1))


class SpatialConv(Layer):
    """What every convolution shares: rank, the input check and the per-axis output lengths."""

    rank: ClassVar[int]
    kernel_size: tuple[int, ...]
    strides: tuple[int, ...]
    dilation_rate: tuple[int, ...]
    padding: str
    data_format: str

    def check_input(self, input_shape: Shape) -> None:
        # InputSpec(min_ndim=rank+2), then compute_conv_output_shape demands exactly rank+2.
        require_rank(self, input_shape, rank=self.rank + 2)

    def input_channels(self, input_shape: Shape) -> int:
        return require_known(input_shape, channel_axis(self.data_format), "the channel axis")

    def spatial_rules(self, input_shape: Shape) -> list[tuple[int, int | None, str]]:
        """(axis, output length, formula) for each spatial axis; raises where Keras refuses."""
        rules = []
        for i, axis in enumerate(spatial_axes(self.rank, self.data_format)):
            out, formula = conv_output_length(
                input_shape[axis], self.kernel_size[i], self.strides[i], self.dilation_rate[i], self.padding
            )
            rules.append((axis, out, formula))
        return rules

    def explain(self, input_shape: Shape) -> list[Step]:
        names = spatial_names(self.rank)
        steps = [
            self.axis_step(names[i], input_shape[axis], i)
            for i, axis in enumerate(spatial_axes(self.rank, self.data_format))
        ]
        return [*steps, self.channels_step(input_shape)]

    def axis_step(self, name: str, length: int | None, i: int) -> Step:
        """One spatial axis's working (see :func:`conv_step`)."""
        return conv_step(
            name, length, self.kernel_size[i], self.strides[i], self.dilation_rate[i], self.padding
        )

    def channels_step(self, input_shape: Shape) -> Step:
        return Step("channels", "filters", getattr(self, "filters", None))

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        axes = spatial_axes(self.rank, self.data_format)
        channel = channel_axis(self.data_format)
        return window_field(fields[0], axes, self.kernel_size, self.strides, self.dilation_rate, channel)

    def output_positions(self, output_shape: Shape) -> int | None:
        return known_product(spatial_sizes(output_shape, self.rank, self.data_format))

    # The input is padded for the windows (a transposed convolution spreads it by its strides
    # instead, which its output's size covers).
    pads_input: ClassVar[bool] = True

    def run_work_elements(self, input_shapes: Sizes, output_shapes: Sizes) -> int:
        # the padded (or stride-spread) input and a channels_last copy, about the size of the
        # input, the padded input or the output, whichever is larger, twice; the output for the
        # epilogue or a data-format transpose; the blocks of patches or Winograd tiles, a
        # bounded amount
        largest = max(math.prod(input_shapes[0]), math.prod(output_shapes[0]))
        if self.pads_input:
            axes = spatial_axes(self.rank, self.data_format)
            windows = (self.kernel_size, self.strides, self.dilation_rate, self.padding)
            largest = max(largest, padded_elements(input_shapes[0], output_shapes[0], axes, *windows))
        return 2 * largest + math.prod(output_shapes[0]) + conv_lanes_kernels.PATCH_CHUNK_ELEMENTS

    def finish(self, y: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        """Bias and activation of a channels_last kernel result, in the layer's data format.

        The activation runs on the data_format layout, as in Keras (softmax takes the last axis
        even when that is a spatial one).
        """
        if getattr(self, "use_bias", False):
            y += weights["bias"]  # y is the kernel's own fresh array
        activate = activation_kernels.activation(getattr(self, "activation", None))
        return activate(from_channels_last(y, self.data_format))

    def fused_epilogue(self, weights: Mapping[str, np.ndarray]) -> Callable[[np.ndarray], None] | None:
        """Bias and relu/linear done in place on each block of channels_last output rows as the
        kernel finishes it (same numbers as :meth:`finish`, without more passes over the output)."""
        if not self.kernel_finishes_blocks():
            return None
        bias = weights["bias"] if getattr(self, "use_bias", False) else None
        relu = self.activation == "relu"

        def apply(block: np.ndarray) -> None:
            if bias is not None:
                block += bias
            if relu:
                np.maximum(block, 0, out=block)

        return apply

    def kernel_finishes_blocks(self) -> bool:
        """The kernel applies the bias and activation to each block itself (fused_epilogue)."""
        return self.data_format == "channels_last" and getattr(self, "activation", None) in FUSED_ACTIVATIONS

    def takes_row_epilogues(self, input_shapes: list[Shape]) -> bool:
        return self.kernel_finishes_blocks()

    def run_kernel(
        self,
        kernel: Callable[..., np.ndarray],
        weights: Mapping[str, np.ndarray],
        *args: Any,
        then: Sequence[RowMap] = (),
    ) -> np.ndarray:
        """``kernel(*args, epilogue=...)``, then bias and activation unless the kernel applied them;
        ``then``: the fused followers' row epilogues (run/fusion.py), after the layer's own."""
        epilogue = self.fused_epilogue(weights)
        if then and epilogue is not None:
            own = epilogue

            def epilogue(block: np.ndarray) -> None:
                own(block)
                for apply in then:
                    apply(block)

        y = kernel(*args, epilogue=epilogue)
        return y if epilogue is not None else self.finish(y, weights)


# ----------------------------------------------------------------------------- Conv1D/2D/3D
def _conv_arguments(rank: int) -> tuple[Arg, ...]:
    paddings = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
    return (
        Arg("filters", A.positive_int, REQUIRED, doc="number of output channels"),
        Arg("kernel_size", A.int_tuple(rank), REQUIRED, doc=WINDOW_DOC),
        Arg("strides", A.int_tuple(rank), (1,) * rank),
        Arg("padding", A.padding(*paddings), "valid", ", ".join(paddings) + " (case-insensitive)"),
        Arg("data_format", A.data_format, "channels_last"),
        Arg("dilation_rate", A.int_tuple(rank), (1,) * rank),
        Arg("groups", A.positive_int, 1, "input channels and filters are split into this many groups"),
        Arg("activation", A.activation, None),
        Arg("use_bias", A.truthy, True),
        *weight_arguments(kernel="glorot_uniform", bias="zeros"),
        *LORA_ARGUMENTS,
    )


class Conv(SpatialConv):
    """Kernel (*kernel_size, C/groups, filters), bias (filters,); channels become ``filters``."""

    filters: int
    groups: int
    use_bias: bool
    lora_rank: int | None
    kernel_initializer: Any
    bias_initializer: Any
    kernel_constraint: Any

    def configure(self) -> None:
        if self.filters % self.groups:
            raise ArgError(
                f"filters must be divisible by groups: {self.filters} % {self.groups} = "
                f"{self.filters % self.groups}",
                argument="groups",
            )
        check_strides_dilation(self.strides, self.dilation_rate)
        refuse_lora_with_kernel_constraint(self)

    def build(self, input_shape: Shape) -> list[Weight]:
        channels = self.input_channels(input_shape)
        if channels % self.groups:
            raise ShapeError(
                f"input channels must be divisible by groups: {channels} % {self.groups} = "
                f"{channels % self.groups} (input {fmt_shape(input_shape)})"
            )
        self.compute_output_shape(input_shape)  # Keras's build validates the output lengths first
        kernel_shape = (*self.kernel_size, channels // self.groups, self.filters)
        # LoRA freezes the kernel and trains a delta A @ B instead.
        weights = [self.weight("kernel", kernel_shape, self.kernel_initializer, trainable=not self.lora_rank)]
        if self.use_bias:
            weights.append(self.weight("bias", (self.filters,), self.bias_initializer))
        if self.lora_rank:
            weights += lora_factors("kernel", kernel_shape, self.lora_rank)
        return weights

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        spatial = [out for _, out, _ in self.spatial_rules(input_shape)]
        return with_channels(input_shape, spatial, self.filters, self.data_format)

    def run_work_elements(self, input_shapes: Sizes, output_shapes: Sizes) -> int:
        # what the kernel holds (kernels/conv.py says), a channels_last copy of the input and of
        # the output for channels_first, and the activation's array where it is not fused
        shape, out = input_shapes[0], math.prod(output_shapes[0])
        last = shape if self.data_format == "channels_last" else (shape[0], *shape[2:], shape[1])
        kernel = (*self.kernel_size, last[-1] // self.groups, self.filters)
        work = conv_kernels.conv_workspace(
            last, kernel, self.strides, self.padding, self.dilation_rate, self.groups
        )
        if self.data_format != "channels_last":
            work += math.prod(shape) + out
        if self.data_format != "channels_last" or self.activation not in (None, "linear", "relu"):
            work += 2 * out
        return work + (math.prod(kernel) if self.lora_rank else 0)

    def macs(self, input_shape: Shape, output_shape: OutputShape) -> int | None:
        # each output position: kernel taps x the channels of its group x filters
        channels = input_shape[channel_axis(self.data_format)]
        taps = known_product([math.prod(self.kernel_size), channels, self.filters])
        positions = self.output_positions(output_shape)  # type: ignore[arg-type]
        return None if taps is None or positions is None else positions * taps // self.groups

    def forward(
        self, inputs: np.ndarray, weights: Mapping[str, np.ndarray], then: Sequence[RowMap] = ()
    ) -> np.ndarray:
        kernel = weights["kernel"]
        if self.lora_rank:
            # Unlike Dense, Conv's build passes lora_alpha on (default: the rank), scaling by alpha/rank.
            alpha = self.lora_alpha if self.lora_alpha is not None else self.lora_rank
            kernel = kernels.lora_merged(
                kernel, weights["lora_kernel_a"], weights["lora_kernel_b"], alpha / self.lora_rank
            )
        x = to_channels_last(inputs, self.data_format)
        # causal padding: all (k-1)*d before, then a valid convolution, as Conv1D.call pads
        args = (x, kernel, self.strides, self.padding, self.dilation_rate, self.groups)
        return self.run_kernel(conv_kernels.conv, weights, *args, then=then)


@register
class Conv1D(Conv):
    """1D convolution over (batch, steps, channels); padding may also be "causal" (shaped as same)."""

    rank = 1
    arguments = _conv_arguments(1)


@register
class Conv2D(Conv):
    """2D convolution over (batch, rows, cols, channels)."""

    rank = 2
    arguments = _conv_arguments(2)


@register
class Conv3D(Conv):
    """3D convolution over (batch, dim1, dim2, dim3, channels)."""

    rank = 3
    arguments = _conv_arguments(3)
