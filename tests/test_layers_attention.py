"""MultiHeadAttention, GroupQueryAttention, Attention and AdditiveAttention against Keras."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_check import assert_same_as_keras, call_layer
from oracle import keras

from shapecalc.layers import create_layer
from shapecalc.layers.factory import Namer

Q, V = (None, 5, 16), (None, 7, 16)
MHA = {"num_heads": 2, "key_dim": 4}


def mha(args: dict, shapes: list) -> Any:
    return assert_same_as_keras("MultiHeadAttention", {**MHA, **args}, shapes)


# ----------------------------------------------------------------------------- MultiHeadAttention
@pytest.mark.parametrize(
    "shapes",
    [
        [Q, V],
        [Q, Q],
        [Q, V, (None, 7, 8)],
        [(None, None, 16), (None, None, 16)],
        [(2, 5, 16), (3, 7, 16)],
        [(None, 5, 12), (None, 7, 20), (None, 7, 6)],
        [Q, V, (None, 6, 8)],  # key and value lengths differ
        [Q, V, (None, None, 8)],  # None vs 7 counts as different
        [Q, (None, None, 16), (None, None, 8)],
        [Q, (None, 7, 16), (2, 7, 8)],  # batch axes are not compared
        [Q, V, (None, 7, 3, 8)],
        [(None, 16), (None, 16)],
        [(None, 16), V],
        [Q, (None, 16)],
        [(None,), V],
        [Q, (None,)],
        [(), V],
        [Q, ()],
        [(None, 5, None), V],
        [Q, (None, 7, None)],
        [Q, V, (None, 7, None)],
        [(None, 2, 5, 16), (None, 2, 7, 16)],
        [(None, 2, 5, 16), (None, 3, 7, 16)],
        [(None, 2, 3, 5, 16), (None, 2, 3, 7, 16)],
        [(None, 5, 16), (None, 2, 3, 7, 16)],
        [(None, 2, 3, 5, 16), (None, 7, 16)],
        [Q],
        [Q, V, V, (None, 5)],
        [Q, V, V, (2, 3, 4, 5)],
        [Q, V, V, (), (), ()],
        [Q, V, V, (), (), (), ()],
        [Q, V, V, (), (), (), (), ()],  # the 8th positional is return_attention_scores
        [Q, V, V, (), (), (), (), (), ()],
    ],
)
def test_mha_shapes(shapes: list) -> None:
    mha({}, shapes)


@pytest.mark.parametrize(
    "args",
    [
        {"num_heads": 1, "key_dim": 1},
        {"num_heads": 8, "key_dim": 64},
        {"value_dim": 3},
        {"value_dim": None},
        {"value_dim": True},
        {"value_dim": 0},
        {"value_dim": False},
        {"value_dim": 2.0},
        {"num_heads": True},
        {"num_heads": 0},
        {"num_heads": -1},
        {"num_heads": 2.0},
        {"num_heads": "2"},
        {"key_dim": 0},
        {"key_dim": 2.0},
        {"key_dim": None},
        {"use_bias": False},
        {"use_bias": "x"},
        {"use_bias": []},
        {"use_bias": 0},
        {"use_gate": True},
        {"use_gate": True, "value_dim": 3},
        {"use_gate": True, "use_bias": False},
        {"use_gate": "x"},
        {"dropout": 0.5},
        {"dropout": 1},
        {"dropout": True},
        {"dropout": 1.5},
        {"dropout": -0.1},
        {"dropout": "0.1"},
        {"dropout": None},
        {"dropout": [0.1]},
        {"dropout": 0.1, "seed": 3},
        {"dropout": 0.1, "seed": True},
        {"dropout": 0.1, "seed": 1.5},
        {"dropout": 0.1, "seed": "1"},
        {"dropout": 0.0, "seed": "1"},
        {"flash_attention": True},
        {"flash_attention": True, "dropout": 0.1},
        {"flash_attention": "x", "dropout": 0.0},
        {"flash_attention": False, "dropout": 0.1},
        {"sliding_window": 3},
        {"sliding_window": True},
        {"sliding_window": 0},
        {"sliding_window": 2.0},
        {"sliding_window": -1},
        {"kernel_initializer": "he_normal", "bias_initializer": "ones"},
        {"kernel_initializer": {"class_name": "RandomNormal", "config": {"stddev": 0.1}}},
        {"kernel_initializer": "nope"},
        {"kernel_regularizer": "l2", "bias_regularizer": "l1", "activity_regularizer": "l2"},
        {"kernel_constraint": "non_neg", "bias_constraint": "max_norm"},
        {"bias_constraint": "maxnorm"},
        {"trainable": False},
        {"dtype": "float16"},
        {"dtype": "mixed_bfloat16"},
        {"name": "attn"},
        {"units": 4},
        {"return_attention_scores": True},
    ],
)
def test_mha_arguments(args: dict) -> None:
    mha(args, [Q, V])


@pytest.mark.parametrize(
    "output_shape",
    [
        8,
        [8],
        (3, 5),
        [2, 0],
        [3, 2, 2],
        True,
        [True],
        0,
        False,
        None,
        "",
        [],
        {},
        {3: 1},
        "ab",
        2.0,
        [2.0],
        [None],
        [None, 5],
        [-1],
        [[2]],
    ],
)
@pytest.mark.parametrize("shapes", [[Q, V], [(None, 2, 5, 16), (None, 2, 7, 16)], [(None, 16), (None, 16)]])
def test_mha_output_shape(output_shape: Any, shapes: list) -> None:
    mha({"output_shape": output_shape}, shapes)


@pytest.mark.parametrize(
    "axes",
    [
        None,
        1,
        -1,
        0,
        2,
        3,
        4,
        5,
        -5,
        -6,
        -7,
        [1],
        [2],
        [1, 2],
        [2, 1],
        [1, 1],
        [-2],
        [-9],
        [-10],
        [9],
        [],
        "",
        {},
        [1.0],
        [True],
        False,
        "ab",
        (1, 2),
        [None],
        ["1"],
        1.0,
        0.0,
        {1: 1},
    ],
)
@pytest.mark.parametrize(
    "shapes", [[Q, V], [(None, 2, 5, 16), (None, 2, 7, 16)], [(None, 16), (None, 3, 4, 16)]]
)
def test_mha_attention_axes(axes: Any, shapes: list) -> None:
    mha({"attention_axes": axes}, shapes)


def test_mha_too_many_axes_for_the_letters() -> None:
    """Keras names the attention einsum's axes a-z: a 14-axis value runs out with default axes."""
    for rank in (13, 14):
        mha({}, [(None, 16), (None, *([1] * (rank - 2)), 16)])
    mha({"attention_axes": [1]}, [(None, 16), (None, *([1] * 12), 16)])


