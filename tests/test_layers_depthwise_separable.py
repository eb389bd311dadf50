"""DepthwiseConv1D/2D and SeparableConv1D/2D against Keras (random cases: test_layers_convolutional.py).

Each case builds the layer in real Keras and in shapecalc (tests/layer_check.py); numbers
asserted directly are derived by hand in the test.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from spatial_check import Case, assert_same_as_keras, batch_shape, case_id, per_axis, shapecalc_call


def test_separable_by_hand() -> None:
    args = {"filters": 8, "kernel_size": 3, "depth_multiplier": 2}
    layer, out = shapecalc_call("SeparableConv2D", args, (None, 7, 7, 3))
    assert out == (None, 5, 5, 8)
    assert layer.count_params() == (3 * 3 * 3 * 2 + 1 * 1 * 6 * 8 + 8, 0)


# ----------------------------------------------------------------------------- grid
SPATIAL = {1: [(9,), (None,), (4,)], 2: [(9, 7), (None, 6), (3, 11)]}


def depthwise_separable_grid() -> list[Case]:
    cases = []
    for rank, data_format, kind in itertools.product(
        (1, 2), ("channels_last", "channels_first"), ("Depthwise", "Separable")
    ):
        for padding, (s, d), dm, spatial in itertools.product(
            ("valid", "same"), [(1, 1), (2, 1), (1, 2), (2, 2), ("mixed", "mixed")], (1, 3), SPATIAL[rank]
        ):
            args: dict[str, Any] = {
                "kernel_size": 3,
                "strides": per_axis(s, rank, [2, 1]),
                "dilation_rate": per_axis(d, rank, [1, 3]),
                "padding": padding,
                "data_format": data_format,
                "depth_multiplier": dm,
            }
            if kind == "Separable":
                args["filters"] = 7
            cases.append((f"{kind}Conv{rank}D", args, [batch_shape(spatial, 4, data_format)]))
    return cases


@pytest.mark.parametrize("case", depthwise_separable_grid(), ids=case_id)
def test_depthwise_separable_grid(case: Case) -> None:
    assert_same_as_keras(*case)


DEPTHWISE_SEPARABLE_CASES: list[Case] = [
    (
        "DepthwiseConv2D",
        {
            "kernel_size": 3,
            "use_bias": False,
            "depthwise_initializer": "he_uniform",
            "depthwise_regularizer": "l2",
            "depthwise_constraint": "non_neg",
        },
        [(None, 8, 8, 3)],
    ),
    (
        "SeparableConv2D",
        {
            "filters": 4,
            "kernel_size": 3,
            "use_bias": False,
            "pointwise_initializer": "zeros",
            "pointwise_regularizer": "l1",
            "pointwise_constraint": "unit_norm",
        },
        [(None, 8, 8, 3)],
    ),
    ("DepthwiseConv2D", {"kernel_size": 3, "kernel_initializer": "zeros"}, [(None, 8, 8, 3)]),
    ("SeparableConv1D", {"filters": 4, "kernel_size": 3, "groups": 1}, [(None, 8, 3)]),
    ("DepthwiseConv1D", {"kernel_size": 3, "padding": "causal"}, [(None, 8, 3)]),
    ("SeparableConv1D", {"filters": 4, "kernel_size": 3, "padding": "causal"}, [(None, 8, 3)]),
    ("DepthwiseConv2D", {"kernel_size": 3, "padding": "SAME"}, [(None, 8, 8, 3)]),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 0}, [(None, 8, 8, 3)]),
    ("SeparableConv2D", {"filters": 0, "kernel_size": 3}, [(None, 8, 8, 3)]),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3, "depth_multiplier": -1}, [(None, 8, 8, 3)]),
    ("SeparableConv2D", {"kernel_size": 3}, [(None, 8, 8, 3)]),
    ("DepthwiseConv2D", {"kernel_size": [3, 0]}, [(None, 8, 8, 3)]),
    ("DepthwiseConv2D", {"kernel_size": 3}, [(None, 8, 8, None)]),
    (
        "SeparableConv2D",
        {"filters": 4, "kernel_size": 3, "data_format": "channels_first"},
        [(None, None, 8, 8)],
    ),
    ("DepthwiseConv2D", {"kernel_size": 3}, [(None, 8, 8, 3, 3)]),
    ("SeparableConv1D", {"filters": 4, "kernel_size": 3}, [(None, 8)]),
    ("DepthwiseConv1D", {"kernel_size": 5}, [(None, 4, 3)]),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3, "dilation_rate": 3}, [(None, 7, 8, 3)]),
    ("DepthwiseConv1D", {"kernel_size": 3, "padding": "same"}, [(None, 0, 3)]),
    (
        "SeparableConv2D",
        {"filters": 4, "kernel_size": 3, "trainable": False, "dtype": "mixed_bfloat16"},
        [(4, 8, 8, 3)],
    ),
]


@pytest.mark.parametrize("case", DEPTHWISE_SEPARABLE_CASES, ids=case_id)
def test_depthwise_separable_arguments(case: Case) -> None:
    assert_same_as_keras(*case)
