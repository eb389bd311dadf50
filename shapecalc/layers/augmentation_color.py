"""Image augmentation layers acting on colours and intensities, and the pipelines built from them:
RandomContrast, RandomBrightness, RandomHue, RandomSaturation, RandomSharpness, RandomGrayscale,
RandomInvert, RandomPosterization, RandomColorDegeneration, RandomColorJitter,
RandomGaussianBlur, AutoContrast, Equalization, Solarization,
ContrastLimitedAdaptiveHistogramEqualization, AugMix, RandAugment.

All keep the input shape (RandomGrayscale too: it writes the grey value into every channel).
Only RandomColorDegeneration checks its input on a symbolic call: rank 3 or 4, 3 channels.
In inference mode only AutoContrast and CLAHE change the images (kernels/augmentation.py);
the others return them unchanged. Validation helpers are in augmentation.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import ArgError, CallFailure, ShapeError
from ..lazy import lazy
from . import args as A
from .augmentation import (
    INTERPOLATIONS,
    ImageAugmentation,
    base_factor,
    each_factor,
    fails,
    image_arguments,
    image_input,
    odd_kernel_size,
    seed,
    unit_number,
    value_range,
)
from .base import REQUIRED, Arg, Shape, Sizes, fmt_shape
from .registry import register

np = lazy("numpy")
augmentation_kernels = lazy("..kernels.augmentation", __package__)

_RANGE_DOC = "the range of the pixel values"


def _seed_arg() -> Arg:
    return Arg("seed", seed, None, "an integer in [0, 2**32), or null for a random seed")


def _checked_range() -> Arg:
    return Arg("value_range", value_range, (0, 255), _RANGE_DOC + ": a list of two numbers")


def _unchecked_range() -> Arg:
    return Arg("value_range", A.anything, (0, 255), _RANGE_DOC + " (not checked by Keras)")


def _factor(low: float, high: float, default: Any = REQUIRED, falsy_is_zero: bool = False) -> Arg:
    return Arg(
        "factor",
        base_factor(low, high, falsy_is_zero),
        default,
        f"a number, or a pair of numbers, in [{low}, {high}]",
    )


_DATA_FORMAT = Arg("data_format", A.data_format, "channels_last")


# ----------------------------------------------------------------------------- single operations
@register
class RandomContrast(ImageAugmentation):
    """Scales the contrast by a factor drawn from [1 - lower, 1 + upper], ``factor`` in [0, 1]."""

    casts_at_inference = False
    arguments = image_arguments(_factor(0, 1), _unchecked_range(), _seed_arg())


@register
class RandomBrightness(ImageAugmentation):
    """Adds a brightness delta; ``factor`` in [-1, 1] (null or 0 means no change)."""

    casts_at_inference = False
    arguments = image_arguments(_factor(-1, 1, falsy_is_zero=True), _checked_range(), _seed_arg())


@register
class RandomHue(ImageAugmentation):
    """Shifts the hue by up to ``factor`` (in [0, 1]) of a full turn."""

    casts_at_inference = False
    arguments = image_arguments(_factor(0, 1), _unchecked_range(), _DATA_FORMAT, _seed_arg())


@register
class RandomSaturation(ImageAugmentation):
    """Scales the saturation; ``factor`` in [-1, 1]."""

    casts_at_inference = False
    arguments = image_arguments(_factor(-1, 1), _checked_range(), _DATA_FORMAT, _seed_arg())


@register
class RandomSharpness(ImageAugmentation):
    """Blends with a sharpened image; ``factor`` in [0, 1]."""

    arguments = image_arguments(_factor(0, 1), _checked_range(), _DATA_FORMAT, _seed_arg())


@register
class RandomGrayscale(ImageAugmentation):
    """Turns a fraction ``factor`` of the images grey, keeping the number of channels."""

    keeps_input_dtype = True  # its compute_output_spec returns the input dtype

    casts_at_inference = False
    arguments = image_arguments(
        Arg("factor", unit_number, 0.5, "probability: a number in [0, 1]"), _DATA_FORMAT, _seed_arg()
    )


@register
class RandomInvert(ImageAugmentation):
    """Inverts a fraction ``factor`` (in [0, 1]) of the images."""

    casts_at_inference = False
    arguments = image_arguments(_factor(0, 1, default=1.0), _unchecked_range(), _seed_arg(), _DATA_FORMAT)


@register
class RandomPosterization(ImageAugmentation):
    """Keeps ``factor`` bits per colour channel; ``factor`` in [1, 8]."""

    casts_at_inference = False
    arguments = image_arguments(_factor(1, 8), _checked_range(), _DATA_FORMAT, _seed_arg())


@register
class RandomColorDegeneration(ImageAugmentation):
    """Blends with the greyscale image; needs RGB images: rank 3 or 4 with 3 channels."""

    casts_at_inference = False
    arguments = image_arguments(_factor(-1, 1), _checked_range(), _DATA_FORMAT, _seed_arg())

    def check_input(self, input_shape: Shape) -> None:
        if len(input_shape) not in (3, 4):
            raise ShapeError(
                f"expects one image (rank 3) or a batch of images (rank 4), got rank {len(input_shape)}: "
                f"{fmt_shape(input_shape)}"
            )
        axis = -1 if self.data_format == "channels_last" else -3
        channels = input_shape[axis]
        if channels is not None and channels != 3:
            raise ShapeError(
                f"needs RGB images: 3 channels on axis {len(input_shape) + axis} ({self.data_format}), "
                f"got {channels} in {fmt_shape(input_shape)}"
            )


@register
class RandomGaussianBlur(ImageAugmentation):
    """Blurs with an odd ``kernel_size`` and a ``sigma`` drawn from [0, 1]."""

    arguments = image_arguments(
        _factor(0, 1, default=1.0),
        Arg("kernel_size", odd_kernel_size, 3, "an odd number, or two odd numbers"),
        Arg("sigma", base_factor(0, 1), 1.0, "a number, or a pair of numbers, in [0, 1]"),
        _unchecked_range(),
        _DATA_FORMAT,
        _seed_arg(),
    )


@register
class AutoContrast(ImageAugmentation):
    """Stretches each image's values to the full ``value_range``, in inference mode too."""

    pointwise = False  # each image is scaled by statistics of the whole image (or tile)

    value_range: tuple[Any, Any]
    arguments = image_arguments(_checked_range(), base_factor_bounds=False)

    def forward(self, inputs: Any, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        images = image_input(inputs)
        if images.ndim == 3:  # one image: Keras adds the batch axis around the computation
            return augmentation_kernels.auto_contrast(images[np.newaxis], self.value_range)[0]
        return augmentation_kernels.auto_contrast(images, self.value_range)


@register
class Equalization(ImageAugmentation):
    """Histogram equalisation with ``bins`` bins (not checked by Keras).

    Keras can call it (alone, or inside a wrapper) but not build a model around a direct call.
    """

    casts_at_inference = False
    # compute_output_spec returns its input: the symbolic output is the input tensor itself
    model_call_refusal = (
        "Keras cannot build a model that calls Equalization directly: its symbolic call returns "
        "the input tensor itself, which Keras's model then finds 'part of a cycle'"
    )
    arguments = image_arguments(
        _checked_range(), Arg("bins", A.anything, 256, "not checked by Keras"), _DATA_FORMAT
    )


@register
class Solarization(ImageAugmentation):
    """Inverts the values above a threshold; both factors in [0, 1]."""

    arguments = image_arguments(
        Arg("addition_factor", each_factor(0, 1), 0.0, "a number, or a pair of numbers, in [0, 1]"),
        Arg("threshold_factor", each_factor(0, 1), 0.0, "a number, or a pair of numbers, in [0, 1]"),
        _checked_range(),
        _seed_arg(),
        base_factor_bounds=False,
    )


@register
class ContrastLimitedAdaptiveHistogramEqualization(ImageAugmentation):
    """CLAHE, applied in inference mode too; Keras checks none of its own arguments but the data format."""

    pointwise = False  # each image is scaled by statistics of the whole image (or tile)

    value_range: Any
    clip_limit: Any
    tile_grid_size: Any
    arguments = image_arguments(
        _unchecked_range(),
        Arg("clip_limit", A.anything, 4.0, "not checked by Keras"),
        Arg("tile_grid_size", A.anything, (8, 8), "not checked by Keras"),
        _DATA_FORMAT,
    )

    def _tile_grid(self) -> tuple[int, int] | None:
        """tile_grid_size as the two integers >= 1 Keras's arithmetic needs, else None."""
        grid = self.tile_grid_size
        if not isinstance(grid, (list, tuple)) or len(grid) != 2:
            return None
        return (int(grid[0]), int(grid[1])) if all(isinstance(g, int) and g > 0 for g in grid) else None

    def run_work_elements(self, input_shapes: Sizes, output_shapes: Sizes) -> int:
        """The images padded to whole tiles, a few arrays of that size (levels, tile ids, flat
        bins), and a 256-bin histogram per tile and channel: with a tile grid far finer than
        the image these, not the output, are the run's memory."""
        grid, shape = self._tile_grid(), input_shapes[0]
        if grid is None or len(shape) not in (3, 4):
            return super().run_work_elements(input_shapes, output_shapes)
        first = len(shape) - 3 + (1 if self.data_format == "channels_first" else 0)
        height, width = shape[first], shape[first + 1]
        others = math.prod(shape[:first]) * math.prod(shape[first + 2 :])
        padded = others * -(-height // grid[0]) * grid[0] * -(-width // grid[1]) * grid[1]
        return 4 * padded + others * grid[0] * grid[1] * 256 + math.prod(output_shapes[0])

    def forward(self, inputs: Any, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        images = image_input(inputs)
        # The unchecked arguments are only used here, where Keras's arithmetic needs numbers
        # (and whole numbers of tiles: its reshapes take no float sizes).
        grid = self._tile_grid()
        try:
            value_range = tuple(float(v) for v in self.value_range)
        except (TypeError, ValueError, OverflowError):
            value_range = ()
        clip_limit = self.clip_limit
        if grid is None or len(value_range) != 2 or not isinstance(clip_limit, (int, float)):
            raise CallFailure(
                f"CLAHE needs value_range as two numbers, tile_grid_size as two integers >= 1 and "
                f"clip_limit as a number; got {self.value_range!r}, {self.tile_grid_size!r}, "
                f"{self.clip_limit!r}"
            )
        batch = images if images.ndim == 4 else images[np.newaxis]
        if self.data_format == "channels_first":
            batch = batch.transpose(0, 2, 3, 1)
        out = augmentation_kernels.clahe(batch, value_range, clip_limit, grid)
        if self.data_format == "channels_first":
            out = out.transpose(0, 3, 1, 2)
        return out if images.ndim == 4 else out[0]


# ----------------------------------------------------------------------------- pipelines
@register
class RandomColorJitter(ImageAugmentation):
    """RandomBrightness, RandomContrast, RandomSaturation and RandomHue, each used if its factor is given."""

    # Each sub-layer checks its factor; RandomBrightness and RandomSaturation check value_range too.

    brightness_factor: Any
    contrast_factor: Any
    saturation_factor: Any
    hue_factor: Any
    casts_at_inference = False
    arguments = image_arguments(
        Arg(
            "value_range",
            A.anything,
            (0, 255),
            _RANGE_DOC + "; a list of two numbers with brightness/saturation",
        ),
        Arg("brightness_factor", A.optional(base_factor(-1, 1, falsy_is_zero=True)), None, "in [-1, 1]"),
        Arg("contrast_factor", A.optional(base_factor(0, 1)), None, "in [0, 1]"),
        Arg("saturation_factor", A.optional(base_factor(-1, 1)), None, "in [-1, 1]"),
        Arg("hue_factor", A.optional(base_factor(0, 1)), None, "in [0, 1]"),
        _seed_arg(),
        _DATA_FORMAT,
    )

    def auto_named_sublayers(self, name_given: bool) -> tuple[str, ...]:
        factors = {
            "RandomBrightness": self.brightness_factor,
            "RandomContrast": self.contrast_factor,
            "RandomSaturation": self.saturation_factor,
            "RandomHue": self.hue_factor,
        }
        return tuple(kind for kind, factor in factors.items() if factor is not None)

    def configure(self) -> None:
        if self.brightness_factor is not None or self.saturation_factor is not None:
            try:
                value_range(self.value_range)
            except ArgError as err:
                raise ArgError(f"value_range: {err.message}", argument="value_range") from None


def _mixed_factor(value: Any) -> tuple[Any, Any]:
    """AugMix/RandAugment check ``factor`` in [0, 1], then hand the sorted pair to their sub-layers:
    RandomShear wants both ends in [0, 1] and RandomPosterization int(8 * upper) bits."""
    lower, upper = base_factor(0, 1)(value)
    if fails(lambda: lower > 1 or lower < 0 or upper > 1 or upper < 0):
        raise ArgError(
            f"both ends of the factor range must be in [0, 1] (RandomShear), got {A.describe(value)}"
        )
    try:
        int(8 * upper)
    except (ValueError, OverflowError):
        raise ArgError(f"int(8 * {upper}) bits for RandomPosterization is not a number") from None
    return lower, upper


def _pipeline_arguments(*own: Arg, factor_default: float) -> tuple[Arg, ...]:
    return image_arguments(
        Arg("value_range", value_range, (0, 255), _RANGE_DOC + ": a list of two numbers"),
        *own,
        Arg("factor", _mixed_factor, factor_default, "strength: a number, or a pair of numbers, in [0, 1]"),
        Arg("interpolation", A.one_of(*INTERPOLATIONS), "bilinear", "exact case"),
        _seed_arg(),
        _DATA_FORMAT,
    )


# The sub-layers AugMix and RandAugment create in __init__, in Keras's order.
_GEOMETRIC_OPS = ("RandomShear", "RandomTranslation", "RandomRotation")
_AUGMIX_OPS = (*_GEOMETRIC_OPS, "Solarization", "RandomPosterization", "AutoContrast", "Equalization")
_COLOUR_OPS = ("RandomBrightness", "RandomColorDegeneration", "RandomContrast", "RandomSharpness")


@register
class AugMix(ImageAugmentation):
    """Mixes ``num_chains`` chains of ``chain_depth`` random operations (not checked by Keras)."""

    arguments = _pipeline_arguments(
        Arg("num_chains", A.anything, 3, "not checked by Keras"),
        Arg("chain_depth", A.anything, 3, "not checked by Keras"),
        Arg("alpha", A.anything, 1.0, "not checked by Keras"),
        Arg("all_ops", A.anything, True, "only tested for truth"),
        factor_default=0.3,
    )
    all_ops: Any

    def auto_named_sublayers(self, name_given: bool) -> tuple[str, ...]:
        if name_given:
            return ()
        return (*_AUGMIX_OPS, *_COLOUR_OPS) if self.all_ops else _AUGMIX_OPS


@register
class RandAugment(ImageAugmentation):
    """Applies ``num_ops`` random operations (not checked by Keras) of strength ``factor``."""

    arguments = _pipeline_arguments(Arg("num_ops", A.anything, 2, "not checked by Keras"), factor_default=0.5)

    def auto_named_sublayers(self, name_given: bool) -> tuple[str, ...]:
        if name_given:
            return ()
        return (
            *_GEOMETRIC_OPS,
            *_COLOUR_OPS,
            "Solarization",
            "RandomPosterization",
            "AutoContrast",
            "Equalization",
        )
