"""The peak memory of a run, estimated before it starts by replaying its allocations.

A run allocates, call by call, the layer's weights (unless a shared layer keeps them), its
kernel's temporaries (``Layer.run_work_elements``), its outputs; then frees the temporaries,
the weights of a layer that runs no more, and every activation whose last consumer has run.
What the process holds at its peak is not the largest sum of live arrays: under the run's
allocator policy (allocator.py) freed blocks stay in the heap for reuse, and a new array that
fits no free block grows the heap even when the free blocks add up to more than it needs. So
the schedule is replayed through a model of that heap, glibc's as the policy sets it: a block
takes the smallest free block that fits (best fit, split, the rest staying free), or grows the
heap at its top, which glibc reserves ``TOP_PAD`` beyond what it needs (untouched, so not yet
held); a block from ``MMAP_THRESHOLD`` up that neither a free block nor that reserved top can
take is mapped on its own and counts only while it lives. A freed block merges with free
neighbours, and the heap never shrinks. The peak is the largest touched heap plus mapped blocks
at any moment, plus the interpreter's small objects. benchmarks/memory.py measures the
estimate against the peak a run really takes.
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

from ..analysis import Analysis
from ..graph import Call
from ..layers.base import Layer, Weight
from . import fusion
from .allocator import MMAP_THRESHOLD, TOP_PAD
from .limits import check_temporaries, nbytes, sized

FLOAT32_BYTES = 4
# glibc rounds every heap block up to 16 bytes and puts a header before it
ALIGNMENT = 16
# The interpreter's own small objects a run creates besides its arrays (each call's outcome and
# shapes, the lanes' threads), in CPython's small-object arenas: one arena, 1 MiB. Measured with
# benchmarks/memory.py: 70-260 KiB for one-layer models, and without it the model of the heap
# fell short by 0.2 MiB on the LSTM workload.
RUN_OBJECTS_BYTES = 1024**2


class Peak(NamedTuple):
    """The schedule's peak memory in bytes, and the call running when it is reached."""

    nbytes: int
    call: Call | None


class Heap:
    """Best-fit heap with coalescing, a reserved top and mapped large blocks; ``peak`` is its
    high-water mark."""

    def __init__(self) -> None:
        self.free: list[tuple[int, int]] = []  # (start, size), by address
        self.top = 0  # the heap's touched end: every byte below it has been written
        self.end = 0  # the heap's reserved end: grown TOP_PAD past a growth, not yet touched
        self.mapped = 0  # bytes of the live blocks mapped on their own
        self.blocks: dict[int, tuple[int, int]] = {}  # handle -> (start, size); start -1: mapped
        self.handles = 0
        self.peak = 0

    def allocate(self, size: int) -> int:
        self.handles += 1
        rounded = -(-(size + ALIGNMENT) // ALIGNMENT) * ALIGNMENT
        if size >= MMAP_THRESHOLD and not self._fits_in_heap(rounded):
            self.blocks[self.handles] = (-1, size)
            self.mapped += size
        else:
            self.blocks[self.handles] = (self._place(rounded), rounded)
        self.peak = max(self.peak, self.top + self.mapped)
        return self.handles

    def _fits_in_heap(self, size: int) -> bool:
        """glibc maps a large block only when neither a free block nor the top of the heap (its
        free tail and the reserved pad past it) can take it."""
        if any(free_size >= size for _, free_size in self.free):
            return True
        tail = self.free[-1][0] if self.free and sum(self.free[-1]) == self.top else self.top
        return self.end - tail >= size

    def release(self, handle: int) -> None:
        start, size = self.blocks.pop(handle)
        if start < 0:
            self.mapped -= size
            return
        at = bisect.bisect(self.free, (start, size))
        if at < len(self.free) and self.free[at][0] == start + size:  # merge with the next
            size += self.free.pop(at)[1]
        if at > 0 and sum(self.free[at - 1]) == start:  # and with the previous
            start, previous = self.free.pop(at - 1)
            size += previous
            at -= 1
        self.free.insert(at, (start, size))

    def _place(self, size: int) -> int:
        fits = [(free_size, start) for start, free_size in self.free if free_size >= size]
        if fits:
            free_size, start = min(fits)
            at = bisect.bisect_left(self.free, (start, free_size))
            if free_size > size:
                self.free[at] = (start + size, free_size - size)
            else:
                self.free.pop(at)
            return start
        # no free block fits: the heap grows at its top, from the free block ending there if any;
        # past its reserved end, glibc reserves TOP_PAD more
        start = self.free.pop()[0] if self.free and sum(self.free[-1]) == self.top else self.top
        self.top = start + size
        if self.top > self.end:
            self.end = self.top + TOP_PAD
        return start


def estimate_peak(analysis: Analysis, unknown: int, fuse: bool = True) -> Peak:
    """Peak bytes of the schedule replayed through the heap model: activations, the weights of
    every layer from its first call to its last, and each kernel's temporaries (counted as
    float32) while its call runs. With ``fuse`` (a run that saves no outputs), a call fused into
    its producer's kernel (fusion.py) takes no memory of its own: its output is the producer's."""
    calls = analysis.model_calls
    consumers = consumer_counts(calls)
    last_call = {c.layer: c for c in calls}
    fused_into = fusion.producers(fusion.followers(analysis)) if fuse else {}
    heap = Heap()
    outputs: dict[Call, list[int]] = {}
    weights: dict[Layer, list[int]] = {}
    peak = Peak(0, None)
    for call in calls:
        shapes = analysis.output_shapes(call)
        if call.layer not in weights:
            weights[call.layer] = [heap.allocate(_stored_bytes(w)) for w in analysis.weights_of(call.layer)]
        work = None
        if call in fused_into:
            outputs[call] = outputs.pop(call.inputs[0].call)  # the same array, changed in place
        elif call.inputs:  # an input layer's data is read, not computed
            given = [sized(s, unknown) for s in analysis.input_shapes(call)]
            elements = call.layer.run_work_elements(given, [sized(s, unknown) for s in shapes])
            check_temporaries(call, elements * FLOAT32_BYTES)
            work = heap.allocate(elements * FLOAT32_BYTES)
        if call not in fused_into:
            outputs[call] = [heap.allocate(nbytes(s, unknown)) for s in shapes]
        if heap.peak + RUN_OBJECTS_BYTES > peak.nbytes:
            peak = Peak(heap.peak + RUN_OBJECTS_BYTES, call)
        if work is not None:
            heap.release(work)
        if last_call[call.layer] is call:
            for handle in weights.pop(call.layer):
                heap.release(handle)
        if not consumers[call]:
            for handle in outputs.pop(call):
                heap.release(handle)
        for ref in call.inputs:
            consumers[ref.call] -= 1
            if consumers[ref.call] == 0 and ref.call in outputs:
                for handle in outputs.pop(ref.call):
                    heap.release(handle)
    return peak


def _stored_bytes(weight: Weight) -> int:
    """Bytes of a weight as --run holds it: float16 and bfloat16 in float32 arrays (precision.py)."""
    return weight.size * FLOAT32_BYTES if weight.dtype in ("float16", "bfloat16") else weight.nbytes


def consumer_counts(calls: list[Call]) -> dict[Call, int]:
    """How many later calls read each call's outputs."""
    counts = dict.fromkeys(calls, 0)
    for call in calls:
        for ref in call.inputs:
            counts[ref.call] = counts.get(ref.call, 0) + 1
    return counts
