"""Parallel lanes for the convolution kernels: blocks of work spread over threads, each calling a
single-threaded BLAS.

NumPy releases the GIL in copies, matrix products and ufuncs, so lanes of blocks (gather the
block's patches, multiply, finish) run side by side; the BLAS runs single-threaded meanwhile,
so that no BLAS thread synchronisation happens per block and the gathering and epilogues are
parallel too. This needs control of OpenBLAS's thread count; without it (another BLAS) one
lane feeds large blocks to the multi-threaded BLAS instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

Part = TypeVar("Part")  # what a part of parallel work returns
# Patch values per block with parallel lanes (2 MiB of float32: about a core's L2 cache), and
# with one lane and a multi-threaded BLAS (32 MiB: large products keep its threads busy).
LANE_CHUNK_ELEMENTS = 512 * 1024
PATCH_CHUNK_ELEMENTS = 8 * 1024**2
# Rows per block with lanes: about what a single-threaded GEMM runs fastest on, from cache.
LANE_BLOCK_ROWS = 4096
# Fewer rows than this (or than the filters, whose kernel BLAS packs again for every product)
# make a product too thin for BLAS to run at speed; problems under LANE_MIN_BLOCKS such blocks
# per lane go to the multi-threaded BLAS in one product instead.
MIN_BLOCK_ROWS = 256
LANE_MIN_BLOCKS = 4


class _OpenBlasThreads:
    """Get/set of the thread count of the OpenBLAS NumPy uses, when it is one (else unavailable)."""

    def __init__(self) -> None:
        self.get: Callable[[], int] | None = None
        self.set: Callable[[int], None] | None = None
        self.lock = threading.Lock()
        self.depth = 0
        self.saved = 1
        for path in self._candidates():
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for name in ("scipy_openblas_{}64_", "scipy_openblas_{}", "openblas_{}64_", "openblas_{}"):
                get = getattr(lib, name.format("get_num_threads"), None)
                put = getattr(lib, name.format("set_num_threads"), None)
                if get is not None and put is not None:
                    get.restype, put.argtypes = ctypes.c_int, [ctypes.c_int]
                    self.get, self.set = get, put
                    return

    @staticmethod
    def _candidates() -> list[str]:
        """The OpenBLAS libraries loaded in this process (Linux), then those of NumPy's wheel."""
        paths: list[str] = []
        with contextlib.suppress(OSError), open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if "openblas" in os.path.basename(path).lower() and path not in paths:
                    paths.append(path)
        wheel_libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
        paths += [p for p in sorted(glob.glob(os.path.join(wheel_libs, "*openblas*"))) if p not in paths]
        return paths

    def lanes(self) -> int:
        """Parallel lanes for a convolution: the BLAS thread count (what the user allows), or 1."""
        if self.get is None:
            return 1
        return max(1, self.saved if self.depth else self.get())

    @contextlib.contextmanager
    def single_threaded(self) -> Iterator[None]:
        """BLAS on one thread while lanes run (nested and concurrent uses restore it once)."""
        if self.set is None or self.get is None:
            yield
            return
        with self.lock:
            if self.depth == 0:
                self.saved = self.get()
                self.set(1)
            self.depth += 1
        try:
            yield
        finally:
            with self.lock:
                self.depth -= 1
                if self.depth == 0:
                    self.set(self.saved)


BLAS = _OpenBlasThreads()
_LANE_PREFIX = "shapecalc-lane"
_EXECUTOR: ThreadPoolExecutor | None = None
_EXECUTOR_LANES = 0


# Set while the calling thread runs a part of its own parallel work (see _with_the_caller).
_CALLER = threading.local()


def _in_a_lane() -> bool:
    """Work asked for from a lane (a fused epilogue's chunks) runs there: the lanes are busy, and
    waiting on them from one of them would wait for ever."""
    return getattr(_CALLER, "in_a_lane", False) or threading.current_thread().name.startswith(_LANE_PREFIX)


