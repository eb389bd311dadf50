"""Vectorised NumPy building blocks shared by the layers' forward kernels."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from ..errors import CallFailure


@contextlib.contextmanager
def fails_as_keras(what: str) -> Iterator[None]:
    """For an operation Keras's call runs the same way on the same shapes (a broadcast, an
    einsum): where NumPy refuses the shapes, Keras's call fails too, and the layer's call is
    reported as failing (:class:`CallFailure`) rather than as a bug in the kernel."""
    try:
        yield
    except ValueError as err:
        raise CallFailure(f"{what}, as Keras's call does: {err}") from None


def lora_merged(kernel: np.ndarray, lora_a: np.ndarray, lora_b: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """A LoRA layer's effective kernel, as Keras's ``kernel`` property computes it:
    ``kernel + scale * (A @ B)`` with the float32 factors, in the kernel's dtype."""
    delta = np.matmul(lora_a.astype(np.float32), lora_b.astype(np.float32))
    return (kernel + np.float32(scale) * delta).astype(kernel.dtype)


def matmul_last(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``x @ matrix`` over the last axis of an array of any rank, as one matrix product.

    NumPy treats ``(B, T, F) @ (F, U)`` as B separate small products; folding the leading axes
    into one makes it a single BLAS call (many times faster for a sequence of a batch).
    """
    if x.ndim <= 2:
        return x @ matrix
    return (x.reshape(-1, x.shape[-1]) @ matrix).reshape(*x.shape[:-1], matrix.shape[-1])
