"""GroupNormalization and UnitNormalization (keras/src/layers/normalization/): the
normalizations over groups of channels and to unit L2 norm. Both keep the input shape; the
argument parsers and numeric helpers they share with the others are normalization.py's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

from ..errors import ArgError, CallFailure, ShapeError
from ..lazy import lazy
from . import args as A
from .base import (
    Arg,
    Built,
    Shape,
    Weight,
    fmt_shape,
    require_built_rank,
)
from .normalization import (
    GAMMA_BETA_ARGUMENTS,
    NormalizingLayer,
    axis_dim,
    epsilon_value,
    float32,
    index_axis,
    truth,
)
from .registry import register

np = lazy("numpy")
normalization_kernels = lazy("..kernels.normalization", __package__)

Array: TypeAlias = "np.ndarray"


def _groups(value: Any) -> int:
    if not isinstance(value, int) or (value <= 0 and value != -1):
        raise ArgError(
            f"expected a positive integer (or -1 for instance normalization), got {A.describe(value)}"
        )
    return int(value)


@register
class GroupNormalization(NormalizingLayer):
    """gamma, beta (C,); C = input[axis] must be known and a multiple of groups (-1: groups = C)."""

    autocast_variables = False  # Keras creates its variables with autocast=False

    arguments = (
        Arg("groups", _groups, 32, "number of channel groups; -1 = one per channel"),
        Arg("axis", index_axis, -1),
        Arg("epsilon", A.anything, 1e-3),
        Arg("center", truth, True),
        Arg("scale", truth, True),
        *GAMMA_BETA_ARGUMENTS,
    )

    def check_later_call(self, input_shape: Shape, built: Built) -> None:
        require_built_rank(built, input_shape)
        super().check_later_call(input_shape, built)

    def build(self, input_shape: Shape) -> list[Weight]:
        channels = axis_dim(input_shape, self.axis, "the channel axis")
        groups = channels if self.groups == -1 else self.groups
        if channels == 0:
            raise ShapeError(f"the channel axis {self.axis} of {fmt_shape(input_shape)} has size 0")
        if channels < groups:
            raise ShapeError(
                f"groups ({groups}) cannot be more than the number of channels ({channels}); "
                f"set groups to a divisor of {channels}"
            )
        if channels % groups:
            raise ShapeError(
                f"the number of channels ({channels}) must be a multiple of groups ({groups}): "
                f"{channels} % {groups} = {channels % groups}"
            )
        weights = []
        if self.scale:
            weights.append(self.weight("gamma", (channels,), self.gamma_initializer))
        if self.center:
            weights.append(self.weight("beta", (channels,), self.beta_initializer))
        return weights

    def forward(self, inputs: Array, weights: Mapping[str, Array]) -> Array:
        x = float32(inputs)
        channels = x.shape[self.axis]
        groups = channels if self.groups == -1 else self.groups
        # Keras's list surgery, kept literally: the channel axis becomes (groups, channels/groups)
        # by inserting at self.axis, and the reduction skips the group axis found the same way.
        grouped = list(x.shape)
        grouped[self.axis] = channels // groups
        grouped.insert(self.axis, groups)
        reduce = list(range(1, len(grouped)))
        reduce.pop(-2 if self.axis == -1 else self.axis - 1)
        broadcast = [1] * x.ndim
        broadcast[self.axis] = channels // groups
        broadcast.insert(self.axis, groups)
        y = x.reshape(grouped)
        mean, variance = normalization_kernels.moments(y, tuple(reduce))
        # GroupNormalization has no fallback for epsilon=None: Keras fails adding None.
        epsilon = epsilon_value(self.epsilon, y.shape, fallback=None)
        if np.broadcast_shapes(y.shape, epsilon.shape) != y.shape:
            raise CallFailure(
                f"epsilon of shape {epsilon.shape} widens the grouped input {y.shape}, which Keras's "
                f"call then cannot reshape back to {x.shape}"
            )
        inv = np.float32(1.0) / np.sqrt(variance + epsilon)
        if self.scale:
            inv = inv * weights["gamma"].reshape(broadcast)
        offset = -mean * inv
        if self.center:
            offset = offset + weights["beta"].reshape(broadcast)
        return (y * inv + offset).astype(np.float32).reshape(x.shape)


def _unit_axes(value: Any) -> tuple[float, ...]:
    """UnitNormalization only compares each axis with the rank: any number (even 1.5) passes."""
    if isinstance(value, (list, tuple)):
        if not all(isinstance(a, (int, float)) for a in value):
            raise ArgError(f"expected an integer axis or a list of axes, got {A.describe(value)}")
        return tuple(value)
    if isinstance(value, int):
        return (value,)
    raise ArgError(f"expected an integer axis or a list of axes, got {A.describe(value)}")


@register
class UnitNormalization(NormalizingLayer):
    """Scales to unit L2 norm along ``axis``; no weights. Each axis must lie in [-rank, rank)."""

    arguments = (Arg("axis", _unit_axes, -1),)

    def configure(self) -> None:
        self.axis = _unit_axes(self.axis)  # the default -1 -> (-1,)

    def statistics_axes(self) -> tuple[int, ...]:
        return tuple(self.axis)

    def check_input(self, input_shape: Shape) -> None:
        rank = len(input_shape)
        for axis in self.axis:
            # NaN compares false both ways and so passes, as in Keras.
            if axis >= rank or axis < -rank:
                raise ShapeError(
                    f"axis {axis} is out of range for input {fmt_shape(input_shape)} of rank {rank} "
                    f"(valid: {-rank}..{rank - 1})"
                )

    def forward(self, inputs: Array, weights: Mapping[str, Array]) -> Array:
        x = float32(inputs)
        axes = tuple(self.axis)
        if not all(A.is_int(a) for a in axes):  # NumPy takes no float or boolean axis
            raise CallFailure(f"UnitNormalization axes must be integers to run, got {list(axes)}")
        if len({a % x.ndim for a in axes}) < len(axes):  # Keras's sum refuses it alike
            raise CallFailure(
                f"UnitNormalization axis {list(axes)} names an axis twice: it cannot sum over it"
            )
        squares = np.sum(np.square(x), axis=axes, keepdims=True)
        with np.errstate(divide="ignore"):
            inverse_norm = np.float32(1.0) / np.sqrt(squares)
        # L2 normalisation as x * min(1/||x||, 1/epsilon) with Keras's epsilon 1e-12.
        return (x * np.minimum(inverse_norm, np.float32(1e12))).astype(np.float32, copy=False)