# ----------------------------------------------------------------------------- GroupQueryAttention
GQA = {"head_dim": 4, "num_query_heads": 4, "num_key_value_heads": 2}


def gqa(args: dict, shapes: list) -> Any:
    # keras.layers exports only this name; the layer is auto-named after its class GroupedQueryAttention
    return assert_same_as_keras("GroupQueryAttention", {**GQA, **args}, shapes)


@pytest.mark.parametrize(
    "shapes",
    [
        [Q, V],
        [Q, V, (None, 7, 8)],
        [Q, (None, 7, 8)],
        [Q, V, (None, 6, 16)],
        [Q, (None, None, 16)],
        [Q, V, (None, None, 8)],
        [(None, 5, 3, 16), V],  # rank-4 query: Keras reads the kernel off axis 2
        [Q, (None, 7, 3, 16)],
        [Q, (None, 7, 3, 16), (None, 7, 3, 2)],
        [(None, 16), (None, 16)],
        [(None, 5, None), (None, 7, None)],
        [(None, 5, 16), (None, 7, None)],
        [(), ()],
        [(None,), (None,)],
        [Q],
        [Q, V, V, (None, 5), (), (), ()],
        [Q, V, V, (), (), (), (), ()],
    ],
)
def test_gqa_shapes(shapes: list) -> None:
    gqa({}, shapes)


