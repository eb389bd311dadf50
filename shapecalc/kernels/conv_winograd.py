"""3x3 stride-1 2-D convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray, 2016).

Each 2x2 block of outputs ("tile") is computed from the 4x4 input patch around it: the patch
and the kernel are transformed (V = Bt d B, U = G g Gt, additions only, and halves for the
kernel), multiplied elementwise and summed over the input channels, which for the 16 elements
of a tile is 16 matrix products (tiles x C) @ (C x F), and transformed back (Y = At M A).
That is 16*C*F multiplies per 4 outputs instead of 36*C*F: 2.25x less BLAS work than im2col,
with float32 error of the same order as the direct sum (the transforms only add and halve).

Tiles are processed in blocks (batch items, or rows of tiles of one item) in parallel lanes,
each block's transforms and products staying in cache, and the epilogue (bias, relu) is
applied to each finished block.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from . import conv_lanes
from .conv_lanes import BLAS, chunks, run_lanes

Array = np.ndarray
# The cost model that chooses Winograd or im2col per call: picoseconds per unit of work, fitted by
# least squares to both paths' times over 20 shapes (batch 1-64, 7x7 to 112x112, 32-512 channels)
# on a quiet 2-core machine (OpenBLAS 0.3.31); benchmarks/winograd_cost.py measures them again. im2col:
# its multiply-adds, and the patch values it copies (taps x positions x channels). Winograd: its
# 16 products' multiply-adds, the kernel transform (16 x C x F values) and the input transform
# (16 x tiles x C values). Few tiles leave the kernel transform unpaid for (7x7x512 at batch 8:
# 1.6x slower), few channels the input transform (64 channels: 1.35x slower); 16x16x256 at
# batch 16 gains 24%.
IM2COL_PS_PER_MAC = 7.4
IM2COL_PS_PER_PATCH_VALUE = 250.0
WINOGRAD_PS_PER_MAC = 7.2
WINOGRAD_PS_PER_KERNEL_VALUE = 1495.0
WINOGRAD_PS_PER_INPUT_VALUE = 1695.0
# Winograd is taken only where the model expects it to be this much faster: in a model its
# buffers (V, M, the tiles: 3x im2col's patch block) meet caches the layers around it have
# filled, and it ran 10-20% slower than alone (ResNet50's 14x14x256 layers: 13.5 ms against
# 11.4 ms alone, im2col 7.5 ms), where im2col's times hold.
WINOGRAD_MARGIN = 0.9
# Tests force one path (True: Winograd wherever it can run; False: never).
FORCED: bool | None = None
# Transformed input values per block with lanes: V, M and the sums then stay in a core's L2.
BLOCK_ELEMENTS = 256 * 1024
# At least this many tiles per block, so that each product amortises its kernel packing.
MIN_BLOCK_TILES = 128

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def applies(
    padded_shape: tuple[int, ...],
    kernel_shape: tuple[int, ...],
    strides: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int,
) -> bool:
    """Winograd can run (3x3, stride 1, no dilation, one group) and the cost model expects it
    to be faster than im2col on this input (``padded_shape``: (B, H, W, C) after padding)."""
    if not (
        len(kernel_shape) == 4
        and kernel_shape[:2] == (3, 3)
        and all(s == 1 for s in strides)
        and all(d == 1 for d in dilation)
        and groups == 1
    ):
        return False
    if FORCED is not None:
        return FORCED
    return winograd_cost(padded_shape, kernel_shape[-1]) < WINOGRAD_MARGIN * im2col_cost(
        padded_shape, kernel_shape[-1]
    )


def im2col_cost(padded_shape: tuple[int, ...], filters: int) -> float:
    """Picoseconds the im2col path is expected to take for a valid 3x3 convolution."""
    batch, height, width, channels = padded_shape
    patch_values = 9 * batch * (height - 2) * (width - 2) * channels
    return patch_values * (filters * IM2COL_PS_PER_MAC + IM2COL_PS_PER_PATCH_VALUE)


def winograd_cost(padded_shape: tuple[int, ...], filters: int) -> float:
    """Picoseconds the Winograd path is expected to take for a valid 3x3 convolution."""
    batch, height, width, channels = padded_shape
    tiles = batch * -(-(height - 2) // 2) * -(-(width - 2) // 2)
    return (
        16
        * channels
        * (
            tiles * filters * WINOGRAD_PS_PER_MAC
            + filters * WINOGRAD_PS_PER_KERNEL_VALUE
            + tiles * WINOGRAD_PS_PER_INPUT_VALUE
        )
    )


def transform_kernel(kernel: Array) -> Array:
    """U = G g Gt for every (input channel, filter): (3, 3, C, F) -> (16, C, F).

    G's rows are g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2 and g2: applied along the rows, then
    the columns, as whole-array adds into preallocated arrays (an einsum with G's zeros would
    take longer than the convolution's products at 7x7 positions and 512 channels).
    """
    dtype = kernel.dtype
    rows = np.empty((4, 3, *kernel.shape[2:]), dtype)
    _filter_rows(kernel, rows, 0)
    u = np.empty((4, 4, *kernel.shape[2:]), dtype)
    _filter_rows(rows, u, 1)
    return u.reshape(16, *kernel.shape[2:])


def _filter_rows(g: Array, out: Array, axis: int) -> None:
    """G applied along ``axis`` (of length 3) of ``g``, into ``out`` (that axis of length 4)."""

    def at(array: Array, i: int) -> Array:
        return array[(slice(None),) * axis + (i,)]

    g0, g1, g2 = at(g, 0), at(g, 1), at(g, 2)
    np.copyto(at(out, 0), g0)
    np.copyto(at(out, 3), g2)
    both = np.add(g0, g2, out=at(out, 1))
    np.subtract(both, g1, out=at(out, 2))
    both += g1
    middle = out[(slice(None),) * axis + (slice(1, 3),)]
    middle *= 0.5


def conv3x3(x: Array, kernel: Array, epilogue: Callable[[Array], object] | None) -> Array:
    """Valid 3x3 convolution of an already padded ``x`` (B, H, W, C) with ``kernel`` (3, 3, C, F)."""
    batch, height, width, channels = x.shape
    filters = kernel.shape[-1]
    out_h, out_w = height - 2, width - 2
    tiles_h, tiles_w = -(-out_h // 2), -(-out_w // 2)
    # tiles cover an even output: one more zero row/column when the output is odd
    extra_h, extra_w = 2 * tiles_h + 2 - height, 2 * tiles_w + 2 - width
    if extra_h or extra_w:
        x = np.pad(x, [(0, 0), (0, extra_h), (0, extra_w), (0, 0)])
    u = transform_kernel(kernel)
    y = np.empty((batch, out_h, out_w, filters), dtype=x.dtype)
    lanes, blocks, most_tiles = _plan(batch, tiles_h, tiles_w, channels)
    padded_w = x.shape[2]

    def lane(my_blocks: Iterator[tuple[int, slice, slice]]) -> None:
        v_buffer = np.empty((16, most_tiles * channels), x.dtype)
        m_buffer = np.empty((16, most_tiles * filters), x.dtype)
        r_buffer = np.empty(4 * (most_tiles // tiles_w) * padded_w * channels, x.dtype)
        o_buffer = np.empty(4 * most_tiles * filters, x.dtype)
        s_buffer = np.empty(8 * most_tiles * filters, x.dtype)
        for items, item_slice, rows in my_blocks:
            first, last, _ = rows.indices(tiles_h)
            n_rows = last - first
            tiles = items * n_rows * tiles_w
            patch = x[item_slice, 2 * first : 2 * last + 2]  # (b, 2n+2, W', C)
            # Bt d along the rows, then along the columns, written straight into V
            row_parts = r_buffer[: 4 * items * n_rows * padded_w * channels].reshape(
                4, items, n_rows, padded_w, channels
            )
            _transform_in(patch, 1, n_rows, row_parts)
            v = v_buffer[:, : tiles * channels].reshape(4, 4, items, n_rows, tiles_w, channels)
            for a in range(4):
                _transform_in(row_parts[a], 2, tiles_w, v[a])
            m = m_buffer[:, : tiles * filters].reshape(16, tiles, filters)
            np.matmul(v.reshape(16, tiles, channels), u, out=m)
            # At M A: rows then columns, into the tile buffer (b, n, 2, tw, 2, F)
            m6 = m.reshape(4, 4, items, n_rows, tiles_w, filters)
            rows_out = min(2 * last, out_h) - 2 * first
            direct = rows_out == 2 * n_rows and out_w == 2 * tiles_w
            # the block's outputs as tiles (b, n, 2, tw, 2, F): y itself when the tiles fit it exactly
            destination = y[item_slice, 2 * first : 2 * last] if direct else o_buffer[: 4 * tiles * filters]
            out_tiles = destination.reshape(items, n_rows, 2, tiles_w, 2, filters)
            sums = s_buffer[: 8 * tiles * filters].reshape(2, 4, items, n_rows, tiles_w, filters)
            np.add(m6[0], m6[1], out=sums[0])  # At along the rows, for each column of M
            sums[0] += m6[2]
            np.subtract(m6[1], m6[2], out=sums[1])
            sums[1] -= m6[3]
            for p in range(2):  # then along the columns, into output row p of each tile
                s = sums[p]
                target = out_tiles[:, :, p, :, 0, :]
                np.add(s[0], s[1], out=target)
                target += s[2]
                target = out_tiles[:, :, p, :, 1, :]
                np.subtract(s[1], s[2], out=target)
                target -= s[3]
            if epilogue is not None:
                epilogue(destination.reshape(-1, filters))
            if not direct:
                y[item_slice, 2 * first : 2 * first + rows_out] = out_tiles.reshape(
                    items, 2 * n_rows, 2 * tiles_w, filters
                )[:, :rows_out, :out_w]

    run_lanes(blocks, lane, lanes)
    return y


def _plan(
    batch: int, tiles_h: int, tiles_w: int, channels: int
) -> tuple[int, list[tuple[int, slice, slice]], int]:
    """(lanes, blocks of tiles, tiles of the largest block) of a Winograd convolution."""
    lanes, chunk = _blocking()
    blocks = list(chunks(batch, (tiles_h, tiles_w), 16 * channels, chunk, MIN_BLOCK_TILES))
    _, largest = conv_lanes.chunk_extent(batch, (tiles_h, tiles_w), 16 * channels, chunk, MIN_BLOCK_TILES)
    return min(lanes, len(blocks)), blocks, largest // (16 * channels)


def _blocking() -> tuple[int, int]:
    """(lanes, transformed input values per block) of a Winograd convolution."""
    lanes = BLAS.lanes()
    return lanes, BLOCK_ELEMENTS if lanes > 1 else conv_lanes.PATCH_CHUNK_ELEMENTS


def workspace(padded_shape: tuple[int, ...], filters: int) -> int:
    """Values of the temporary arrays :func:`conv3x3` holds at once besides its input and
    output: the input padded to whole tiles, the kernel's transform, and each lane's buffers."""
    batch, height, width, channels = padded_shape
    tiles_h, tiles_w = -(-(height - 2) // 2), -(-(width - 2) // 2)
    even = (batch, 2 * tiles_h + 2, 2 * tiles_w + 2, channels)
    copied = math.prod(even) if even != tuple(padded_shape) else 0
    lanes, chunk = _blocking()
    blocks, largest = conv_lanes.chunk_extent(
        batch, (tiles_h, tiles_w), 16 * channels, chunk, MIN_BLOCK_TILES
    )
    lanes, most_tiles = min(lanes, blocks), largest // (16 * channels)
    per_lane = (
        16 * most_tiles * channels  # V
        + 16 * most_tiles * filters  # M
        + 4 * (most_tiles // tiles_w) * even[2] * channels  # the rows' transform
        + 12 * most_tiles * filters  # the output tiles and the columns' sums
    )
    return copied + 28 * channels * filters + lanes * per_lane


def _transform_in(d: Array, axis: int, n: int, out: Array) -> None:
    """Bt applied along ``axis``: from taps k, k+2, ... (k = 0..3) of the n tiles, the four
    rows d0 - d2, d1 + d2, d2 - d1, d1 - d3 into out[0..3]."""

    def tap(k: int) -> Array:
        index = [slice(None)] * d.ndim
        index[axis] = slice(k, k + 2 * n - 1, 2)
        return d[tuple(index)]

    d0, d1, d2, d3 = (tap(k) for k in range(4))
    np.subtract(d0, d2, out=out[0])
    np.add(d1, d2, out=out[1])
    np.subtract(d2, d1, out=out[2])
    np.subtract(d1, d3, out=out[3])
