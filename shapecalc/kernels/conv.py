"""N-d convolution, depthwise convolution and transposed convolution for channels_last arrays.

Every output position is computed at once: the input is padded, and for each kernel offset a
strided view of it (all batch items and positions) meets the kernel slice in one matrix
multiply (BLAS). When the patches fit in memory the offsets are gathered first (im2col), so
the whole convolution is a single large multiply; otherwise the offsets are accumulated one by
one, which needs no more memory than the output.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

Array = np.ndarray
IM2COL_LIMIT_BYTES = 256 * 1024**2


def same_padding(length: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """XLA/TensorFlow "SAME": output ceil(L/s); the extra element of odd padding goes after."""
    out = -(-length // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - length, 0)
    return total // 2, total - total // 2


def padding_pairs(
    spatial: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilation: Sequence[int], padding: str
) -> list[tuple[int, int]]:
    if padding == "valid":
        return [(0, 0)] * len(spatial)
    if padding == "causal":  # Conv1D: all padding before, so no output sees the future
        return [((k - 1) * d, 0) for k, d in zip(kernel, dilation, strict=True)]
    return [same_padding(n, k, s, d) for n, k, s, d in zip(spatial, kernel, strides, dilation, strict=True)]


def pad_spatial(x: Array, pads: Sequence[tuple[int, int]], value: float = 0.0) -> Array:
    if not any(before or after for before, after in pads):
        return x
    return np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=value)


def windows(
    x: Array, kernel: Sequence[int], strides: Sequence[int], dilation: Sequence[int]
) -> tuple[list[tuple[slice, ...]], tuple[int, ...]]:
    """For each kernel offset, the slices of padded ``x`` that it meets, and the output size."""
    spatial = x.shape[1:-1]
    out = tuple(
        (n - (k - 1) * d - 1) // s + 1 for n, k, s, d in zip(spatial, kernel, strides, dilation, strict=True)
    )
    offsets = []
    for offset in itertools.product(*(range(k) for k in kernel)):
        offsets.append(
            (
                slice(None),
                *(
                    slice(o * d, o * d + (m - 1) * s + 1, s)
                    for o, d, s, m in zip(offset, dilation, strides, out, strict=True)
                ),
                slice(None),
            )
        )
    return offsets, out


def conv(
    x: Array,
    kernel: Array,
    strides: Sequence[int],
    padding: str,
    dilation: Sequence[int],
    groups: int = 1,
) -> Array:
    """Keras's conv: ``x`` (B, *S, C), ``kernel`` (*K, C/groups, F) -> (B, *O, F)."""
    rank = kernel.ndim - 2
    k_shape = kernel.shape[:rank]
    x = pad_spatial(x, padding_pairs(x.shape[1:-1], k_shape, strides, dilation, padding))
    slices, out = windows(x, k_shape, strides, dilation)
    batch, channels, filters = x.shape[0], x.shape[-1], kernel.shape[-1]
    positions = batch * math.prod(out)
    c_group, f_group = channels // groups, filters // groups
    taps = len(slices)
    dtype = np.result_type(x.dtype, kernel.dtype)
    if positions * taps * channels * dtype.itemsize <= IM2COL_LIMIT_BYTES:
        # im2col: (positions, taps, groups, c_group) against (groups, taps*c_group, f_group)
        patches = np.empty((positions, taps, channels), dtype=dtype)
        for t, window in enumerate(slices):
            patches[:, t, :] = x[window].reshape(positions, channels)
        if groups == 1:
            y = patches.reshape(positions, taps * channels) @ kernel.reshape(taps * channels, filters)
        else:
            grouped = patches.reshape(positions, taps, groups, c_group).transpose(2, 0, 1, 3)
            weights = kernel.reshape(taps, c_group, groups, f_group).transpose(2, 0, 1, 3)
            y = np.matmul(
                grouped.reshape(groups, positions, taps * c_group), weights.reshape(groups, taps * c_group, f_group)
            )
            y = y.transpose(1, 0, 2).reshape(positions, filters)
        return y.reshape(batch, *out, filters)
    y = np.zeros((positions, filters), dtype=dtype)
    flat_kernel = kernel.reshape(taps, c_group, filters)
    for t, window in enumerate(slices):
        part = x[window].reshape(positions, channels)
        if groups == 1:
            y += part @ flat_kernel[t]
        else:
            pieces = part.reshape(positions, groups, c_group).transpose(1, 0, 2)
            w = flat_kernel[t].reshape(c_group, groups, f_group).transpose(1, 0, 2)
            y += np.matmul(pieces, w).transpose(1, 0, 2).reshape(positions, filters)
    return y.reshape(batch, *out, filters)


def depthwise_conv(
    x: Array, kernel: Array, strides: Sequence[int], padding: str, dilation: Sequence[int]
) -> Array:
    """``x`` (B, *S, C), ``kernel`` (*K, C, M) -> (B, *O, C*M), channel c giving outputs c*M..c*M+M-1."""
    rank = kernel.ndim - 2
    k_shape = kernel.shape[:rank]
    x = pad_spatial(x, padding_pairs(x.shape[1:-1], k_shape, strides, dilation, padding))
    slices, out = windows(x, k_shape, strides, dilation)
    channels, multiplier = kernel.shape[-2], kernel.shape[-1]
    flat_kernel = kernel.reshape(len(slices), channels, multiplier)
    y = np.zeros((x.shape[0], *out, channels, multiplier), dtype=np.result_type(x.dtype, kernel.dtype))
    for t, window in enumerate(slices):
        y += x[window][..., None] * flat_kernel[t]
    return y.reshape(x.shape[0], *out, channels * multiplier)


def transpose_padding(kernel: int, stride: int, dilation: int, padding: str, output_padding: int | None) -> tuple[int, int]:
    """Keras's padding of the stride-dilated input for a transposed convolution
    (keras.src.backend.common.backend_utils, the JAX form)."""
    dilated = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(dilated, stride) - dilated if output_padding is None else output_padding
        return dilated - 1, dilated - 1 + extra
    total = stride + dilated - 2 if output_padding is None else dilated + dilated % 2 - 2 + output_padding
    before = min(total // 2 + total % 2, dilated - 1)
    return before, total - before


def conv_transpose(
    x: Array,
    kernel: Array,
    strides: Sequence[int],
    padding: str,
    output_padding: Sequence[int] | None,
    dilation: Sequence[int],
) -> Array:
    """Keras's transposed conv: ``x`` (B, *S, C), ``kernel`` (*K, F, C) -> (B, *O, F).

    The gradient of a convolution: spread the input out by the stride, pad it as Keras does,
    and convolve with the kernel flipped in space and with its channel axes swapped.
    """
    rank = kernel.ndim - 2
    spread_shape = [x.shape[0], *((n - 1) * s + 1 for n, s in zip(x.shape[1:-1], strides, strict=True)), x.shape[-1]]
    spread = np.zeros(spread_shape, dtype=x.dtype)
    spread[(slice(None), *(slice(None, None, s) for s in strides), slice(None))] = x
    pads = [
        transpose_padding(k, s, d, padding, None if output_padding is None else output_padding[i])
        for i, (k, s, d) in enumerate(zip(kernel.shape[:rank], strides, dilation, strict=True))
    ]
    spread = pad_spatial(spread, pads)
    flipped = np.flip(kernel, axis=tuple(range(rank))).swapaxes(-1, -2)
    return conv(spread, np.ascontiguousarray(flipped), (1,) * rank, "valid", dilation)
