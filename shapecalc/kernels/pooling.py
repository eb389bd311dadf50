"""Max and average pooling over the spatial axes of channels_last arrays, as Keras (XLA) pools.

"same" padding is XLA's: output ceil(n/s), the odd element of padding after. Max pooling pads
with -inf. Average pooling pads with 0 and divides each window's sum by the number of real
(unpadded) elements in it, which is what Keras's reduce_window over an array of ones gives.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .conv import output_lengths, padding_pairs
from .conv_lanes import BLAS, map_parts

Array = np.ndarray
# Inputs of at least this many values are pooled in parallel parts of the batch.
PARALLEL_MIN_ELEMENTS = 1024 * 1024


def _by_batch_parts(x: Array, reduce: Callable[[Array], Array]) -> Array:
    """``reduce(x)``, on parts of the batch side by side when the input is large (NumPy's ufuncs
    release the GIL; the lanes are as many as the BLAS threads the user allows)."""
    parts = min(BLAS.lanes(), x.shape[0])
    if parts <= 1 or x.size < PARALLEL_MIN_ELEMENTS:
        return reduce(x)
    bounds = np.linspace(0, x.shape[0], parts + 1).astype(int)
    return np.concatenate(map_parts(lambda i: reduce(x[bounds[i] : bounds[i + 1]]), parts))


def _reduce_windows(
    x: Array,
    pool_size: Sequence[int],
    strides: Sequence[int],
    padding: str,
    fill: float,
    combine: Callable[..., Array],
) -> Array:
    """Combine (np.maximum or np.add) each window's elements, one spatial axis after the other.

    A max or a sum over a box is the same reduction done axis by axis, so each axis costs its
    own pool length in combines of strided views (k1 + k2 + ... passes instead of k1 * k2 * ...),
    on data already shrunk by the axes before it.
    """
    ones = (1,) * len(pool_size)
    pads = padding_pairs(x.shape[1:-1], pool_size, strides, ones, padding)
    for axis, (k, s, (before, after)) in enumerate(zip(pool_size, strides, pads, strict=True), start=1):
        if before or after:
            widths = [(0, 0)] * x.ndim
            widths[axis] = (before, after)
            x = np.pad(x, widths, constant_values=fill)
        m = (x.shape[axis] - k) // s + 1
        lead = (slice(None),) * axis
        taps = [x[(*lead, slice(t, t + (m - 1) * s + 1, s))] for t in range(k)]
        if k == 1:
            x = taps[0]
            continue
        y = combine(taps[0], taps[1])
        for tap in taps[2:]:
            combine(y, tap, out=y)
        x = y
    return np.ascontiguousarray(x) if x.base is None else x.copy()


def max_pool(x: Array, pool_size: Sequence[int], strides: Sequence[int], padding: str) -> Array:
    """Keras's max pooling: ``x`` (B, *S, C) -> (B, *O, C)."""
    return _by_batch_parts(
        x, lambda part: _reduce_windows(part, pool_size, strides, padding, -np.inf, np.maximum)
    )


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
    sums = _by_batch_parts(x, lambda part: _reduce_windows(part, pool_size, strides, padding, 0.0, np.add))
    if padding == "valid":
        return sums / np.asarray(math.prod(pool_size), dtype=sums.dtype)
    return sums / window_counts(x.shape[1:-1], pool_size, strides, padding).astype(sums.dtype)
