"""Regularization layers against Keras: identity shapes, no weights, and Keras's argument checks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_check import assert_same_as_keras

RATES = [0, 0.0, 0.5, 1, 1.0, True, False, -0.1, 1.5, "0.5", None, [0.5], float("nan")]
SEEDS = [None, 0, 7, True, 2**32 - 1, 2**32, -1, 3.0, "s", [1]]


@pytest.mark.parametrize("layer", ["Dropout", "AlphaDropout", "GaussianDropout", "SpatialDropout1D"])
@pytest.mark.parametrize("rate", RATES)
def test_rates(layer: str, rate: Any) -> None:
    shape = (None, 4, 3)
    assert_same_as_keras(layer, {"rate": rate}, [shape])


@pytest.mark.parametrize("stddev", RATES)
def test_gaussian_noise_stddev(stddev: Any) -> None:
    assert_same_as_keras("GaussianNoise", {"stddev": stddev}, [(None, 4, 3)])


@pytest.mark.parametrize(
    "layer", ["Dropout", "AlphaDropout", "GaussianDropout", "GaussianNoise", "SpatialDropout2D"]
)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rate", [0, 0.3])
def test_seed(layer: str, seed: Any, rate: float) -> None:
    # The seed is checked by Keras's SeedGenerator, which exists only when the rate is positive.
    key = "stddev" if layer == "GaussianNoise" else "rate"
    assert_same_as_keras(layer, {key: rate, "seed": seed}, [(None, 4, 5, 3)])


NOISE_SHAPES = [
    None,
    [None, 1, 3],
    [1],
    [],
    [None],
    [0],
    [-1],
    [2.0],
    ["1"],
    [True],
    [False],
    3,
    "13",
    {"a": 1},
    (None, 1),
    [[1]],
]


@pytest.mark.parametrize("layer", ["Dropout", "AlphaDropout"])
@pytest.mark.parametrize("noise_shape", NOISE_SHAPES)
def test_noise_shape(layer: str, noise_shape: Any) -> None:
    # Dropout validates noise_shape's entries (not its length); AlphaDropout does not look at it.
    assert_same_as_keras(layer, {"rate": 0.5, "noise_shape": noise_shape}, [(None, 4, 3)])


SHAPES = [(None, 3), (None,), (), (2, None, 5), (None, 4, 5, 3), (None, 2, 3, 4, 5), (1, 2, 3, 4, 5, 6)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("layer", "args"),
    [
        ("Dropout", {"rate": 0.5}),
        ("AlphaDropout", {"rate": 0.5}),
        ("GaussianDropout", {"rate": 0.5}),
        ("GaussianNoise", {"stddev": 0.1}),
        ("ActivityRegularization", {}),
        ("SpatialDropout1D", {"rate": 0.5}),
        ("SpatialDropout2D", {"rate": 0.5}),
        ("SpatialDropout2D", {"rate": 0.5, "data_format": "channels_first"}),
        ("SpatialDropout3D", {"rate": 0.5}),
        ("SpatialDropout3D", {"rate": 0.5, "data_format": "channels_first"}),
    ],
)
def test_identity_shapes(layer: str, args: dict[str, Any], shape: tuple) -> None:
    assert_same_as_keras(layer, args, [shape])


@pytest.mark.parametrize("l1", [0, 0.01, 2, True, None, -0.1, float("inf"), "0.1", [0.1]])
@pytest.mark.parametrize("which", ["l1", "l2"])
def test_activity_regularization(which: str, l1: Any) -> None:
    assert_same_as_keras("ActivityRegularization", {which: l1}, [(None, 3)])


@pytest.mark.parametrize(
    ("layer", "args"),
    [
        ("ActivityRegularization", {"activity_regularizer": "l2"}),
        ("ActivityRegularization", {"trainable": False, "name": "reg"}),
        ("Dropout", {"rate": 0.5, "trainable": False}),
        ("Dropout", {"rate": 0.5, "activity_regularizer": "l1"}),
        ("Dropout", {"rate": 0.5, "dtype": "float16"}),
        ("Dropout", {"rate": 0.5, "input_shape": [3]}),
        ("Dropout", {"rate": 0.5, "data_format": "channels_last"}),
        ("Dropout", {}),
        ("Dropout", {"noise_shape": [1]}),
        ("AlphaDropout", {}),
        ("GaussianNoise", {}),
        ("GaussianNoise", {"rate": 0.5}),
        ("GaussianDropout", {"rate": 0.5, "noise_shape": [1]}),
        ("SpatialDropout1D", {"rate": 0.5, "trainable": False}),
        ("SpatialDropout1D", {"rate": 0.5, "autocast": False}),
        ("SpatialDropout1D", {"rate": 0.5, "input_shape": [4, 3]}),
        ("SpatialDropout1D", {"rate": 0.5, "activity_regularizer": "l2"}),
        ("SpatialDropout1D", {"rate": 0.5, "data_format": "channels_last"}),
        ("SpatialDropout1D", {"rate": 0.5, "name": "sd", "dtype": "float64"}),
        ("SpatialDropout1D", {"rate": 0.5, "noise_shape": [1]}),
        ("SpatialDropout2D", {"rate": 0.5, "data_format": "CHANNELS_FIRST"}),
        ("SpatialDropout2D", {"rate": 0.5, "data_format": "nhwc"}),
        ("SpatialDropout2D", {"rate": 0.5, "data_format": None}),
        ("SpatialDropout2D", {"rate": 0.5, "trainable": True}),
        ("SpatialDropout3D", {"rate": 2}),
    ],
)
def test_arguments(layer: str, args: dict[str, Any]) -> None:
    rank = {"SpatialDropout1D": 3, "SpatialDropout2D": 4, "SpatialDropout3D": 5}.get(layer, 3)
    assert_same_as_keras(layer, args, [(None, *range(2, rank + 1))])


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    layer=st.sampled_from(
        [
            "Dropout",
            "AlphaDropout",
            "GaussianDropout",
            "GaussianNoise",
            "SpatialDropout1D",
            "SpatialDropout2D",
            "SpatialDropout3D",
            "ActivityRegularization",
        ]
    ),
    rate=st.sampled_from([0, 0.2, 1, 1.2, -1, True]),
    seed=st.sampled_from([None, 1, -1, 2.5]),
    data_format=st.sampled_from([None, "channels_first"]),
    shape=st.lists(st.sampled_from([None, 1, 3]), min_size=0, max_size=6).map(tuple),
)
def test_property(layer: str, rate: Any, seed: Any, data_format: Any, shape: tuple) -> None:
    args: dict[str, Any] = {}
    if layer == "ActivityRegularization":
        args["l1"] = rate
    else:
        args["stddev" if layer == "GaussianNoise" else "rate"] = rate
        if seed is not None:
            args["seed"] = seed
    if data_format is not None and layer in ("SpatialDropout2D", "SpatialDropout3D"):
        args["data_format"] = data_format
    assert_same_as_keras(layer, args, [shape])
