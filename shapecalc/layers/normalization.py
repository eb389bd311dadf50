"""Normalization layers: BatchNormalization, LayerNormalization, RMSNormalization (and, in
normalization_extra.py, GroupNormalization and UnitNormalization). All keep the input shape.

Weights are sized by the normalised axis (or axes), which must be known. Keras is loose about
argument types and the rules below follow its code: BatchNormalization runs ``int(axis)`` and
``float(momentum)`` (so "1" and 1.7 are axis 1), the others index the input shape with the
axis (so only integers work; true and false are 1 and 0), and UnitNormalization only compares
its axes with the rank (so 1.5 is accepted).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

from ..arithmetic import Field
from ..errors import ArgError, CallFailure, ShapeError
from ..lazy import lazy
from . import args as A
from .base import (
    Arg,
    Built,
    Layer,
    OutputShape,
    RowMap,
    Shape,
    Sizes,
    Weight,
    fmt_shape,
    require_built_rank,
)
from .registry import register

np = lazy("numpy")
normalization_kernels = lazy("..kernels.normalization", __package__)

Array: TypeAlias = "np.ndarray"
# keras.config.epsilon(): the fallback of LayerNormalization's epsilon=None.
KERAS_EPSILON = 1e-7


# ----------------------------------------------------------------------------- parsers
def truth(value: Any) -> bool:
    """A flag Keras only tests with ``if``: every value is accepted, lists and mappings included."""
    return bool(value)


def python_int(value: Any) -> int:
    """Keras's ``int(axis)``: integers, floats (truncated), booleans and numeric strings."""
    if isinstance(value, (int, float, str)):
        try:
            return int(value)
        except (ValueError, OverflowError):
            pass
    raise ArgError(f"expected an integer, got {A.describe(value)}")


def python_float(value: Any) -> float:
    """Keras's ``float(x)``: numbers, booleans and numeric strings ("1e-3", "nan")."""
    if isinstance(value, (int, float, str)):
        try:
            return float(value)
        except (ValueError, OverflowError):  # float(10**400) fails in Keras's constructor too
            pass
    raise ArgError(f"expected a number, got {A.describe(value)}")


def index_axis(value: Any) -> int:
    """An axis used as an index of the input shape: an integer (true/false count as 1/0)."""
    if not isinstance(value, int):
        raise ArgError(f"expected an integer axis, got {A.describe(value)}")
    return int(value)


def index_axes(value: Any) -> int | tuple[int, ...]:
    """An integer axis, or a list of them (LayerNormalization, RMSNormalization)."""
    if isinstance(value, (list, tuple)):
        if not all(isinstance(a, int) for a in value):
            raise ArgError(f"expected an integer axis or a list of integer axes, got {A.describe(value)}")
        return tuple(int(a) for a in value)
    if isinstance(value, int):
        return int(value)
    raise ArgError(f"expected an integer axis or a list of integer axes, got {A.describe(value)}")


def axis_dim(input_shape: Shape, axis: int, what: str) -> int:
    """The size of the normalised axis, which must exist and be known."""
    rank = len(input_shape)
    if not -rank <= axis < rank:
        raise ShapeError(
            f"axis {axis} is out of range for input {fmt_shape(input_shape)} of rank {rank} "
            f"(valid: {-rank}..{rank - 1})"
        )
    dim = input_shape[axis]
    if dim is None:
        raise ShapeError(
            f"{what} (axis {axis} of {fmt_shape(input_shape)}) must be known to size the weights"
        )
    return dim


def sorted_axes_shape(input_shape: Shape, axis: int | tuple[int, ...], what: str) -> tuple[int, ...]:
    """Weight shape of LayerNormalization/RMSNormalization: the axes sorted as given (not
    normalised, so [-1, 1] gives (last, dim 1)), duplicates kept."""
    axes = sorted(axis) if isinstance(axis, tuple) else [axis]
    return tuple(axis_dim(input_shape, a, what) for a in axes)


# ----------------------------------------------------------------------------- layers
class NormalizingLayer(Layer):
    keeps_shape = "normalization rescales values and keeps the shape"
    # Keras's normalisations pass the input's mask on, all but RMSNormalization
    supports_masking = True

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def statistics_axes(self) -> tuple[int, ...] | None:
        """The axes whose statistics (mean, variance, norm) each value is scaled by at inference,
        None where they span every axis but the batch's (GroupNormalization)."""
        return None

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        axes = self.statistics_axes()
        if axes is None or not all(isinstance(a, int) for a in axes):
            return None
        return fields[0].mixing(*axes)


