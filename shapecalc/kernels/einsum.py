"""EinsumDense's computation, shared by the EinsumDense layer and the attention projections."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import CallFailure
from .activations import activation

Array = np.ndarray


def einsum_dense(x: Array, equation: str, kernel: Array, bias: Array | None = None, act: Any = None) -> Array:
    """``act(einsum(equation, x, kernel) + bias)`` in float32.

    ``equation`` is handed to np.einsum as written, as Keras does: a trailing part that the
    shape analysis ignores, or input axes the equation does not name without ``...``, make
    np.einsum (and Keras's call) fail. Integer inputs are promoted to float32, as Keras's
    einsum promotes them against the float32 kernel.
    """
    x32, k32 = np.asarray(x, dtype=np.float32), kernel.astype(np.float32, copy=False)
    contracted = tensordot_axes(equation, x32.ndim, k32.ndim)
    try:
        if contracted is not None and x32.shape[x32.ndim - contracted :] == k32.shape[:contracted]:
            # one BLAS product with a C-ordered result (an einsum's may come transposed, which
            # every later pass over it walks against the cache)
            y = np.tensordot(x32, k32, axes=contracted)
        else:
            # optimize=True: the contraction goes to BLAS, 5x faster than einsum's own loop
            y = np.einsum(equation, x32, k32, optimize=True)
    except ValueError as err:
        raise CallFailure(
            f"np.einsum({equation!r}) cannot contract an input of shape {tuple(np.shape(x))} with a "
            f"kernel of shape {kernel.shape} (Keras's call runs the same einsum): {err}"
        ) from None
    if bias is not None:
        # The bias spans the output from its first axis on: trailing alignment broadcasts it;
        # added in place into the product's fresh array where that keeps its shape and dtype.
        fits = y.dtype == np.result_type(y, bias) and np.broadcast_shapes(y.shape, bias.shape) == y.shape
        y = np.add(y, bias, out=y) if fits else y + bias
    return activation(act)(y.astype(np.float32, copy=False))


def tensordot_axes(equation: str, x_rank: int, kernel_rank: int) -> int | None:
    """How many trailing axes of the input the equation contracts with the kernel's leading
    ones, when it is exactly ``np.tensordot(x, kernel, axes=n)`` (the output: the input's other
    axes, then the kernel's, in order; ``...`` only leading the input and the output); else None."""
    inputs, arrow, out = equation.partition("->")
    x, comma, k = inputs.partition(",")
    if not arrow or not comma or "," in k:
        return None
    if x.startswith("...") and out.startswith("..."):
        x, out = x[3:], out[3:]
        if x_rank < len(x):
            return None
    elif x_rank != len(x):
        return None
    letters = x + k + out
    if kernel_rank != len(k) or not letters.isalpha() or not letters.isascii():
        return None
    if len(set(x)) != len(x) or len(set(k)) != len(k) or len(set(out)) != len(out):
        return None
    n = sum(1 for ch in x if ch in k)
    shared = x[len(x) - n :]
    if n == 0 or k[:n] != shared or out != x[: len(x) - n] + k[n:]:
        return None
    return n
