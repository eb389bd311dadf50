"""Image augmentation layers, geometric and mixing: RandomFlip, RandomRotation, RandomZoom,
RandomTranslation, RandomShear, RandomPerspective, RandomElasticTransform, RandomErasing,
RandomCrop, CutMix, MixUp, MaxNumBoundingBoxes.

After keras/src/layers/preprocessing/image_preprocessing/. They are data layers without
weights. Called on a symbolic tensor they only run ``compute_output_shape``, which keeps the
input shape of any rank (the rank-3/rank-4 check in ``call`` only runs on real data), except
RandomCrop, which replaces the height and width axes.

So the work here is argument validation, written to fail exactly where Keras's ``__init__``
fails. Keras compares and sorts the values it is given without checking their types first, so a
value Python cannot compare with a number (a string, a list) fails with a TypeError, and any
number, booleans included, passes ``isinstance(x, (int, float))``. The helpers below run the
same comparisons on the plain spec values and turn a TypeError into a refusal.
In inference mode (the NumPy kernels) the random augmentations return their images unchanged;
RandomCrop does too, so its real output keeps the input's size, unlike its static shape.
The colour layers are in augmentation_color.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ..errors import ArgError, CallFailure, ShapeError
from ..lazy import lazy
from . import args as A
from .base import REQUIRED, Arg, Layer, Shape, fmt_shape
from .explaining import Step
from .registry import register

np = lazy("numpy")

# SeedGenerator stores the seed in a variable of the backend's seed dtype: uint32 on the numpy
# and jax backends, so a negative or too large seed overflows when the layer is constructed.
SEED_LIMIT = 2**32

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


# ----------------------------------------------------------------------------- argument parsers
def fails(check: Callable[[], Any]) -> bool:
    """True when Keras's comparison is true, or cannot be made at all (a TypeError in Keras)."""
    try:
        return bool(check())
    except TypeError:
        return True


def is_number(value: Any) -> bool:
    """Keras's isinstance(x, (int, float)): booleans count as numbers."""
    return isinstance(value, (int, float))


def seed(value: Any) -> int | None:
    """SeedGenerator: null (a random seed) or an integer that fits the uint32 seed variable."""
    if value is None:
        return None
    if not isinstance(value, int):
        raise ArgError(f"the seed must be an integer, got {A.describe(value)}")
    if not 0 <= value < SEED_LIMIT:
        raise ArgError(f"the seed must fit in uint32 (0 <= seed < 2**32), got {value}")
    return int(value)


def base_factor(low: float, high: float, falsy_is_zero: bool = False) -> A.Parser:
    """BaseImagePreprocessingLayer._set_factor: a number in [low, high], or a pair [a, b]
    with a <= high and b >= low (only those two ends are checked), returned sorted.

    ``falsy_is_zero``: the factor went through the base ``__init__``, which first replaces a
    false value (null, 0, an empty list) with 0.0.
    """
    rule = f"a number in [{low}, {high}], or a list [a, b] of two numbers with a <= {high} and b >= {low}"

    def parse(value: Any) -> tuple[Any, Any]:
        if falsy_is_zero and not value:
            value = 0.0
        if isinstance(value, (list, tuple)):
            if len(value) == 2 and not fails(lambda: value[0] > high or value[1] < low):
                try:
                    lower, upper = sorted(value)
                except TypeError:
                    pass
                else:
                    return lower, upper
        elif is_number(value) and not fails(lambda: value < low or value > high):
            return max(-abs(value), low), abs(value)
        raise ArgError(f"expected {rule}, got {A.describe(value)}")

    return parse


def each_factor(low: float, high: float, low_open: bool = False) -> A.Parser:
    """The per-layer _set_factor of RandomZoom, RandomTranslation, RandomShear and Solarization:
    a number or a pair of numbers, every one of them within the bounds."""
    bounds = f"({low}, {high}]" if low_open else f"[{low}, {high}]"

    def outside(x: Any) -> bool:
        return fails(lambda: x > high or (x <= low if low_open else x < low))

    def parse(value: Any) -> tuple[Any, Any]:
        if isinstance(value, (list, tuple)):
            if len(value) == 2 and not outside(value[0]) and not outside(value[1]):
                lower, upper = sorted(value)  # two comparable numbers by now
                return lower, upper
        elif is_number(value) and not outside(value):
            return -abs(value), abs(value)
        raise ArgError(
            f"expected a number in {bounds} or a list of two such numbers, got {A.describe(value)}"
        )

    return parse