GAMMA_BETA_ARGUMENTS = (
    Arg("beta_initializer", A.initializer, "zeros"),
    Arg("gamma_initializer", A.initializer, "ones"),
    Arg("beta_regularizer", A.regularizer, None),
    Arg("gamma_regularizer", A.regularizer, None),
    Arg("beta_constraint", A.constraint, None),
    Arg("gamma_constraint", A.constraint, None),
)

_RENORM_KEYS = ("rmax", "rmin", "dmax")


@register
class BatchNormalization(NormalizingLayer):
    """gamma, beta (C,) trainable; moving_mean, moving_variance (C,) non-trainable; C = input[axis].

    renorm adds moving_stddev, renorm_mean, renorm_stddev (C,), non-trainable.
    """

    autocast_variables = False  # Keras creates its variables with autocast=False

    def statistics_axes(self) -> tuple[int, ...]:
        return ()  # at inference each value is scaled by its channel's moving statistics alone

    arguments = (
        Arg("axis", python_int, -1, "the channel axis (a single integer)"),
        Arg("momentum", python_float, 0.99),
        Arg("epsilon", python_float, 1e-3),
        Arg("center", truth, True, "adds beta"),
        Arg("scale", truth, True, "adds gamma"),
        Arg("beta_initializer", A.initializer, "zeros"),
        Arg("gamma_initializer", A.initializer, "ones"),
        Arg("moving_mean_initializer", A.initializer, "zeros"),
        Arg("moving_variance_initializer", A.initializer, "ones"),
        Arg("beta_regularizer", A.regularizer, None),
        Arg("gamma_regularizer", A.regularizer, None),
        Arg("beta_constraint", A.constraint, None),
        Arg("gamma_constraint", A.constraint, None),
        Arg("renorm", truth, False, "batch renormalization: three more non-trainable weights"),
        Arg("renorm_clipping", A.anything, None, "mapping with keys rmax, rmin, dmax"),
        Arg("renorm_momentum", A.anything, 0.99),
        Arg("synchronized", A.anything, False, "only supported by the TensorFlow backend"),
    )

    def configure(self) -> None:
        if self.synchronized:
            raise ArgError(
                "synchronized=true is only supported with the TensorFlow backend "
                "(the judge runs Keras on the numpy/JAX backend)",
                argument="synchronized",
            )
        if self.renorm:
            self._check_renorm_clipping()
            if self.moving_variance_initializer is None:
                # moving_stddev starts as the square root of what Keras's own code gets by
                # calling the initializer, which a null one cannot be
                raise ArgError(
                    "moving_variance_initializer: null is refused with renorm (Keras's build calls "
                    "the initializer itself for moving_stddev: 'NoneType' object is not callable); "
                    "name an initializer",
                    argument="moving_variance_initializer",
                )

    def _check_renorm_clipping(self) -> None:
        clipping = self.renorm_clipping or {}
        if not isinstance(clipping, dict) or set(clipping) - set(_RENORM_KEYS):
            raise ArgError(
                f"renorm_clipping must be a mapping with keys among {', '.join(_RENORM_KEYS)}, "
                f"got {A.describe(self.renorm_clipping)}",
                argument="renorm_clipping",
            )
        rmax, rmin, dmax = (clipping.get(k) for k in _RENORM_KEYS)
        try:
            # Keras compares with Python's `<`: values that cannot be ordered fail too.
            if rmax is not None and rmin is not None and rmax < rmin:
                raise ArgError(
                    f"renorm_clipping: rmax must be >= rmin, got rmax={rmax}, rmin={rmin}",
                    argument="renorm_clipping",
                )
            if dmax is not None and dmax < 0:
                raise ArgError(f"renorm_clipping: dmax must be >= 0, got {dmax}", argument="renorm_clipping")
        except TypeError:
            raise ArgError(
                f"renorm_clipping values must be numbers, got {A.describe(self.renorm_clipping)}",
                argument="renorm_clipping",
            ) from None

    def check_later_call(self, input_shape: Shape, built: Built) -> None:
        require_built_rank(built, input_shape)
        super().check_later_call(input_shape, built)

    def build(self, input_shape: Shape) -> list[Weight]:
        shape = (axis_dim(input_shape, self.axis, "the normalised axis"),)
        weights = []
        if self.scale:
            weights.append(self.weight("gamma", shape, self.gamma_initializer))
        if self.center:
            weights.append(self.weight("beta", shape, self.beta_initializer))
        weights.append(self.weight("moving_mean", shape, self.moving_mean_initializer, trainable=False))
        weights.append(
            self.weight("moving_variance", shape, self.moving_variance_initializer, trainable=False)
        )
        if self.renorm:
            for name in ("moving_stddev", "renorm_mean", "renorm_stddev"):
                weights.append(self.weight(name, shape, "zeros" if name == "renorm_mean" else "ones", False))
        return weights

    def run_work_elements(self, input_shapes: Sizes, output_shapes: Sizes) -> int:
        return 0  # x * scale, then + offset in place (affine): the output alone

    def forward(self, inputs: Array, weights: Mapping[str, Array], mask: Array | None = None) -> Array:
        # Inference uses the moving statistics and ignores the mask (it only weighs the training
        # moments), but Keras's call still refuses a mask whose rank is not the input's minus one.
        if mask is not None and np.ndim(mask) != np.ndim(inputs) - 1:
            raise CallFailure(
                f"the mask must have one axis less than the inputs: mask {np.shape(mask)}, "
                f"inputs {np.shape(inputs)}"
            )
        # renorm only changes training, so it plays no part.
        x = float32(inputs)
        shape = [1] * x.ndim
        shape[self.axis] = x.shape[self.axis]
        return normalization_kernels.affine(x, *self._scale_and_offset(weights, shape))

    def _scale_and_offset(self, weights: Mapping[str, Array], shape: list[int]) -> tuple[Array, Array]:
        """The numpy backend folds the affine map: x * inv + (beta - mean * inv)."""
        inv = np.float32(1.0) / np.sqrt(weights["moving_variance"].reshape(shape) + np.float32(self.epsilon))
        if self.scale:
            inv = inv * weights["gamma"].reshape(shape)
        offset = -weights["moving_mean"].reshape(shape) * inv
        if self.center:
            offset = offset + weights["beta"].reshape(shape)
        return inv, offset

    def fusable_after(self, input_shape: Shape) -> bool:
        return self.axis % len(input_shape) == len(input_shape) - 1

    def row_epilogue(self, weights: Mapping[str, Array]) -> RowMap:
        """``forward``'s map, applied to a block of rows as affine() applies it."""
        inv, offset = self._scale_and_offset(weights, [-1])

        def normalized(block: Array) -> None:
            np.multiply(block, inv, out=block)
            block += offset

        return normalized


