"""EinsumDense against Keras: equation forms, output_shape forms, bias_axes, LoRA, every refusal."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_check import assert_same_as_keras, shapecalc_call
from oracle import keras


def check(equation: Any, output_shape: Any, shape: tuple, **extra: Any) -> Any:
    return assert_same_as_keras(
        "EinsumDense", {"equation": equation, "output_shape": output_shape, **extra}, [shape]
    )


# ----------------------------------------------------------------------------- equation forms
CASES = [
    # Keras's docstring examples
    ("ab,bc->ac", 64, (None, 32), {"bias_axes": "c"}),
    ("abc,cd->abd", [None, 64], (None, 32, 128), {"bias_axes": "d"}),
    ("...x,xy->...y", 64, (None, 32, 128), {"bias_axes": "y"}),
    # leading ellipsis: the elided axes come out in reverse order (Keras inserts each at position 1)
    ("...c,cd->...d", 4, (None, 2, 3, 5), {}),
    ("...c,cd->...d", 4, (7, 2, 3, 6, 5), {"bias_axes": "d"}),
    ("...c,cd->...d", 4, (None, 5), {}),
    ("...c,cd->...d", 4, (5,), {}),
    ("...bc,cd->...bd", [None, 4], (None, 3, 5), {"bias_axes": "d"}),
    ("...bc,cd->...bd", [3, 4], (None, 2, 3, 5), {"bias_axes": "bd"}),
    ("...bc,cd->...bd", [2, 4], (None, 2, 3, 5), {}),
    ("...bc,cd->...bd", [3, 4], (None, 5), {}),  # fewer input axes than letters
    ("...abc,cd->...abd", [None, None, 4], (None, 5), {}),
    ("...b,bc->...c", 8, (), {}),
    # trailing ellipsis: needs two input letters; elided axes appended
    ("ab...,bc->ac...", 8, (None, 4, 5, 6), {"bias_axes": "c"}),
    ("ab...,bc->ac...", 8, (None, 4), {"bias_axes": "c"}),
    ("ab...,bc->ac...", 8, (None, 4, 5), {}),
    ("ab...,bcd->acd...", [8, 2], (None, 4, 5, 6), {"bias_axes": "cd"}),
    ("ab...,bcd->acd...", [8, 2], (None, 4, 5, 6), {"bias_axes": "d"}),
    ("ab...,bc->ac...", 8, (None,), {}),
    # no ellipsis, but the input has more axes: they are appended to the output anyway
    ("ab,bc->ac", 64, (None, 32, 128), {}),
    ("ab,bc->ac", 64, (None, 32, 128, 3), {"bias_axes": "c"}),
    ("ab,bc->ac", 64, (None,), {}),
    ("abc,cd->abd", [None, 64], (None, 32), {}),
    # output_shape longer or shorter than the output letters
    ("ab,bc->ac", [64, 3], (None, 32), {}),
    ("ab,bc->ac", [64, 3], (None, 32), {"bias_axes": "c"}),
    ("ab,bc->ac", [], (None, 32), {}),
    ("ab,b->a", [], (None, 32), {}),
    ("ab,b->a", 5, (None, 32), {}),
    ("ab,bc->ac", [None], (None, 32), {}),
    ("ab,bcd->acd", [4, None], (None, 32), {}),
    ("abc,cd->abd", [7, 64], (None, 7, 128), {}),
    ("abc,cd->abd", [8, 64], (None, 7, 128), {}),  # shared axis b: 7 vs 8
    ("abc,cd->abd", [7, 64], (None, None, 128), {}),  # None in the input vs 7 asked
    ("abc,cd->abd", [None, 64], (None, None, 128), {"bias_axes": "bd"}),
    ("abc,cd->abd", [None, 64], (None, 4, None), {}),  # the kernel needs the unknown size
    ("abc,cd->abd", [None, 64], (None, 4, 0), {}),
    ("abc,cd->abd", [None, 0], (None, 4, 3), {"bias_axes": "d"}),
    ("ab,ab->a", [], (None, 32), {}),  # a kernel axis taken from the batch axis
    ("ab,ab->a", [], (6, 32), {}),
    ("ab,ab->ab", [None], (6, 32), {"bias_axes": "b"}),
    ("abc,bc->ac", 7, (2, 3, 4), {}),
    ("abc,cb->acb", [3, 4], (2, 3, 4), {"bias_axes": "cb"}),
    ("abc,cde->abde", [None, 2, 3], (None, 6, 4), {"bias_axes": "de"}),
    ("abc,cde->abde", [None, 2, 3], (None, 6, 4), {"bias_axes": "e"}),
    ("abc,cde->abde", [None, 2, 3], (None, 6, 4), {"bias_axes": "be"}),
    ("abc,cde->abde", [None, 2, 3], (None, 6, 4), {"bias_axes": "db"}),
    ("abc,cde->abde", [None, 2, 3], (None, None, 4), {"bias_axes": "b"}),  # bias over an unknown axis
    ("abcd,cde->abe", [None, 3], (None, 5, 6, 7), {}),
    ("abcd,de->abce", [None, None, 3], (None, 5, 6, 7), {"bias_axes": "e"}),
    ("ABC,CD->ABD", [None, 3], (None, 5, 6), {"bias_axes": "D"}),
    ("aBc,cD->aBD", [None, 3], (None, 5, 6), {}),
    # duplicate letters: the last position of a letter wins
    ("aab,bc->ac", 4, (None, 3, 5), {}),
    ("aab,bc->ac", 4, (2, 3, 5), {}),
    ("abb,bc->ac", 4, (None, 3, 5), {}),
    ("ab,bc->acc", [4, 4], (None, 3), {"bias_axes": "c"}),
    ("...aab,bc->...ac", 4, (None, 3, 5), {}),
    ("...aab,bc->...ac", 4, (None, 5), {}),
    ("...aab,bc->...ac", 4, (3, 5), {}),
    # the match is anchored at the start only: trailing text is ignored
    ("ab,bc->ac...", 64, (None, 32), {}),
    ("ab,bc->ac junk", 64, (None, 32), {}),
    ("ab,bc->ac,xy", 64, (None, 32), {}),
    ("...ab,bc->...ac...", 64, (None, 3, 32), {}),
    ("0ab,bc->0ac", 64, (None, 3, 32), {}),  # a literal 0 reads as an ellipsis
    ("ab0,bc->ac0", 64, (None, 32, 3), {}),
    ("ab....,bc->ac...", 64, (None, 32, 3), {}),
]


@pytest.mark.parametrize(("equation", "output_shape", "shape", "extra"), CASES)
def test_einsum_forms(equation: str, output_shape: Any, shape: tuple, extra: dict) -> None:
    check(equation, output_shape, shape, **extra)


BAD_EQUATIONS = [
    "ab,bc",
    "ab->ac",
    "ab,bc-ac",
    "a...,bc->ac...",  # a trailing ellipsis needs two input letters
    "...ab,bc->ac",
    "ab,bc->...ac",
    "ab...,bc->ac",
    ",bc->ac",
    "ab,->ac",
    "ab,bc->",
    " ab,bc->ac",
    "ab ,bc->ac",
    "ab, bc->ac",
    "ab,bc -> ac",
    "ab,bc,cd->ad",
    "ab,bc->ad",  # d is in neither input nor kernel
    "ab,bcd->ac",  # kernel d is in neither input nor output
    "é,bc->ac",
    "a1,bc->ac",
    "",
    5,
    None,
    ["ab,bc->ac"],
]


@pytest.mark.parametrize("equation", BAD_EQUATIONS)
def test_einsum_bad_equations(equation: Any) -> None:
    check(equation, 4, (None, 3))


@pytest.mark.parametrize(
    "output_shape",
    [8, True, 0, [True, 2], [0], "", "7", [7.0], 7.0, [-1], -1, None, {3: 1}, {}, [[2]], [None, "a"], (8,)],
)
def test_einsum_output_shape_values(output_shape: Any) -> None:
    check("ab,bc->ac", output_shape, (None, 5))
    check("ab,b->a", output_shape, (None, 5))


@pytest.mark.parametrize(
    "bias_axes",
    [
        "c",
        "d",
        "cd",
        "dc",
        "ac",
        "a",
        "b",
        "x",
        "",
        ["c"],
        ["d", "c"],
        ["cd"],
        ["", "d"],
        [],
        [1],
        5,
        True,
        False,
        {"c": 1},
        ("c",),
    ],
)
def test_einsum_bias_axes(bias_axes: Any) -> None:
    check("abc,cd->abd", [None, 6], (None, 4, 5), bias_axes=bias_axes)


@pytest.mark.parametrize(
    "extra",
    [
        {"lora_rank": 2},
        {"lora_rank": 2, "bias_axes": "d"},
        {"lora_rank": 1, "lora_alpha": 8},
        {"lora_rank": 4, "lora_alpha": "anything"},
        {"lora_rank": 0},
        {"lora_rank": None},
        {"lora_rank": True},
        {"lora_rank": False},
        {"lora_rank": 0.0},
        {"lora_rank": -1},
        {"lora_rank": 2.0},
        {"lora_rank": "2"},
        {"lora_rank": [2]},
        {"lora_rank": 2, "kernel_constraint": "non_neg"},
        {"lora_rank": 0, "kernel_constraint": "non_neg"},
        {"lora_rank": 2, "trainable": False},
        {"lora_rank": 2, "dtype": "float16"},
        {"lora_rank": 2, "kernel_regularizer": "l2"},
        {"trainable": False},
        {"dtype": "bfloat16", "bias_axes": "d"},
        {"dtype": "mixed_float16"},
        {"activation": "relu"},
        {"activation": "relux"},
        {"kernel_initializer": "he_normal", "bias_initializer": "ones", "bias_axes": "d"},
        {"kernel_initializer": "nope"},
        {"bias_regularizer": "l1", "bias_constraint": "max_norm", "bias_axes": "d"},
        {"kernel_constraint": "unit_norm"},
        {"gptq_unpacked_column_size": 3},
        {"quantization_config": None},
        {"name": "proj"},
        {"units": 3},
        {"use_bias": True},
    ],
)
def test_einsum_other_arguments(extra: dict) -> None:
    check("abc,cd->abd", [None, 6], (None, 4, 5), **extra)


def test_einsum_missing_arguments() -> None:
    assert_same_as_keras("EinsumDense", {"equation": "ab,bc->ac"}, [(None, 3)])
    assert_same_as_keras("EinsumDense", {"output_shape": 3}, [(None, 3)])


def test_einsum_later_call_checks_rank_only() -> None:
    """Keras checks a built layer's later calls against InputSpec(ndim) and the shape rule only:
    a different last size is accepted (no einsum is run symbolically), a different rank is not."""
    layer = keras.layers.EinsumDense("ab,bc->ac", 8)
    layer(keras.Input((32,)))
    same_rank = tuple(layer(keras.Input((16,))).shape)
    with pytest.raises(ValueError):
        layer(keras.Input((3, 16)))
    ours, out = shapecalc_call("EinsumDense", {"equation": "ab,bc->ac", "output_shape": 8}, (None, 32))
    assert out == (None, 8)
    assert ours.again((None, 16)) == same_rank
    with pytest.raises(Exception, match="rank"):
        ours.again((None, 3, 16))
    assert [w.shape for w in ours.weights] == [(32, 8)]


# ----------------------------------------------------------------------------- property test
LETTERS = "abcdeA"


@st.composite
def einsum_case(draw: st.DrawFn) -> tuple[str, Any, tuple, dict]:
    """Mostly well-formed equations (output letters from input or kernel, a rank near the number of
    input letters, output_shape sized to the output letters), with some of every kind of misfit."""
    form = draw(st.sampled_from(["none", "none", "left", "right"]))
    inputs = draw(st.text(LETTERS, min_size=2 if form == "right" else 1, max_size=4))
    created = draw(st.text("xyz", max_size=2))
    stray = ["q"] if draw(st.integers(0, 9)) == 0 else []
    out_pool = sorted(set(inputs + created)) + stray
    outputs = "".join(draw(st.lists(st.sampled_from(out_pool), min_size=1, max_size=4)))
    stray = ["f"] if draw(st.integers(0, 9)) == 0 else []
    kernel = "".join(
        draw(st.lists(st.sampled_from(sorted(set(inputs + outputs)) + stray), min_size=1, max_size=2))
    )
    kernel += "".join(c for c in created if c in outputs)
    if form == "left":
        equation = f"...{inputs},{kernel}->...{outputs}"
    elif form == "right":
        equation = f"{inputs}...,{kernel}->{outputs}..."
    else:
        equation = f"{inputs},{kernel}->{outputs}"
    known = st.integers(1, 4)
    rare_none = st.one_of(known, known, known, known, st.none())
    rank = max(0, len(inputs) + draw(st.sampled_from([0, 0, 0, 1, 2, -1])))
    shape = tuple(draw(st.lists(rare_none, min_size=rank, max_size=rank)))

    def input_size(c: str) -> Any:
        # a kernel letter shared with the output takes its size from output_shape: mostly give
        # the input's size there (the last position of the letter, counted from the end for ...X)
        if c not in inputs:
            return draw(known)
        i = inputs.rindex(c) - (len(inputs) if form == "left" else 0)
        return shape[i] if -len(shape) <= i < len(shape) and draw(st.integers(0, 3)) else None

    if draw(st.integers(0, 4)) == 0:
        output_shape: Any = draw(
            st.one_of(st.integers(0, 4), st.lists(st.one_of(st.none(), known), max_size=4))
        )
    else:
        output_shape = [
            draw(rare_none)
            if c in created
            else input_size(c)
            if c in kernel
            else draw(st.one_of(st.none(), st.none(), st.none(), known))
            for c in outputs[1:]
        ]
    extra: dict[str, Any] = {}
    if draw(st.booleans()):
        axes = st.sampled_from(sorted(set(outputs)) + (["w"] if draw(st.integers(0, 9)) == 0 else []))
        extra["bias_axes"] = "".join(
            draw(st.lists(axes, min_size=draw(st.sampled_from([0, 1, 1, 1, 1])), max_size=2))
        )
    return equation, output_shape, shape, extra


@settings(max_examples=500, deadline=None, derandomize=True)
@given(einsum_case())
def test_einsum_property(case: tuple[str, Any, tuple, dict]) -> None:
    equation, output_shape, shape, extra = case
    check(equation, output_shape, shape, **extra)
