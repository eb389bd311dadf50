"""Vectorised NumPy building blocks shared by the layers' forward kernels."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

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


# Values of a block of a product's rows finished in cache (by_rows_finished): small enough for a
# core's L2 with its temporaries, large enough for BLAS to run at speed (64+ rows at 3072 units).
ROWS_BLOCK_ELEMENTS = 256 * 1024


def matmul_last_finished(
    x: np.ndarray, matrix: np.ndarray, finish: Callable[[np.ndarray], object]
) -> np.ndarray:
    """:func:`matmul_last` with ``finish`` (bias, activation: in place) applied to each block of
    output rows as soon as it is made, while it is in cache, the blocks spread over the lanes.

    For an activation that makes many passes over the product (GELU: about twenty), each pass
    then reads the cache instead of memory: BERT's 1024 x 768 x 3072 layer went from 31 to 28
    ms on 2 cores, the product alone taking 16. The blocks' sums are BLAS's over the same rows.
    """
    from .conv_lanes import BLAS, run_lanes  # kernel machinery: loaded with the first such layer

    rows = x.reshape(-1, x.shape[-1])
    out = np.empty((rows.shape[0], matrix.shape[1]), np.result_type(x, matrix))
    step = max(1, ROWS_BLOCK_ELEMENTS // max(matrix.shape[1], 1))
    blocks = [(1, slice(start, start + step), slice(None)) for start in range(0, rows.shape[0], step)]

    def lane(my_blocks: Iterator[tuple[int, slice, slice]]) -> None:
        for _, part, _ in my_blocks:
            np.matmul(rows[part], matrix, out=out[part])
            finish(out[part])

    run_lanes(blocks, lane, BLAS.lanes())
    return out.reshape(*x.shape[:-1], matrix.shape[1])
