"""Convolution layers against Keras: Conv and ConvTranspose in every rank
(Depthwise and Separable: test_layers_depthwise_separable.py; the random test draws all four).

Each case builds the layer in real Keras and in shapecalc (tests/layer_check.py); numbers
asserted directly are derived by hand in the test.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import keras
from spatial_check import (
    Case,
    Shape,
    assert_same_as_keras,
    batch_shape,
    case_id,
    per_axis,
    rarely,
    shapecalc_call,
    tuple_arg,
)

from shapecalc.errors import ArgError, ShapeError


# ----------------------------------------------------------------------------- hand-derived numbers
def test_conv2d_mnist_by_hand() -> None:
    layer, out = shapecalc_call("Conv2D", {"filters": 32, "kernel_size": 3}, (None, 28, 28, 1))
    assert out == (None, 26, 26, 32)  # 28 - 3 + 1
    assert layer.count_params() == (3 * 3 * 1 * 32 + 32, 0)
    assert [str(step) for step in layer.explain((None, 28, 28, 1))] == [
        "height: floor((28 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 26",
        "width: floor((28 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 26",
        "channels: filters = 32",
    ]


def test_conv1d_groups_lora_by_hand() -> None:
    args = {"filters": 6, "kernel_size": 5, "groups": 3, "lora_rank": 2, "padding": "causal"}
    layer, out = shapecalc_call("Conv1D", args, (None, 10, 9))
    assert out == (None, 10, 6)
    # kernel (5, 9/3, 6) = 90 frozen; bias 6; lora_kernel_a (5, 3, 2) = 30; lora_kernel_b (2, 6) = 12
    assert layer.count_params() == (6 + 30 + 12, 90)
    # causal: (5-1)*1 = 4 zeros before the steps, then a valid convolution: 10 + 4 - 4 - 1 + 1
    assert [str(step) for step in layer.explain((None, 10, 9))] == [
        "steps: floor((10 + 4 - 1*(5-1) - 1) / 1) + 1 = 10 "
        "(causal: 1*(5-1) = 4 zeros before the sequence, none after)",
        "channels: filters = 6",
    ]


def test_conv_transpose_by_hand() -> None:
    args = {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"}
    layer, out = shapecalc_call("Conv2DTranspose", args, (None, 3, 5, None))
    assert out == (None, 4, 10, None)
    assert layer.count_params() == (3 * 3 * 4 * 3 + 4, 0)
    # same padding without output_padding: Keras's length is n * stride
    steps = layer.explain((None, 3, 5, None))
    assert [(s.axis, s.formula, s.result) for s in steps] == [
        ("height", "5 * 2", 10),
        ("width", "None * 2", None),
        ("channels", "filters", 4),
    ]


def test_error_messages_state_the_rule() -> None:
    with pytest.raises(ShapeError, match=r"floor\(\(4 \+ 2\*0 - 1\*\(5-1\) - 1\) / 1\) \+ 1 = 0"):
        shapecalc_call("Conv1D", {"filters": 2, "kernel_size": 5}, (None, 4, 3))
    with pytest.raises(ArgError, match="filters must be divisible by groups: 4 % 3 = 1") as err:
        shapecalc_call("Conv2D", {"filters": 4, "kernel_size": 3, "groups": 3}, (None, 8, 8, 3))
    assert err.value.argument == "groups"
    with pytest.raises(ArgError) as err:
        shapecalc_call(
            "Conv2DTranspose", {"filters": 4, "kernel_size": 3, "output_padding": 1}, (None, 8, 8, 3)
        )
    assert err.value.argument == "output_padding"
    with pytest.raises(ShapeError, match="channel axis"):
        shapecalc_call("Conv3D", {"filters": 4, "kernel_size": 1}, (None, 8, 8, 8, None))


def test_shared_layer_second_call() -> None:
    """A built Conv2D accepts another spatial size but refuses another channel count, as in Keras."""
    keras.backend.clear_session()
    k_layer = keras.layers.Conv2D(4, 3)
    k_layer(keras.Input(batch_shape=(None, 8, 8, 3)))
    assert k_layer(keras.Input(batch_shape=(None, 6, 9, 3))).shape == (None, 4, 7, 4)
    with pytest.raises(ValueError):
        k_layer(keras.Input(batch_shape=(None, 8, 8, 5)))
    layer, _ = shapecalc_call("Conv2D", {"filters": 4, "kernel_size": 3}, (None, 8, 8, 3))
    assert layer.again((None, 6, 9, 3)) == (None, 4, 7, 4)
    with pytest.raises(ShapeError):
        layer.again((None, 8, 8, 5))


# ----------------------------------------------------------------------------- Conv1D/2D/3D grid
SPATIAL = {1: [(9,), (None,), (4,)], 2: [(9, 7), (None, 6), (3, 11)], 3: [(6, 5, 7), (5, None, 4)]}
STRIDE_DILATION = [(1, 1), (2, 1), (3, 1), (1, 2), ("mixed", 1), (1, "mixed")]


def conv_grid() -> list[Case]:
    cases = []
    for rank, data_format in itertools.product((1, 2, 3), ("channels_last", "channels_first")):
        paddings = ["valid", "same", "causal"] if rank == 1 else ["valid", "same"]
        kernels = [3, [2, 3, 1][:rank]] if rank > 1 else [3, 1, [5]]
        for padding, (s, d), kernel, spatial in itertools.product(
            paddings, STRIDE_DILATION, kernels, SPATIAL[rank]
        ):
            args = {
                "filters": 4,
                "kernel_size": kernel,
                "strides": per_axis(s, rank, [2, 1, 3]),
                "dilation_rate": per_axis(d, rank, [1, 2, 3]),
                "padding": padding,
                "data_format": data_format,
            }
            cases.append((f"Conv{rank}D", args, [batch_shape(spatial, 6, data_format)]))
    return cases


@pytest.mark.parametrize("case", conv_grid(), ids=case_id)
def test_conv_grid(case: Case) -> None:
    assert_same_as_keras(*case)


CONV_ARGUMENT_CASES: list[Case] = [
    # groups
    ("Conv2D", {"filters": 6, "kernel_size": 3, "groups": 3}, [(None, 8, 8, 9)]),
    ("Conv2D", {"filters": 6, "kernel_size": 3, "groups": 6}, [(None, 8, 8, 6)]),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "groups": 2, "data_format": "channels_first"}, [(2, 6, 9)]),
    ("Conv3D", {"filters": 8, "kernel_size": 2, "groups": 4, "use_bias": False}, [(None, 4, 4, 4, 8)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "groups": 3}, [(None, 8, 8, 6)]),  # filters % groups
    ("Conv2D", {"filters": 4, "kernel_size": 3, "groups": 2}, [(None, 8, 8, 5)]),  # C % groups
    (
        "Conv2D",
        {"filters": 4, "kernel_size": 3, "groups": 2, "data_format": "channels_first"},
        [(None, 5, 8, 8)],
    ),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "groups": 0}, [(None, 8, 8, 4)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "groups": 2.0}, [(None, 8, 8, 4)]),
    # bias, activation, initializers, regularizers, constraints, dtype, trainable, name
    ("Conv2D", {"filters": 4, "kernel_size": 3, "use_bias": False, "activation": "relu"}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "activation": "nope"}, [(None, 8, 8, 3)]),
    (
        "Conv2D",
        {
            "filters": 4,
            "kernel_size": 3,
            "kernel_initializer": "he_normal",
            "bias_initializer": "ones",
            "kernel_regularizer": "l2",
            "bias_regularizer": {"class_name": "L1", "config": {"l1": 0.1}},
            "activity_regularizer": "l1",
            "kernel_constraint": "max_norm",
            "bias_constraint": "non_neg",
        },
        [(None, 8, 8, 3)],
    ),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "kernel_initializer": "glorot"}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "dtype": "mixed_float16", "name": "c"}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "trainable": False}, [(None, 8, 8, 3)]),
    # LoRA
    ("Conv2D", {"filters": 4, "kernel_size": 3, "lora_rank": 2}, [(None, 8, 8, 3)]),
    (
        "Conv2D",
        {"filters": 4, "kernel_size": 3, "lora_rank": 2, "lora_alpha": 8, "use_bias": False},
        [(None, 8, 8, 3)],
    ),
    (
        "Conv1D",
        {"filters": 4, "kernel_size": 3, "lora_rank": 3, "groups": 2, "trainable": False},
        [(None, 8, 6)],
    ),
    (
        "Conv3D",
        {"filters": 4, "kernel_size": 2, "lora_rank": 1, "dtype": "mixed_float16"},
        [(None, 4, 4, 4, 2)],
    ),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "lora_rank": 0}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "lora_rank": -1}, [(None, 8, 8, 3)]),
    (
        "Conv2D",
        {"filters": 4, "kernel_size": 3, "lora_rank": 2, "kernel_constraint": "unit_norm"},
        [(None, 8, 8, 3)],
    ),
    # case-insensitive padding and data_format
    ("Conv2D", {"filters": 4, "kernel_size": 3, "padding": "SAME"}, [(None, 8, 8, 3)]),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "Causal", "strides": 2}, [(None, 9, 3)]),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "data_format": "Channels_First"}, [(None, 3, 9)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "data_format": None}, [(None, 8, 8, 3)]),
    # refusals at construction
    ("Conv2D", {"filters": 4, "kernel_size": 3, "padding": "causal"}, [(None, 8, 8, 3)]),
    ("Conv3D", {"filters": 4, "kernel_size": 3, "padding": "causal"}, [(None, 8, 8, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "padding": "full"}, [(None, 8, 8, 3)]),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": [[1, 1]]}, [(None, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "data_format": "nchw"}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 0, "kernel_size": 3}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": -2, "kernel_size": 3}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 4.0, "kernel_size": 3}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": None, "kernel_size": 3}, [(None, 8, 8, 3)]),
    ("Conv2D", {"kernel_size": 3}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 4}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 0}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": [3, 0]}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": [3, 3, 3]}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": [3.0, 3]}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": "3"}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "strides": 0}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "strides": [1, -1]}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "dilation_rate": 0}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, [(None, 8, 8, 3)]),
    (
        "Conv2D",
        {"filters": 4, "kernel_size": 3, "strides": [2, 1], "dilation_rate": [1, 2]},
        [(None, 8, 8, 3)],
    ),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "filter": 4}, [(None, 8, 8, 3)]),
    # refusals at call: rank, unknown channels, too-short input
    ("Conv2D", {"filters": 4, "kernel_size": 3}, [(None, 8, 8)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3}, [(None, 8, 8, 3, 3)]),
    ("Conv1D", {"filters": 4, "kernel_size": 3}, [(None, 8, 3, 3)]),
    ("Conv1D", {"filters": 4, "kernel_size": 3}, [(None, 8, None)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, [(None, None, 8, 8)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, [(None, 3, None, None)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3}, [(None, 2, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3}, [(None, 8, 3, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "dilation_rate": 4}, [(None, 9, 9, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "dilation_rate": 4}, [(None, 8, 8, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 5, "padding": "same"}, [(None, 2, 1, 3)]),
    ("Conv1D", {"filters": 4, "kernel_size": 5, "padding": "causal"}, [(None, 1, 3)]),
    # 0-long axes: only valid padding refuses
    ("Conv1D", {"filters": 4, "kernel_size": 3}, [(None, 0, 3)]),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "same"}, [(None, 0, 3)]),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal", "strides": 2}, [(None, 0, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 1}, [(3, 0, 5, 2)]),
    # batch sizes
    ("Conv3D", {"filters": 4, "kernel_size": [1, 2, 3]}, [(7, 5, 5, 5, 3)]),
    ("Conv1D", {"filters": 4, "kernel_size": 3}, [(1, 100, 1)]),
]


@pytest.mark.parametrize("case", CONV_ARGUMENT_CASES, ids=case_id)
def test_conv_arguments(case: Case) -> None:
    assert_same_as_keras(*case)


# ----------------------------------------------------------------------------- transposed grid
def conv_transpose_grid() -> list[Case]:
    cases = []
    strides_padding = [(1, None), (1, 0), (2, None), (2, 0), (2, 1), (3, 2), ("mixed", "mixed")]
    for rank, data_format in itertools.product((1, 2, 3), ("channels_last", "channels_first")):
        kernels = [3, 2, [4, 1, 3][:rank]]
        for padding, (s, op), kernel, spatial in itertools.product(
            ("valid", "same"), strides_padding, kernels, SPATIAL[rank]
        ):
            args: dict[str, Any] = {
                "filters": 5,
                "kernel_size": kernel,
                "strides": per_axis(s, rank, [3, 1, 2]),
                "padding": padding,
                "data_format": data_format,
            }
            if op is not None:
                args["output_padding"] = per_axis(op, rank, [2, 0, 1])
            cases.append((f"Conv{rank}DTranspose", args, [batch_shape(spatial, 3, data_format)]))
    return cases


@pytest.mark.parametrize("case", conv_transpose_grid(), ids=case_id)
def test_conv_transpose_grid(case: Case) -> None:
    assert_same_as_keras(*case)


CONV_TRANSPOSE_CASES: list[Case] = [
    # dilation (only with stride 1), with and without output_padding
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 3, "dilation_rate": 2}, [(None, 5, 3)]),
    (
        "Conv1DTranspose",
        {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "padding": "same"},
        [(None, 5, 3)],
    ),
    (
        "Conv1DTranspose",
        {"filters": 4, "kernel_size": 4, "dilation_rate": 3, "padding": "same", "output_padding": 0},
        [(None, 5, 3)],
    ),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": [2, 3], "dilation_rate": [1, 3], "output_padding": 0},
        [(None, 5, 6, 3)],
    ),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "dilation_rate": [2, 1, 3]}, [(None, 3, 4, 5, 2)]),
    # output_padding refusals and its argument form
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 3, "output_padding": 1}, [(None, 5, 3)]),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "strides": [2, 3], "output_padding": [1, 3]},
        [(None, 5, 5, 3)],
    ),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "strides": 2, "output_padding": -1},
        [(None, 5, 5, 3)],
    ),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "strides": 2, "output_padding": [1]},
        [(None, 5, 5, 3)],
    ),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "strides": 2, "output_padding": None},
        [(None, 5, 5, 3)],
    ),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
        [(None, 5, 5, 3)],
    ),
    # arguments Conv has and the transposed layers do not
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 3, "groups": 1}, [(None, 5, 3)]),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 3, "lora_rank": 1}, [(None, 5, 3)]),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 3, "padding": "causal"}, [(None, 5, 3)]),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "padding": "Same", "strides": 2}, [(None, 5, 5, 3)]),
    ("Conv2DTranspose", {"filters": 0, "kernel_size": 3}, [(None, 5, 5, 3)]),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 0}, [(None, 5, 5, 3)]),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 0}, [(None, 5, 5, 3)]),
    # everything else about weights
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "use_bias": False, "trainable": False},
        [(None, 5, 5, 3)],
    ),
    (
        "Conv3DTranspose",
        {
            "filters": 4,
            "kernel_size": 3,
            "kernel_regularizer": "l1l2",
            "bias_constraint": "max_norm",
            "kernel_initializer": "orthogonal",
            "dtype": "float64",
            "activation": "tanh",
        },
        [(None, 2, 2, 2, 3)],
    ),
    # input refusals
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 3}, [(None, 5, None)]),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "data_format": "channels_first"},
        [(None, None, 5, 5)],
    ),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 3}, [(None, 5, 3, 3)]),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3}, [(None, 5, 3)]),
    # 0-long axes: Keras refuses only a negative result
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 3}, [(None, 0, 3)]),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 1, "strides": 3}, [(None, 0, 3)]),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 1, "strides": 3, "output_padding": 0}, [(None, 0, 3)]),
    (
        "Conv1DTranspose",
        {"filters": 4, "kernel_size": 3, "padding": "same", "output_padding": 0},
        [(None, 0, 3)],
    ),
    (
        "Conv1DTranspose",
        {"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same", "output_padding": 0},
        [(None, 0, 3)],
    ),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same"}, [(None, 0, 3)]),
]


@pytest.mark.parametrize("case", CONV_TRANSPOSE_CASES, ids=case_id)
def test_conv_transpose_arguments(case: Case) -> None:
    assert_same_as_keras(*case)


# ----------------------------------------------------------------------------- random combinations
@st.composite
def random_conv(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(("Conv", "Transpose", "Depthwise", "Separable")))
    rank = draw(st.sampled_from((1, 2) if kind in ("Depthwise", "Separable") else (1, 2, 3)))
    type_name = {
        "Conv": f"Conv{rank}D",
        "Transpose": f"Conv{rank}DTranspose",
        "Depthwise": f"DepthwiseConv{rank}D",
        "Separable": f"SeparableConv{rank}D",
    }[kind]
    wrong_length = [2] * (rank % 3 + 1)
    args: dict[str, Any] = {"kernel_size": tuple_arg(draw, rank, 1, 5, (0, -1, wrong_length, [0] * rank))}
    if kind != "Depthwise":
        args["filters"] = (
            draw(st.sampled_from((0, -3))) if rarely(draw) else draw(st.sampled_from((1, 2, 4, 6)))
        )
    strided = draw(st.booleans())
    if strided:
        args["strides"] = tuple_arg(draw, rank, 1, 3, (0, wrong_length))
    # Conv and Transpose refuse strides > 1 with dilation > 1; Depthwise/Separable do not.
    if (not strided or kind in ("Depthwise", "Separable") or rarely(draw)) and draw(st.booleans()):
        args["dilation_rate"] = tuple_arg(draw, rank, 1, 3, (0, wrong_length))
    paddings = ["valid", "same", "SAME", "Valid"] + (["causal"] if kind == "Conv" and rank == 1 else [])
    args["padding"] = (
        draw(st.sampled_from(("causal", "full"))) if rarely(draw) else draw(st.sampled_from(paddings))
    )
    data_format = draw(st.sampled_from((None, "channels_last", "channels_first", "CHANNELS_FIRST")))
    if data_format is not None:
        args["data_format"] = data_format
    if kind == "Conv" and draw(st.booleans()):
        args["groups"] = draw(st.sampled_from((1, 2, 3, 0)))
    if kind == "Conv" and rarely(draw):
        args["lora_rank"] = draw(st.integers(0, 3))
    if kind == "Transpose" and draw(st.booleans()):
        args["output_padding"] = tuple_arg(draw, rank, 0, 2, (-1, wrong_length))
    if kind in ("Depthwise", "Separable") and draw(st.booleans()):
        args["depth_multiplier"] = 0 if rarely(draw) else draw(st.integers(1, 3))
    if draw(st.integers(0, 3)) == 0:
        args["use_bias"] = False
    in_rank = rank + draw(st.sampled_from((1, -1))) if rarely(draw) else rank
    length = st.integers(0, 2) if rarely(draw) else st.integers(3, 14)
    spatial = tuple(draw(st.lists(st.none() | length, min_size=in_rank, max_size=in_rank)))
    channels = None if rarely(draw) else draw(st.sampled_from((1, 2, 3, 4, 6)))
    batch = draw(st.sampled_from((None, 1, 3)))
    if data_format in ("channels_first", "CHANNELS_FIRST"):
        shape: Shape = (batch, channels, *spatial)
    else:
        shape = (batch, *spatial, channels)
    return type_name, args, [shape]


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(random_conv())
def test_random_convolutions(case: Case) -> None:
    assert_same_as_keras(*case)