def unit_number(value: Any) -> Any:
    """``x < 0 or x > 1`` as Keras writes it: a number in [0, 1] (anything else cannot compare)."""
    if fails(lambda: value < 0 or value > 1):
        raise ArgError(f"expected a number in [0, 1], got {A.describe(value)}")
    return value


def value_range(value: Any) -> tuple[Any, Any]:
    """_set_value_range: a list of two values, which Keras sorts (two numbers in practice)."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        try:
            low, high = sorted(value)
        except TypeError:
            pass
        else:
            return low, high
    raise ArgError(f"expected a list of two numbers (low and high), got {A.describe(value)}")


def python_int(value: Any) -> int:
    """Keras converts with int(): numbers are truncated and numeric strings parsed."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise ArgError(f"expected an integer (Keras applies int()), got {A.describe(value)}") from None


def no_factor(value: Any) -> None:
    """A factor passed on to a base layer that takes none: only null is let through."""
    if value is not None:
        raise ArgError(f"this layer does not take a factor, got {A.describe(value)}")


def crop_size(value: Any) -> int | None:
    """A RandomCrop height/width: placed in the output shape as given, so it must be a size."""
    if value is None:
        return None
    if not isinstance(value, int) or value < 0:
        raise ArgError(f"expected an integer >= 0 (or null), got {A.describe(value)}")
    return int(value)


def odd_kernel_size(value: Any) -> Any:
    """RandomGaussianBlur: a number or two numbers, none of them even (``x % 2 == 0``)."""

    def even(x: Any) -> bool:
        if isinstance(x, str):
            # Python's `str % 2` formats a string; widths only change the length of the result,
            # so they are shortened before trying (a huge width would only exhaust memory).
            x = re.sub(r"\d{4,}", "999", x)
        try:
            return bool(x % 2 == 0)
        except (TypeError, ValueError):  # ValueError: a bad conversion character in a string
            return True

    if isinstance(value, (list, tuple)):
        if len(value) == 2 and not even(value[0]) and not even(value[1]):
            return tuple(value)
    elif is_number(value) and not even(value):
        return value
    raise ArgError(f"expected an odd number or a list of two odd numbers, got {A.describe(value)}")


# ----------------------------------------------------------------------------- base classes
def image_arguments(*own: Arg, base_factor_bounds: bool = True) -> tuple[Arg, ...]:
    """A layer's own arguments plus those its ``**kwargs`` carry to BaseImagePreprocessingLayer.

    The base takes ``factor``: layers that use it (``_USE_BASE_FACTOR``) validate it in [-1, 1]
    after turning a false value into 0.0; the others refuse any value but null.
    """
    names = {arg.name for arg in own}
    extra = [Arg("bounding_box_format", A.anything, None, "not checked until boxes are given")]
    if "data_format" not in names:
        extra.append(Arg("data_format", A.data_format, "channels_last"))
    if "factor" not in names:
        if base_factor_bounds:
            extra.append(Arg("factor", base_factor(-1, 1, falsy_is_zero=True), None, "unused: [-1, 1]"))
        else:
            extra.append(Arg("factor", no_factor, None, "only null is accepted"))
    return (*own, *extra)


def image_input(inputs: Any) -> np.ndarray:
    """The images a layer runs on: one image (rank 3) or a batch (rank 4), as Keras's call
    demands on real data; float images in float32 (Keras casts them to the compute dtype)."""
    images = np.asarray(inputs)
    if images.ndim not in (3, 4):
        raise CallFailure(
            f"image layers run on one image (rank 3) or a batch of images (rank 4), got rank "
            f"{images.ndim}: {images.shape}"
        )
    return images.astype(np.float32, copy=False) if images.dtype.kind == "f" else images


