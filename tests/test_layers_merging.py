"""Merging layers against Keras: element-wise merges, Concatenate and Dot on many shape lists.

Keras's symbolic rules have quirks (right-aligned broadcasting of different ranks, Concatenate
comparing the batch axis, Dot's unprotected batch axis); every case here is judged by Keras.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_check import assert_same_as_keras

ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]

SHAPE_LISTS = [
    [(None, 3), (None, 3)],
    [(None, 3), (None, 4)],
    [(None, 3), (None, 1)],
    [(None, 1), (None, 3)],
    [(None, 3), (None, None)],
    [(None, None), (None, None)],
    [(None, 2, 3), (None, 3)],  # different ranks align on the right
    [(None, 3), (None, 2, 3)],
    [(None, 4), (None, 4, 3)],
    [(None, 3, 1), (None, 3)],
    [(None, 1, 3), (None, 5, 1)],
    [(None, 2, 3), (None, 2, 4)],
    [(2, 3), (None, 3)],
    [(2, 3), (3, 3)],  # different known batch sizes
    [(2, 3), (2, 3)],
    [(None, 3), (4, 1)],
    [(None,), (None,)],
    [(None,), (None, 3)],
    [(3,), (None,)],
    [(None, 3), ()],
    [(), ()],
    [(None, 3)],  # one input
    [(None, 3), (None, 3), (None, 3)],
    [(None, 3), (None, 1), (None, None)],
    [(None, 2, 1), (None, 1, 4), (None, 2, 4)],
    [(None, 2, 1), (None, 1, 4), (None, 3, 4)],
    [(5, 2, 3), (None, 3), (5, 1, 1, 3)],
    [(None, 0, 3), (None, 1, 3)],
    [(None, 0), (None, 2)],
    [(None, 2, 3, 4), (None, 4)],
    [(None, 2, 3, 4), (None, 3, 1)],
    [(None, 3)] * 4,
]


@pytest.mark.parametrize("layer", ELEMENTWISE)
@pytest.mark.parametrize("shapes", SHAPE_LISTS, ids=[str(s) for s in SHAPE_LISTS])
def test_elementwise(layer: str, shapes: list[tuple]) -> None:
    assert_same_as_keras(layer, {}, shapes)


@pytest.mark.parametrize("layer", ELEMENTWISE)
@pytest.mark.parametrize("args", [{"name": "m"}, {"trainable": False}, {"dtype": "float16"}, {"axis": 1}])
def test_elementwise_arguments(layer: str, args: dict[str, Any]) -> None:
    assert_same_as_keras(layer, args, [(None, 3), (None, 3)])


def test_elementwise_hand_derived() -> None:
    # (2,1) and (1,4) broadcast to (2,4); a known batch of 5 wins over None.
    assert assert_same_as_keras("Add", {}, [(5, 2, 1), (None, 1, 4)]).output == (5, 2, 4)
    assert assert_same_as_keras("Maximum", {}, [(None, 3), (None, 2, 3)]).output == (None, 2, 3)


# ----------------------------------------------------------------------------- Concatenate
CONCAT_LISTS = [
    [(None, 3), (None, 4)],
    [(None, 2, 3), (None, 2, 4)],
    [(None, 2, 3), (None, 5, 3)],
    [(None, 2, 3), (None, None, 3)],
    [(None, 2, None), (None, 2, 4)],
    [(None, 2, 3), (None, 2, None), (None, 2, 4)],
    [(None, None, 3), (None, 2, 4)],
    [(None, 2, 3), (None, 3, 4)],
    [(None, 2, 3), (None, 2)],
    [(None, 2, 3), (None, 2, 3, 1)],
    [(None, 2, 3, None), (None, 2, 3)],
    [(None, 2, 3, 4), (None, 2, 3)],
    [(2, 3), (3, 3)],
    [(2, 3), (None, 4)],
    [(None, 3), (5, 4)],
    [(None, 1, 3), (None, 2, 3)],
    [(None, 3)],
    [(None, 3), (None, 3), (None, 3), (None, 3)],
    [(None,), (None,)],
    [(4,), (5,)],
    [(None, 3), ()],
    [(None, 0), (None, 3)],
    [(None, 2, 3, 4), (None, 2, 3, 4)],
    [(None, 2, 3, 4), (None, 5, 3, 4), (None, 1, 3, 4)],
]
AXES = [-1, 0, 1, 2, 3, 4, -2, -3, -4, True, 1.0, 2.5, 5.0, -1.0]


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("shapes", CONCAT_LISTS, ids=[str(s) for s in CONCAT_LISTS])
def test_concatenate(axis: Any, shapes: list[tuple]) -> None:
    assert_same_as_keras("Concatenate", {"axis": axis}, shapes)


@pytest.mark.parametrize(
    "args", [{}, {"axis": "1"}, {"axis": None}, {"axis": [1]}, {"axes": 1}, {"trainable": False}]
)
def test_concatenate_arguments(args: dict[str, Any]) -> None:
    assert_same_as_keras("Concatenate", args, [(None, 2, 3), (None, 2, 4)])


def test_concatenate_hand_derived() -> None:
    assert assert_same_as_keras("Concatenate", {}, [(None, 2, 3), (None, 2, 4)]).output == (None, 2, 7)
    # The other axes are copied from the first input, even when it has a None there.
    assert assert_same_as_keras("Concatenate", {}, [(None, None, 3), (None, 2, 4)]).output == (None, None, 7)
    # Keras stops at the first None and never looks at the second input's (missing) axis 3.
    assert assert_same_as_keras("Concatenate", {"axis": 3}, [(None, 2, 3, None), (None, 2, 3)]).output == (
        None,
        2,
        3,
        None,
    )


# ----------------------------------------------------------------------------- Dot
DOT_CASES = [
    (1, [(None, 3), (None, 3)]),
    (-1, [(None, 3), (None, 3)]),
    (1, [(None, 3), (None, 4)]),
    (1, [(None, None), (None, 3)]),
    (1, [(None, None), (None, None)]),
    (-1, [(None, 5, 3), (None, 3)]),
    (-1, [(None, 3), (None, 7, 3)]),
    ([1, 2], [(None, 5, 3), (None, 4, 5)]),
    ([2, 1], [(None, 5, 3), (None, 3, 4)]),
    ([2, 2], [(None, 5, 3), (None, 4, 3)]),
    ([-1, -2], [(None, 5, 3), (None, 3, 4)]),
    ([-1, 1], [(None, 2, 5, 3), (None, 3, 4, 6)]),
    (2, [(None, 5, 3), (None, 4, 3)]),
    (2, [(None, 5, 3), (None, 3)]),
    (3, [(None, 5, 3), (None, 4, 3)]),
    (0, [(None, 3), (None, 3)]),
    (0, [(2, 3), (3, 3)]),
    ([0, 0], [(2, 3), (2, 4)]),
    (True, [(None, 3), (None, 3)]),
    ([True, 1], [(None, 3), (None, 3)]),
    (1, [(2, 3), (5, 3)]),
    (1, [(None, 3)]),
    (1, [(None, 3), (None, 3), (None, 3)]),
    (-1, [(None,), (None,)]),
    (0, [(None,), (None,)]),
    (-1, [(None, 3), ()]),
    ([1, -1], [(None, 3), (None, 2, 2, 3)]),
    ([-3, 1], [(None, 3), (None, 3)]),
    ([1, 3], [(None, 3), (None, 3)]),
    (1.0, [(None, 3), (None, 3)]),
    ([1.0, 1], [(None, 3), (None, 3)]),
    ([1, 1, 1], [(None, 3), (None, 3)]),
    ([1], [(None, 3), (None, 3)]),
    ("1", [(None, 3), (None, 3)]),
    (None, [(None, 3), (None, 3)]),
    ([[1], 1], [(None, 3), (None, 3)]),
    (-2, [(None, 4, 4), (None, 4, 4)]),
]


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize(("axes", "shapes"), DOT_CASES, ids=[f"{a}-{s}" for a, s in DOT_CASES])
def test_dot(axes: Any, shapes: list[tuple], normalize: bool) -> None:
    assert_same_as_keras("Dot", {"axes": axes, "normalize": normalize}, shapes)


@pytest.mark.parametrize("args", [{}, {"normalize": True}, {"axes": 1, "normalize": "x"}, {"axis": 1}])
def test_dot_arguments(args: dict[str, Any]) -> None:
    assert_same_as_keras("Dot", args, [(None, 3), (None, 3)])


def test_dot_hand_derived() -> None:
    # (B,5,3).(B,4,5) over axes (1,2): keep (B,3) from the first and (4,) from the second.
    assert assert_same_as_keras("Dot", {"axes": [1, 2]}, [(None, 5, 3), (None, 4, 5)]).output == (None, 3, 4)
    # Two vectors give one number per sample, as (B, 1).
    assert assert_same_as_keras("Dot", {"axes": 1}, [(None, 3), (None, 3)]).output == (None, 1)


# ----------------------------------------------------------------------------- properties
def _shape_lists(min_inputs: int, max_inputs: int) -> st.SearchStrategy[list[tuple]]:
    dim = st.sampled_from([None, 1, 2, 3])
    base = st.lists(dim, min_size=0, max_size=3)
    shape = st.tuples(st.sampled_from([None, None, 2, 3]), base).map(lambda t: (t[0], *t[1]))
    return st.lists(shape, min_size=min_inputs, max_size=max_inputs)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(layer=st.sampled_from(ELEMENTWISE), shapes=_shape_lists(1, 4))
def test_elementwise_property(layer: str, shapes: list[tuple]) -> None:
    assert_same_as_keras(layer, {}, shapes)


@st.composite
def _related_shapes(draw: st.DrawFn, count: tuple[int, int]) -> list[tuple]:
    """Shapes that mostly agree (so both acceptance and refusal are common)."""
    rank = draw(st.integers(1, 4))
    template = [draw(st.sampled_from([None, 2, 3])) for _ in range(rank)]
    shapes = []
    for _ in range(draw(st.integers(*count))):
        shape = list(template)
        for i in range(rank):
            if draw(st.integers(0, 3)) == 0:
                shape[i] = draw(st.sampled_from([None, 1, 2, 4]))
        if draw(st.integers(0, 6)) == 0:
            shape = shape[:-1] if draw(st.booleans()) else [*shape, 2]
        shapes.append(tuple(shape))
    return shapes


@settings(max_examples=150, deadline=None, derandomize=True)
@given(axis=st.integers(-4, 4), shapes=_related_shapes((1, 4)))
def test_concatenate_property(axis: int, shapes: list[tuple]) -> None:
    assert_same_as_keras("Concatenate", {"axis": axis}, shapes)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    axes=st.one_of(st.integers(-4, 4), st.tuples(st.integers(-4, 4), st.integers(-4, 4)).map(list)),
    shapes=_related_shapes((2, 2)),
)
def test_dot_property(axes: Any, shapes: list[tuple]) -> None:
    assert_same_as_keras("Dot", {"axes": axes}, shapes)
