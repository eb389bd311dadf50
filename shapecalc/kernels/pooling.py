"""Max and average pooling over the spatial axes of channels_last arrays, as Keras (XLA) pools.

"same" padding is XLA's: output ceil(n/s), the odd element of padding after. Max pooling pads
with -inf. Average pooling pads with 0 and divides each window's sum by the number of real
(unpadded) elements in it, which is what Keras's reduce_window over an array of ones gives.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .conv import output_lengths, pad_spatial, padding_pairs, windows

Array = np.ndarray


def _reduce_windows(
    x: Array,
    pool_size: Sequence[int],
    strides: Sequence[int],
    padding: str,
    fill: float,
    combine: Callable[..., Array],
) -> Array:
    """Combine (np.maximum or np.add) the pool's taps, each a strided view of the padded input."""
    ones = (1,) * len(pool_size)
    x = pad_spatial(x, padding_pairs(x.shape[1:-1], pool_size, strides, ones, padding), fill)
    slices, _ = windows(x, pool_size, strides, ones)
    y = np.array(x[slices[0]], copy=True)
    for window in slices[1:]:
        combine(y, x[window], out=y)
    return y


def _blocks(x: Array, pool_size: Sequence[int]) -> Array:
    """Non-overlapping windows that tile the input from its start (stride = pool, no padding),
    as a view (B, O1, p1, O2, p2, ..., C): splitting an axis in two never needs a copy."""
    out = [n // p for n, p in zip(x.shape[1:-1], pool_size, strict=True)]
    cropped = x[(slice(None), *(slice(0, o * p) for o, p in zip(out, pool_size, strict=True)), slice(None))]
    shape = [x.shape[0]]
    for o, p in zip(out, pool_size, strict=True):
        shape += [o, p]
    return cropped.reshape((*shape, x.shape[-1]))


def max_pool(x: Array, pool_size: Sequence[int], strides: Sequence[int], padding: str) -> Array:
    """Keras's max pooling: ``x`` (B, *S, C) -> (B, *O, C)."""
    ones = (1,) * len(pool_size)
    unpadded = all(p == (0, 0) for p in padding_pairs(x.shape[1:-1], pool_size, strides, ones, padding))
    if unpadded and tuple(strides) == tuple(pool_size):
        return _blocks(x, pool_size).max(axis=tuple(range(2, 2 * len(pool_size) + 1, 2)))
    return _reduce_windows(x, pool_size, strides, padding, -np.inf, np.maximum)


def window_counts(
    spatial: Sequence[int], pool_size: Sequence[int], strides: Sequence[int], padding: str
) -> Array:
    """Real (unpadded) elements in each window, shape (*O, 1): per axis, then their product."""
    ones = (1,) * len(pool_size)
    pads = padding_pairs(spatial, pool_size, strides, ones, padding)
    padded = [n + before + after for n, (before, after) in zip(spatial, pads, strict=True)]
    out = output_lengths(padded, pool_size, strides, ones)
    counts = np.ones((), dtype=np.float32)
    for n, k, s, (before, _), m in zip(spatial, pool_size, strides, pads, out, strict=True):
        start = np.arange(m) * s - before
        per_axis = np.minimum(start + k, n) - np.maximum(start, 0)
        counts = np.multiply.outer(counts, per_axis.astype(np.float32))
    return counts[..., None]


def average_pool(x: Array, pool_size: Sequence[int], strides: Sequence[int], padding: str) -> Array:
    """Keras's average pooling: ``x`` (B, *S, C) -> (B, *O, C)."""
    sums = _reduce_windows(x, pool_size, strides, padding, 0.0, np.add)
    if padding == "valid":
        return sums / np.asarray(math.prod(pool_size), dtype=sums.dtype)
    return sums / window_counts(x.shape[1:-1], pool_size, strides, padding).astype(sums.dtype)
