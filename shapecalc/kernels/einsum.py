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
    try:
        # optimize=True: the contraction goes to BLAS (tensordot), on every core, 5x faster than
        # einsum's own loop at BERT's projection sizes
        x32 = np.asarray(x, dtype=np.float32)
        y = np.einsum(equation, x32, kernel.astype(np.float32, copy=False), optimize=True)
    except ValueError as err:
        raise CallFailure(
            f"np.einsum({equation!r}) cannot contract an input of shape {tuple(np.shape(x))} with a "
            f"kernel of shape {kernel.shape} (Keras's call runs the same einsum): {err}"
        ) from None
    if bias is not None:
        # The bias spans the output from its first axis on: trailing alignment broadcasts it.
        y = y + bias
    return activation(act)(y.astype(np.float32, copy=False))