class ImageAugmentation(Layer):
    """Keeps the input shape: Keras's compute_output_shape returns it for any rank."""

    # at inference a random augmentation returns the images as they are
    pointwise = True
    keeps_shape = "an augmentation changes values, not the shape"
    data_format: str
    # In inference mode Keras's transform_images casts the images to float32 before returning
    # them (True), or returns them as they came (False: integer images stay integer).
    casts_at_inference: ClassVar[bool] = True

    def forward(self, inputs: Any, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        """Inference mode: a random augmentation leaves the images unchanged."""
        images = image_input(inputs)
        return images.astype(np.float32, copy=False) if self.casts_at_inference else images

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def auto_named_sublayers(self, name_given: bool) -> tuple[str, ...]:
        """Types of the Keras layers this layer's ``__init__`` creates without a name, in order.

        Each takes an auto-name (``random_brightness``, ...), so a later layer of that type in
        the model is numbered after it. ``name_given``: the spec named this layer, and layers
        that pass their keyword arguments on (AugMix, RandAugment) give that name to theirs.
        """
        return ()


def _seed_arg() -> Arg:
    return Arg("seed", seed, None, "an integer in [0, 2**32), or null for a random seed")


def _fill_args(with_mode: bool = True) -> tuple[Arg, ...]:
    mode = (Arg("fill_mode", A.one_of(*FILL_MODES), "reflect", "exact case"),) if with_mode else ()
    return (
        *mode,
        Arg("interpolation", A.one_of(*INTERPOLATIONS), "bilinear", "exact case"),
        Arg("fill_value", A.anything, 0.0, "not checked by Keras"),
    )


# ----------------------------------------------------------------------------- geometric
@register
class RandomFlip(ImageAugmentation):
    """Flips images; ``mode`` is only read when the layer runs on data, so Keras accepts any value."""

    arguments = image_arguments(
        Arg("mode", A.anything, "horizontal_and_vertical", "horizontal, vertical or horizontal_and_vertical"),
        _seed_arg(),
        Arg("data_format", A.data_format, "channels_last"),
        base_factor_bounds=False,
    )


@register
class RandomRotation(ImageAugmentation):
    """Rotates by a random fraction of 2*pi drawn from ``factor`` (in [-1, 1])."""

    arguments = image_arguments(
        Arg(
            "factor",
            base_factor(-1, 1, falsy_is_zero=True),
            REQUIRED,
            "a number, or a pair of numbers, in [-1, 1]",
        ),
        *_fill_args(),
        _seed_arg(),
        Arg("data_format", A.data_format, "channels_last"),
    )


@register
class RandomZoom(ImageAugmentation):
    """Zooms by factors in (-1, 1]; ``width_factor`` null keeps the aspect ratio."""

    arguments = image_arguments(
        Arg(
            "height_factor",
            each_factor(-1, 1, low_open=True),
            REQUIRED,
            "a number, or a pair of numbers, in (-1, 1]",
        ),
        Arg("width_factor", A.optional(each_factor(-1, 1, low_open=True)), None),
        *_fill_args(),
        _seed_arg(),
        Arg("data_format", A.data_format, "channels_last"),
        base_factor_bounds=False,
    )


@register
class RandomTranslation(ImageAugmentation):
    """Shifts by fractions of the height and width, each in [-1, 1]."""

    arguments = image_arguments(
        Arg("height_factor", each_factor(-1, 1), REQUIRED, "a number, or a pair of numbers, in [-1, 1]"),
        Arg("width_factor", each_factor(-1, 1), REQUIRED, "a number, or a pair of numbers, in [-1, 1]"),
        *_fill_args(),
        _seed_arg(),
        Arg("data_format", A.data_format, "channels_last"),
        base_factor_bounds=False,
    )


@register
class RandomShear(ImageAugmentation):
    """Shears along x and y by factors in [0, 1]."""

    arguments = image_arguments(
        Arg("x_factor", each_factor(0, 1), 0.0, "a number, or a pair of numbers, in [0, 1]"),
        Arg("y_factor", each_factor(0, 1), 0.0, "a number, or a pair of numbers, in [0, 1]"),
        *_fill_args(),
        Arg("data_format", A.data_format, "channels_last"),
        _seed_arg(),
        base_factor_bounds=False,
    )


@register
class RandomPerspective(ImageAugmentation):
    """Random perspective warp; ``scale`` in [0, 1] bounds how far the corners move."""

    arguments = image_arguments(
        Arg("factor", base_factor(0, 1), 1.0, "probability: a number, or a pair of numbers, in [0, 1]"),
        Arg("scale", unit_number, 1.0, "a number in [0, 1]"),
        *_fill_args(with_mode=False),
        _seed_arg(),
        Arg("data_format", A.data_format, "channels_last"),
    )


@register
class RandomElasticTransform(ImageAugmentation):
    """Elastic distortion; its fill modes include 'mirror'."""

    arguments = image_arguments(
        Arg("factor", base_factor(0, 1), 1.0, "a number, or a pair of numbers, in [0, 1]"),
        Arg("scale", base_factor(0, 1), 1.0, "a number, or a pair of numbers, in [0, 1]"),
        Arg("interpolation", A.one_of(*INTERPOLATIONS), "bilinear", "exact case"),
        Arg(
            "fill_mode", A.one_of("constant", "nearest", "wrap", "mirror", "reflect"), "reflect", "exact case"
        ),
        Arg("fill_value", A.anything, 0.0, "not checked by Keras"),
        Arg("value_range", A.anything, (0, 255), "not checked by Keras"),
        _seed_arg(),
        Arg("data_format", A.data_format, "channels_last"),
    )


@register
class RandomErasing(ImageAugmentation):
    """Erases a random rectangle whose area fraction is drawn from ``scale``."""

    arguments = image_arguments(
        Arg("factor", base_factor(0, 1), 1.0, "probability: a number, or a pair of numbers, in [0, 1]"),
        Arg(
            "scale",
            base_factor(0, 1),
            (0.02, 0.33),
            "area fraction: a number, or a pair of numbers, in [0, 1]",
        ),
        Arg("fill_value", A.anything, None, "not checked by Keras"),
        Arg("value_range", A.anything, (0, 255), "not checked by Keras"),
        _seed_arg(),
        Arg("data_format", A.data_format, "channels_last"),
    )


@register
class RandomCrop(ImageAugmentation):
    """Crops (height, width) out of each image: the height and width axes take those sizes."""

    # Keras counts the axes from the end, (-3, -2) for channels_last and (-2, -1) for
    # channels_first, whatever the rank; a rank too small for them fails. The sizes are not
    # checked at construction but must be valid shape dimensions once placed in the output.

    height: int | None
    width: int | None
    arguments = image_arguments(
        Arg("height", crop_size, REQUIRED, "output height (an integer >= 0, or null)"),
        Arg("width", crop_size, REQUIRED, "output width (an integer >= 0, or null)"),
        _seed_arg(),
        Arg("data_format", A.data_format, "channels_last"),
    )

    casts_at_inference = False

    def forward(self, inputs: Any, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        # In inference mode Keras does not crop: transform_images returns the images whole, so
        # the output keeps the input's height and width, unlike compute_output_shape. It still
        # works out a centred crop box first, dividing by both sizes.
        if not self.height or not self.width:
            raise CallFailure(
                f"Keras's centred crop box divides by the height and width, got height {self.height} "
                f"and width {self.width}"
            )
        return super().forward(inputs, weights)

    def axes(self) -> tuple[int, int]:
        return (-3, -2) if self.data_format == "channels_last" else (-2, -1)

    def check_input(self, input_shape: Shape) -> None:
        needed = -self.axes()[0]
        if len(input_shape) < needed:
            raise ShapeError(
                f"crops the axes {list(self.axes())} from the end ({self.data_format}), so it needs "
                f"rank >= {needed}, got rank {len(input_shape)}: {fmt_shape(input_shape)}"
            )

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        out = list(input_shape)
        h_axis, w_axis = self.axes()
        out[h_axis], out[w_axis] = self.height, self.width
        return tuple(out)

    def explain(self, input_shape: Shape) -> list[Step]:
        h_axis, w_axis = (axis % len(input_shape) for axis in self.axes())
        return [
            Step(f"height (axis {h_axis})", "height", self.height, "the argument"),
            Step(f"width (axis {w_axis})", "width", self.width, "the argument"),
        ]


# ----------------------------------------------------------------------------- mixing, boxes
@register
class CutMix(ImageAugmentation):
    """Pastes a patch of another image of the batch; ``factor`` in [0, 1]."""

    arguments = image_arguments(
        Arg("factor", base_factor(0, 1), 1.0, "a number, or a pair of numbers, in [0, 1]"),
        _seed_arg(),
        Arg("data_format", A.data_format, "channels_last"),
    )


@register
class MixUp(ImageAugmentation):
    """Blends pairs of images of the batch; ``alpha`` is not checked by Keras."""

    casts_at_inference = False
    arguments = image_arguments(
        Arg("alpha", A.anything, 0.2, "Beta distribution parameter (not checked by Keras)"),
        Arg("data_format", A.data_format, "channels_last"),
        _seed_arg(),
    )


@register
class MaxNumBoundingBoxes(ImageAugmentation):
    """Pads or trims bounding boxes to ``max_number``; an image tensor passes through unchanged."""

    casts_at_inference = False
    arguments = image_arguments(
        Arg("max_number", python_int, REQUIRED, "boxes kept per image (Keras applies int())"),
        Arg("fill_value", python_int, -1, "label of padding boxes (Keras applies int())"),
    )