@pytest.mark.parametrize(
    "args",
    [
        {"num_query_heads": 3},
        {"num_query_heads": 6, "num_key_value_heads": 3},
        {"num_query_heads": 2, "num_key_value_heads": 2},
        {"num_query_heads": 0},
        {"num_key_value_heads": 0},
        {"num_query_heads": -2},
        {"num_query_heads": 4.0, "num_key_value_heads": 2.0},
        {"num_query_heads": "4"},
        {"num_query_heads": True, "num_key_value_heads": True},
        {"head_dim": 0},
        {"head_dim": -1},
        {"head_dim": "4"},
        {"head_dim": 2.0},
        {"head_dim": True},
        {"use_gate": True},
        {"use_gate": True, "use_bias": False},
        {"use_bias": False},
        {"use_bias": []},
        {"dropout": 0.3},
        {"dropout": 2},
        {"dropout": "x"},
        {"dropout": 0.1, "seed": 1.5},
        {"dropout": 0.1, "flash_attention": True},
        {"sliding_window": 3},
        {"sliding_window": -3},
        {"trainable": False},
        {"dtype": "float16"},
        {"kernel_initializer": "zeros", "kernel_constraint": "non_neg"},
        {"key_dim": 4},
        {"attention_axes": 1},
        {"output_shape": 8},
        {"name": "gqa"},
    ],
)
def test_gqa_arguments(args: dict) -> None:
    gqa(args, [Q, V])


# ----------------------------------------------------------------------------- Attention, AdditiveAttention
ATTENTION_SHAPES = [
    [Q, V],
    [Q, V, V],
    [Q, V, (None, 7, 3)],
    [Q, (None, 7, 8)],
    [(None, 16), (None, 8)],
    [(3, 5, 16), (4, 7, 8, 9)],
    [(None, None, None), (None, None, None)],
    [(None, 5, None), V],
    [(), (None, 8)],
    [Q, ()],
    [(None,), (None,)],
    [Q],
    [Q, V, V, V],
]


@pytest.mark.parametrize("shapes", ATTENTION_SHAPES)
@pytest.mark.parametrize(
    "args", [{}, {"use_scale": True}, {"score_mode": "concat"}, {"score_mode": "concat", "use_scale": 1}]
)
def test_attention_shapes(args: dict, shapes: list) -> None:
    assert_same_as_keras("Attention", args, shapes)


@pytest.mark.parametrize(
    "args",
    [
        {"score_mode": "Dot"},
        {"score_mode": None},
        {"score_mode": ["dot"]},
        {"dropout": 0.1},
        {"dropout": 5},
        {"dropout": -1},
        {"dropout": True},
        {"dropout": "x"},
        {"dropout": None},
        {"dropout": [0.1]},
        {"dropout": 0.1, "seed": 1.5},
        {"dropout": 0.1, "seed": 7},
        {"dropout": 0.0, "seed": 1.5},
        {"use_scale": []},
        {"use_scale": [1]},
        {"use_scale": "yes"},
        {"use_scale": True, "dtype": "float16"},
        {"use_scale": True, "trainable": False},
        {"causal": True},
        {"name": "att"},
    ],
)
def test_attention_arguments(args: dict) -> None:
    assert_same_as_keras("Attention", args, [Q, V])


@pytest.mark.parametrize("shapes", ATTENTION_SHAPES)
@pytest.mark.parametrize("args", [{}, {"use_scale": False}])
def test_additive_attention_shapes(args: dict, shapes: list) -> None:
    assert_same_as_keras("AdditiveAttention", args, shapes)


@pytest.mark.parametrize(
    "args",
    [
        {"score_mode": "concat"},
        {"score_mode": "x"},
        {"seed": 1},
        {"dropout": 0.2},
        {"dropout": 0.1, "seed": "a"},
        {"dropout": "a"},
        {"use_scale": 0},
        {"use_scale": True, "dtype": "bfloat16"},
        {"trainable": False},
        {"causal": True},
    ],
)
def test_additive_attention_arguments(args: dict) -> None:
    assert_same_as_keras("AdditiveAttention", args, [Q, V])


