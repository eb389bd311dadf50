"""Preprocessing layers: Normalization, Rescaling, Resizing, CenterCrop.

Resizing and CenterCrop take one image (rank 3: H, W, C) or a batch (rank 4). Keras decides by
the rank of the tensor, batch axis included, so a rank-3 symbolic input (B, H, W) is read as one
unbatched image and its first axis is replaced by the height. shapecalc gives Keras's answer.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import ArgError, ShapeError
from . import args as A
from .base import REQUIRED, Arg, Layer, Shape, Weight, fmt_shape
from .registry import register


class _SameShape(Layer):
    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


# ----------------------------------------------------------------------------- Normalization
def _norm_axes(value: Any) -> tuple[int, ...]:
    """null -> () (normalise over everything); an integer; or any collection of integers."""
    if value is None:
        return ()
    if isinstance(value, int):
        return (int(value),)
    if isinstance(value, (list, tuple, str, dict)):
        # Keras runs tuple(axis): a string gives its characters and a mapping its keys.
        axes = tuple(value)
        if all(isinstance(a, int) for a in axes):
            return tuple(int(a) for a in axes)
    raise ArgError(f"expected null, an integer axis or a list of integer axes, got {A.describe(value)}")


def _array_shape(value: Any) -> tuple[int, ...]:
    """Shape of a number or a rectangular nested list of numbers (NumPy's np.shape)."""
    if isinstance(value, (int, float)):
        return ()
    if not isinstance(value, (list, tuple)):
        raise ArgError(f"expected a number or a (nested) list of numbers, got {A.describe(value)}")
    shapes = {_array_shape(v) for v in value}
    if len(shapes) > 1:
        raise ArgError(f"a nested list must be rectangular, got {A.describe(value)}")
    inner = shapes.pop() if shapes else ()
    return (len(value), *inner)


def _stats(value: Any) -> tuple[Any, tuple[int, ...]] | None:
    """Given mean or variance: the value and its array shape."""
    if value is None:
        return None
    return value, _array_shape(value)


@register
class Normalization(_SameShape):
    """Standardises with a per-feature mean and variance along the kept ``axis``.

    Without given mean/variance: non-trainable mean, variance (kept dims) and an int32 count ().
    With them: no weights, but they must broadcast to the kept dims.
    """

    arguments = (
        Arg("axis", _norm_axes, -1, "kept (feature) axes; null keeps none"),
        Arg("mean", _stats, None, "number or nested list; needs variance"),
        Arg("variance", _stats, None, "number or nested list; needs mean"),
        Arg("invert", A.anything, False),
    )

    def configure(self) -> None:
        self.axis = _norm_axes(self.axis)  # the default -1 -> (-1,)
        if (self.mean is None) != (self.variance is None):
            given = "mean" if self.mean is not None else "variance"
            raise ArgError("mean and variance must be given together (or neither)", argument=given)
        if self.mean is not None:
            if self.mean[1] != self.variance[1]:
                raise ArgError(
                    f"mean and variance must have the same shape, got {fmt_shape(self.mean[1])} "
                    f"and {fmt_shape(self.variance[1])}",
                    argument="variance",
                )
            if len(self.mean[1]) > len(self.axis):
                raise ArgError(
                    f"the rank of mean ({len(self.mean[1])}, shape {fmt_shape(self.mean[1])}) must be <= "
                    f"the number of axes ({len(self.axis)}, axis={list(self.axis)})",
                    argument="mean",
                )

    def build(self, input_shape: Shape) -> list[Weight]:
        rank = len(input_shape)
        for a in self.axis:
            if not -rank <= a < rank:
                raise ShapeError(
                    f"axis {a} is out of range for input {fmt_shape(input_shape)} of rank {rank} "
                    f"(valid: {-rank}..{rank - 1})"
                )
        keep = sorted(a % rank for a in self.axis)
        for d in keep:
            if input_shape[d] is None:
                raise ShapeError(f"kept axis {d} of {fmt_shape(input_shape)} must be known")
        # Reduced axes broadcast as 1; a kept axis listed twice still appears once here.
        broadcast = [input_shape[d] if d in keep else 1 for d in range(rank)]
        if self.mean is None:
            stats = tuple(input_shape[d] for d in keep)
            if math.prod(stats) != math.prod(broadcast):  # type: ignore[arg-type]
                raise ShapeError(
                    f"axis {list(self.axis)} lists an axis twice: mean of shape {fmt_shape(stats)} cannot "
                    f"be reshaped to {fmt_shape(broadcast)}"
                )
            return [
                self.weight("mean", stats, "zeros", trainable=False),
                self.weight("variance", stats, "ones", trainable=False),
                Weight("count", (), False, "zeros", "int32"),
            ]
        self._check_given_stats(input_shape, keep, broadcast)
        return []

    def _check_given_stats(self, input_shape: Shape, keep: list[int], broadcast: list[Any]) -> None:
        mean_shape = self.mean[1]
        if not mean_shape:
            return  # a scalar broadcasts everywhere
        # The mean's dims line up with the kept axes from the right; the rest become 1.
        expanded = [1] * len(input_shape)
        for i in range(1, len(mean_shape) + 1):
            expanded[keep[-i]] = mean_shape[-i]
        if math.prod(expanded) != math.prod(mean_shape):
            raise ShapeError(
                f"mean of shape {fmt_shape(mean_shape)} cannot be placed on the kept axes {keep} "
                f"(reshape to {fmt_shape(expanded)})"
            )
        for d, (have, want) in enumerate(zip(expanded, broadcast, strict=True)):
            if have not in (1, want):
                raise ShapeError(
                    f"mean of shape {fmt_shape(mean_shape)} does not broadcast to the kept dims of "
                    f"{fmt_shape(input_shape)}: axis {d} has {have}, needs 1 or {want}"
                )


@register
class Rescaling(_SameShape):
    """x * scale + offset; Keras does not check either value."""

    arguments = (Arg("scale", A.anything, REQUIRED), Arg("offset", A.anything, 0.0))


# ----------------------------------------------------------------------------- image layers
def _size(value: Any) -> int | None:
    """An output height/width: becomes a dimension of the output shape (null stays unknown)."""
    if value is None:
        return None
    if not isinstance(value, int) or value < 0:
        raise ArgError(f"expected an integer >= 0 (or null), got {A.describe(value)}")
    return int(value)


def _no_factor(value: Any) -> None:
    if value is not None:
        raise ArgError(f"this layer does not take a factor, got {A.describe(value)}")


class _ImageSize(Layer):
    """Replaces the two spatial axes of an image (rank 3) or a batch of images (rank 4)."""

    def spatial_axes(self, rank: int) -> tuple[int, int]:
        if rank == 4:
            return (1, 2) if self.data_format == "channels_last" else (2, 3)
        # Any other rank is read as one unbatched image (H, W, C) or (C, H, W).
        return (0, 1) if self.data_format == "channels_last" else (1, 2)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        out = list(input_shape)
        h_axis, w_axis = self.spatial_axes(len(out))
        out[h_axis], out[w_axis] = self.height, self.width
        return tuple(out)

    def explain(self, input_shape: Shape) -> list[str]:
        h_axis, w_axis = self.spatial_axes(len(input_shape))
        kind = "a batch of images" if len(input_shape) == 4 else "one unbatched image (no batch axis)"
        rank = len(input_shape)
        return [f"rank {rank} is {kind}: axis {h_axis} -> {self.height}, axis {w_axis} -> {self.width}"]


@register
class Resizing(_ImageSize):
    """Resizes images to (height, width). Ranks other than 3 and 4 are read as rank 3, as Keras does."""

    arguments = (
        Arg("height", _size, REQUIRED),
        Arg("width", _size, REQUIRED),
        Arg("interpolation", A.anything, "bilinear", "not checked by Keras until the layer runs"),
        Arg("crop_to_aspect_ratio", A.anything, False),
        Arg("pad_to_aspect_ratio", A.anything, False),
        Arg("fill_mode", A.anything, "constant"),
        Arg("fill_value", A.anything, 0.0),
        Arg("antialias", A.anything, False),
        Arg("data_format", A.data_format, "channels_last"),
        Arg("factor", _no_factor, None),
        Arg("bounding_box_format", A.anything, None),
    )

    def check_input(self, input_shape: Shape) -> None:
        _, w_axis = self.spatial_axes(len(input_shape))
        if len(input_shape) <= w_axis:
            raise ShapeError(
                f"expects an image (rank 3) or a batch of images (rank 4); an input of rank "
                f"{len(input_shape)} {fmt_shape(input_shape)} has no axis {w_axis} for the width "
                f"({self.data_format})"
            )


@register
class CenterCrop(_ImageSize):
    """Crops (or pads) the centre to (height, width); rank 3 (one image) or 4 (a batch) only."""

    arguments = (
        Arg("height", _size, REQUIRED),
        Arg("width", _size, REQUIRED),
        Arg("data_format", A.data_format, "channels_last"),
        Arg("factor", _no_factor, None),
        Arg("bounding_box_format", A.anything, None),
    )

    def check_input(self, input_shape: Shape) -> None:
        if len(input_shape) not in (3, 4):
            raise ShapeError(
                f"expects an image (rank 3) or a batch of images (rank 4), got rank {len(input_shape)}: "
                f"{fmt_shape(input_shape)}"
            )
