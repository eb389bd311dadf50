"""Vectorised NumPy building blocks shared by the layers' forward kernels."""

from __future__ import annotations

import numpy as np


def matmul_last(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``x @ matrix`` over the last axis of an array of any rank, as one matrix product.

    NumPy treats ``(B, T, F) @ (F, U)`` as B separate small products; folding the leading axes
    into one makes it a single BLAS call (many times faster for a sequence of a batch).
    """
    if x.ndim <= 2:
        return x @ matrix
    return (x.reshape(-1, x.shape[-1]) @ matrix).reshape(*x.shape[:-1], matrix.shape[-1])
