"""3x3 stride-1 2-D convolution by Winograd's minimal filtering F(m x m, 3x3) (Lavin & Gray, 2016),
for output tiles of m = 2 or m = 4.

Each m x m block of outputs ("tile") is computed from the n x n input patch around it (n = m + 2):
the patch d and the kernel g are transformed (V = Bt d B, U = G g Gt), multiplied elementwise and
summed over the input channels, which for the n*n elements of a tile is n*n matrix products
(tiles x C) @ (C x F), and transformed back (Y = At M A). Per output that is n*n/(m*m) multiplies
per input channel and filter instead of 9: 2.25x less BLAS work than im2col for F(2x2), 4x for
F(4x4).

All three transforms are matrix products too: the two-sided transforms of a patch are one
product with a Kronecker matrix (Bt (x) Bt, 36 x 36 for F(4x4)) over the patches gathered side
by side, so every step of a block is a single BLAS call or copy. Tiles are processed in blocks
(batch items, or rows of tiles of one item) in parallel lanes, each block's buffers staying in
cache, and the epilogue (bias, activation) is applied to each finished block.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import conv_lanes
from .conv_lanes import BLAS, chunks, run_lanes

Array = np.ndarray


def _exact(rows: list[list[str | int]]) -> tuple[tuple[Fraction, ...], ...]:
    return tuple(tuple(Fraction(value) for value in row) for row in rows)


@dataclass(frozen=True)
class Tiling:
    """F(m x m, 3x3): the tile's output size and its three transform matrices, exact."""

    m: int
    bt: tuple[tuple[Fraction, ...], ...]  # (n, n): input patch -> Winograd domain
    g: tuple[tuple[Fraction, ...], ...]  # (n, 3): kernel -> Winograd domain
    at: tuple[tuple[Fraction, ...], ...]  # (m, n): Winograd domain -> output tile
    made: dict[str, Array] = field(default_factory=dict, compare=False, repr=False)  # two_sided's

    @property
    def n(self) -> int:
        return self.m + 2

    def grid(self, padded_shape: tuple[int, ...]) -> tuple[int, int]:
        """(rows, columns) of tiles covering a valid 3x3 convolution's output of a padded
        (B, H, W, C) input: the last row and column may overrun it."""
        _, height, width, _ = padded_shape
        return -(-(height - 2) // self.m), -(-(width - 2) // self.m)

    def two_sided(self, name: str, dtype: np.dtype) -> Array:
        """Kron(X, X) of transform ``name`` ("bt", "g", "at"), applying X along both spatial
        axes of a patch flattened row by row, in ``dtype``."""
        key = f"{name}-{np.dtype(dtype).str}"
        if key not in self.made:
            one_sided = np.array(getattr(self, name), dtype=np.float64)
            self.made[key] = np.kron(one_sided, one_sided).astype(dtype)
        return self.made[key]


# Interpolation points 0, 1, -1 and infinity: coefficients 0, +-1, 1/2, float32 error as the
# direct sum's.
F2 = Tiling(
    2,
    bt=_exact([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]),
    g=_exact([[1, 0, 0], ["1/2", "1/2", "1/2"], ["1/2", "-1/2", "1/2"], [0, 0, 1]]),
    at=_exact([[1, 1, 1, 0], [0, 1, -1, -1]]),
)
# Points 0, +-3/2, +-3/4 and infinity (At's columns are their powers): every coefficient of Bt and
# At is a short binary fraction, exact in float32, and the float32 error is 3x smaller than with
# the usual 0, +-1, +-2 (with 64 channels and unit-variance data, against a float64 sum: 9.5e-6
# largest and 8.8e-7 rms error over 4M outputs, against 4.7e-5 and 1.8e-6; at 512 channels
# 1.6e-5 and 1.6e-6). Those were the best of the 1,001 sets of four from +-{1/4, 1/2, 3/4, 1,
# 3/2, 2, 3}; F(2x2)'s error is about 3x smaller still.
F4 = Tiling(
    4,
    bt=_exact(
        [
            ["81/64", 0, "-45/16", 0, 1, 0],
            [0, "-27/32", "-9/16", "3/2", 1, 0],
            [0, "27/32", "-9/16", "-3/2", 1, 0],
            [0, "-27/16", "-9/4", "3/4", 1, 0],
            [0, "27/16", "-9/4", "-3/4", 1, 0],
            [0, "81/64", 0, "-45/16", 0, 1],
        ]
    ),
    g=_exact(
        [
            ["64/81", 0, 0],
            ["32/243", "16/81", "8/27"],
            ["32/243", "-16/81", "8/27"],
            ["-128/243", "-32/81", "-8/27"],
            ["-128/243", "32/81", "-8/27"],
            [0, 0, 1],
        ]
    ),
    at=_exact(
        [
            [1, 1, 1, 1, 1, 0],
            [0, "3/2", "-3/2", "3/4", "-3/4", 0],
            [0, "9/4", "9/4", "9/16", "9/16", 0],
            [0, "27/8", "-27/8", "27/64", "-27/64", 1],
        ]
    ),
)
TILINGS = {tiling.m: tiling for tiling in (F2, F4)}

# The cost model that chooses im2col or a Winograd tiling per call: picoseconds per unit of work,
# fitted by least squares to the three paths' times over 20 shapes (batch 1-64, 7x7 to 112x112,
# 32-512 channels) on a quiet 2-core machine (OpenBLAS 0.3.31); benchmarks/winograd_cost.py
# measures them again. im2col: its multiply-adds, and the patch values it copies (taps x
# positions x channels). Winograd: its n*n products' multiply-adds, the kernel transform (n*n x C
# x F values), the input transform (n*n x tiles x C values: gathered, then a product) and the
# output transform (n*n x tiles x F values).
IM2COL_PS_PER_MAC = 6.6
IM2COL_PS_PER_PATCH_VALUE = 227.0
WINOGRAD_PS = {  # per (multiply-add, kernel value, input value, output value)
    2: (7.9, 575.0, 659.0, 366.0),
    4: (8.8, 951.0, 665.0, 579.0),
}
# Winograd is taken only where the model expects it to be this much faster: in a model its
# buffers meet caches the layers around it have filled, and it ran 10-20% slower than alone.
WINOGRAD_MARGIN = 0.9
# Tests force a path: 0 never Winograd, 2 or 4 that tiling wherever Winograd can run.
FORCED: int | None = None
# Transformed input values per block with lanes: the block's buffers then stay in a core's L2.
BLOCK_ELEMENTS = 256 * 1024
# At least this many tiles per block, so that each product amortises its kernel packing.
MIN_BLOCK_TILES = 128


def tiling_for(
    padded_shape: tuple[int, ...],
    kernel_shape: tuple[int, ...],
    strides: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int,
    dtype: np.dtype | str = "float32",
) -> Tiling | None:
    """The Winograd tiling to run this convolution with, or None for im2col: Winograd can run
    (3x3, stride 1, no dilation, one group, float32 or float64) and the cost model expects it to
    be faster (``padded_shape``: (B, H, W, C) after padding)."""
    if not (
        len(kernel_shape) == 4
        and kernel_shape[:2] == (3, 3)
        and all(s == 1 for s in strides)
        and all(d == 1 for d in dilation)
        and groups == 1
        and np.dtype(dtype) in (np.float32, np.float64)
    ):
        return None
    if FORCED is not None:
        return TILINGS.get(FORCED)
    filters = kernel_shape[-1]
    best = min(TILINGS.values(), key=lambda tiling: winograd_cost(padded_shape, filters, tiling))
    if winograd_cost(padded_shape, filters, best) < WINOGRAD_MARGIN * im2col_cost(padded_shape, filters):
        return best
    return None


def im2col_cost(padded_shape: tuple[int, ...], filters: int) -> float:
    """Picoseconds the im2col path is expected to take for a valid 3x3 convolution."""
    batch, height, width, channels = padded_shape
    patch_values = 9 * batch * (height - 2) * (width - 2) * channels
    return patch_values * (filters * IM2COL_PS_PER_MAC + IM2COL_PS_PER_PATCH_VALUE)


def winograd_work(padded_shape: tuple[int, ...], filters: int, tiling: Tiling) -> tuple[int, ...]:
    """(multiply-adds, kernel values, input values, output values) in the Winograd domain."""
    batch, channels, area = padded_shape[0], padded_shape[-1], tiling.n**2
    tiles = batch * math.prod(tiling.grid(padded_shape))
    return (
        area * tiles * channels * filters,
        area * channels * filters,
        area * tiles * channels,
        area * tiles * filters,
    )


def winograd_cost(padded_shape: tuple[int, ...], filters: int, tiling: Tiling) -> float:
    """Picoseconds the Winograd path with ``tiling`` is expected to take for a valid 3x3 convolution."""
    work = winograd_work(padded_shape, filters, tiling)
    return sum(units * ps for units, ps in zip(work, WINOGRAD_PS[tiling.m], strict=True))


def transform_kernel(kernel: Array, tiling: Tiling) -> Array:
    """U = G g Gt for every (input channel, filter): (3, 3, C, F) -> (n*n, C, F), one product."""
    channels, filters = kernel.shape[2:]
    g = tiling.two_sided("g", kernel.dtype)
    return (g @ kernel.reshape(9, channels * filters)).reshape(tiling.n**2, channels, filters)


def conv3x3(x: Array, kernel: Array, epilogue: Callable[[Array], object] | None, tiling: Tiling) -> Array:
    """Valid 3x3 convolution of an already padded ``x`` (B, H, W, C) with ``kernel`` (3, 3, C, F)."""
    batch, height, width, channels = x.shape
    filters = kernel.shape[-1]
    m, n = tiling.m, tiling.n
    out_h, out_w = height - 2, width - 2
    tiles_h, tiles_w = tiling.grid(x.shape)
    # tiles cover a whole number of tiles: zero rows/columns below and right when they overrun
    extra_h, extra_w = m * tiles_h + 2 - height, m * tiles_w + 2 - width
    if extra_h or extra_w:
        x = np.pad(x, [(0, 0), (0, extra_h), (0, extra_w), (0, 0)])
    bt, at = tiling.two_sided("bt", x.dtype), tiling.two_sided("at", x.dtype)
    y = np.empty((batch, out_h, out_w, filters), dtype=x.dtype)
    lanes, blocks, most_tiles = _plan(batch, tiles_h, tiles_w, channels, n)
    item_stride, row_stride, column_stride, channel_stride = x.strides

    def lane(my_blocks: Iterator[tuple[int, slice, slice]]) -> None:
        d_buffer = np.empty(n * n * most_tiles * channels, x.dtype)
        v_buffer = np.empty_like(d_buffer)
        m_buffer = np.empty(n * n * most_tiles * filters, x.dtype)
        o_buffer = np.empty(m * m * most_tiles * filters, x.dtype)
        for items, item_slice, rows in my_blocks:
            first, last, _ = rows.indices(tiles_h)
            n_rows = last - first
            tiles = items * n_rows * tiles_w
            # the block's n x n patches, gathered as (n, n, b, rows, columns, C)
            patches = as_strided(
                x[item_slice, m * first :],
                (n, n, items, n_rows, tiles_w, channels),
                (row_stride, column_stride, item_stride, m * row_stride, m * column_stride, channel_stride),
            )
            d = d_buffer[: n * n * tiles * channels].reshape(patches.shape)
            np.copyto(d, patches)
            v = v_buffer[: n * n * tiles * channels].reshape(n * n, tiles, channels)
            np.matmul(bt, d.reshape(n * n, tiles * channels), out=v.reshape(n * n, -1))
            products = m_buffer[: n * n * tiles * filters].reshape(n * n, tiles, filters)
            np.matmul(v, u, out=products)
            out_tiles = o_buffer[: m * m * tiles * filters].reshape(m * m, tiles * filters)
            np.matmul(at, products.reshape(n * n, -1), out=out_tiles)
            # output (i, j) of every tile, (b, rows, columns, F), to its place in y: rows i, i + m, ...
            # and columns j, j + m, ... of the block (the last tiles may overrun the output)
            rows_out = min(m * last, out_h) - m * first
            target = y[item_slice, m * first : m * first + rows_out]
            by_position = out_tiles.reshape(m, m, items, n_rows, tiles_w, filters)
            for i in range(m):
                for j in range(m):
                    place = target[:, i::m, j::m]
                    np.copyto(place, by_position[i, j, :, : place.shape[1], : place.shape[2]])
            if epilogue is not None:
                epilogue(target.reshape(-1, filters))

    if lanes == 1:  # one lane (one block, or one BLAS thread allowed): BLAS's threads do each product
        u = transform_kernel(kernel, tiling)
        lane(iter(blocks))
    else:
        with BLAS.single_threaded():  # the kernel's transform too: BLAS threads left spinning slow the lanes
            u = transform_kernel(kernel, tiling)
            run_lanes(blocks, lane, lanes)
    return y


def _plan(
    batch: int, tiles_h: int, tiles_w: int, channels: int, n: int
) -> tuple[int, list[tuple[int, slice, slice]], int]:
    """(lanes, blocks of tiles, tiles of the largest block) of a Winograd convolution."""
    lanes, chunk = _blocking()
    per_tile = n * n * channels
    blocks = list(chunks(batch, (tiles_h, tiles_w), per_tile, chunk, MIN_BLOCK_TILES))
    _, largest = conv_lanes.chunk_extent(batch, (tiles_h, tiles_w), per_tile, chunk, MIN_BLOCK_TILES)
    return min(lanes, len(blocks)), blocks, largest // per_tile


def _blocking() -> tuple[int, int]:
    """(lanes, transformed input values per block) of a Winograd convolution."""
    lanes = BLAS.lanes()
    return lanes, BLOCK_ELEMENTS if lanes > 1 else conv_lanes.PATCH_CHUNK_ELEMENTS


def workspace(padded_shape: tuple[int, ...], filters: int, tiling: Tiling) -> int:
    """Values of the temporary arrays :func:`conv3x3` holds at once besides its input and
    output: the input padded to whole tiles, the kernel's transform, and each lane's buffers."""
    batch, channels = padded_shape[0], padded_shape[-1]
    m, area = tiling.m, tiling.n**2
    tiles_h, tiles_w = tiling.grid(padded_shape)
    even = (batch, m * tiles_h + 2, m * tiles_w + 2, channels)
    copied = math.prod(even) if even != tuple(padded_shape) else 0
    lanes, chunk = _blocking()
    per_tile = area * channels
    blocks, largest = conv_lanes.chunk_extent(batch, (tiles_h, tiles_w), per_tile, chunk, MIN_BLOCK_TILES)
    lanes, most_tiles = min(lanes, blocks), largest // per_tile
    per_lane = most_tiles * (2 * area * channels + area * filters + m * m * filters)  # d, V, M, tiles
    return copied + area * channels * filters + lanes * per_lane
