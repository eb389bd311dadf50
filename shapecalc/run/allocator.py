"""The C allocator's policy while a model runs: memory a layer frees is kept for the next one.

Every layer allocates its output (and its padded input and work buffers) afresh, and the run
frees each array as soon as no later layer needs it. By default glibc hands blocks of 128 KiB
or more straight back to the OS (mmap/munmap) and trims the heap top past 128 KiB, so the
next layer's arrays of the same sizes are faulted in again page by page: measured on the VGG
benchmark (benchmarks/speed.py, workload b), 5-10% of the whole run, and a third of a max
pooling layer's time. Raising the thresholds lets freed blocks be reused instead.

Blocks over ``MMAP_THRESHOLD`` (glibc's largest allowed value) that no free block or the
heap's reserved top can take are still mapped and unmapped on their own, so a large weight that
lives only while its layer runs is returned to the OS at once. All threads allocate from one
arena: the kernels' lanes (conv_lanes.py) free their temporaries for the next layer to reuse,
whichever thread runs it, rather than each keeping its own heap; and the memory estimate
(estimate.py) models that one heap. The policy is process-wide and stays set; elsewhere than
glibc it is a no-op.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -2, -3, -8
MMAP_THRESHOLD = 32 * 1024**2
# Free memory kept at the heap top (not returned to the OS), and grown by at a time.
TRIM_THRESHOLD = 256 * 1024**2
TOP_PAD = 64 * 1024**2


@functools.cache
def keep_freed_memory() -> bool:
    """Set the policy (once); True when the C library took it."""
    with contextlib.suppress(OSError, AttributeError):
        mallopt = ctypes.CDLL(None).mallopt
        mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        settings = {
            _M_MMAP_THRESHOLD: MMAP_THRESHOLD,
            _M_TRIM_THRESHOLD: TRIM_THRESHOLD,
            _M_TOP_PAD: TOP_PAD,
            _M_ARENA_MAX: 1,
        }
        return all(mallopt(option, value) == 1 for option, value in settings.items())
    return False
