"""Regularization layers: Dropout and its relatives. All keep the input shape and have no weights.

What Keras checks is all in ``__init__``: the rate range, the noise_shape entries, and the seed,
which goes to a SeedGenerator (and must fit its uint32 state) only when the rate is above 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from ..errors import ArgError
from ..lazy import lazy
from . import args as A
from .base import REQUIRED, Arg, Layer, Shape, require_rank
from .registry import register

np = lazy("numpy")

SEED_LIMIT = 2**32  # SeedGenerator stores [seed, 0] as uint32 (numpy and jax backends)


def _unit_interval(value: Any) -> float:
    """Keras tests ``0 <= rate <= 1``: any number passes (true is 1), anything else fails."""
    if not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ArgError(f"expected a number between 0 and 1, got {A.describe(value)}")
    return float(value)


def _noise_shape(value: Any) -> tuple[int | None, ...] | None:
    """Dropout._validate_noise_shape: a list of positive integers or nulls (length not checked)."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple, dict)):  # strings are refused; scalars are not iterable
        raise ArgError(f"expected a list of positive integers or nulls, got {A.describe(value)}")
    dims = tuple(value)
    for i, dim in enumerate(dims):
        if dim is not None and (not isinstance(dim, int) or dim <= 0):
            raise ArgError(
                f"entry {i} must be a positive integer or null, got {A.describe(dim)} in {A.describe(value)}"
            )
    return tuple(None if d is None else int(d) for d in dims)


def _penalty(value: Any) -> float:
    """regularizers.validate_float_arg: a finite number >= 0; null means 0."""
    if value is None:
        return 0.0
    # an integer past a float's range fails too: Keras's math.isinf raises OverflowError on it
    if not isinstance(value, (int, float)) or not math.isfinite(A.as_float(value)) or value < 0:
        raise ArgError(f"expected a number >= 0, got {A.describe(value)}")
    return float(value)


def _check_seed(layer: Layer, rate: float) -> None:
    # Keras creates a SeedGenerator (which validates the seed) only when the rate is positive.
    seed = layer.seed
    if rate <= 0 or seed is None:
        return
    if not isinstance(seed, int):
        raise ArgError(f"seed: expected an integer, got {A.describe(seed)}", argument="seed")
    if not 0 <= seed < SEED_LIMIT:
        raise ArgError(f"seed: must fit in uint32 (0 <= seed < 2**32), got {seed}", argument="seed")


class _Identity(Layer):
    pointwise = True  # the input itself at inference
    keeps_shape = "at inference the input passes through as it is"
    # the input's Keras mask passes on; at inference the output is the input array itself, so in
    # Keras it is the same object carrying the same mask
    supports_masking = True

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        # Dropout and noise act only while training, and an activity penalty only adds a loss:
        # at inference every one of these layers returns its input unchanged.
        return inputs


@register
class Dropout(_Identity):
    """Zeroes a fraction ``rate`` of the inputs while training; the shape is unchanged."""

    arguments = (
        Arg("rate", _unit_interval, REQUIRED, "fraction of inputs dropped, 0..1"),
        Arg("noise_shape", _noise_shape, None),
        Arg("seed", A.anything, None),
    )

    def configure(self) -> None:
        _check_seed(self, self.rate)


@register
class AlphaDropout(_Identity):
    """Dropout that keeps SELU's mean and variance; noise_shape is not checked by Keras."""

    arguments = (
        Arg("rate", _unit_interval, REQUIRED),
        Arg("noise_shape", A.anything, None),
        Arg("seed", A.anything, None),
    )

    def configure(self) -> None:
        _check_seed(self, self.rate)


@register
class GaussianDropout(_Identity):
    arguments = (Arg("rate", _unit_interval, REQUIRED), Arg("seed", A.anything, None))

    def configure(self) -> None:
        _check_seed(self, self.rate)


@register
class GaussianNoise(_Identity):
    arguments = (
        Arg("stddev", _unit_interval, REQUIRED, "Keras requires 0 <= stddev <= 1"),
        Arg("seed", A.anything, None),
    )

    def configure(self) -> None:
        _check_seed(self, self.stddev)


@register
class ActivityRegularization(_Identity):
    """Adds an L1/L2 activity penalty; passes activity_regularizer itself, so it cannot be given."""

    arguments = (Arg("l1", _penalty, 0.0), Arg("l2", _penalty, 0.0))
    excluded_base_arguments = frozenset({"activity_regularizer"})


class _SpatialDropout(_Identity):
    """SpatialDropoutND.__init__ takes only rate, seed, name, dtype (and data_format for 2D/3D)."""

    rank: ClassVar[int] = 0
    # Not accepted as an argument, but the layer still behaves as a trainable (weightless) layer.
    trainable = True
    excluded_base_arguments = frozenset(
        {"trainable", "autocast", "activity_regularizer", "input_shape", "input_dim"}
    )

    def configure(self) -> None:
        _check_seed(self, self.rate)

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, rank=self.rank + 2)


@register
class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of (B, steps, C)."""

    rank = 1
    arguments = (Arg("rate", _unit_interval, REQUIRED), Arg("seed", A.anything, None))


@register
class SpatialDropout2D(_SpatialDropout):
    rank = 2
    arguments = (
        Arg("rate", _unit_interval, REQUIRED),
        Arg("data_format", A.data_format, "channels_last"),
        Arg("seed", A.anything, None),
    )


@register
class SpatialDropout3D(_SpatialDropout):
    rank = 3
    arguments = (
        Arg("rate", _unit_interval, REQUIRED),
        Arg("data_format", A.data_format, "channels_last"),
        Arg("seed", A.anything, None),
    )
