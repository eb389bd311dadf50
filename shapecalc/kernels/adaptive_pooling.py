"""Adaptive pooling as Keras's ``ops.adaptive_average_pool`` / ``adaptive_max_pool`` compute it.

Output bin i of an axis of length L pooled to n bins covers the samples
[floor(i * L / n), ceil((i + 1) * L / n)): neighbouring bins overlap by one sample where L / n is
not an integer, and every bin holds ceil(L / n) or ceil(L / n) + 1 samples. The axes are pooled
one after the other (a mean of means over equal-size rows is the block mean, and a max of maxes
the block max), each with one gather of every bin's samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import CallFailure

Array = np.ndarray


def bin_bounds(length: int, bins: int) -> tuple[Array, Array]:
    """Start (inclusive) and end (exclusive) sample of each of ``bins`` bins over ``length``."""
    i = np.arange(bins, dtype=np.int64)
    starts = (i * length) // bins
    ends = -((-(i + 1) * length) // bins)  # ceil division in integers: exact for any size
    return starts, ends


def pool_axis(x: Array, axis: int, bins: int, mode: str) -> Array:
    """Pool ``axis`` of ``x`` to ``bins`` adaptive bins with ``mode`` "average" or "max"."""
    length = x.shape[axis]
    if bins == 0:
        raise CallFailure(f"adaptive pooling to 0 bins divides by zero (axis {axis} of length {length})")
    if length == 0:
        if mode == "max":
            raise CallFailure(f"max over empty windows: axis {axis} has length 0")
        shape = list(x.shape)
        shape[axis] = bins
        return np.full(shape, np.nan, dtype=np.float32)  # Keras's mean of nothing
    starts, ends = bin_bounds(length, bins)
    counts = ends - starts
    taps = np.arange(int(counts.max()))
    # Every bin reads as many samples as the widest bin; shorter bins repeat their last sample,
    # which a max ignores and a mean masks out.
    index = np.minimum(starts[:, None] + taps, ends[:, None] - 1)
    windows = np.moveaxis(np.take(x, index, axis=axis), (axis, axis + 1), (-2, -1))  # (..., bins, taps)
    if mode == "max":
        pooled = windows.max(axis=-1)
    else:
        inside = taps[None, :] < counts[:, None]
        pooled = np.where(inside, windows, 0).sum(axis=-1, dtype=np.float32) / counts.astype(np.float32)
    return np.moveaxis(pooled, -1, axis)


def adaptive_pool(x: Array, output_size: Sequence[int], spatial_axes: Sequence[int], mode: str) -> Array:
    """Pool each of ``spatial_axes`` to the matching ``output_size``.

    A mean is returned in float32 (Keras's numpy backend gives float64 for integer inputs);
    a max keeps the input's dtype.
    """
    out = x if mode == "max" or x.dtype == np.float32 else x.astype(np.float32)
    for axis, bins in zip(spatial_axes, output_size, strict=True):
        out = pool_axis(out, axis, bins, mode)
    return out
