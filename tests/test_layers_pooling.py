"""Pooling layers against Keras: Max/AveragePooling and GlobalMax/GlobalAveragePooling in every rank.

Each case builds the layer in real Keras and in shapecalc (tests/layer_check.py); numbers
asserted directly are derived by hand in the test.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spatial_check import Case, Shape, assert_same_as_keras, batch_shape, case_id, rarely, shapecalc_call

from shapecalc.errors import ArgError, ShapeError


# ----------------------------------------------------------------------------- hand-derived numbers
def test_max_pooling_by_hand() -> None:
    layer, out = shapecalc_call("MaxPooling2D", {}, (None, 27, 28, 5))
    assert out == (None, 13, 14, 5)  # floor((27-2)/2)+1, floor((28-2)/2)+1
    assert layer.count_params() == (0, 0)
    assert [str(step) for step in layer.explain((None, 27, 28, 5))] == [
        "height: floor((27 - 2) / 2) + 1 = 13",
        "width: floor((28 - 2) / 2) + 1 = 14",
        "channels: kept = 5 (each channel pooled alone)",
    ]


def test_average_pooling_same_by_hand() -> None:
    args = {"pool_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"}
    layer, out = shapecalc_call("AveragePooling1D", args, (None, 4, 9))
    assert out == (None, 4, 5)  # ceil(9/2)
    # same: ceil(9/2) = 5 windows of 3 need (5-1)*2 + 3 = 11 positions: 1 zero before, 1 after
    assert [str(step) for step in layer.explain((None, 4, 9))] == [
        "steps: ceil(9 / 2) = 5 (same: Keras pads 1 before and 1 after)",
        "channels: kept = 4 (each channel pooled alone)",
    ]


def test_global_pooling_by_hand() -> None:
    _, out = shapecalc_call("GlobalAveragePooling3D", {"keepdims": True}, (None, 4, 5, 6, 7))
    assert out == (None, 1, 1, 1, 7)
    _, out = shapecalc_call("GlobalMaxPooling2D", {"data_format": "channels_first"}, (None, 4, 5, 6))
    assert out == (None, 4)


def test_error_messages_state_the_rule() -> None:
    with pytest.raises(ShapeError, match=r"floor\(\(2 - 3\) / 3\) \+ 1 = 0"):
        shapecalc_call("MaxPooling1D", {"pool_size": 3}, (None, 2, 3))
    with pytest.raises(ArgError, match="pool_size") as err:
        shapecalc_call("AveragePooling2D", {}, (None, 8, 8, 3))
    with pytest.raises(ArgError) as err:
        shapecalc_call("MaxPooling2D", {"padding": "SAME"}, (None, 8, 8, 3))
    assert err.value.argument == "padding"


# ----------------------------------------------------------------------------- grid
SPATIAL = {1: [(9,), (None,), (2,), (1,)], 2: [(9, 8), (None, 5), (3, 2)], 3: [(6, 5, 7), (4, None, 3)]}


def pooling_grid() -> list[Case]:
    cases = []
    for rank, mode, data_format in itertools.product(
        (1, 2, 3), ("Max", "Average"), ("channels_last", "channels_first")
    ):
        pool_sizes = [2, 3, [3, 1, 2][:rank]] + ([None] if mode == "Max" else [])
        strides_options = [None, 1, 2, [1, 3, 2][:rank]]
        for padding, pool, strides, spatial, channels in itertools.product(
            ("valid", "same"), pool_sizes, strides_options, SPATIAL[rank], (3, None)
        ):
            args: dict[str, Any] = {"padding": padding, "data_format": data_format}
            if pool is not None:
                args["pool_size"] = pool
            if strides is not None:
                args["strides"] = strides
            cases.append((f"{mode}Pooling{rank}D", args, [batch_shape(spatial, channels, data_format)]))
    return cases


@pytest.mark.parametrize("case", pooling_grid(), ids=case_id)
def test_pooling_grid(case: Case) -> None:
    assert_same_as_keras(*case)


POOLING_CASES: list[Case] = [
    # defaults: Max has pool_size 2 per axis, Average has none
    ("MaxPooling1D", {}, [(None, 9, 3)]),
    ("MaxPooling3D", {}, [(2, 4, 5, 6, 3)]),
    ("AveragePooling1D", {}, [(None, 9, 3)]),
    ("AveragePooling2D", {}, [(None, 9, 9, 3)]),
    ("AveragePooling3D", {}, [(None, 4, 4, 4, 3)]),
    ("AveragePooling2D", {"pool_size": None}, [(None, 9, 9, 3)]),
    # padding is not lowercased, and causal is not pooling's
    ("MaxPooling2D", {"padding": "SAME"}, [(None, 8, 8, 3)]),
    ("MaxPooling1D", {"padding": "Valid"}, [(None, 8, 3)]),
    ("AveragePooling1D", {"pool_size": 2, "padding": "causal"}, [(None, 8, 3)]),
    ("AveragePooling1D", {"pool_size": 2, "padding": "full"}, [(None, 8, 3)]),
    ("MaxPooling1D", {"padding": None}, [(None, 8, 3)]),
    # data_format is lowercased
    ("MaxPooling2D", {"data_format": "CHANNELS_FIRST"}, [(None, 3, 8, 8)]),
    ("MaxPooling2D", {"data_format": None}, [(None, 8, 8, 3)]),
    ("MaxPooling2D", {"data_format": "nhwc"}, [(None, 8, 8, 3)]),
    # pool_size and strides values
    ("MaxPooling2D", {"pool_size": 0}, [(None, 8, 8, 3)]),
    ("MaxPooling2D", {"pool_size": [2, 0]}, [(None, 8, 8, 3)]),
    ("MaxPooling2D", {"pool_size": [2, 2, 2]}, [(None, 8, 8, 3)]),
    ("MaxPooling2D", {"pool_size": -1}, [(None, 8, 8, 3)]),
    ("MaxPooling2D", {"pool_size": 2.5}, [(None, 8, 8, 3)]),
    ("MaxPooling2D", {"strides": 0}, [(None, 8, 8, 3)]),
    ("MaxPooling2D", {"strides": [1, 0]}, [(None, None, None, 3)]),
    ("MaxPooling1D", {"strides": 0, "padding": "same"}, [(None, None, 3)]),
    ("MaxPooling2D", {"strides": -1}, [(None, 8, 8, 3)]),
    ("MaxPooling2D", {"strides": [2]}, [(None, 8, 8, 3)]),
    ("MaxPooling2D", {"pool_size": 5, "strides": 1}, [(None, 5, 5, 1)]),
    ("MaxPooling2D", {"pool_size": 9, "padding": "same"}, [(None, 5, 5, 1)]),
    # too-short input, 0-long axes
    ("MaxPooling2D", {"pool_size": 3}, [(None, 2, 8, 3)]),
    ("AveragePooling3D", {"pool_size": [1, 1, 4]}, [(None, 5, 5, 3, 3)]),
    ("MaxPooling1D", {}, [(None, 0, 3)]),
    ("MaxPooling1D", {"padding": "same"}, [(None, 0, 3)]),
    ("AveragePooling2D", {"pool_size": 1}, [(None, 0, 4, 3)]),
    # rank must be exact; channels may be unknown
    ("MaxPooling2D", {}, [(None, 8, 8)]),
    ("MaxPooling2D", {}, [(None, 8, 8, 3, 3)]),
    ("AveragePooling1D", {"pool_size": 2}, [(None, 8, 3, 3)]),
    ("MaxPooling3D", {}, [(None, 8, 8, 8)]),
    ("MaxPooling2D", {"data_format": "channels_first"}, [(None, None, 8, 8)]),
    # base arguments and unknown ones
    ("MaxPooling2D", {"name": "pool", "trainable": False, "dtype": "float16"}, [(None, 8, 8, 3)]),
    ("MaxPooling2D", {"pool": 2}, [(None, 8, 8, 3)]),
    ("AveragePooling2D", {"pool_size": 2, "keepdims": True}, [(None, 8, 8, 3)]),
]


# Keras divides by a 0 stride in numpy before it refuses.
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.parametrize("case", POOLING_CASES, ids=case_id)
def test_pooling_arguments(case: Case) -> None:
    assert_same_as_keras(*case)


# ----------------------------------------------------------------------------- global pooling
GLOBAL_SPATIAL = {1: [(7,), (None,)], 2: [(7, 5), (None, None)], 3: [(3, 4, 5), (None, 2, None)]}


def global_grid() -> list[Case]:
    cases = []
    for rank, mode, data_format, keepdims in itertools.product(
        (1, 2, 3), ("Max", "Average"), (None, "channels_last", "channels_first"), (None, False, True)
    ):
        args: dict[str, Any] = {}
        if data_format is not None:
            args["data_format"] = data_format
        if keepdims is not None:
            args["keepdims"] = keepdims
        for spatial, channels in itertools.product(GLOBAL_SPATIAL[rank], (3, None)):
            cases.append((f"Global{mode}Pooling{rank}D", args, [batch_shape(spatial, channels, data_format)]))
        # wrong ranks
        cases.append((f"Global{mode}Pooling{rank}D", args, [(None,) + (4,) * rank]))
        cases.append((f"Global{mode}Pooling{rank}D", args, [(None,) + (4,) * (rank + 2)]))
    return cases


@pytest.mark.parametrize("case", global_grid(), ids=case_id)
def test_global_pooling_grid(case: Case) -> None:
    assert_same_as_keras(*case)


GLOBAL_CASES: list[Case] = [
    ("GlobalMaxPooling1D", {"keepdims": "yes"}, [(None, 8, 3)]),
    ("GlobalMaxPooling1D", {"keepdims": 0}, [(None, 8, 3)]),
    ("GlobalAveragePooling2D", {"keepdims": 1, "data_format": "Channels_First"}, [(2, 3, 8, 8)]),
    ("GlobalAveragePooling2D", {"data_format": "channels_middle"}, [(None, 8, 8, 3)]),
    ("GlobalAveragePooling1D", {"pool_size": 2}, [(None, 8, 3)]),
    ("GlobalMaxPooling3D", {"name": "gmp", "trainable": False}, [(None, 2, 2, 2, 3)]),
    ("GlobalAveragePooling1D", {}, [(None, 0, 3)]),
]


@pytest.mark.parametrize("case", GLOBAL_CASES, ids=case_id)
def test_global_pooling_arguments(case: Case) -> None:
    assert_same_as_keras(*case)


# ----------------------------------------------------------------------------- random combinations
@st.composite
def random_pooling(draw: st.DrawFn) -> Case:
    rank = draw(st.sampled_from((1, 2, 3)))
    mode = draw(st.sampled_from(("Max", "Average", "GlobalMax", "GlobalAverage")))
    args: dict[str, Any] = {}
    wrong_length = [2] * (rank % 3 + 1)
    if mode in ("Max", "Average"):
        if mode == "Average" or draw(st.booleans()):
            if rarely(draw):
                args["pool_size"] = draw(st.sampled_from((0, wrong_length, None)))
            else:
                sizes = st.integers(1, 4)
                args["pool_size"] = draw(sizes | st.lists(sizes, min_size=rank, max_size=rank))
        if draw(st.booleans()):
            if rarely(draw):
                args["strides"] = draw(st.sampled_from((0, [0] * rank, wrong_length)))
            else:
                steps = st.integers(1, 4)
                args["strides"] = draw(st.none() | steps | st.lists(steps, min_size=rank, max_size=rank))
        if draw(st.booleans()):
            args["padding"] = (
                draw(st.sampled_from(("SAME", "causal")))
                if rarely(draw)
                else draw(st.sampled_from(("valid", "same")))
            )
    elif draw(st.booleans()):
        args["keepdims"] = draw(st.booleans())
    data_format = draw(st.sampled_from((None, "channels_last", "channels_first", "CHANNELS_FIRST")))
    if data_format is not None:
        args["data_format"] = data_format
    in_rank = rank + draw(st.sampled_from((1, -1))) if rarely(draw) else rank
    length = st.integers(0, 2) if rarely(draw) else st.integers(3, 14)
    spatial = tuple(draw(st.lists(st.none() | length, min_size=in_rank, max_size=in_rank)))
    channels = draw(st.none() | st.integers(1, 5))
    batch = draw(st.sampled_from((None, 1, 3)))
    if data_format in ("channels_first", "CHANNELS_FIRST"):
        shape: Shape = (batch, channels, *spatial)
    else:
        shape = (batch, *spatial, channels)
    return f"{mode}Pooling{rank}D", args, [shape]


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@settings(max_examples=1000, deadline=None, derandomize=True)
@given(random_pooling())
def test_random_pooling(case: Case) -> None:
    assert_same_as_keras(*case)