# ----------------------------------------------------------------------------- shared layers
def test_later_calls_check_only_the_output_rule() -> None:
    """Keras checks a built attention layer's later calls with compute_output_shape alone."""
    namer = Namer()
    m = keras.layers.MultiHeadAttention(2, 4)
    m(keras.Input((5, 16)), keras.Input((7, 16)))
    ours, _ = call_layer(create_layer("MultiHeadAttention", MHA, namer), [(None, 5, 16), (None, 7, 16)])
    for call in ([(None, 5, 3), (None, 7, 8, 9, 9), (None, 7, 8, 9, 2)], [(None,), (None, 7, 8)]):
        assert ours.again(call) == tuple(m(*[keras.Input(batch_shape=s) for s in call]).shape)
    with pytest.raises(ValueError):
        m(keras.Input((5, 3)), keras.Input((7, 9)), keras.Input((8, 9)))
    with pytest.raises(Exception, match="same axes"):
        ours.again([(None, 5, 3), (None, 7, 9), (None, 8, 9)])

    a = keras.layers.AdditiveAttention()
    a([keras.Input((5, 16)), keras.Input((7, 16))])
    ours, _ = call_layer(create_layer("AdditiveAttention", {}, namer), [(None, 5, 16), (None, 7, 16)])
    assert ours.again([(None, 5, 8), (None, 7, 16)]) == tuple(
        a([keras.Input((5, 8)), keras.Input((7, 16))]).shape
    )


# ----------------------------------------------------------------------------- property tests
dims = st.sampled_from([None, 3, 1, 2, 5, 7, None])
known = st.integers(1, 6)


@st.composite
def mha_case(draw: st.DrawFn) -> tuple[dict, list]:
    args: dict[str, Any] = {"num_heads": draw(st.integers(1, 3)), "key_dim": draw(st.integers(1, 4))}
    if draw(st.booleans()):
        args["value_dim"] = draw(st.integers(1, 4))
    if draw(st.booleans()):
        args["use_bias"] = False
    if draw(st.integers(0, 3)) == 0:
        args["use_gate"] = True
    if draw(st.booleans()):
        args["output_shape"] = draw(st.one_of(known, st.lists(known, min_size=1, max_size=2)))
    if draw(st.booleans()):
        args["attention_axes"] = draw(st.one_of(st.integers(-6, 5), st.lists(st.integers(-6, 5), max_size=2)))
    q_rank = draw(st.sampled_from([3, 3, 3, 2, 4, 5, 1]))
    v_rank = draw(st.sampled_from([q_rank, q_rank, draw(st.integers(1, 5))]))
    feature = st.sampled_from([4, 2, 3, 6, 1, 5, 8, None])
    query = (draw(dims), *[draw(dims) for _ in range(q_rank - 2)], draw(feature))[-q_rank:]
    value = (draw(dims), *[draw(dims) for _ in range(v_rank - 2)], draw(feature))[-v_rank:]
    shapes = [query, value]
    if draw(st.booleans()):
        key = (
            (*value[:-1], draw(feature))
            if draw(st.integers(0, 4))
            else (None, *[draw(dims) for _ in value[1:]])
        )
        shapes.append(key)
    return args, shapes


@settings(max_examples=150, deadline=None, derandomize=True)
@given(mha_case())
def test_mha_property(case: tuple[dict, list]) -> None:
    args, shapes = case
    assert_same_as_keras("MultiHeadAttention", args, shapes)


