"""Pooling kernels against Keras: Max/AveragePooling1D/2D/3D with valid and same padding (the
average of a same-padded window divides by its real elements only), strides below, equal to
and above the pool, both data formats; GlobalMax/GlobalAveragePooling1D/2D/3D with keepdims;
and random combinations drawn by hypothesis."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_check import assert_kernel_matches_keras

from shapecalc.errors import ArgError, ShapeError
from shapecalc.kernels import pooling as pooling_kernels
from shapecalc.kernels.pooling import window_counts
from shapecalc.layers import create_layer, registry
from shapecalc.layers.factory import Namer

POOLING_LAYERS = [
    f"{kind}Pooling{rank}D" for kind in ("Max", "Average", "GlobalMax", "GlobalAverage") for rank in (1, 2, 3)
]


def data(shape: tuple[int, ...], seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_every_pooling_layer_has_a_kernel() -> None:
    assert all(registry.lookup(name).has_kernel() for name in POOLING_LAYERS)


def test_window_counts_by_hand() -> None:
    # length 5, pool 3, stride 2, same: out 3, total pad (3-1)*2+3-5 = 2 -> 1 before, 1 after;
    # windows [-1..1], [1..3], [3..5] hold 2, 3, 2 real elements.
    np.testing.assert_array_equal(window_counts((5,), (3,), (2,), "same")[..., 0], [2, 3, 2])
    # 2-D: the per-axis counts multiply; length 4, pool 2, stride 1: pad 0 before, 1 after.
    np.testing.assert_array_equal(
        window_counts((4, 5), (2, 3), (1, 2), "same")[..., 0], np.outer([2, 2, 2, 1], [2, 3, 2])
    )


POOL1D = [
    {"pool_size": 2},
    {"pool_size": 3},  # 10 steps: the last step is dropped
    {"pool_size": 3, "strides": 1},
    {"pool_size": 2, "strides": 3},  # stride > pool: elements skipped
    {"pool_size": 3, "padding": "same"},
    {"pool_size": 4, "strides": 1, "padding": "same"},  # even pool: the extra pad goes after
    {"pool_size": 3, "strides": 2, "padding": "same"},
    {"pool_size": 2, "strides": 4, "padding": "same"},
    {"pool_size": 1},
    {"pool_size": 10, "padding": "same", "strides": 1},  # windows mostly padding
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("args", POOL1D)
@pytest.mark.parametrize("kind", ["Max", "Average"])
def test_pooling1d(kind: str, args: dict[str, Any], data_format: str) -> None:
    shape = (2, 10, 3) if data_format == "channels_last" else (2, 3, 10)
    assert_kernel_matches_keras(f"{kind}Pooling1D", {**args, "data_format": data_format}, [data(shape)])


POOL2D = [
    {"pool_size": 2},
    {"pool_size": (2, 3)},
    {"pool_size": 3, "strides": 2},
    {"pool_size": (3, 2), "strides": (1, 3)},
    {"pool_size": 2, "padding": "same"},
    {"pool_size": 3, "strides": 1, "padding": "same"},
    {"pool_size": (2, 4), "strides": (3, 1), "padding": "same"},
    {"pool_size": (1, 2), "padding": "same"},
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("args", POOL2D)
@pytest.mark.parametrize("kind", ["Max", "Average"])
def test_pooling2d(kind: str, args: dict[str, Any], data_format: str) -> None:
    shape = (2, 7, 6, 3) if data_format == "channels_last" else (2, 3, 7, 6)
    assert_kernel_matches_keras(f"{kind}Pooling2D", {**args, "data_format": data_format}, [data(shape)])


POOL3D = [
    {"pool_size": 2},
    {"pool_size": (2, 1, 3), "strides": 1},
    {"pool_size": 2, "padding": "same"},
    {"pool_size": (3, 2, 2), "strides": (2, 1, 3), "padding": "same"},
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("args", POOL3D)
@pytest.mark.parametrize("kind", ["Max", "Average"])
def test_pooling3d(kind: str, args: dict[str, Any], data_format: str) -> None:
    shape = (2, 5, 4, 6, 2) if data_format == "channels_last" else (2, 2, 5, 4, 6)
    assert_kernel_matches_keras(f"{kind}Pooling3D", {**args, "data_format": data_format}, [data(shape)])


def test_max_pooling_of_negative_values_ignores_the_padding() -> None:
    # All inputs negative: a zero-padded max would give 0 at the borders; -inf padding does not.
    x = -np.abs(data((1, 5, 5, 2))) - 1.0
    out = assert_kernel_matches_keras("MaxPooling2D", {"pool_size": 3, "strides": 1, "padding": "same"}, [x])[
        0
    ]
    assert (out < 0).all()


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("kind", ["GlobalMax", "GlobalAverage"])
def test_global_pooling(kind: str, rank: int, data_format: str, keepdims: bool) -> None:
    spatial = (7, 5, 3)[:rank]
    shape = (2, *spatial, 4) if data_format == "channels_last" else (2, 4, *spatial)
    args = {"data_format": data_format, "keepdims": keepdims}
    assert_kernel_matches_keras(f"{kind}Pooling{rank}D", args, [data(shape)])


@st.composite
def pool_cases(draw: st.DrawFn) -> tuple[str, dict[str, Any], tuple[int, ...]]:
    rank = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["Max", "Average"]))
    spatial = tuple(draw(st.lists(st.integers(1, 8 if rank < 3 else 5), min_size=rank, max_size=rank)))
    args: dict[str, Any] = {
        "pool_size": tuple(draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)))
    }
    if draw(st.booleans()):
        args["strides"] = tuple(draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)))
    args["padding"] = draw(st.sampled_from(["valid", "same"]))
    data_format = draw(st.sampled_from(["channels_last", "channels_first"]))
    args["data_format"] = data_format
    channels = draw(st.integers(1, 3))
    batch = draw(st.integers(1, 2))
    shape = (batch, *spatial, channels) if data_format == "channels_last" else (batch, channels, *spatial)
    return f"{kind}Pooling{rank}D", args, shape


@settings(max_examples=100, deadline=None, derandomize=True)
@given(pool_cases())
def test_random_pooling(case: tuple[str, dict[str, Any], tuple[int, ...]]) -> None:
    type_name, args, shape = case
    try:
        create_layer(type_name, args, Namer()).infer(shape)
    except (ArgError, ShapeError):
        return  # refused (valid window larger than the input); the layer tests compare refusals
    assert_kernel_matches_keras(type_name, args, [data(shape)])


@pytest.mark.parametrize("lanes", [2, 3])
@pytest.mark.parametrize(
    "type_name, args",
    [
        ("MaxPooling2D", {"pool_size": 2}),
        ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}),
        ("MaxPooling1D", {"pool_size": 3, "strides": 1, "padding": "same"}),
    ],
)
def test_large_inputs_pooled_in_batch_parts(
    monkeypatch: pytest.MonkeyPatch, lanes: int, type_name: str, args: dict[str, Any]
) -> None:
    # Large inputs are split along the batch between threads; force that on a small one.
    monkeypatch.setattr(pooling_kernels, "PARALLEL_MIN_ELEMENTS", 1)
    monkeypatch.setattr(pooling_kernels.BLAS, "lanes", lambda: lanes)
    shape = (5, 7, 6, 3) if type_name.endswith("2D") else (4, 9, 2)
    assert_kernel_matches_keras(type_name, args, [data(shape)])
