"""Preprocessing layers: Normalization, Rescaling, Resizing, CenterCrop.

Resizing and CenterCrop take one image (rank 3: H, W, C) or a batch (rank 4). Keras decides by
the rank of the tensor, batch axis included, so a rank-3 symbolic input (B, H, W) is read as one
unbatched image and its first axis is replaced by the height. shapecalc gives Keras's answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeAlias

from ..arithmetic import Field
from ..errors import ArgError, CallFailure, ShapeError
from ..lazy import lazy
from . import args as A
from .base import REQUIRED, Arg, Layer, OutputShape, Shape, Weight, fmt_shape
from .explaining import Step
from .registry import register

np = lazy("numpy")
reshaping_kernels = lazy("..kernels.reshaping", __package__)

Array: TypeAlias = "np.ndarray"
# keras.config.epsilon(): Normalization's floor on the standard deviation.
KERAS_EPSILON = 1e-7


class _SameShape(Layer):
    keeps_shape = "each value is transformed alone"
    pointwise = True  # at inference: constants (a mean and a variance, a scale) value by value

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

    supports_masking = True  # Keras passes the input's mask on

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

    def forward(self, inputs: Array, weights: Mapping[str, Array]) -> Array:
        x = np.asarray(inputs, np.float32)
        rank = x.ndim
        keep = sorted(a % rank for a in self.axis)
        broadcast = [x.shape[d] if d in keep else 1 for d in range(rank)]
        if self.mean is None:
            # Adapted (or loaded) statistics, laid out on the kept axes.
            mean = weights["mean"].reshape(broadcast)
            variance = weights["variance"].reshape(broadcast)
        else:
            mean = self._given_stat(self.mean[0], keep, broadcast)
            variance = self._given_stat(self.variance[0], keep, broadcast)
        stddev = np.maximum(np.sqrt(variance), np.float32(KERAS_EPSILON))
        if self.invert:
            return (mean + x * stddev).astype(np.float32)
        return ((x - mean) / stddev).astype(np.float32)

    @staticmethod
    def _given_stat(value: Any, keep: list[int], broadcast: list[int]) -> Array:
        """A given mean/variance: its dims aligned with the kept axes from the right."""
        stat = np.asarray(value, np.float32)
        if stat.ndim:
            expanded = [1] * len(broadcast)
            for i in range(1, stat.ndim + 1):
                expanded[keep[-i]] = stat.shape[-i]
            stat = stat.reshape(expanded)
        return np.broadcast_to(stat, broadcast)


@register
class Rescaling(_SameShape):
    """x * scale + offset; Keras does not check either value."""

    supports_masking = True  # Keras passes the input's mask on

    arguments = (Arg("scale", A.anything, REQUIRED), Arg("offset", A.anything, 0.0))

    def forward(self, inputs: Array, weights: Mapping[str, Array]) -> Array:
        # A list scale broadcasts against the last axis: Keras reshapes it for channels_first only
        # when the global image_data_format says so, which a spec cannot set (channels_last).
        # Keras casts both to the compute dtype and computes: where NumPy refuses the values (a
        # string, a mapping), their size (an integer past any float: 10**400) or their shapes (a
        # list as long as no axis), Keras's call fails too; past float32 alone they are inf.
        try:
            scale = np.asarray(self.scale, np.float32)
            offset = np.asarray(self.offset, np.float32)
            return (np.asarray(inputs, np.float32) * scale + offset).astype(np.float32)
        except (TypeError, ValueError, OverflowError) as err:
            raise CallFailure(
                f"x * scale + offset with scale {self.scale!r} and offset {self.offset!r} on "
                f"{np.shape(inputs)}, as Keras's call does: {err}"
            ) from None


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


def image_size_steps(layer: Layer, input_shape: Shape, axes: tuple[int, int]) -> list[Step]:
    """Height and width set by the layer's arguments; a rank other than 4 is one unbatched image."""
    what = "a batch of images" if len(input_shape) == 4 else "one image without a batch axis"
    return [
        Step(f"height (axis {axes[0]})", "height", layer.height, f"the argument; the input is {what}"),
        Step(f"width (axis {axes[1]})", "width", layer.width, "the argument"),
    ]


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

    def explain(self, input_shape: Shape) -> list[Step]:
        return image_size_steps(self, input_shape, self.spatial_axes(len(input_shape)))

    def target_size(self) -> tuple[int, int]:
        """(height, width) for the call: null passes Keras's shape rule (an unknown size), but
        its call computes with the number."""
        if self.height is None or self.width is None:
            raise CallFailure(f"cannot make images of height {self.height}, width {self.width}")
        return self.height, self.width


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

    def forward(self, inputs: Array, weights: Mapping[str, Array]) -> Array:
        images = batch_of_images(inputs)
        interpolations = reshaping_kernels.RESIZE_INTERPOLATIONS
        if self.interpolation not in interpolations:
            raise CallFailure(
                f"interpolation must be one of {', '.join(interpolations)} (case-sensitive), "
                f"got {self.interpolation!r}"
            )
        if self.fill_mode != "constant":
            raise CallFailure(f"fill_mode: only 'constant' is supported, got {self.fill_mode!r}")
        if self.pad_to_aspect_ratio and self.crop_to_aspect_ratio:
            raise CallFailure("only one of pad_to_aspect_ratio and crop_to_aspect_ratio can be true")
        h_axis, w_axis = self.spatial_axes(4)
        size = self.target_size()
        if self.crop_to_aspect_ratio:
            images = crop_to_aspect(images, size, h_axis, w_axis)
        elif self.pad_to_aspect_ratio:
            # Keras builds the bands as ones * fill_value: float64 for channels_first, and for
            # integer images with a non-integer fill value; the result is cast back at the end.
            promote = self.data_format == "channels_first" or not isinstance(self.fill_value, int)
            images = pad_to_aspect(images, size, h_axis, w_axis, self.fill_value, promote)
        if self.interpolation != "nearest" and any(
            n == 0 and images.shape[a] != 0 for a, n in ((h_axis, size[0]), (w_axis, size[1]))
        ):
            # Keras computes 1 / (new / old) in Python for each resized axis: a zero size divides by zero.
            raise CallFailure(f"cannot resize to {size} with {self.interpolation} interpolation (scale 0)")
        out = reshaping_kernels.resize(
            images, size, (h_axis, w_axis), self.interpolation, antialias=bool(self.antialias)
        )
        if out.dtype != inputs.dtype and inputs.dtype.kind in "iu":
            # Back to the input's integer type: rounded, then saturated to the type's range.
            limits = np.iinfo(inputs.dtype)
            out = np.clip(np.round(out), limits.min, limits.max)
        return unbatch(out.astype(inputs.dtype), inputs)


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

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        # a batch of images at least as large as the target is cropped, position for position;
        # a smaller one is resized (no window describes that), as is one of unknown size
        h_axis, w_axis = self.spatial_axes(len(input_shape))
        height, width = input_shape[h_axis], input_shape[w_axis]
        if len(input_shape) != 4 or None in (height, width, self.height, self.width):
            return None
        return fields[0] if height >= self.height and width >= self.width else None

    def forward(self, inputs: Array, weights: Mapping[str, Array]) -> Array:
        self.target_size()
        images = np.asarray(batch_of_images(inputs), np.float32)
        h_axis, w_axis = self.spatial_axes(4)
        height, width = images.shape[h_axis], images.shape[w_axis]
        if height >= self.height and width >= self.width:
            # Big enough: the centred window, the extra pixel (odd difference) cut at the far end.
            top, left = (height - self.height) // 2, (width - self.width) // 2
            window = [slice(None)] * 4
            window[h_axis] = slice(top, top + self.height)
            window[w_axis] = slice(left, left + self.width)
            return unbatch(images[tuple(window)], inputs)
        # Too small on an axis: Keras's smart_resize, a centred crop to the target aspect ratio
        # then a bilinear resize (so a too-small image is stretched, never padded).
        size = (self.height, self.width)
        cropped = crop_to_aspect(images, size, h_axis, w_axis)
        return unbatch(reshaping_kernels.resize(cropped, size, (h_axis, w_axis), "bilinear"), inputs)


