"""The model of the heap behind --run's memory estimate (shapecalc/run/estimate.py)."""

from __future__ import annotations

from shapecalc.run.allocator import MMAP_THRESHOLD, TOP_PAD
from shapecalc.run.estimate import Heap


# n bytes asked for take n + 16 (a header), rounded up to 16: asking for this takes k KiB.
def kib(k: int) -> int:
    return k * 1024 - 16


BLOCK = kib(1)


def test_a_freed_block_is_reused_by_the_smallest_fit() -> None:
    heap = Heap()
    first, _, third, _ = (heap.allocate(kib(n)) for n in (2, 1, 3, 1))
    assert heap.top == (2 + 1 + 3 + 1) * 1024
    heap.release(first)  # a 2 KiB hole, then a 3 KiB one
    heap.release(third)
    heap.allocate(kib(2))  # fits both: takes the smaller, the first
    assert heap.free == [(3 * 1024, 3 * 1024)]
    assert heap.top == 7 * 1024 and heap.peak == 7 * 1024


def test_a_block_that_fits_no_hole_grows_the_heap_from_a_free_block_at_its_top() -> None:
    heap = Heap()
    heap.allocate(BLOCK)
    last = heap.allocate(BLOCK)
    heap.release(last)  # free at the top: growing starts there
    heap.allocate(kib(3))
    assert heap.top == 4 * 1024 and heap.free == []


def test_freed_neighbours_merge() -> None:
    heap = Heap()
    blocks = [heap.allocate(BLOCK) for _ in range(4)]
    heap.release(blocks[0])
    heap.release(blocks[2])
    heap.release(blocks[1])  # joins both neighbours into one 3 KiB block
    assert heap.free == [(0, 3 * 1024)]
    heap.allocate(kib(3))
    assert heap.top == 4 * 1024


def test_large_blocks_are_mapped_when_the_heap_cannot_take_them() -> None:
    heap = Heap()  # nothing reserved yet: no free block, no top to carve from
    big = heap.allocate(MMAP_THRESHOLD)
    assert heap.top == 0 and heap.mapped == MMAP_THRESHOLD and heap.peak == MMAP_THRESHOLD
    heap.release(big)
    heap.allocate(MMAP_THRESHOLD // 2)  # below the threshold: on the heap, which never shrinks
    assert heap.mapped == 0 and heap.top == MMAP_THRESHOLD // 2 + 16
    assert heap.peak == MMAP_THRESHOLD  # the mapped block, while it lived


def test_a_large_block_is_carved_from_the_heaps_reserved_top() -> None:
    # glibc grows the heap by TOP_PAD more than it needs; a block past the mapping threshold
    # that fits the top is carved from it (MobileNetV2's 36.75 MiB outputs were, measured with
    # mallinfo2), and once freed it stays in the heap for reuse
    heap = Heap()
    heap.allocate(BLOCK)
    assert heap.end == 1024 + TOP_PAD
    big = heap.allocate(MMAP_THRESHOLD)
    assert heap.mapped == 0 and heap.top == 1024 + MMAP_THRESHOLD + 16
    heap.release(big)
    again = heap.allocate(MMAP_THRESHOLD)  # the freed block takes it: the heap does not grow
    assert heap.top == 1024 + MMAP_THRESHOLD + 16 and heap.mapped == 0
    heap.release(again)
    beyond = heap.allocate(TOP_PAD + MMAP_THRESHOLD)  # more than the free top and its pad
    assert heap.mapped == TOP_PAD + MMAP_THRESHOLD
    heap.release(beyond)
    assert heap.mapped == 0 and heap.peak == 1024 + MMAP_THRESHOLD + 16 + TOP_PAD + MMAP_THRESHOLD