@register
class LayerNormalization(NormalizingLayer):
    """gamma and beta with the shape of the normalised axes (sorted as given)."""

    autocast_variables = False  # Keras creates its variables with autocast=False

    arguments = (
        Arg("axis", index_axes, -1, "an axis or a list of axes"),
        Arg("epsilon", A.anything, 1e-3),
        Arg("center", truth, True, "adds beta (not with rms_scaling)"),
        Arg("scale", truth, True, "adds gamma"),
        *GAMMA_BETA_ARGUMENTS,
        Arg("rms_scaling", truth, False, "deprecated: gamma only, no beta"),
    )

    def statistics_axes(self) -> tuple[int, ...]:
        return self.axis if isinstance(self.axis, tuple) else (self.axis,)

    def build(self, input_shape: Shape) -> list[Weight]:
        shape = sorted_axes_shape(input_shape, self.axis, "a normalised axis")
        weights = []
        if self.scale or self.rms_scaling:
            weights.append(self.weight("gamma", shape, self.gamma_initializer))
        if self.center and not self.rms_scaling:
            weights.append(self.weight("beta", shape, self.beta_initializer))
        return weights

    def forward(self, inputs: Array, weights: Mapping[str, Array]) -> Array:
        x = float32(inputs)
        axes = keras_sorted_axes(self.axis, x.ndim)
        epsilon = epsilon_value(self.epsilon, x.shape)
        gamma = weight_broadcast(weights.get("gamma"), x.shape, axes)
        beta = weight_broadcast(weights.get("beta"), x.shape, axes)
        if self.rms_scaling:
            # Deprecated mode: divides by the standard deviation (np.var), not the RMS; no beta.
            variance = np.var(x, axis=axes, keepdims=True, dtype=np.float32)
            out = x * (np.float32(1.0) / np.sqrt(variance + epsilon))
            return (out if gamma is None else out * gamma).astype(np.float32, copy=False)
        if [a % x.ndim for a in axes] == [x.ndim - 1] and epsilon.ndim == 0 and x.flags.c_contiguous:
            # over the last axis (a transformer's): row by row, in blocks of rows
            return normalization_kernels.layer_normalized_rows(
                x, epsilon, *(None if w is None else w.reshape(-1) for w in (gamma, beta))
            )
        return normalization_kernels.layer_normalized(x, axes, epsilon, gamma, beta)


