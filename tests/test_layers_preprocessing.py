"""Preprocessing layers against Keras: Normalization's weights and given statistics, Rescaling,
Resizing and CenterCrop on every rank (Keras reads rank 3 as one unbatched image)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_check import assert_same_as_keras, shapecalc_call
from oracle import keras

NAN = float("nan")


# ----------------------------------------------------------------------------- Normalization
@pytest.mark.parametrize(
    "shape",
    [
        (None, 3),
        (None, None),
        (None, 3, 4),
        (2, 3, 4),
        (None, None, 4),
        (None, 3, None),
        (None, 1, 4),
        (None, 0, 4),
        (None,),
        (5,),
        (),
    ],
)
@pytest.mark.parametrize(
    "axis",
    [
        -1,
        0,
        1,
        2,
        3,
        -2,
        -3,
        -4,
        None,
        [],
        [1, 2],
        [2, 1],
        [-1, 1],
        [1, 1],
        [1, -2],
        [0, 1],
        [0, 1, 2],
        True,
        "",
        {},
    ],
)
def test_normalization_axis(axis: Any, shape: tuple) -> None:
    assert_same_as_keras("Normalization", {"axis": axis}, [shape])


MEANS = [
    0.5,
    True,
    [1.0],
    [1, 2, 3],
    [1, 2, 3, 4],
    [],
    [[1, 2, 3, 4]],
    [[1, 2, 3, 4]] * 3,
    [[1], [2], [3]],
    [[1, 2, 3]],
    [[]],
    [[[1]]],
]


@pytest.mark.parametrize("mean", MEANS)
@pytest.mark.parametrize("axis", [-1, 1, None, [1, 2], [2, 1], [0, 1], [1, 1], [-1, -2]])
@pytest.mark.parametrize("shape", [(None, 3, 4), (2, 3, 4), (None, 3, 1)])
def test_normalization_given_stats(mean: Any, axis: Any, shape: tuple) -> None:
    assert_same_as_keras("Normalization", {"axis": axis, "mean": mean, "variance": mean}, [shape])


@pytest.mark.parametrize(
    "args",
    [
        {"mean": 0.5},
        {"variance": 2.0},
        {"mean": None, "variance": None},
        {"mean": [1, 2, 3], "variance": [1, 2]},
        {"mean": [1, 2, 3, 4], "variance": [[1, 2, 3, 4]]},
        {"mean": 1, "variance": [1]},
        {"mean": [[1, 2], [1]], "variance": [[1, 2], [1]]},
        {"mean": [None], "variance": [None]},
        {"mean": ["1"], "variance": ["1"]},
        {"mean": 1, "variance": "1"},
        {"mean": "a", "variance": "b"},
        {"mean": {"a": 1}, "variance": {"a": 1}},
        {"mean": [1.5, NAN, 2, 3], "variance": [1, 2, 3, 4]},
        {"mean": [[1, 2], [3, 4]], "variance": [[1, 2], [3, 4]], "axis": [1, 1]},
        {"mean": [1, 2, 3], "variance": [1, 2, 3], "axis": 1, "invert": True},
        {"axis": 1.0},
        {"axis": [1.0]},
        {"axis": "1"},
        {"axis": "ab"},
        {"axis": [None]},
        {"axis": {1: "a"}},
        {"axis": [[1]]},
        {"invert": "x"},
        {"trainable": False},
        {"dtype": "float16"},
        {"dtype": "mixed_float16"},
        {"dtype": "float64", "axis": None},
        {"name": "norm"},
        {"epsilon": 1e-3},
    ],
)
def test_normalization_arguments(args: dict[str, Any]) -> None:
    assert_same_as_keras("Normalization", args, [(None, 3, 4)])


def test_normalization_hand_derived() -> None:
    # axis=-1 on (None, 3, 4): mean (4,), variance (4,), count () -> 2 * 4 + 1 = 9, all non-trainable.
    facts = assert_same_as_keras("Normalization", {}, [(None, 3, 4)])
    assert (facts.trainable, facts.non_trainable) == (0, 9)
    assert facts.weights == {
        "normalization/mean": (4,),
        "normalization/variance": (4,),
        "normalization/count": (),
    }


def test_normalization_count_is_int32() -> None:
    layer, _ = shapecalc_call("Normalization", {"dtype": "float16"}, (None, 3))
    dtypes = {w.path: w.dtype for w in layer.weights}
    norm = keras.layers.Normalization(dtype="float16")
    norm.build((None, 3))
    assert (
        dtypes
        == {w.name: w.dtype for w in norm.weights}
        == {
            "mean": "float16",
            "variance": "float16",
            "count": "int32",
        }
    )


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    axis=st.one_of(st.none(), st.integers(-4, 3), st.lists(st.integers(-4, 3), min_size=0, max_size=3)),
    mean_shape=st.one_of(st.none(), st.lists(st.sampled_from([1, 2, 3]), min_size=0, max_size=3)),
    shape=st.lists(st.sampled_from([None, 1, 2, 3]), min_size=0, max_size=4).map(tuple),
)
def test_normalization_property(axis: Any, mean_shape: list[int] | None, shape: tuple) -> None:
    args: dict[str, Any] = {"axis": axis}
    if mean_shape is not None:
        mean: Any = 0.5
        for dim in reversed(mean_shape):
            mean = [mean] * dim
        args.update(mean=mean, variance=mean)
    assert_same_as_keras("Normalization", args, [shape])


# ----------------------------------------------------------------------------- Rescaling
@pytest.mark.parametrize(
    "args",
    [
        {"scale": 1 / 255},
        {"scale": 1 / 127.5, "offset": -1},
        {},
        {"offset": 1},
        {"scale": "a", "offset": [1, 2]},
        {"scale": [1, 2, 3]},
        {"scale": None},
        {"scale": 2, "trainable": False, "dtype": "float16"},
        {"scale": 2, "factor": 1},
    ],
)
@pytest.mark.parametrize("shape", [(None, 8, 8, 3), (None, 3), (None,), ()])
def test_rescaling(args: dict[str, Any], shape: tuple) -> None:
    assert_same_as_keras("Rescaling", args, [shape])


# ----------------------------------------------------------------------------- Resizing / CenterCrop
IMAGE_SHAPES = [
    (None, 8, 8, 3),
    (2, None, None, 3),
    (None, 3, 8, 6),
    (8, 6, 3),
    (None, 8, 3),
    (None, None, None),
    (8, 3),
    (3,),
    (),
    (1, 2, 3, 4, 5),
    (None, 2, 3, 4, 5, 6),
]


@pytest.mark.parametrize("shape", IMAGE_SHAPES)
@pytest.mark.parametrize("data_format", [None, "channels_last", "channels_first", "CHANNELS_FIRST"])
@pytest.mark.parametrize("type_name", ["Resizing", "CenterCrop"])
def test_image_ranks(type_name: str, data_format: str | None, shape: tuple) -> None:
    args: dict[str, Any] = {"height": 4, "width": 5}
    if data_format is not None:
        args["data_format"] = data_format
    assert_same_as_keras(type_name, args, [shape])


SIZES = [4, 0, 1, None, True, False, -1, 2.0, 2.5, "2", [4], {}]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("which", ["height", "width"])
@pytest.mark.parametrize("type_name", ["Resizing", "CenterCrop"])
def test_image_sizes(type_name: str, which: str, size: Any) -> None:
    args: dict[str, Any] = {"height": 4, "width": 5, which: size}
    assert_same_as_keras(type_name, args, [(None, 8, 8, 3)])


@pytest.mark.parametrize(
    "args",
    [
        {"height": 4},
        {"width": 4},
        {},
        {"interpolation": "nearest"},
        {"interpolation": "NEAREST"},
        {"interpolation": "foo"},
        {"interpolation": "bicubic", "antialias": True},
        {"crop_to_aspect_ratio": True},
        {"pad_to_aspect_ratio": True, "fill_mode": "constant", "fill_value": 1.0},
        {"crop_to_aspect_ratio": True, "pad_to_aspect_ratio": True},
        {"fill_mode": "foo", "pad_to_aspect_ratio": True},
        {"antialias": "x"},
        {"data_format": "nchw"},
        {"data_format": 3},
        {"factor": 0.5},
        {"factor": 0},
        {"factor": None},
        {"bounding_box_format": "xyxy"},
        {"bounding_box_format": 3},
        {"seed": 3},
        {"trainable": False},
        {"dtype": "float16"},
        {"dtype": "uint8"},
    ],
)
@pytest.mark.parametrize("type_name", ["Resizing", "CenterCrop"])
def test_image_arguments(type_name: str, args: dict[str, Any]) -> None:
    # Cases naming height or width (and the empty one) test the required arguments themselves.
    sized = not args or "height" in args or "width" in args
    full = dict(args) if sized else {"height": 4, "width": 5, **args}
    assert_same_as_keras(type_name, full, [(None, 8, 8, 3)])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    type_name=st.sampled_from(["Resizing", "CenterCrop"]),
    height=st.sampled_from([1, 4, 16, 0, None, -2]),
    width=st.sampled_from([1, 5, 16, 0, None]),
    data_format=st.sampled_from([None, "channels_last", "channels_first"]),
    shape=st.lists(st.sampled_from([None, 1, 3, 8]), min_size=0, max_size=6).map(tuple),
)
def test_image_property(type_name: str, height: Any, width: Any, data_format: Any, shape: tuple) -> None:
    args: dict[str, Any] = {"height": height, "width": width}
    if data_format is not None:
        args["data_format"] = data_format
    assert_same_as_keras(type_name, args, [shape])


def test_resizing_hand_derived() -> None:
    # A batch (rank 4): spatial axes replaced, batch and channels kept.
    facts = assert_same_as_keras("Resizing", {"height": 224, "width": 160}, [(None, 480, 640, 3)])
    assert facts.output == (None, 224, 160, 3)
    # Rank 3 is one image (H, W, C) to Keras: what we call the batch axis becomes the height.
    facts = assert_same_as_keras("Resizing", {"height": 224, "width": 160}, [(None, 480, 3)])
    assert facts.output == (224, 160, 3)
    facts = assert_same_as_keras(
        "CenterCrop", {"height": 2, "width": 2, "data_format": "channels_first"}, [(3, 8, 8)]
    )
    assert facts.output == (3, 2, 2)
