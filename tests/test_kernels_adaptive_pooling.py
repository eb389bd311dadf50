"""Adaptive pooling kernels against Keras: AdaptiveAverage/AdaptiveMaxPooling1D/2D/3D with output
lengths that divide the input, that do not (overlapping bins of two sizes), that exceed it
(samples read by several bins), of 1 (global pooling), both data formats, integer inputs, the
ranks Keras's op picks another form for, and random combinations drawn by hypothesis."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_check import assert_kernel_matches_keras
from oracle import keras, make_layer

from shapecalc.errors import CallFailure
from shapecalc.kernels.adaptive_pooling import bin_bounds
from shapecalc.layers import create_layer, registry
from shapecalc.layers.factory import Namer

LAYERS = [f"Adaptive{kind}Pooling{rank}D" for kind in ("Average", "Max") for rank in (1, 2, 3)]


def data(shape: tuple[int, ...], seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_every_adaptive_pooling_layer_has_a_kernel() -> None:
    assert all(registry.lookup(name).has_kernel() for name in LAYERS)


def test_bin_bounds_by_hand() -> None:
    # length 5 to 3 bins: [floor(0), ceil(5/3)) = [0, 2), [floor(5/3), ceil(10/3)) = [1, 4),
    # [floor(10/3), ceil(5)) = [3, 5).
    starts, ends = bin_bounds(5, 3)
    assert starts.tolist() == [0, 1, 3] and ends.tolist() == [2, 4, 5]
    # length 3 to 5 bins: each sample is read by one or two bins.
    starts, ends = bin_bounds(3, 5)
    assert starts.tolist() == [0, 0, 1, 1, 2] and ends.tolist() == [1, 2, 2, 3, 3]


def test_average_by_hand() -> None:
    layer = create_layer("AdaptiveAveragePooling1D", {"output_size": 3}, Namer())
    x = np.arange(5, dtype=np.float32).reshape(1, 5, 1)
    # bins [0, 2), [1, 4), [3, 5) of 0..4: means 0.5, 2, 3.5
    np.testing.assert_allclose(layer.forward(x, {})[0, :, 0], [0.5, 2.0, 3.5])


CASES_1D = [
    ((2, 8, 3), 4),  # divides: plain 2-wide windows
    ((2, 7, 3), 3),  # 7/3: bins of 3 and 4 samples
    ((2, 5, 2), 3),
    ((2, 10, 2), 4),
    ((2, 3, 2), 5),  # more bins than samples
    ((2, 1, 2), 4),
    ((2, 9, 2), 1),  # global
    ((2, 9, 2), 9),  # identity
    ((1, 13, 1), 6),
]


@pytest.mark.parametrize("kind", ["Average", "Max"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("shape", "size"), CASES_1D)
def test_1d(kind: str, data_format: str, shape: tuple[int, ...], size: int) -> None:
    if data_format == "channels_first":
        shape = (shape[0], shape[2], shape[1])
    assert_kernel_matches_keras(
        f"Adaptive{kind}Pooling1D", {"output_size": size, "data_format": data_format}, [data(shape)]
    )


CASES_2D = [
    ((2, 8, 8, 3), 4),
    ((2, 7, 9, 2), (3, 4)),
    ((2, 5, 6, 2), (7, 2)),
    ((1, 11, 4, 2), (1, 3)),
    ((2, 6, 6, 1), (6, 6)),
    ((2, 3, 10, 2), [2, 10]),
]


@pytest.mark.parametrize("kind", ["Average", "Max"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("shape", "size"), CASES_2D)
def test_2d(kind: str, data_format: str, shape: tuple[int, ...], size: Any) -> None:
    if data_format == "channels_first":
        shape = (shape[0], shape[3], shape[1], shape[2])
    assert_kernel_matches_keras(
        f"Adaptive{kind}Pooling2D", {"output_size": size, "data_format": data_format}, [data(shape)]
    )


CASES_3D = [
    ((2, 4, 6, 8, 2), 2),
    ((1, 5, 7, 3, 2), (2, 3, 4)),
    ((2, 3, 4, 5, 1), (1, 1, 1)),
    ((1, 6, 5, 4, 3), (4, 5, 6)),
]


@pytest.mark.parametrize("kind", ["Average", "Max"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("shape", "size"), CASES_3D)
def test_3d(kind: str, data_format: str, shape: tuple[int, ...], size: Any) -> None:
    if data_format == "channels_first":
        shape = (shape[0], shape[4], *shape[1:4])
    assert_kernel_matches_keras(
        f"Adaptive{kind}Pooling3D", {"output_size": size, "data_format": data_format}, [data(shape)]
    )


@pytest.mark.parametrize("kind", ["Average", "Max"])
def test_integer_input(kind: str) -> None:
    x = np.random.default_rng(0).integers(-50, 50, (2, 7, 5, 3)).astype("int32")
    got = assert_kernel_matches_keras(f"Adaptive{kind}Pooling2D", {"output_size": (3, 2)}, [x])
    # A max keeps the integers; a mean is float (float64 in Keras's numpy backend, float32 here).
    assert got[0].dtype == (np.int32 if kind == "Max" else np.float32)


@pytest.mark.parametrize("kind", ["Average", "Max"])
@pytest.mark.parametrize("rank", [2, 3])
def test_rank3_input_uses_the_first_length(kind: str, rank: int) -> None:
    # Keras's op chooses its form from the input's rank: a rank-3 input is pooled by the 1-D form
    # with the first output length, whatever the layer (the static shape says otherwise).
    sizes = [4, 2, 3][:rank]
    assert_kernel_matches_keras(f"Adaptive{kind}Pooling{rank}D", {"output_size": sizes}, [data((2, 9, 3))])


@pytest.mark.parametrize(
    ("type_name", "size", "shape"),
    [
        ("AdaptiveAveragePooling1D", 2, (2, 5, 6, 3)),  # 2-D form unpacks two lengths from one
        ("AdaptiveMaxPooling3D", 2, (2, 5, 6, 3)),  # three lengths into two
        ("AdaptiveMaxPooling2D", 2, (2, 4, 5, 6, 3)),
        ("AdaptiveAveragePooling1D", 0, (2, 5, 3)),  # division by zero
        ("AdaptiveMaxPooling1D", 2, (2, 0, 3)),  # max of nothing
    ],
)
def test_refused_like_keras(type_name: str, size: int, shape: tuple[int, ...]) -> None:
    x = data(shape)
    with pytest.raises(Exception):  # noqa: B017 - Keras raises ValueError or ZeroDivisionError
        make_layer(type_name, {"output_size": size})(x)
    keras.backend.clear_session(free_memory=False)
    layer = create_layer(type_name, {"output_size": size}, Namer())
    with pytest.raises(CallFailure):
        layer.forward(x, {})


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # Keras's numpy mean of an empty slice
def test_empty_axis_mean_is_nan_like_keras() -> None:
    x = data((2, 0, 3))
    want = np.asarray(make_layer("AdaptiveAveragePooling1D", {"output_size": 2})(x))
    got = create_layer("AdaptiveAveragePooling1D", {"output_size": 2}, Namer()).forward(x, {})
    assert got.shape == want.shape and np.isnan(want).all() and np.isnan(got).all()


@settings(max_examples=80, deadline=None, derandomize=True)
@given(
    kind=st.sampled_from(["Average", "Max"]),
    rank=st.integers(1, 3),
    lengths=st.lists(st.integers(1, 9), min_size=3, max_size=3),
    sizes=st.lists(st.integers(1, 10), min_size=3, max_size=3),
    channels=st.integers(1, 3),
    data_format=st.sampled_from(["channels_last", "channels_first"]),
    seed=st.integers(0, 1000),
)
def test_random_adaptive_pooling(
    kind: str, rank: int, lengths: list[int], sizes: list[int], channels: int, data_format: str, seed: int
) -> None:
    spatial = tuple(lengths[:rank])
    shape = (2, *spatial, channels) if data_format == "channels_last" else (2, channels, *spatial)
    assert_kernel_matches_keras(
        f"Adaptive{kind}Pooling{rank}D",
        {"output_size": sizes[:rank], "data_format": data_format},
        [data(shape, seed)],
    )