@register
class RMSNormalization(NormalizingLayer):
    """One trainable ``scale`` with the shape of the normalised axes."""

    supports_masking = False  # Keras's RMSNormalization destroys masks

    arguments = (Arg("axis", index_axes, -1), Arg("epsilon", A.anything, 1e-6))

    def statistics_axes(self) -> tuple[int, ...]:
        return self.axis if isinstance(self.axis, tuple) else (self.axis,)

    def build(self, input_shape: Shape) -> list[Weight]:
        return [self.weight("scale", sorted_axes_shape(input_shape, self.axis, "a normalised axis"), "ones")]

    def forward(self, inputs: Array, weights: Mapping[str, Array]) -> Array:
        x = float32(inputs)
        axes = keras_sorted_axes(self.axis, x.ndim)
        epsilon = epsilon_value(self.epsilon, x.shape)
        mean_square = np.mean(np.square(x), axis=axes, keepdims=True)
        out = x * (np.float32(1.0) / np.sqrt(mean_square + epsilon))
        # The scale multiplies as is, by plain broadcasting (no reshape to the normalised axes):
        # a scale along another axis than the last does not broadcast, and Keras's call fails
        scale = weights["scale"]
        try:
            return (out * scale).astype(np.float32, copy=False)
        except ValueError:
            raise CallFailure(
                f"the scale {scale.shape} does not broadcast against the inputs {out.shape} "
                f"(normalised along axis {self.axis}), as in Keras's call"
            ) from None


# ----------------------------------------------------------------------------- numeric helpers
def float32(x: Array) -> Array:
    return x if x.dtype == np.float32 else np.asarray(x, np.float32)


def epsilon_value(value: Any, shape: tuple[int, ...], fallback: float | None = KERAS_EPSILON) -> Array:
    """The epsilon Keras adds to the variance of a tensor of ``shape``: any numbers (even a list
    that broadcasts onto it), never a string (NumPy cannot add one); None means
    keras.config.epsilon() where Keras falls back on it."""
    if value is None and fallback is not None:
        value = fallback
    if value is None or isinstance(value, str) or np.asarray(value).dtype.kind not in "biuf":
        raise CallFailure(f"epsilon must be a number to add to the variance, got {value!r}")
    epsilon = np.asarray(value, np.float32)
    try:
        np.broadcast_shapes(shape, epsilon.shape)
    except ValueError:
        raise CallFailure(
            f"epsilon of shape {epsilon.shape} does not broadcast onto the input's {shape}"
        ) from None
    return epsilon


def keras_sorted_axes(axis: int | tuple[int, ...], rank: int) -> tuple[int, ...]:
    """LayerNormalization/RMSNormalization sort their axes as given: [-1, 1] stays [-1, 1]. An
    axis given twice passes the shape rule, but Keras's call reduces over the axes (and reshapes
    its weights onto them), which NumPy refuses."""
    axes = tuple(sorted(axis)) if isinstance(axis, tuple) else (axis,)
    if len({a % rank for a in axes}) < len(axes):
        raise CallFailure(f"axis {list(axes)} names an axis twice: the mean over it cannot be taken")
    return axes


def weight_broadcast(value: Array | None, shape: tuple[int, ...], axes: tuple[int, ...]) -> Array | None:
    """LayerNormalization's gamma/beta, reshaped (not transposed) onto the normalised axes.

    Keras fills a broadcast shape at each sorted axis and reshapes the weight into it, unless the
    weight already has the input's rank or the only axis is written as the last positive index.
    """
    rank = len(shape)
    if value is None or value.ndim == rank or list(axes) == [rank - 1]:
        return value
    target = [1] * rank
    for a in axes:
        target[a] = shape[a]
    return value.reshape(target)
