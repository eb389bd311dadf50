"""Keras's activation functions by name, in NumPy (float32 in, float32 out)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import CallFailure
from .parallel import by_chunks, by_rows

Array = np.ndarray

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def sigmoid(x: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-x))


def softplus(x: Array) -> Array:
    return np.logaddexp(x, 0.0).astype(x.dtype, copy=False)


def softmax(x: Array, axis: int | tuple[int, ...] = -1) -> Array:
    shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


SOFTMAX_LAYER_NEGATIVE = np.float32(-1e9)  # keras.layers.Softmax's fill for masked positions


def softmax_layer_masked(
    x: Array,
    mask: Any,
    softmax_of: Callable[[Array], Array],
    names: tuple[str, str] = ("the mask", "the inputs"),
) -> Array:
    """keras.layers.Softmax's call with a mask: the mask must broadcast to ``x`` aligned on the
    right (each mask axis 1 or equal, no more axes), a non-boolean one keeps the positions
    > 0.5; masked positions get -1e9 before ``softmax_of`` and 0 after it (a fully masked row
    would otherwise be uniform). ``names``: how errors call the mask and ``x``."""
    mask = np.asarray(mask)
    if mask.ndim > x.ndim or any(
        m != 1 and m != i for m, i in zip(mask.shape[::-1], x.shape[::-1], strict=False)
    ):
        raise CallFailure(
            f"{names[0]} {mask.shape} must broadcast to {names[1]} {x.shape} (aligned on the right, "
            "each mask axis 1 or equal, no more axes)"
        )
    if mask.dtype != bool:
        mask = mask > 0.5
    out = softmax_of(np.where(mask, x, SOFTMAX_LAYER_NEGATIVE))
    return np.where(mask, out, np.float32(0.0))


def log_softmax(x: Array, axis: int = -1) -> Array:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def elu(x: Array, alpha: float = 1.0) -> Array:
    return np.where(x >= 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)


def hard_sigmoid(x: Array) -> Array:
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0).astype(x.dtype, copy=False)


def gelu(x: Array, approximate: bool = False) -> Array:
    if approximate:
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
        return (x * 0.5 * (1.0 + np.tanh(inner))).astype(x.dtype, copy=False)
    out = np.empty(x.shape, np.float64 if x.dtype == np.float64 else np.float32)
    return by_chunks(_exact_gelu, out, x, chunk_elements=GELU_CHUNK_ELEMENTS).astype(x.dtype, copy=False)


# Values per chunk of the exact GELU: its three temporaries stay in a core's L2, and the 20
# ufunc calls per chunk are few enough that two lanes rarely wait for each other's GIL hand-offs
# (1024 x 3072 on two lanes: 9.3 ms in chunks of 64K values, 7.5 ms in chunks of 128K).
GELU_CHUNK_ELEMENTS = 128 * 1024

# Abramowitz & Stegun 7.1.26: for u >= 0, erf(u) = 1 - (a1 t + ... + a5 t^5) exp(-u^2) with
# t = 1 / (1 + p u), absolute error < 1.5e-7 (the size of float32's rounding near 1).
ERF_P = 0.3275911
ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _exact_gelu(x: Array, out: Array) -> None:
    """x * (1 + erf(x / sqrt(2))) / 2 into ``out`` (which may be ``x``), as max(x, 0) - |x| q / 2
    with q = 1 - erf(|x| / sqrt(2)) (A&S 7.1.26): for x >= 0 that is x (2 - q) / 2, for x < 0
    x q / 2, the same function in 20 passes instead of 23, and without the cancellation of
    1 + erf near -1. The coefficients are halved (exactly: a power of two) to make q / 2, and
    the 1 / sqrt(2) of u is folded into p (t) and into exp(-x^2 / 2)."""
    magnitude = np.abs(x)
    t = np.multiply(magnitude, ERF_P / math.sqrt(2))
    t += 1
    np.reciprocal(t, out=t)
    half_q = np.multiply(t, ERF_A[4] / 2)
    for coefficient in ERF_A[3::-1]:
        half_q += coefficient / 2
        half_q *= t
    np.multiply(x, x, out=t)
    t *= -0.5
    half_q *= np.exp(t, out=t)
    half_q *= magnitude
    np.subtract(np.maximum(x, 0, out=magnitude), half_q, out=out)


def sparsemax(x: Array, axis: int = -1) -> Array:
    ordered = -np.sort(-x, axis=axis)
    cumulative = np.cumsum(ordered, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    ranks = np.arange(1, x.shape[axis] + 1).reshape(shape)
    support = ordered - (cumulative - 1) / ranks > 0
    k = np.sum(support, axis=axis, keepdims=True)
    tau = (np.sum(np.where(support, cumulative, 0.0), axis=axis, keepdims=True) - 1) / k
    return np.maximum(x - tau, 0.0).astype(x.dtype, copy=False)


def glu(x: Array, axis: int = -1) -> Array:
    a, b = np.split(x, 2, axis=axis)
    return a * sigmoid(b)


ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "linear": lambda x: x,
    "relu": lambda x: by_chunks(lambda part, out: np.maximum(part, 0, out=out), np.empty_like(x), x),
    "relu6": lambda x: np.clip(x, 0, 6).astype(x.dtype, copy=False),
    "sigmoid": sigmoid,
    "tanh": np.tanh,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "elu": elu,
    "selu": lambda x: (SELU_SCALE * elu(x, SELU_ALPHA)).astype(x.dtype, copy=False),
    "celu": lambda x: (np.maximum(x, 0) + np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False),
    "softplus": softplus,
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "silu": lambda x: x * sigmoid(x),
    "swish": lambda x: x * sigmoid(x),
    "gelu": gelu,
    "exponential": np.exp,
    "hard_sigmoid": hard_sigmoid,
    "hard_silu": lambda x: x * hard_sigmoid(x),
    "hard_swish": lambda x: x * hard_sigmoid(x),
    "hard_tanh": lambda x: np.clip(x, -1, 1).astype(x.dtype, copy=False),
    "leaky_relu": lambda x: np.maximum(x, 0.2 * x).astype(x.dtype, copy=False),
    "log_sigmoid": lambda x: -softplus(-x),
    "mish": lambda x: x * np.tanh(softplus(x)),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0).astype(x.dtype, copy=False),
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)).astype(
        x.dtype, copy=False
    ),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x < 1, 0.25 * (x + 1) ** 2, x)).astype(
        x.dtype, copy=False
    ),
    "sparse_sigmoid": lambda x: np.clip(0.5 * (x + 1), 0, 1).astype(x.dtype, copy=False),
    "squareplus": lambda x: ((x + np.sqrt(x * x + 4)) / 2).astype(x.dtype, copy=False),
    "sparsemax": sparsemax,
    "glu": glu,
}


# Activations computed along an axis rather than value by value: not applied to blocks of rows.
ALONG_AN_AXIS = ("softmax", "log_softmax", "sparsemax", "glu")


def in_place(identifier: Any) -> Callable[[Array], object] | None:
    """A value-by-value activation as a map of a float32 block onto itself (any block of an
    array gives the values the whole array's call gives), for epilogues; None for the
    activations computed along an axis."""
    name = _name(identifier)
    function = activation(name)
    if name in ALONG_AN_AXIS:
        return None
    if name == "linear":
        return lambda block: None
    if name == "relu":
        return lambda block: np.maximum(block, 0, out=block)  # as ACTIVATIONS["relu"] computes it
    if name == "gelu":
        return lambda block: _exact_gelu(block, block)
    if name == "tanh":
        return lambda block: np.tanh(block, out=block)
    return lambda block: np.copyto(block, function(block))


def finish_in_place(y: Array, bias: Array | None, identifier: Any) -> bool:
    """``y + bias`` (if a bias), then the activation, in place into a product's fresh float32
    ``y``, block by block of rows while each is in cache, on all cores; False (``y`` untouched)
    where this does not apply: another dtype, or an activation computed along an axis."""
    apply = in_place(identifier) if y.dtype == np.float32 else None
    if apply is None or (bias is not None and (bias.dtype != y.dtype or bias.shape != y.shape[-1:])):
        return False

    def rows(part: Array, out: Array) -> None:
        if bias is not None:
            np.add(part, bias, out=out)
        apply(out)

    # GELU's chunk size: it is the costliest activation a Dense layer finishes (BERT's FFN); a
    # bias add alone is no slower on such blocks (1024 x 768: 0.17 ms, 0.18 at 64K values)
    by_rows(rows, y, y, block_elements=GELU_CHUNK_ELEMENTS)
    return True


def activation(identifier: Any) -> Callable[[Array], Array]:
    """The function for a Keras activation identifier (a name, None for linear)."""
    identifier = _name(identifier)
    if identifier not in ACTIVATIONS:
        raise CallFailure(f"activation '{identifier}' has no kernel (it needs arguments Keras cannot pass)")
    return ACTIVATIONS[identifier]


def _name(identifier: Any) -> Any:
    """An activation identifier's name: None is linear, a serialized mapping names its function."""
    if identifier is None:
        return "linear"
    if isinstance(identifier, dict):
        return identifier.get("config", {}).get("name", identifier.get("class_name"))
    return identifier
