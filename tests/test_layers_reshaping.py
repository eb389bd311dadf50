"""Reshaping layers against Keras: Flatten, UpSampling1D/2D/3D (and the padding/cropping family)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_check import assert_same_as_keras

DIMS = st.sampled_from([None, 1, 2, 3, 5])


# ----------------------------------------------------------------------------- Flatten
@pytest.mark.parametrize(
    "shape",
    [
        (None, 3),
        (None, 2, 3),
        (4, 2, 3, 5),
        (None, None, 3),
        (None, 3, None),
        (None,),
        (7,),
        (),
        (None, 0, 3),
        (None, 1, 1, 1, 1, 1),
        (2, None),
    ],
)
@pytest.mark.parametrize("data_format", [None, "channels_first", "channels_last", "Channels_First"])
def test_flatten(shape: tuple, data_format: Any) -> None:
    args = {} if data_format is None else {"data_format": data_format}
    assert_same_as_keras("Flatten", args, [shape])


@pytest.mark.parametrize(
    "args", [{"data_format": "nchw"}, {"data_format": 1}, {"dataformat": "x"}, {"trainable": 0}]
)
def test_flatten_refusals(args: dict[str, Any]) -> None:
    assert_same_as_keras("Flatten", args, [(None, 2, 3)])


def test_flatten_hand_derived() -> None:
    assert assert_same_as_keras("Flatten", {}, [(None, 4, 5, 6)]).output == (None, 120)
    assert assert_same_as_keras("Flatten", {}, [(None,)]).output == (None, 1)


# ----------------------------------------------------------------------------- UpSampling
@pytest.mark.parametrize("size", [None, 1, 2, 5, 0, -1, True, 2.0, "2", [2], (2,)])
@pytest.mark.parametrize("shape", [(None, 4, 3), (2, None, 3), (None, 4), (None, 4, 3, 2)])
def test_upsampling1d(size: Any, shape: tuple) -> None:
    args = {} if size is None else {"size": size}
    assert_same_as_keras("UpSampling1D", args, [shape])


SIZES_2D = [
    None,
    1,
    3,
    (2, 3),
    [1, 4],
    [True, 2],
    [2.0, 2],
    [2.5, 1],
    [2, 0],
    [0, 0],
    0,
    -2,
    [2],
    [1, 2, 3],
    "2",
    "22",
    ["2", 2],
    [None, 2],
    2.0,
    True,
    False,
    {"a": 1},
]


@pytest.mark.parametrize("size", SIZES_2D)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("shape", [(None, 4, 5, 3), (2, None, 5, 3), (None, None, None, None), (None, 4, 5)])
def test_upsampling2d(size: Any, data_format: str, shape: tuple) -> None:
    args: dict[str, Any] = {"data_format": data_format}
    if size is not None:
        args["size"] = size
    assert_same_as_keras("UpSampling2D", args, [shape])


@pytest.mark.parametrize(
    "interpolation",
    ["nearest", "bilinear", "BiCubic", "lanczos3", "lanczos5", "area", "bogus", None, 1, ["nearest"]],
)
def test_upsampling2d_interpolation(interpolation: Any) -> None:
    # Keras lowercases the string in __init__ and checks it only when resizing real data.
    assert_same_as_keras("UpSampling2D", {"interpolation": interpolation}, [(None, 4, 5, 3)])


SIZES_3D = [None, 1, 2, (1, 2, 3), [3, 1, 1], [2, 2], [1, 0, 1], [2.0, 1, 1], [True, True, 2], -1, "222"]


@pytest.mark.parametrize("size", SIZES_3D)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first", None])
@pytest.mark.parametrize("shape", [(None, 2, 3, 4, 5), (1, None, 3, None, 5), (None, 2, 3, 4)])
def test_upsampling3d(size: Any, data_format: Any, shape: tuple) -> None:
    args: dict[str, Any] = {} if data_format is None else {"data_format": data_format}
    if size is not None:
        args["size"] = size
    assert_same_as_keras("UpSampling3D", args, [shape])


def test_upsampling_hand_derived() -> None:
    assert assert_same_as_keras("UpSampling2D", {"size": [2, 3]}, [(None, 4, 5, 7)]).output == (
        None,
        8,
        15,
        7,
    )
    facts = assert_same_as_keras(
        "UpSampling3D", {"size": [1, 2, 3], "data_format": "channels_first"}, [(None, 7, 2, 3, 4)]
    )
    assert facts.output == (None, 7, 2, 6, 12)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    n=st.sampled_from([1, 2, 3]),
    size=st.one_of(st.integers(-1, 3), st.lists(st.integers(0, 3), min_size=1, max_size=4), st.just(1.5)),
    data_format=st.sampled_from(["channels_last", "channels_first"]),
    shape=st.lists(DIMS, min_size=2, max_size=6).map(tuple),
)
def test_upsampling_property(n: int, size: Any, data_format: str, shape: tuple) -> None:
    args: dict[str, Any] = {"size": size}
    if n > 1:
        args["data_format"] = data_format
    assert_same_as_keras(f"UpSampling{n}D", args, [shape])


# ----------------------------------------------------------------------------- ZeroPadding / Cropping
PADS_1D = [
    None,
    0,
    1,
    3,
    -1,
    True,
    [1, 2],
    [0, 0],
    [2, -1],
    [1.0, 1],
    [1.5, 0],
    [1],
    [1, 2, 3],
    "1",
    "12",
    1.0,
    {"a": 1},
    [None, 1],
]


@pytest.mark.parametrize("padding", PADS_1D)
@pytest.mark.parametrize("data_format", [None, "channels_first"])
@pytest.mark.parametrize("shape", [(None, 5, 3), (2, None, 3), (None, 5), (None, 0, 3)])
def test_zero_padding1d(padding: Any, data_format: Any, shape: tuple) -> None:
    args: dict[str, Any] = {} if padding is None else {"padding": padding}
    if data_format is not None:
        args["data_format"] = data_format
    assert_same_as_keras("ZeroPadding1D", args, [shape])


@pytest.mark.parametrize("cropping", [*PADS_1D, [2, 2], [3, 2], 2])
@pytest.mark.parametrize("shape", [(None, 5, 3), (2, None, 3), (None, 5, 3, 1), (None, 1, 3)])
def test_cropping1d(cropping: Any, shape: tuple) -> None:
    args: dict[str, Any] = {} if cropping is None else {"cropping": cropping}
    assert_same_as_keras("Cropping1D", args, [shape])


PAIRS_2D = [
    None,
    0,
    1,
    2,
    -1,
    -2,
    -3,
    True,
    [1, 2],
    [[1, 2], [0, 3]],
    [1, [2, 0]],
    [[1, 1]],
    [1, 2, 3],
    [[1, -1], 0],
    [[1.0, 1], 0],
    [[0.5, 0], 0],
    "12",
    1.5,
    [None, 1],
    {0: 1, 1: 2},
    {"a": 1, "b": 2},
    [[True, 1], False],
    [[2, 2], [1, 1]],
    [[1, 2, 3], 1],
]


@pytest.mark.parametrize("layer", ["ZeroPadding2D", "Cropping2D"])
@pytest.mark.parametrize("amount", PAIRS_2D)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("shape", [(None, 4, 5, 3), (None, None, 2, 3), (None, 3, 3)])
def test_padding_cropping_2d(layer: str, amount: Any, data_format: str, shape: tuple) -> None:
    key = "padding" if layer.startswith("Zero") else "cropping"
    args: dict[str, Any] = {"data_format": data_format}
    if amount is not None:
        args[key] = amount
    assert_same_as_keras(layer, args, [shape])


PAIRS_3D = [
    None,
    0,
    1,
    -1,
    2,
    [1, 2, 0],
    [[1, 1], [0, 2], 1],
    [1, 2],
    [[1, 1], [1, 1], [1, 1], [1, 1]],
    [1, 1, [0.5, 0.5]],
    [1, 1, -1],
    "123",
    True,
]


@pytest.mark.parametrize("layer", ["ZeroPadding3D", "Cropping3D"])
@pytest.mark.parametrize("amount", PAIRS_3D)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("shape", [(None, 4, 5, 6, 3), (None, 3, None, 2, 3), (None, 3, 3, 3)])
def test_padding_cropping_3d(layer: str, amount: Any, data_format: str, shape: tuple) -> None:
    key = "padding" if layer.startswith("Zero") else "cropping"
    args: dict[str, Any] = {"data_format": data_format}
    if amount is not None:
        args[key] = amount
    assert_same_as_keras(layer, args, [shape])


def test_padding_cropping_hand_derived() -> None:
    facts = assert_same_as_keras("ZeroPadding2D", {"padding": [[1, 2], [3, 4]]}, [(None, 10, 20, 3)])
    assert facts.output == (None, 13, 27, 3)
    facts = assert_same_as_keras("Cropping2D", {"cropping": [[1, 2], [3, 4]]}, [(None, 10, 20, 3)])
    assert facts.output == (None, 7, 13, 3)
    assert (
        assert_same_as_keras("Cropping1D", {"cropping": [2, 3]}, [(None, 5, 3)]).__class__.__name__
        == "Refusal"
    )


@settings(max_examples=80, deadline=None, derandomize=True)
@given(
    layer=st.sampled_from(
        ["ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D"]
    ),
    amount=st.one_of(
        st.integers(-2, 3),
        st.lists(st.integers(-1, 3), min_size=1, max_size=3),
        st.lists(st.lists(st.integers(0, 3), min_size=2, max_size=2), min_size=2, max_size=3),
    ),
    data_format=st.sampled_from(["channels_last", "channels_first"]),
    shape=st.lists(DIMS, min_size=3, max_size=5).map(tuple),
)
def test_padding_cropping_property(layer: str, amount: Any, data_format: str, shape: tuple) -> None:
    args: dict[str, Any] = {"padding" if layer.startswith("Zero") else "cropping": amount}
    if layer != "Cropping1D":
        args["data_format"] = data_format
    assert_same_as_keras(layer, args, [shape])


# ------------------------------------------------------------------------- Reshape, Permute, RepeatVector
TARGETS = [
    [6],
    [2, 3],
    [3, 2],
    [-1],
    [-1, 3],
    [3, -1],
    [2, -1, 1],
    [-1, 4],
    [4],
    [-1, -1],
    [-2, 3],
    [0, -1],
    [None, 3],
    [2.0, 3],
    [True, 6],
    [],
    "ab",
    6,
    None,
    [6, 1, 1],
    [1, -1, 1],
    (3, 2),
    [0],
]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    "shape", [(None, 2, 3), (4, 6), (None, None, 3), (None, 0, 3), (None,), (None, 1, 1), ()]
)
def test_reshape(target: Any, shape: tuple) -> None:
    assert_same_as_keras("Reshape", {"target_shape": target}, [shape])


def test_reshape_hand_derived() -> None:
    # 4*6 = 24 values; the -1 becomes 24 / (2*3) = 4.
    assert assert_same_as_keras("Reshape", {"target_shape": [2, -1, 3]}, [(None, 4, 6)]).output == (
        None,
        2,
        4,
        3,
    )
    assert assert_same_as_keras("Reshape", {"target_shape": [-1]}, [(None, None, 6)]).output == (None, None)


PERMS = [
    [1],
    [2, 1],
    [1, 2],
    [3, 1, 2],
    [2, 3, 1],
    [1, 3],
    [0, 1],
    [2, 2],
    [True],
    [2, True],
    [1.0],
    [],
    "12",
    2,
    None,
    [[1]],
    [3, 2, 1, 4],
]


@pytest.mark.parametrize("dims", PERMS)
@pytest.mark.parametrize("shape", [(None, 3), (None, 3, 4), (2, None, 4, 5), (None,)])
def test_permute(dims: Any, shape: tuple) -> None:
    assert_same_as_keras("Permute", {"dims": dims}, [shape])


@pytest.mark.parametrize("n", [1, 3, 0, -1, True, 2.0, "3", None, [2]])
@pytest.mark.parametrize("shape", [(None, 3), (4, None), (None, 3, 4), (None,)])
def test_repeat_vector(n: Any, shape: tuple) -> None:
    assert_same_as_keras("RepeatVector", {"n": n}, [shape])


def test_missing_required() -> None:
    for layer in ("Reshape", "Permute", "RepeatVector"):
        assert_same_as_keras(layer, {}, [(None, 3)])
