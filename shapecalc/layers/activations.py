"""Activation layers (Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax), plus Masking and Identity.

All keep the input shape; only PReLU has a weight. Keras validates little here: ReLU and
LeakyReLU compare their numbers with 0 (so anything that is not a number fails with a
TypeError), ELU's alpha and Softmax's axis are never checked on a symbolic call, and
PReLU's shared_axes are only used as list indices when it builds.

Masking and Identity are "core" layers in Keras (keras/src/layers/core/); they live here
because nobody else registers them and they are shape-keeping like the rest of this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..arithmetic import Field
from ..errors import ArgError, CallFailure, ShapeError
from ..lazy import lazy
from . import args as A
from .base import (
    REQUIRED,
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
    require_rank,
)
from .registry import register

np = lazy("numpy")
kernels = lazy("..kernels", __package__)
parallel_kernels = lazy("..kernels.parallel", __package__)
K = lazy("..kernels.activations", __package__)


class _Unset:
    def __repr__(self) -> str:
        return "<not given>"


# The default of a legacy alias, so that configure() can tell "given" from "not given".
UNSET: Any = _Unset()


def _is_number(value: Any) -> bool:
    # Python's `<` with 0 works for int, float and bool alike; NaN passes every `< 0` test.
    return isinstance(value, (int, float))


def _non_negative(none_ok: bool) -> Any:
    """A ReLU-style bound: Keras raises on None (unless allowed), on `< 0`, and on non-numbers."""

    def parse(value: Any) -> Any:
        if value is None:
            if none_ok:
                return None
            raise ArgError("cannot be null; expected a number >= 0")
        if not _is_number(value):
            raise ArgError(f"expected a number >= 0, got {A.describe(value)}")
        if value < 0:
            raise ArgError(f"cannot be negative, got {A.describe(value)}")
        return value

    return parse


class _SameShape(Layer):
    keeps_shape = "an activation keeps the shape"
    # every layer of this module passes Keras masks on (Masking makes them)
    supports_masking = True
    pointwise = True

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


def _float32(x: np.ndarray) -> np.ndarray:
    return x if x.dtype == np.float32 else np.asarray(x, np.float32)


@register
class Activation(_SameShape):
    """Applies a named activation function; ``null`` is the identity (linear)."""

    arguments = (Arg("activation", A.activation, REQUIRED, "name of a keras.activations function"),)

    def run_work_elements(self, input_shapes: Sizes, output_shapes: Sizes) -> int:
        # relu writes its output and nothing else; the others hold an intermediate as large
        return (
            0
            if self.activation in (None, "linear", "relu")
            else super().run_work_elements(input_shapes, output_shapes)
        )

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        return K.activation(self.activation)(inputs)

    def fusable_after(self, input_shape: Shape) -> bool:
        name = "linear" if self.activation is None else self.activation
        return isinstance(name, str) and name in K.ACTIVATIONS and name not in K.ALONG_AN_AXIS

    def row_epilogue(self, weights: Mapping[str, np.ndarray]) -> RowMap:
        apply = K.in_place(self.activation)
        assert apply is not None, "fusable_after admits value-by-value activations only"
        return apply


@register
class ReLU(_SameShape):
    """max(x, 0) with an optional cap, slope below the threshold, and threshold."""

    arguments = (
        Arg("max_value", _non_negative(none_ok=True), None, "cap on the output, >= 0"),
        Arg("negative_slope", _non_negative(none_ok=False), 0.0),
        Arg("threshold", _non_negative(none_ok=False), 0.0),
    )

    def run_work_elements(self, input_shapes: Sizes, output_shapes: Sizes) -> int:
        # max(x, 0) then the cap, in place: the output alone, unless a slope or threshold is set
        if self.negative_slope == 0 and self.threshold == 0:
            return 0
        return super().run_work_elements(input_shapes, output_shapes)

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        return relu(_float32(inputs), self.negative_slope, self.max_value, self.threshold)

    def fusable_after(self, input_shape: Shape) -> bool:
        return True

    def row_epilogue(self, weights: Mapping[str, np.ndarray]) -> RowMap:
        slope, cap, threshold = self.negative_slope, self.max_value, self.threshold
        if slope == 0 and threshold == 0:  # relu()'s chunk kernel, in place
            capped = _capped_relu(cap)
            return lambda block: capped(block, block)
        return lambda block: np.copyto(block, relu(block, slope, cap, threshold))


@register
class LeakyReLU(_SameShape):
    """x for x >= 0, negative_slope * x below. The legacy ``alpha`` replaces negative_slope."""

    arguments = (
        Arg("negative_slope", A.anything, 0.3, "slope for x < 0, >= 0"),
        Arg("alpha", A.anything, UNSET, "deprecated name of negative_slope; wins when given"),
    )

    def configure(self) -> None:
        # Keras pops `alpha` first, so a given alpha overrides (and hides) negative_slope.
        source = "negative_slope"
        if self.alpha is not UNSET:
            self.negative_slope, source = self.alpha, "alpha"
        try:
            self.negative_slope = _non_negative(none_ok=False)(self.negative_slope)
        except ArgError as err:
            raise ArgError(f"{source}: {err.message}", argument=source) from None

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        return leaky_relu(_float32(inputs), self.negative_slope)


def _shared_axes(value: Any) -> tuple[int, ...] | None:
    """PReLU: null, one axis or a list of axes; each is used as ``param_shape[axis - 1]``."""
    if value is None:
        return None
    axes = list(value) if isinstance(value, (list, tuple)) else [value]
    for axis in axes:
        # Keras computes axis - 1 and indexes a list with it: only integers (true/false are 1/0) work.
        if not isinstance(axis, int):
            raise ArgError(f"expected an axis number or a list of axis numbers, got {A.describe(value)}")
    return tuple(int(a) for a in axes)


@register
class PReLU(_SameShape):
    """Leaky ReLU with a learned slope: alpha has shape input_shape[1:], shared axes (1-based) -> 1."""

    arguments = (
        Arg("alpha_initializer", A.initializer, "Zeros"),
        Arg("alpha_regularizer", A.regularizer, None),
        Arg("alpha_constraint", A.constraint, None),
        Arg("shared_axes", _shared_axes, None, "1-based axes sharing one alpha, e.g. [1, 2] for images"),
    )

    def check_later_call(self, input_shape: Shape, built: Built) -> None:
        require_built_rank(built, input_shape)
        super().check_later_call(input_shape, built)

    def build(self, input_shape: Shape) -> list[Weight]:
        param: list[int | None] = list(input_shape[1:])
        for axis in self.shared_axes or ():
            # Keras sets param_shape[axis - 1] = 1, with Python's negative indexing.
            if not -len(param) <= axis - 1 < len(param):
                raise ShapeError(
                    f"shared axis {axis} does not exist: the input {fmt_shape(input_shape)} has axes "
                    f"1..{len(param)} after the batch axis (alpha index axis-1 = {axis - 1})"
                )
            param[axis - 1] = 1
        if None in param:
            raise ShapeError(
                f"alpha would have shape {fmt_shape(param)}: every non-shared axis after the batch "
                f"axis must be known (share the unknown ones with shared_axes)"
            )
        return [self.weight("alpha", [d for d in param if d is not None], self.alpha_initializer)]

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        x = _float32(inputs)
        # Keras: relu(x) - alpha * relu(-x); alpha (input_shape[1:], shared axes 1) broadcasts.
        zero = np.float32(0)
        return np.maximum(x, zero) + (-weights["alpha"]) * np.maximum(-x, zero)


@register
class ELU(_SameShape):
    """alpha * (exp(x) - 1) below 0; Keras never checks alpha."""

    arguments = (Arg("alpha", A.anything, 1.0),)

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        x = _float32(inputs)
        # alpha is cast to the input dtype; expm1 of every x (the where picks x for x >= 0). An
        # alpha that is no number, past any float, or of a shape that does not broadcast fails
        # Keras's call alike.
        try:
            alpha = np.asarray(self.alpha, x.dtype)
            with np.errstate(over="ignore"):
                return np.where(x >= 0, x, alpha * np.expm1(x))
        except (TypeError, ValueError, OverflowError) as err:
            raise CallFailure(f"alpha {self.alpha!r} cannot scale inputs of shape {x.shape}: {err}") from None


@register
class Softmax(_SameShape):
    """Softmax over ``axis``; Keras does not check the axis on a symbolic call."""

    arguments = (Arg("axis", A.anything, -1),)

    def forward(
        self, inputs: np.ndarray, weights: Mapping[str, np.ndarray], mask: np.ndarray | None = None
    ) -> np.ndarray:
        """With a Keras mask, masked positions get -1e9 before the softmax and 0 after it. Keras
        broadcasts the mask against the input from the RIGHT, so the (B, T) mask of an earlier
        layer meets the input's last axes: it fails unless those sizes fit, as it does in Keras."""
        x = _float32(inputs)
        if mask is None:
            return self._softmax(x)
        return K.softmax_layer_masked(x, mask, self._softmax)

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        # each value is normalised by every value along the softmax axes
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        if not axes or not all(isinstance(a, int) for a in axes):
            return None
        return fields[0].mixing(*axes)

    def _softmax(self, x: np.ndarray) -> np.ndarray:
        if isinstance(self.axis, (list, tuple)):
            if len(self.axis) > 1:
                if isinstance(self.axis, list):
                    # Keras hands the list to scipy's logsumexp, whose np.max needs an int or a
                    # tuple: on the numpy backend a list of several axes fails at call time.
                    raise CallFailure(
                        f"Softmax over several axes given as a list {self.axis} fails in Keras "
                        "(TypeError: a list cannot be interpreted as an integer axis)"
                    )
                # Several axes: exp(x - logsumexp(x)) over all of them at once.
                axes = tuple(_axis_in_range(a, x.ndim) for a in self.axis)
                # an axis named twice: NumPy's reduction refuses it, as Keras's does
                with kernels.fails_as_keras(f"Softmax cannot reduce over the axes {axes}"):
                    return np.exp(x - logsumexp(x, axes)).astype(x.dtype)
            if not self.axis:
                raise CallFailure("Softmax axis is an empty list: Keras takes axis[0] and fails")
            return K.softmax(x, _axis_in_range(self.axis[0], x.ndim))
        if not isinstance(self.axis, int) or isinstance(self.axis, bool):
            # a boolean too: Keras's numpy backend refuses it (JAX's reads False as axis 0)
            raise CallFailure(f"Softmax axis must be an integer or a list of integers, got {self.axis!r}")
        return K.softmax(x, _axis_in_range(self.axis, x.ndim))