@st.composite
def gqa_case(draw: st.DrawFn) -> tuple[dict, list]:
    kv = draw(st.integers(1, 3))
    args = {
        "head_dim": draw(st.integers(1, 4)),
        "num_key_value_heads": kv,
        "num_query_heads": kv * draw(st.integers(0, 3)) + (draw(st.integers(0, 5)) == 0 and kv > 1),
        "use_bias": draw(st.booleans()),
        "use_gate": draw(st.booleans()),
    }
    feature = draw(st.sampled_from([4, 2, 3, 6, 1, 5, 8, None]))
    rank = st.sampled_from([3, 3, 3, 3, 2, 4])
    query = (*tuple(draw(dims) for _ in range(draw(rank) - 1)), feature)
    v_feature = feature if draw(st.integers(0, 4)) else draw(known)
    value = (*tuple(draw(dims) for _ in range(draw(rank) - 1)), v_feature)
    shapes = [query, value]
    if draw(st.booleans()):
        shapes.append((*value[:-1], draw(known)))
    return args, shapes


@settings(max_examples=80, deadline=None, derandomize=True)
@given(gqa_case())
def test_gqa_property(case: tuple[dict, list]) -> None:
    args, shapes = case
    assert_same_as_keras("GroupQueryAttention", args, shapes)


@st.composite
def dot_attention_case(draw: st.DrawFn) -> tuple[str, dict, list]:
    type_name = draw(st.sampled_from(["Attention", "AdditiveAttention"]))
    args: dict[str, Any] = {"use_scale": draw(st.booleans())}
    if type_name == "Attention" and draw(st.booleans()):
        args["score_mode"] = "concat"
    count = draw(st.sampled_from([2, 2, 3, 3, 1, 4]))
    shapes = [tuple(draw(st.lists(dims, min_size=0, max_size=4))) for _ in range(count)]
    return type_name, args, shapes


@settings(max_examples=60, deadline=None, derandomize=True)
@given(dot_attention_case())
def test_dot_attention_property(case: tuple[str, dict, list]) -> None:
    assert_same_as_keras(*case)


# ----------------------------------------------------------------------------- in a model
SPECS = [
    {
        "inputs": {"q": [5, 16], "v": [7, 16]},
        "layers": [
            {"MultiHeadAttention": {"name": "mha", "num_heads": 2, "key_dim": 4, "inputs": ["q", "v"]}},
            {
                "MultiHeadAttention": {
                    "name": "self",
                    "num_heads": 1,
                    "key_dim": 3,
                    "output_shape": 6,
                    "inputs": ["mha", "mha"],
                }
            },
            {"Attention": {"use_scale": True, "inputs": ["self", "v"]}},
            {"AdditiveAttention": {"inputs": ["q", "v", "v"]}},
            {"EinsumDense": {"equation": "abc,cd->abd", "output_shape": [None, 4], "bias_axes": "d"}},
        ],
        "outputs": ["attention", "einsum_dense"],
    },
    {
        "input": [3, 5, 8],
        "layers": [
            {"EinsumDense": {"equation": "...c,cd->...d", "output_shape": 4}},
            {"EinsumDense": {"equation": "abcd,de->abce", "output_shape": [None, None, 2], "lora_rank": 2}},
        ],
    },
    {
        "inputs": {"a": [5, 16], "b": [9, 16]},
        "layers": [
            {"MultiHeadAttention": {"name": "shared", "num_heads": 2, "key_dim": 4, "inputs": ["a", "b"]}},
            {"Reuse": {"layer": "shared", "inputs": ["b", "a"], "name": "again"}},
            {"Add": {"inputs": ["shared", "a"]}},
        ],
        "outputs": ["add", "again"],
    },
    {
        "inputs": {"q": [5, 16], "v": [7, 16], "k": [7, 8]},
        "layers": [
            {
                "GroupQueryAttention": {
                    "name": "g",
                    "head_dim": 4,
                    "num_query_heads": 4,
                    "num_key_value_heads": 2,
                    "inputs": ["q", "v", "k"],
                }
            },
            {
                "GroupQueryAttention": {
                    "head_dim": 2,
                    "num_query_heads": 2,
                    "num_key_value_heads": 1,
                    "use_gate": True,
                    "inputs": ["g", "v"],
                }
            },
        ],
    },
]


@pytest.mark.parametrize("spec", SPECS)
def test_attention_in_models(spec: dict) -> None:
    from model_check import assert_model_same_as_keras

    assert_model_same_as_keras(spec)
