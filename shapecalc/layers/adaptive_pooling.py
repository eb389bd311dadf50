"""Adaptive pooling: AdaptiveAveragePooling1D/2D/3D and AdaptiveMaxPooling1D/2D/3D.

After keras/src/layers/pooling/base_adaptive_pooling.py and adaptive_*_pooling*d.py. Each
spatial axis is pooled to a fixed length, whatever the input length; there are no weights.
Keras declares no InputSpec: its shape rule takes the batch axis (axis 0) and the channel axis
(the last, or axis 1 for channels_first) of an input of any rank and puts ``output_size``
between them, so a rank that does not match the layer is not refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ..errors import ArgError, CallFailure, ShapeError
from ..lazy import lazy
from . import args as A
from .base import REQUIRED, Arg, Layer, Shape, fmt_shape
from .explaining import Step, show, spatial_names
from .registry import register

np = lazy("numpy")
adaptive_kernels = lazy("..kernels.adaptive_pooling", __package__)


def _output_size(rank: int) -> A.Parser:
    """An integer (every axis) or a list of ``rank`` lengths.

    Keras checks only that form; the lengths become dimensions of the output shape, where an
    integer >= 0 or null (unknown) is all a shape accepts (true/false count as 1/0).
    """

    def parse(value: Any) -> tuple[int | None, ...]:
        if isinstance(value, int):
            sizes: tuple[Any, ...] = (value,) * rank
        elif isinstance(value, (list, tuple)) and len(value) == rank:
            sizes = tuple(value)
        else:
            raise ArgError(f"expected an integer or a list of {rank} integers, got {A.describe(value)}")
        for size in sizes:
            if size is not None and (not isinstance(size, int) or size < 0):
                raise ArgError(
                    f"every output length must be an integer >= 0 (or null), got {A.describe(value)}"
                )
        return tuple(None if s is None else int(s) for s in sizes)

    return parse


def _data_format(value: Any) -> str:
    """``data_format or image_data_format()``: any false value means channels_last, and the
    string is compared exactly, not lowercased."""
    if not value:
        return "channels_last"
    return A.one_of("channels_first", "channels_last")(value)


def _arguments(rank: int) -> tuple[Arg, ...]:
    return (
        Arg(
            "output_size",
            _output_size(rank),
            REQUIRED,
            f"output length of each spatial axis: {rank} integers",
        ),
        Arg("data_format", _data_format, "channels_last", "channels_last or channels_first (exact case)"),
    )


class AdaptivePooling(Layer):
    """Pools each spatial axis to ``output_size``: (batch, *output_size, channels)."""

    rank: ClassVar[int]
    mode: ClassVar[str]  # "average" or "max"
    output_size: tuple[int | None, ...]
    data_format: str

    def check_input(self, input_shape: Shape) -> None:
        # Keras indexes the batch axis and the channel axis without checking the rank.
        needed = 1 if self.data_format == "channels_last" else 2
        if len(input_shape) < needed:
            raise ShapeError(
                f"reads the batch axis and the channel axis ({self.data_format}), so it needs rank >= "
                f"{needed}, got rank {len(input_shape)}: {fmt_shape(input_shape)}"
            )

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if self.data_format == "channels_last":
            return (input_shape[0], *self.output_size, input_shape[-1])
        return (input_shape[0], input_shape[1], *self.output_size)

    def forward(self, inputs: Any, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        x = np.asarray(inputs)
        if x.dtype.kind == "f":
            x = x.astype(np.float32, copy=False)  # Keras casts float inputs to the compute dtype
        spatial = x.ndim - 2
        # Keras's op picks its 1-D, 2-D or 3-D form from the input's rank, not from the layer:
        # the 1-D form reads only the first length, the others unpack exactly `spatial` lengths.
        if spatial == 1:
            sizes = self.output_size[:1]
        elif spatial in (2, 3) and len(self.output_size) == spatial:
            sizes = self.output_size
        else:
            raise CallFailure(
                f"adaptive pooling runs on rank 3, 4 or 5 inputs with one output length per spatial axis; "
                f"got rank {x.ndim} {x.shape} and output_size {list(self.output_size)}"
            )
        if any(size is None for size in sizes):
            raise CallFailure(f"output_size {list(self.output_size)} has an unknown (null) length")
        first = 1 if self.data_format == "channels_last" else 2
        return adaptive_kernels.adaptive_pool(x, sizes, range(first, first + spatial), self.mode)

    def explain(self, input_shape: Shape) -> list[Step]:
        first = 1 if self.data_format == "channels_last" else 2
        names = spatial_names(len(self.output_size))
        steps = [
            Step(name, f"output_size (adaptive windows over the {show(input_shape[first + i])} in)", size)
            if first + i < len(input_shape)
            else Step(name, "output_size", size)
            for i, (name, size) in enumerate(zip(names, self.output_size, strict=True))
        ]
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        return [*steps, Step("channels", "kept", channels)]


@register
class AdaptiveAveragePooling1D(AdaptivePooling):
    """Averages each channel over adaptive windows to ``output_size`` steps."""

    rank = 1
    mode = "average"
    arguments = _arguments(1)


@register
class AdaptiveAveragePooling2D(AdaptivePooling):
    """Averages each channel over adaptive windows to an ``output_size`` grid."""

    rank = 2
    mode = "average"
    arguments = _arguments(2)


@register
class AdaptiveAveragePooling3D(AdaptivePooling):
    """Averages each channel over adaptive windows to an ``output_size`` volume."""

    rank = 3
    mode = "average"
    arguments = _arguments(3)


@register
class AdaptiveMaxPooling1D(AdaptivePooling):
    """Max of each channel over adaptive windows to ``output_size`` steps."""

    rank = 1
    mode = "max"
    arguments = _arguments(1)


@register
class AdaptiveMaxPooling2D(AdaptivePooling):
    """Max of each channel over adaptive windows to an ``output_size`` grid."""

    rank = 2
    mode = "max"
    arguments = _arguments(2)


@register
class AdaptiveMaxPooling3D(AdaptivePooling):
    """Max of each channel over adaptive windows to an ``output_size`` volume."""

    rank = 3
    mode = "max"
    arguments = _arguments(3)
