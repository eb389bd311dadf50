"""N-d convolution, depthwise convolution and transposed convolution for channels_last arrays.

Every output position is computed at once. The input is padded as Keras (XLA) pads it; a
strided view of it then holds, for each output position, its patch (all kernel taps and
channels, no copy). The view is copied into a patch matrix and multiplied by the kernel
(im2col + BLAS GEMM), block by block: a block's patches (a few batch items or output rows) are
gathered into a small reused buffer that stays in the core's cache, multiplied straight into
their rows of the output, and finished there (bias, relu) while still in cache.

Blocks run in parallel lanes (conv_lanes.py), and 3x3 stride-1 convolutions use Winograd's
minimal filtering instead (conv_winograd.py: F(2x2) or F(4x4), 2.25x or 4x fewer multiplies)
where its cost model expects that to be faster.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import conv_lanes, conv_winograd
from .conv_lanes import BLAS, chunks, map_parts, run_lanes

Array = np.ndarray
# Depthwise outputs of at least this many values are computed in parallel parts of the batch.
DEPTHWISE_PARALLEL_MIN_ELEMENTS = 1024 * 1024


def same_padding(length: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """XLA/TensorFlow "SAME": output ceil(L/s); the extra element of odd padding goes after."""
    out = -(-length // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - length, 0)
    return total // 2, total - total // 2


def padding_pairs(
    spatial: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilation: Sequence[int],
    padding: str,
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


def output_lengths(
    spatial: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilation: Sequence[int]
) -> tuple[int, ...]:
    """Output length per axis of a valid (already padded) window sweep."""
    return tuple(
        (n - (k - 1) * d - 1) // s + 1 for n, k, s, d in zip(spatial, kernel, strides, dilation, strict=True)
    )


def windows(
    x: Array, kernel: Sequence[int], strides: Sequence[int], dilation: Sequence[int]
) -> tuple[list[tuple[slice, ...]], tuple[int, ...]]:
    """For each kernel tap (row-major), the slices of padded ``x`` that it meets, and the output size."""
    out = output_lengths(x.shape[1:-1], kernel, strides, dilation)
    slices = []
    for offset in np.ndindex(*kernel):
        slices.append(
            (
                slice(None),
                *(
                    slice(o * d, o * d + (m - 1) * s + 1, s)
                    for o, d, s, m in zip(offset, dilation, strides, out, strict=True)
                ),
                slice(None),
            )
        )
    return slices, out


def patch_view(x: Array, kernel: Sequence[int], strides: Sequence[int], dilation: Sequence[int]) -> Array:
    """A view (B, *out, *kernel, C) of padded ``x``: each output position's patch, tap by tap.

    No copy: the taps along the last kernel axis and the channels are adjacent in memory when
    the dilation is 1, so copying this view moves runs of k*C values.
    """
    rank = len(kernel)
    out = output_lengths(x.shape[1:-1], kernel, strides, dilation)
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilation, strict=True)]
    view = sliding_window_view(x, spans, axis=tuple(range(1, rank + 1)))  # (B, *S', C, *spans)
    view = view[
        (
            slice(None),
            *(slice(None, (m - 1) * s + 1, s) for m, s in zip(out, strides, strict=True)),
            slice(None),
            *(slice(None, None, d) for d in dilation),
        )
    ]
    return view.transpose(0, *range(1, rank + 1), *range(rank + 2, 2 * rank + 2), rank + 1)


def conv(
    x: Array,
    kernel: Array,
    strides: Sequence[int],
    padding: str,
    dilation: Sequence[int],
    groups: int = 1,
    epilogue: Callable[[Array], object] | None = None,
) -> Array:
    """Keras's conv: ``x`` (B, *S, C), ``kernel`` (*K, C/groups, F) -> (B, *O, F).

    ``padding`` is "valid", "same" or "causal"; strides and dilation may both exceed 1.
    ``epilogue`` (bias, activation) is applied in place to each finished block of output rows
    (an (n, F) array) while it is still in cache, instead of in further passes over the output.
    """
    rank = kernel.ndim - 2
    k_shape = tuple(kernel.shape[:rank])
    dtype = np.result_type(x.dtype, kernel.dtype)
    x = pad_spatial(
        x.astype(dtype, copy=False), padding_pairs(x.shape[1:-1], k_shape, strides, dilation, padding)
    )
    kernel = kernel.astype(dtype, copy=False)
    out = output_lengths(x.shape[1:-1], k_shape, strides, dilation)
    batch, channels, filters = x.shape[0], x.shape[-1], kernel.shape[-1]
    c_group, f_group = channels // groups, filters // groups
    taps = math.prod(k_shape)
    tiling = conv_winograd.tiling_for(x.shape, kernel.shape, tuple(strides), tuple(dilation), groups, dtype)
    if batch * math.prod(out) * filters and tiling is not None:
        return conv_winograd.conv3x3(x, kernel, epilogue, tiling)
    y = np.empty((batch, *out, filters), dtype=dtype)
    if y.size == 0:
        return y
    weights = [
        np.ascontiguousarray(kernel[..., g * f_group : (g + 1) * f_group]).reshape(taps * c_group, f_group)
        for g in range(groups)
    ]
    # pointwise: the input already is the patch matrix, read block by block in place
    pointwise = taps == 1 and groups == 1 and all(s == 1 for s in strides)
    view = np.ascontiguousarray(x) if pointwise else patch_view(x, k_shape, strides, dilation)
    lanes, blocks, largest = _im2col_plan(batch, out, taps * c_group, f_group)

    def lane(my_blocks: Iterator[tuple[int, slice, slice]]) -> None:
        # one patch buffer per lane, reused block after block
        buffer = np.empty(0 if pointwise else largest, dtype)
        for _, items, rows in my_blocks:
            target = y[items, rows].reshape(-1, filters)  # a view: y is contiguous, items/rows lead
            if pointwise:
                np.matmul(view[items, rows].reshape(-1, channels), weights[0], out=target)
            for g in range(0 if pointwise else groups):
                source = (
                    view[items, rows, ..., g * c_group : (g + 1) * c_group]
                    if groups > 1
                    else view[items, rows]
                )
                patches = buffer[: source.size].reshape(source.shape)
                np.copyto(patches, source)
                flat = patches.reshape(target.shape[0], taps * c_group)
                if groups == 1:
                    np.matmul(flat, weights[0], out=target)
                else:
                    target[:, g * f_group : (g + 1) * f_group] = flat @ weights[g]
            if epilogue is not None:
                epilogue(target)

    run_lanes(blocks, lane, lanes)
    return y


def _im2col_blocking(batch: int, out: Sequence[int], per_position: int, filters: int) -> tuple[int, int, int]:
    """(lanes, patch values per block, rows per block at least) of im2col."""
    lanes = BLAS.lanes()
    min_rows = max(conv_lanes.MIN_BLOCK_ROWS, filters)
    if batch * math.prod(out) < conv_lanes.LANE_MIN_BLOCKS * lanes * min_rows:
        lanes = 1
    # with lanes, a block's patches and its output rows (finished in cache) both fit a core's L2
    rows = min(conv_lanes.LANE_BLOCK_ROWS, conv_lanes.LANE_CHUNK_ELEMENTS // max(filters, 1))
    chunk = min(conv_lanes.LANE_CHUNK_ELEMENTS, rows * per_position)
    return lanes, chunk if lanes > 1 else conv_lanes.PATCH_CHUNK_ELEMENTS, min_rows


def _im2col_plan(
    batch: int, out: Sequence[int], per_position: int, filters: int
) -> tuple[int, list[tuple[int, slice, slice]], int]:
    """(lanes, blocks, patch values of the largest block: each lane's buffer) of im2col."""
    lanes, chunk, min_rows = _im2col_blocking(batch, out, per_position, filters)
    blocks = list(chunks(batch, out, per_position, chunk, min_rows))
    _, largest = conv_lanes.chunk_extent(batch, out, per_position, chunk, min_rows)
    return min(lanes, len(blocks)), blocks, largest


def conv_workspace(
    input_shape: Sequence[int],
    kernel_shape: Sequence[int],
    strides: Sequence[int],
    padding: str,
    dilation: Sequence[int],
    groups: int = 1,
) -> int:
    """Values of the temporary arrays :func:`conv` holds at once besides its input and output,
    for --run's memory estimate: the padded input, the kernel's copies, and each lane's patch
    buffer (or Winograd's transforms)."""
    rank = len(kernel_shape) - 2
    k_shape = tuple(kernel_shape[:rank])
    pads = padding_pairs(input_shape[1:-1], k_shape, strides, dilation, padding)
    padded = (
        input_shape[0],
        *(n + before + after for n, (before, after) in zip(input_shape[1:-1], pads, strict=True)),
        input_shape[-1],
    )
    copied = math.prod(padded) if any(before or after for before, after in pads) else 0
    out = output_lengths(padded[1:-1], k_shape, strides, dilation)
    filters = kernel_shape[-1]
    if padded[0] * math.prod(out) * filters * padded[-1] <= 0:
        return copied  # nothing to multiply (and --run does not run a kernel on an empty tensor)
    tiling = conv_winograd.tiling_for(padded, tuple(kernel_shape), tuple(strides), tuple(dilation), groups)
    if tiling is not None:
        return copied + conv_winograd.workspace(padded, filters, tiling)
    taps, c_group = math.prod(k_shape), padded[-1] // groups
    kernel_copies = taps * c_group * filters
    if taps == 1 and groups == 1 and all(s == 1 for s in strides):
        return copied + kernel_copies
    lanes, chunk, min_rows = _im2col_blocking(padded[0], out, taps * c_group, filters // groups)
    blocks, largest = conv_lanes.chunk_extent(padded[0], out, taps * c_group, chunk, min_rows)
    return copied + kernel_copies + min(lanes, blocks) * largest


def depthwise_conv(
    x: Array, kernel: Array, strides: Sequence[int], padding: str, dilation: Sequence[int]
) -> Array:
    """``x`` (B, *S, C), ``kernel`` (*K, C, M) -> (B, *O, C*M), channel c giving outputs c*M..c*M+M-1.

    Tap by tap, multiply-adds over whole strided views: each a NumPy pass that releases the GIL,
    so parts of the batch run side by side in the lanes (as many as the BLAS threads allowed).
    """
    rank = kernel.ndim - 2
    k_shape = tuple(kernel.shape[:rank])
    dtype = np.result_type(x.dtype, kernel.dtype)
    x = pad_spatial(
        x.astype(dtype, copy=False), padding_pairs(x.shape[1:-1], k_shape, strides, dilation, padding)
    )
    slices, out = windows(x, k_shape, strides, dilation)
    channels, multiplier = kernel.shape[-2], kernel.shape[-1]
    flat_kernel = kernel.astype(dtype, copy=False).reshape(len(slices), channels, multiplier)
    y = np.empty((x.shape[0], *out, channels, multiplier), dtype=dtype)
    parts = min(BLAS.lanes(), x.shape[0]) if y.size >= DEPTHWISE_PARALLEL_MIN_ELEMENTS else 1
    bounds = np.linspace(0, x.shape[0], parts + 1).astype(int)

    def part(i: int) -> Array:
        items = slice(bounds[i], bounds[i + 1])
        target, term = y[items], np.empty_like(y[items])
        np.multiply(x[slices[0]][items][..., None], flat_kernel[0], out=target)
        for t, window in enumerate(slices[1:], start=1):
            np.multiply(x[window][items][..., None], flat_kernel[t], out=term)
            target += term
        return target

    map_parts(part, parts)
    return y.reshape(x.shape[0], *out, channels * multiplier)


def depthwise_workspace(
    input_shape: Sequence[int],
    kernel_shape: Sequence[int],
    strides: Sequence[int],
    padding: str,
    dilation: Sequence[int],
) -> int:
    """Values of the temporary arrays :func:`depthwise_conv` holds at once besides its input and
    output: the padded input and one product per part of the batch (an output's worth)."""
    rank = len(kernel_shape) - 2
    pads = padding_pairs(input_shape[1:-1], kernel_shape[:rank], strides, dilation, padding)
    padded = [n + before + after for n, (before, after) in zip(input_shape[1:-1], pads, strict=True)]
    out = output_lengths(padded, kernel_shape[:rank], strides, dilation)
    copied = input_shape[0] * math.prod(padded) * input_shape[-1] if any(a or b for a, b in pads) else 0
    return copied + input_shape[0] * math.prod(out) * kernel_shape[-2] * kernel_shape[-1]


def transpose_padding(
    kernel: int, stride: int, dilation: int, padding: str, output_padding: int | None
) -> tuple[int, int]:
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
    epilogue: Callable[[Array], object] | None = None,
) -> Array:
    """Keras's transposed conv: ``x`` (B, *S, C), ``kernel`` (*K, F, C) -> (B, *O, F).

    The gradient of a convolution: spread the input out by the stride, pad it as Keras does,
    and convolve with the kernel flipped in space and with its channel axes swapped.
    """
    rank = kernel.ndim - 2
    spread_shape = [
        x.shape[0],
        *((n - 1) * s + 1 for n, s in zip(x.shape[1:-1], strides, strict=True)),
        x.shape[-1],
    ]
    spread = np.zeros(spread_shape, dtype=x.dtype)
    spread[(slice(None), *(slice(None, None, s) for s in strides), slice(None))] = x
    pads = [
        transpose_padding(k, s, d, padding, None if output_padding is None else output_padding[i])
        for i, (k, s, d) in enumerate(zip(kernel.shape[:rank], strides, dilation, strict=True))
    ]
    spread = pad_spatial(spread, pads)
    flipped = np.flip(kernel, axis=tuple(range(rank))).swapaxes(-1, -2)
    return conv(spread, np.ascontiguousarray(flipped), (1,) * rank, "valid", dilation, epilogue=epilogue)