def _axis_in_range(axis: Any, rank: int) -> Any:
    """Keras's summary takes any axis (the shape is kept); its call fails on one the inputs do not
    have, on both backends (long fuzz, seed 8717: 2**31)."""
    if isinstance(axis, int) and not -rank <= axis < rank:
        raise CallFailure(
            f"Softmax axis {axis} is not an axis of the inputs (rank {rank}: -{rank} to {rank - 1}); "
            "Keras's call fails on it"
        )
    return axis


# Serialized objects Keras can rebuild as a mask value, and the config keys each needs.
_SERIALIZED_VALUES = {
    "__numpy__": ("value", "dtype"),
    "__tensor__": ("value", "dtype"),
    "__bytes__": ("value",),
}


def _mask_value(value: Any) -> Any:
    """Any value; a mapping with a non-empty config is deserialized first, as Keras does."""
    if isinstance(value, dict) and value.get("config") and "class_name" in value:
        needed = _SERIALIZED_VALUES.get(value["class_name"])
        if needed is None:
            raise ArgError(
                f"a mask value given as a serialized object must be one of "
                f"{', '.join(_SERIALIZED_VALUES)}, got class_name {A.describe(value['class_name'])}"
            )
        config = value["config"]
        missing = [key for key in needed if not isinstance(config, dict) or key not in config]
        if missing:
            raise ArgError(f"a serialized {value['class_name']} mask value needs config keys {missing}")
    return value