def _executor(lanes: int) -> ThreadPoolExecutor:
    global _EXECUTOR, _EXECUTOR_LANES
    if _EXECUTOR is None or lanes > _EXECUTOR_LANES:
        _EXECUTOR, _EXECUTOR_LANES = ThreadPoolExecutor(lanes, thread_name_prefix=_LANE_PREFIX), lanes
    return _EXECUTOR


def chunks(
    batch: int, out: Sequence[int], per_position: int, chunk: int, min_rows: int
) -> Iterator[tuple[int, slice, slice]]:
    """(items, batch slice, first-output-axis slice) blocks of about ``chunk`` patch values
    (at least ``min_rows`` patches; whole items first, else rows of one item)."""
    per_item = math.prod(out) * per_position
    limit = max(chunk, min_rows * per_position)
    if per_item <= limit:
        step = max(1, limit // per_item)
        for start in range(0, batch, step):
            stop = min(batch, start + step)
            yield stop - start, slice(start, stop), slice(None)
        return
    # one item is already large: split it along its first output axis
    per_row = per_item // out[0]
    step = max(1, limit // per_row)
    for item in range(batch):
        for start in range(0, out[0], step):
            yield 1, slice(item, item + 1), slice(start, min(out[0], start + step))


def chunk_extent(
    batch: int, out: Sequence[int], per_position: int, chunk: int, min_rows: int
) -> tuple[int, int]:
    """(how many blocks :func:`chunks` makes, patch values of the largest), by arithmetic: the
    memory estimate asks it of outputs far too large to list the blocks of."""
    per_item = math.prod(out) * per_position
    limit = max(chunk, min_rows * per_position)
    if per_item <= limit:
        step = max(1, limit // per_item)
        return -(-batch // step), min(step, batch) * per_item
    per_row = per_item // out[0]
    step = max(1, limit // per_row)
    return batch * -(-out[0] // step), min(step, out[0]) * per_row


def run_lanes(
    blocks: list[tuple[int, slice, slice]],
    lane: Callable[[Iterator[tuple[int, slice, slice]]], None],
    lanes: int,
) -> None:
    """``lane(blocks)`` on one thread, or on ``lanes`` threads taking blocks from one shared
    iterator (next() on a list iterator is atomic under the GIL), with the BLAS single-threaded:
    a lane slowed down by another process just takes fewer blocks."""
    lanes = min(lanes, len(blocks))
    if lanes <= 1 or _in_a_lane():
        lane(iter(blocks))
        return
    shared = iter(blocks)
    with BLAS.single_threaded():
        _with_the_caller(lambda _: lane(shared), lanes)


def map_parts(fn: Callable[[int], np.ndarray], parts: int) -> list[np.ndarray]:
    """``[fn(0), ..., fn(parts - 1)]`` side by side (for NumPy work without BLAS)."""
    if parts <= 1:
        return [fn(0)]
    if _in_a_lane():
        return [fn(part) for part in range(parts)]
    return _with_the_caller(fn, parts)


def _with_the_caller(fn: Callable[[int], Part], parts: int) -> list[Part]:
    """``[fn(0), ..., fn(parts - 1)]``: fn(0) on the calling thread, which is running already,
    the others on the lane threads. A lane thread asleep since the last parallel work can take
    milliseconds to get a core back: on this project's 2-vCPU machine, in a GELU after a matrix
    product, the last part started over 1 ms late in 20-23 of 55 calls with every part on the
    lane threads (by 3.5-4 ms, a scheduler tick), in 3-7 of 55 with the caller taking part.
    Callers whose parts take work from one shared iterator then lose only that lane's help."""
    others = [_executor(parts - 1).submit(fn, part) for part in range(1, parts)]
    _CALLER.in_a_lane = True
    try:
        first = fn(0)
    finally:
        _CALLER.in_a_lane = False
    return [first, *(other.result() for other in others)]
