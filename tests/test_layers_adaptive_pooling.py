"""Adaptive pooling against Keras: AdaptiveAverage/AdaptiveMaxPooling 1D/2D/3D.

Each comparison builds the layer in real Keras and in shapecalc (tests/layer_check.py); numbers
asserted directly are derived by hand in the test.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_check import assert_same_as_keras as _assert_same_as_keras
from layer_check import shapecalc_call

from shapecalc.errors import ArgError, ShapeError

Shape = tuple[int | None, ...]
Case = tuple[str, dict[str, Any], Shape]
TYPES = [f"Adaptive{mode}Pooling{rank}D" for mode in ("Average", "Max") for rank in (1, 2, 3)]


def assert_same_as_keras(type_name: str, args: dict[str, Any], shape: Shape) -> None:
    _assert_same_as_keras(type_name, args, [shape])


def case_id(case: Case) -> str:
    return f"{case[0]}-{case[1]}-{case[2]}"


# ----------------------------------------------------------------------------- hand-derived numbers
def test_adaptive_pooling_by_hand() -> None:
    layer, out = shapecalc_call("AdaptiveAveragePooling2D", {"output_size": [3, 4]}, (None, 17, 9, 5))
    assert out == (None, 3, 4, 5)  # the spatial axes become output_size, whatever their length
    assert layer.count_params() == (0, 0)
    _, out = shapecalc_call(
        "AdaptiveMaxPooling3D", {"output_size": 2, "data_format": "channels_first"}, (8, 5, 9, 9, 9)
    )
    assert out == (8, 5, 2, 2, 2)
    # no rank check: a rank-4 input to a 1D layer keeps axis 0 and the last axis only
    _, out = shapecalc_call("AdaptiveMaxPooling1D", {"output_size": 6}, (2, 7, 8, 3))
    assert out == (2, 6, 3)


def test_error_messages() -> None:
    with pytest.raises(ShapeError, match="needs rank >= 2, got rank 1"):
        shapecalc_call("AdaptiveMaxPooling2D", {"output_size": 2, "data_format": "channels_first"}, (5,))
    with pytest.raises(ArgError, match="a list of 2 integers") as err:
        shapecalc_call("AdaptiveMaxPooling2D", {"output_size": [1, 2, 3]}, (5, 8, 8, 3))
    assert err.value.argument == "output_size"
    with pytest.raises(ArgError, match="needs the argument 'output_size'"):
        shapecalc_call("AdaptiveAveragePooling1D", {}, (5, 8, 3))


# ----------------------------------------------------------------------------- grid
def grid() -> list[Case]:
    """Every type, data format, output size form and input rank (the layer's, one less, one more)."""
    cases = []
    for type_name, data_format in itertools.product(TYPES, (None, "channels_last", "channels_first")):
        rank = int(type_name[-2])
        sizes = (1, 4, 0, 20, [5, 0, 2][:rank], [None, 3, 1][:rank])
        for output_size, in_rank, channels in itertools.product(sizes, (rank, rank - 1, rank + 1), (3, None)):
            args: dict[str, Any] = {"output_size": output_size}
            if data_format is not None:
                args["data_format"] = data_format
            spatial = (7,) * in_rank
            shape = (
                (None, channels, *spatial) if data_format == "channels_first" else (None, *spatial, channels)
            )
            cases.append((type_name, args, shape))
    return cases


@pytest.mark.parametrize("case", grid(), ids=case_id)
def test_adaptive_pooling_grid(case: Case) -> None:
    assert_same_as_keras(*case)


OUTPUT_SIZES = [
    -1, 2.0, 2.5, "4", "ab", None, True, False, {"a": 1, "b": 2}, [], [2], [2, 3], [2, 3, 4],
    [None, None, None], [2, -1, 2], [2.0, 2, 2], ["2", 2, 2], [True, 2, None], (1, 2, 3)[:2],
]  # fmt: skip
DATA_FORMATS = [
    "channels_first", "channels_last", "CHANNELS_FIRST", "Channels_Last", "nchw", "", 0, False, 1,
    ["channels_last"], None,
]  # fmt: skip


def argument_cases() -> list[Case]:
    cases: list[Case] = []
    for type_name in TYPES:
        rank = int(type_name[-2])
        shape = (2, *(8,) * rank, 3)
        for size in OUTPUT_SIZES:
            cases.append((type_name, {"output_size": size}, shape))
        for data_format in DATA_FORMATS:
            cases.append((type_name, {"output_size": 2, "data_format": data_format}, shape))
        cases += [
            (type_name, {}, shape),
            (type_name, {"output_size": 3, "padding": "same"}, shape),
            (type_name, {"output_size": 3, "name": "ap", "dtype": "float16", "trainable": False}, shape),
            (type_name, {"output_size": 3}, ()),
            (type_name, {"output_size": 3}, (5,)),
            (type_name, {"output_size": 3}, (None, None)),
            (type_name, {"output_size": 3, "data_format": "channels_first"}, (5,)),
            (type_name, {"output_size": 3, "data_format": "channels_first"}, (5, 4)),
            (type_name, {"output_size": 3}, (1, 2, 3, 4, 5, 6, 7)),
        ]
    return cases


@pytest.mark.parametrize("case", argument_cases(), ids=case_id)
def test_adaptive_pooling_arguments(case: Case) -> None:
    assert_same_as_keras(*case)


# ----------------------------------------------------------------------------- random combinations
@st.composite
def random_adaptive(draw: st.DrawFn) -> Case:
    type_name = draw(st.sampled_from(TYPES))
    rank = int(type_name[-2])
    size = st.sampled_from([0, 1, 2, 5, 9, None, -1, 1.5])
    output_size = draw(
        st.one_of(
            size,
            st.lists(size, min_size=rank, max_size=rank),
            st.lists(size, min_size=0, max_size=4),
        )
    )
    args: dict[str, Any] = {"output_size": output_size}
    if draw(st.booleans()):
        args["data_format"] = draw(st.sampled_from(DATA_FORMATS))
    in_rank = draw(st.integers(0, 6))
    shape = tuple(draw(st.lists(st.sampled_from([None, 1, 3, 8]), min_size=in_rank, max_size=in_rank)))
    return type_name, args, shape


@settings(max_examples=600, deadline=None, derandomize=True)
@given(random_adaptive())
def test_random_adaptive_pooling(case: Case) -> None:
    assert_same_as_keras(*case)