@register
class Masking(_SameShape):
    """Masks timesteps whose features all equal mask_value; needs rank >= 1 (it reduces the last axis)."""

    keeps_shape = "the values pass through; the steps to skip are marked in a mask"
    arguments = (Arg("mask_value", _mask_value, 0.0),)

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, min_rank=1)

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        # A step is kept when any feature differs from mask_value (NaN differs from everything).
        keep = np.any(self._differs(inputs), axis=-1, keepdims=True)
        return np.where(keep, inputs, np.zeros((), inputs.dtype))

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        # a position is kept or zeroed by looking at all of its features
        return fields[0].mixing(-1)

    def compute_mask(self, inputs: np.ndarray, mask: Any) -> np.ndarray:
        """The steps kept: the previous mask is replaced, not combined."""
        return np.any(self._differs(inputs), axis=-1)

    def _differs(self, inputs: np.ndarray) -> np.ndarray:
        """Where the inputs differ from mask_value, compared as Keras's not_equal broadcasts."""
        value = self._comparable_mask_value()
        try:
            return np.not_equal(inputs, value)
        except ValueError:
            raise CallFailure(
                f"mask_value of shape {np.shape(value)} cannot be compared with inputs of shape "
                f"{inputs.shape}: the shapes do not broadcast (Keras's call fails alike)"
            ) from None

    def _comparable_mask_value(self) -> Any:
        value = self.mask_value
        if isinstance(value, dict) and value.get("config"):
            # A serialized NumPy array or tensor: its value (a nested list) with its dtype.
            config = value["config"]
            if value["class_name"] == "__bytes__":
                raise CallFailure("a bytes mask value cannot be compared with numeric inputs")
            return np.asarray(config["value"], dtype=config["dtype"])
        array = np.asarray(value)
        if array.dtype.kind in "USV":
            # NumPy would just say "not equal" everywhere; Keras's not_equal fails on text.
            raise CallFailure(f"mask_value must be numeric to compare with the inputs, got {value!r}")
        return array