# ----------------------------------------------------------------------------- image kernels
def batch_of_images(inputs: Array) -> Array:
    """Keras's image layers run on rank 4; one image (rank 3) gets a batch axis for the call."""
    if inputs.ndim == 3:
        return inputs[np.newaxis]
    if inputs.ndim == 4:
        return inputs
    raise CallFailure(f"expected an image (rank 3) or a batch of images (rank 4), got shape {inputs.shape}")


def unbatch(out: Array, inputs: Array) -> Array:
    return out[0] if inputs.ndim == 3 else out


def crop_to_aspect(images: Array, size: tuple[int, int], h_axis: int, w_axis: int) -> Array:
    """The largest centred window with the target's aspect ratio (at least 1 pixel each way)."""
    height, width = images.shape[h_axis], images.shape[w_axis]
    target_h, target_w = size
    if 0 in size:
        raise CallFailure(f"cannot crop to the aspect ratio of a {target_h}x{target_w} target (divides by 0)")
    # Keras truncates float quotients with int(), in this order.
    crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
    crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
    top, left = int(float(height - crop_h) / 2), int(float(width - crop_w) / 2)
    window = [slice(None)] * images.ndim
    window[h_axis] = slice(top, top + crop_h)
    window[w_axis] = slice(left, left + crop_w)
    return images[tuple(window)]


def pad_to_aspect(
    images: Array, size: tuple[int, int], h_axis: int, w_axis: int, fill_value: Any, promote: bool
) -> Array:
    """Pads with fill_value to the target's aspect ratio: the same band above and below (or
    left and right), so an odd shortfall leaves the result one pixel short of the ratio.
    ``promote``: the bands are float64, so padded integer images become float64."""
    height, width = images.shape[h_axis], images.shape[w_axis]
    target_h, target_w = size
    if 0 in size:
        raise CallFailure(f"cannot pad to the aspect ratio of a {target_h}x{target_w} target (divides by 0)")
    pad_h = max(height, int(float(width * target_h) / target_w))
    pad_w = max(width, int(float(height * target_w) / target_h))
    top, left = int(float(pad_h - height) / 2), int(float(pad_w - width) / 2)
    # Only one axis is padded: the height when it falls short, else the width.
    axis, band = (h_axis, top) if top > 0 else (w_axis, left)
    if band <= 0:
        return images
    widths = [(0, 0)] * images.ndim
    widths[axis] = (band, band)
    if promote and images.dtype.kind in "iu":
        images = images.astype(np.float64)
    # The fill value is rounded to the images' float type (float32 stays float32).
    try:
        fill = (
            np.asarray(fill_value, np.float64).astype(images.dtype)
            if images.dtype.kind == "f"
            else fill_value
        )
        return np.pad(images, widths, constant_values=fill)
    except (OverflowError, TypeError, ValueError) as err:  # no number NumPy can fill with
        raise CallFailure(
            f"cannot pad with fill_value {fill_value!r}, as Keras's call finds: {err}"
        ) from None
