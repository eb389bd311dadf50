"""Activation layers (and Masking, Identity) against Keras: shapes, PReLU's alpha, every refusal."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_check import assert_same_as_keras, shapecalc_call
from oracle import keras

SHAPES = [(None, 3), (2, 5, 7), (None, None, None, 4), (None,), (), (4,)]
NAN = float("nan")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "type_name, args",
    [
        ("Activation", {"activation": "relu"}),
        ("Activation", {"activation": "softmax"}),
        ("Activation", {"activation": None}),
        ("ReLU", {}),
        ("ReLU", {"max_value": 6}),
        ("LeakyReLU", {}),
        ("ELU", {}),
        ("Softmax", {}),
        ("Softmax", {"axis": 1}),
        ("Masking", {}),
        ("Identity", {}),
    ],
)
def test_shape_keeping(type_name: str, args: dict[str, Any], shape: tuple) -> None:
    assert_same_as_keras(type_name, args, [shape])


@pytest.mark.parametrize(
    "type_name, args",
    [
        ("Activation", {}),
        ("Activation", {"activation": "gelu"}),
        ("Activation", {"activation": "Relu"}),
        ("Activation", {"activation": "relu", "name": "act"}),
        ("Activation", {"activation": "relu", "units": 3}),
        ("ReLU", {"max_value": None}),
        ("ReLU", {"max_value": 0}),
        ("ReLU", {"max_value": -1}),
        ("ReLU", {"max_value": -0.5}),
        ("ReLU", {"max_value": "6"}),
        ("ReLU", {"max_value": [6]}),
        ("ReLU", {"max_value": {}}),
        ("ReLU", {"max_value": NAN}),
        ("ReLU", {"max_value": True}),
        ("ReLU", {"negative_slope": 0.1}),
        ("ReLU", {"negative_slope": None}),
        ("ReLU", {"negative_slope": -0.1}),
        ("ReLU", {"negative_slope": "0.1"}),
        ("ReLU", {"negative_slope": NAN}),
        ("ReLU", {"threshold": 1}),
        ("ReLU", {"threshold": True}),
        ("ReLU", {"threshold": None}),
        ("ReLU", {"threshold": -2}),
        ("ReLU", {"threshold": [1]}),
        ("ReLU", {"max_value": 6, "negative_slope": 0.2, "threshold": 0.5}),
        ("ReLU", {"alpha": 0.1}),
        ("LeakyReLU", {"negative_slope": 0.0}),
        ("LeakyReLU", {"negative_slope": 2}),
        ("LeakyReLU", {"negative_slope": -0.2}),
        ("LeakyReLU", {"negative_slope": None}),
        ("LeakyReLU", {"negative_slope": "a"}),
        ("LeakyReLU", {"negative_slope": NAN}),
        ("LeakyReLU", {"negative_slope": False}),
        ("LeakyReLU", {"alpha": 0.2}),
        ("LeakyReLU", {"alpha": -0.2}),
        ("LeakyReLU", {"alpha": None}),
        ("LeakyReLU", {"alpha": "x"}),
        ("LeakyReLU", {"alpha": 0.2, "negative_slope": 0.1}),
        ("LeakyReLU", {"alpha": 0.1, "negative_slope": -1}),
        ("LeakyReLU", {"alpha": -0.1, "negative_slope": 1}),
        ("LeakyReLU", {"slope": 0.1}),
        ("ELU", {"alpha": 0.5}),
        ("ELU", {"alpha": -3}),
        ("ELU", {"alpha": "x"}),
        ("ELU", {"alpha": None}),
        ("Softmax", {"axis": 5}),
        ("Softmax", {"axis": -7}),
        ("Softmax", {"axis": [0, 1]}),
        ("Softmax", {"axis": "a"}),
        ("Softmax", {"axes": 1}),
        ("Masking", {"mask_value": 1.5}),
        ("Masking", {"mask_value": "a"}),
        ("Masking", {"mask_value": None}),
        ("Masking", {"mask_value": [0, 0, 0]}),
        ("Masking", {"mask_value": {"config": {"a": 1}}}),
        ("Masking", {"mask_value": {"config": 1}}),
        ("Masking", {"mask_value": {"class_name": "x", "config": {}}}),
        ("Masking", {"mask_value": {"class_name": "x", "config": {"a": 1}}}),
        ("Masking", {"mask_value": {"class_name": "Dense", "config": {"units": 3}}}),
        ("Masking", {"mask_value": {"class_name": None, "config": {"a": 1}}}),
        (
            "Masking",
            {"mask_value": {"class_name": "__numpy__", "config": {"value": [1.0], "dtype": "float32"}}},
        ),
        (
            "Masking",
            {"mask_value": {"class_name": "__tensor__", "config": {"value": [1.0], "dtype": "float32"}}},
        ),
        ("Masking", {"mask_value": {"class_name": "__numpy__", "config": {"value": [1.0]}}}),
        ("Masking", {"mask_value": {"class_name": "__bytes__", "config": {"value": "ab"}}}),
        ("Masking", {"mask_value": {"class_name": "__tuple__", "config": {"value": [1]}}}),
        ("Masking", {"value": 0}),
        ("Identity", {"foo": 1}),
        ("Identity", {"name": "id", "trainable": False, "dtype": "float16"}),
    ],
)
def test_arguments(type_name: str, args: dict[str, Any]) -> None:
    assert_same_as_keras(type_name, args, [(None, 5, 3)])


PRELU_SHAPES = [
    (None, 3),
    (None, 4, 3),
    (2, 4, 3),
    (None, None, 3),
    (None, 4, None),
    (None, None, None, 3),
    (None, 8, 8, 3),
    (None, 3, 8, 8),
    (None, 2, 3, 4, 5),
    (None,),
    (5,),
    (),
    (None, 0),
]


@pytest.mark.parametrize("shape", PRELU_SHAPES)
@pytest.mark.parametrize(
    "shared",
    [
        None,
        [],
        1,
        2,
        3,
        [1],
        [2],
        [1, 2],
        [2, 3],
        [1, 2, 3],
        [3, 4],
        [0],
        [-1],
        [-2],
        [1, 1],
        [5],
        [4],
        True,
        False,
        0,
        -1,
    ],
)
def test_prelu_shared_axes(shared: Any, shape: tuple) -> None:
    args = {} if shared is None else {"shared_axes": shared}
    assert_same_as_keras("PReLU", args, [shape])


@pytest.mark.parametrize(
    "args",
    [
        {"shared_axes": "1"},
        {"shared_axes": 1.0},
        {"shared_axes": [1.0]},
        {"shared_axes": [[1]]},
        {"shared_axes": [None]},
        {"shared_axes": {}},
        {"shared_axes": ""},
        {"alpha_initializer": "zeros"},
        {"alpha_initializer": "ones"},
        {"alpha_initializer": "zero_s"},
        {"alpha_initializer": {"class_name": "Constant", "config": {"value": 0.25}}},
        {"alpha_regularizer": "l2"},
        {"alpha_regularizer": "l5"},
        {"alpha_constraint": "non_neg"},
        {"alpha_constraint": "nonneg"},
        {"trainable": False},
        {"trainable": False, "shared_axes": [1]},
        {"dtype": "float16"},
        {"dtype": "mixed_float16"},
        {"alpha": 0.1},
        {"shared_axis": [1]},
    ],
)
def test_prelu_arguments(args: dict[str, Any]) -> None:
    assert_same_as_keras("PReLU", args, [(None, 4, 3)])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    type_name=st.sampled_from(["ReLU", "LeakyReLU", "ELU", "Softmax", "Masking", "Identity", "Activation"]),
    value=st.sampled_from([None, 0, 1, 0.5, -1, -0.5, 6, True, "x", [1], NAN]),
    shape=st.lists(st.sampled_from([None, 1, 3]), min_size=0, max_size=4).map(tuple),
)
def test_activation_property(type_name: str, value: Any, shape: tuple) -> None:
    key = {
        "ReLU": "max_value",
        "LeakyReLU": "negative_slope",
        "ELU": "alpha",
        "Softmax": "axis",
        "Masking": "mask_value",
        "Identity": None,
        "Activation": "activation",
    }[type_name]
    if type_name == "Activation":
        value = value if value is None or isinstance(value, str) else "relu"
    args = {} if key is None else {key: value}
    assert_same_as_keras(type_name, args, [shape])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    shared=st.one_of(
        st.none(),
        st.integers(-3, 5),
        st.lists(st.integers(-3, 5), min_size=0, max_size=3),
    ),
    shape=st.lists(st.sampled_from([None, 1, 2, 5]), min_size=0, max_size=5).map(tuple),
    trainable=st.booleans(),
)
def test_prelu_property(shared: Any, shape: tuple, trainable: bool) -> None:
    args: dict[str, Any] = {"trainable": trainable}
    if shared is not None:
        args["shared_axes"] = shared
    assert_same_as_keras("PReLU", args, [shape])


def test_prelu_hand_derived() -> None:
    # Conv feature maps (8, 8, 16) sharing alpha across space: alpha (1, 1, 16) -> 16 params.
    facts = assert_same_as_keras("PReLU", {"shared_axes": [1, 2]}, [(None, 8, 8, 16)])
    assert (facts.output, facts.trainable, facts.non_trainable) == ((None, 8, 8, 16), 16, 0)
    assert facts.weights == {"p_re_lu/alpha": (1, 1, 16)}
    # No sharing: one alpha per feature, 8 * 8 * 16 = 1024.
    facts = assert_same_as_keras("PReLU", {}, [(None, 8, 8, 16)])
    assert facts.trainable == 1024


def test_shared_prelu_refuses_another_rank() -> None:
    # Keras pins InputSpec(ndim=3) after the first build; a rank-4 call is refused.
    layer, out = shapecalc_call("PReLU", {"shared_axes": [1, 2]}, (None, 4, 3))
    assert out == (None, 4, 3)
    with pytest.raises(Exception, match="rank 3"):
        layer.again((None, 4, 5, 3))
    prelu = keras.layers.PReLU(shared_axes=[1, 2])
    prelu(keras.Input(batch_shape=(None, 4, 3)))
    with pytest.raises(ValueError):
        prelu(keras.Input(batch_shape=(None, 4, 5, 3)))