@register
class Identity(_SameShape):
    """Returns its input unchanged."""

    keeps_shape = "the input is returned as it is"

    keeps_input_dtype = True

    def forward(self, inputs: Any, weights: Mapping[str, np.ndarray]) -> Any:
        return inputs


def leaky_relu(x: np.ndarray, negative_slope: float) -> np.ndarray:
    """Keras's leaky_relu is max(x, slope * x): a slope above 1 also scales the positive side."""
    return np.maximum(x, np.asarray(negative_slope, x.dtype) * x)


def _capped_relu(max_value: float | None) -> Callable[[np.ndarray, np.ndarray], None]:
    """relu() without slope or threshold, on a part of the input into ``out`` (may be the part):
    max(x, 0), then the cap."""
    zero, cap = np.float32(0), None if max_value is None else np.float32(max_value)

    def capped(part: np.ndarray, out: np.ndarray) -> None:
        np.maximum(part, zero, out=out)
        if cap is not None:
            np.minimum(out, cap, out=out)

    return capped


def relu(x: np.ndarray, negative_slope: float, max_value: float | None, threshold: float) -> np.ndarray:
    """keras.activations.relu with its three parameters, branch for branch as Keras computes it."""
    zero = np.float32(0)
    if negative_slope != 0 and max_value is None and threshold == 0:
        return leaky_relu(x, negative_slope)
    if threshold == 0 and negative_slope == 0:  # max(x, 0), capped: in chunks on all cores
        return parallel_kernels.by_chunks(_capped_relu(max_value), np.empty(x.shape, x.dtype), x)
    # Below the threshold the output is 0 (x <= threshold), then minus slope * (threshold - x).
    y = np.where(x > np.float32(threshold), x, zero) if threshold != 0 else np.maximum(x, zero)
    if max_value is not None:
        np.minimum(y, np.float32(max_value), out=y)  # y >= 0 already: the clip's upper bound
    if negative_slope != 0:
        y = y - np.float32(negative_slope) * np.maximum(np.float32(threshold) - x, zero)
    return y.astype(x.dtype, copy=False)


def logsumexp(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """log(sum(exp(x))) over ``axes`` with keepdims, shifted by the max for stability."""
    peak = np.max(x, axis=axes, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, np.zeros((), x.dtype))
    return np.log(np.sum(np.exp(x - peak), axis=axes, keepdims=True)) + peak
