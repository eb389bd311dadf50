"""Elementwise work in cache-sized chunks, on all cores.

A NumPy expression over a large array makes one pass over memory per operation, each slower
than the cache; the same operations over chunks of a few hundred thousand values keep every
pass in a core's L2 cache. NumPy releases the GIL inside each pass, so chunks taken by the
lanes' threads (conv_lanes.py: as many as the BLAS threads the user allows) run side by side.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .conv_lanes import BLAS, map_parts

Array = np.ndarray
# Values per chunk: a float32 input, its output and a temporary, 3 MiB, stay in a core's L2.
CHUNK_ELEMENTS = 256 * 1024
# Values per chunk or block of rows for kernels that make several temporaries of it, so that
# they all stay in L2: a normalization (1.7 ms for BERT's 1024 x 768 layer normalization at
# this size, 2.1 ms at CHUNK_ELEMENTS, 2 cores). (Both sizes are read at each call: tests
# shrink them to cut small arrays into many parts.)
ROW_BLOCK_ELEMENTS = 64 * 1024
# Below this many values one thread does it all: a thread's hand-off costs more.
PARALLEL_MIN_ELEMENTS = 1024 * 1024


def by_chunks(
    kernel: Callable[..., None], out: Array, *inputs: Array, chunk_elements: int | None = None
) -> Array:
    """``kernel(*input_parts, out_part)`` over chunks of the flattened arrays (every input of
    ``out``'s shape), in parallel lanes for a large array; ``out``. Strided arrays are not
    copied to be cut: the kernel takes them whole."""
    if not all(a.flags.c_contiguous for a in (out, *inputs)):
        kernel(*inputs, out)  # a strided view (a transposed product): NumPy walks it as it is
        return out
    step = CHUNK_ELEMENTS if chunk_elements is None else chunk_elements
    _in_parts(kernel, out.reshape(-1), [x.reshape(-1) for x in inputs], step)
    return out


def by_rows(
    kernel: Callable[..., None], out: Array, *inputs: Array, block_elements: int | None = None
) -> Array:
    """``kernel(*input_rows, out_rows)`` over blocks of rows (about ``block_elements`` values)
    of the arrays seen as (-1, last axis), every input of ``out``'s shape: for operations that
    broadcast a vector along the last axis (a per-channel scale), or apply such operations after
    their own (fused epilogues)."""
    arrays = (out, *inputs)
    if not all(a.flags.c_contiguous for a in arrays):
        kernel(*inputs, out)  # strided: taken whole, not copied to be cut
        return out
    width = max(out.shape[-1], 1) if out.ndim else 1
    rows_out, *rows_in = (a.reshape(-1, width) for a in arrays)
    block = ROW_BLOCK_ELEMENTS if block_elements is None else block_elements
    _in_parts(kernel, rows_out, rows_in, max(1, block // width))
    return out


def _in_parts(kernel: Callable[..., None], out: Array, inputs: list[Array], step: int) -> None:
    """``kernel(*input_parts, out_part)`` over slices of ``step`` along the arrays' first axis,
    taken one after the other from a shared iterator by the lanes when the output is large (a
    lane that starts late takes fewer)."""
    starts = iter(range(0, out.shape[0], step))
    lanes = BLAS.lanes() if out.size >= PARALLEL_MIN_ELEMENTS else 1

    def lane(_: int) -> Array:
        for start in starts:  # next() on a range iterator is atomic under the GIL
            part = slice(start, start + step)
            kernel(*(x[part] for x in inputs), out[part])
        return out

    map_parts(lane, lanes)
