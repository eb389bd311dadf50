"""Image augmentation layers against Keras (shapecalc/layers/augmentation.py, augmentation_color.py).

Each comparison builds the layer in real Keras, calls it on a symbolic keras.Input and checks that
shapecalc refuses the same arguments and inputs, or gives the same output shape and (no) weights.
Numbers asserted directly are derived by hand in the test.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_check import assert_same_as_keras as _assert_same_as_keras
from layer_check import shapecalc_call

from shapecalc.errors import ArgError, ShapeError
from shapecalc.layers import create_layer
from shapecalc.layers.factory import Namer

Shape = tuple[int | None, ...]
Case = tuple[str, dict[str, Any], Shape]


def assert_same_as_keras(type_name: str, args: dict[str, Any], shape: Shape) -> None:
    _assert_same_as_keras(type_name, args, [shape])


def case_id(case: Case) -> str:
    return f"{case[0]}-{case[1]}-{case[2]}"


# ----------------------------------------------------------------------------- value pools
FACTORS = [
    0, 0.0, 0.5, 1, 1.5, -0.5, -1, -1.5, 8, 9, True, False, None, math.nan,
    [0.2, 0.8], [0.8, 0.2], [-0.5, 0.5], [-2, 0.5], [0.5, 3], [5, -5], [-5, 5], [1, 8], [0, 1],
    [-1, 0.5], [0, 8], [8, 9], [-0.0, 1.0000001], 1.0000001, -1.0000001, -0.999,
    [0.1], [0.1, 0.2, 0.3], [], [0.1, "a"], ["a", 0.1], [None, 0.5], "0.5", {"a": 1},
]  # fmt: skip
VALUE_RANGES = [
    [0, 255], [255, 0], [-1, 1], (0, 1), 5, [1], [1, 2, 3], ["a", "b"], [None, None], [0, "a"],
    None, "ab", [[0], [1]], [[0], 1], [],
]  # fmt: skip
SEEDS = [None, 0, 42, True, -1, 2**32 - 1, 2**32, 2**70, 1.5, "3", [1]]
DATA_FORMATS = [None, "channels_last", "channels_first", "CHANNELS_FIRST", "Channels_Last", "nchw", "", 1]
FILL_MODES = ["reflect", "wrap", "constant", "nearest", "mirror", "REFLECT", "bogus", None]
INTERPOLATIONS = ["nearest", "bilinear", "bicubic", "Bilinear", None]
ANYTHING = [0, -3, 2.5, "x", None, [1, 2], {"k": 1}]
KERNEL_SIZES = [
    3,
    5,
    1,
    0,
    2,
    -3,
    2.5,
    3.0,
    True,
    [3, 5],
    [3, 4],
    [3],
    [3, 5, 7],
    ["%d", "%d"],
    ["%12345d", 3],
    ["%q", 3],
    "%d",
    ["a", 3],
    None,
    "3",
]
SIZES = [0, 1, 4, 20, -1, 2.0, 2.5, "4", None, True, [4]]
INTS = [3, 0, -4, 2.7, "3", "3.5", " 5 ", True, None, [3], math.inf, math.nan]

# Every layer: minimal arguments, then a pool of values per argument (Keras's and the base ones).
COMMON = {"data_format": DATA_FORMATS, "bounding_box_format": ["xyxy", 123, None], "seed": SEEDS}
LAYERS: dict[str, tuple[dict[str, Any], dict[str, list[Any]]]] = {
    "RandomFlip": ({}, {"mode": ["horizontal", "vertical", "bogus", 3], "factor": FACTORS}),
    "RandomRotation": (
        {"factor": 0.2},
        {"factor": FACTORS, "fill_mode": FILL_MODES, "interpolation": INTERPOLATIONS, "fill_value": ANYTHING},
    ),
    "RandomZoom": (
        {"height_factor": 0.2},
        {
            "height_factor": FACTORS,
            "width_factor": FACTORS,
            "fill_mode": FILL_MODES,
            "interpolation": INTERPOLATIONS,
            "factor": [None, 0, 0.5],
        },
    ),
    "RandomTranslation": (
        {"height_factor": 0.2, "width_factor": 0.1},
        {
            "height_factor": FACTORS,
            "width_factor": FACTORS,
            "fill_mode": FILL_MODES,
            "interpolation": INTERPOLATIONS,
        },
    ),
    "RandomShear": (
        {},
        {"x_factor": FACTORS, "y_factor": FACTORS, "fill_mode": FILL_MODES, "interpolation": INTERPOLATIONS},
    ),
    "RandomPerspective": (
        {},
        {"factor": FACTORS, "scale": FACTORS, "interpolation": INTERPOLATIONS, "fill_mode": ["reflect"]},
    ),
    "RandomElasticTransform": (
        {},
        {
            "factor": FACTORS,
            "scale": FACTORS,
            "fill_mode": FILL_MODES,
            "interpolation": INTERPOLATIONS,
            "value_range": VALUE_RANGES,
        },
    ),
    "RandomErasing": (
        {},
        {"factor": FACTORS, "scale": FACTORS, "fill_value": ANYTHING, "value_range": VALUE_RANGES},
    ),
    "RandomCrop": ({"height": 4, "width": 5}, {"height": SIZES, "width": SIZES, "factor": FACTORS}),
    "CutMix": ({}, {"factor": FACTORS}),
    "MixUp": ({}, {"alpha": ANYTHING, "factor": FACTORS}),
    "MaxNumBoundingBoxes": ({"max_number": 3}, {"max_number": INTS, "fill_value": INTS, "factor": FACTORS}),
    "RandomContrast": ({"factor": 0.2}, {"factor": FACTORS, "value_range": VALUE_RANGES}),
    "RandomBrightness": ({"factor": 0.2}, {"factor": FACTORS, "value_range": VALUE_RANGES}),
    "RandomHue": ({"factor": 0.2}, {"factor": FACTORS, "value_range": VALUE_RANGES}),
    "RandomSaturation": ({"factor": 0.2}, {"factor": FACTORS, "value_range": VALUE_RANGES}),
    "RandomSharpness": ({"factor": 0.2}, {"factor": FACTORS, "value_range": VALUE_RANGES}),
    "RandomGrayscale": ({}, {"factor": FACTORS}),
    "RandomInvert": ({}, {"factor": FACTORS, "value_range": VALUE_RANGES}),
    "RandomPosterization": ({"factor": 4}, {"factor": FACTORS, "value_range": VALUE_RANGES}),
    "RandomColorDegeneration": ({"factor": 0.2}, {"factor": FACTORS, "value_range": VALUE_RANGES}),
    "RandomGaussianBlur": (
        {},
        {"factor": FACTORS, "kernel_size": KERNEL_SIZES, "sigma": FACTORS, "value_range": VALUE_RANGES},
    ),
    "AutoContrast": ({}, {"value_range": VALUE_RANGES, "factor": FACTORS}),
    "Equalization": ({}, {"value_range": VALUE_RANGES, "bins": ANYTHING, "factor": FACTORS}),
    "Solarization": (
        {},
        {
            "addition_factor": FACTORS,
            "threshold_factor": FACTORS,
            "value_range": VALUE_RANGES,
            "factor": FACTORS,
        },
    ),
    "ContrastLimitedAdaptiveHistogramEqualization": (
        {},
        {"value_range": ANYTHING, "clip_limit": ANYTHING, "tile_grid_size": ANYTHING, "factor": FACTORS},
    ),
    "RandomColorJitter": (
        {"brightness_factor": 0.2},
        {
            "brightness_factor": FACTORS,
            "contrast_factor": FACTORS,
            "saturation_factor": FACTORS,
            "hue_factor": FACTORS,
            "value_range": VALUE_RANGES,
            "factor": FACTORS,
        },
    ),
    "AugMix": (
        {},
        {
            "factor": FACTORS,
            "value_range": VALUE_RANGES,
            "interpolation": INTERPOLATIONS,
            "num_chains": ANYTHING,
            "chain_depth": ANYTHING,
            "alpha": ANYTHING,
            "all_ops": [True, False, 0, "x"],
        },
    ),
    "RandAugment": (
        {},
        {
            "factor": FACTORS,
            "value_range": VALUE_RANGES,
            "interpolation": INTERPOLATIONS,
            "num_ops": ANYTHING,
        },
    ),
}
# The arguments of the minimal set that Keras requires (RandomColorJitter requires none).
REQUIRED = {name: list(minimal) for name, (minimal, _) in LAYERS.items()}
REQUIRED["RandomColorJitter"] = []

SHAPES: list[Shape] = [
    (2, 8, 9, 3), (None, 8, 9, 3), (8, 9, 3), (None, None, None, None), (2, 3, 8, 9), (3, 8, 9),
    (2, 8, 9, 1), (None, 8, 9, 4), (2, 4, 8, 9, 3), (2, 9), (5,), (2, 8, 9, None), (None, None, 8, 9),
]  # fmt: skip


# ----------------------------------------------------------------------------- hand-derived numbers
def test_random_crop_by_hand() -> None:
    layer, out = shapecalc_call("RandomCrop", {"height": 4, "width": 5}, (None, 8, 9, 3))
    assert out == (None, 4, 5, 3)  # axes -3 and -2 take height and width
    assert layer.count_params() == (0, 0)
    _, out = shapecalc_call("RandomCrop", {"height": 4, "width": 5, "data_format": "channels_first"}, (2, 8))
    assert out == (4, 5)  # channels_first counts (-2, -1): a rank-2 input is all height and width
    _, out = shapecalc_call("RandomCrop", {"height": 4, "width": 5}, (7, 6, 8, 9, 3))
    assert out == (7, 6, 4, 5, 3)


def test_identity_layers_by_hand() -> None:
    for name, (minimal, _) in LAYERS.items():
        if name in ("RandomCrop", "RandomColorDegeneration"):
            continue
        for shape in [(None, 8, 9, 3), (8, 9, 3), (2, 5), (4, 3, 2, 1, 1)]:
            layer, out = shapecalc_call(name, minimal, shape)
            assert out == shape, name
            assert layer.count_params() == (0, 0)


def test_error_messages_state_the_rule() -> None:
    with pytest.raises(ShapeError, match=r"3 channels on axis 3 \(channels_last\), got 4"):
        shapecalc_call("RandomColorDegeneration", {"factor": 0.5}, (None, 8, 8, 4))
    with pytest.raises(ShapeError, match=r"one image \(rank 3\) or a batch of images \(rank 4\), got rank 5"):
        shapecalc_call("RandomColorDegeneration", {"factor": 0.5}, (None, 2, 8, 8, 3))
    with pytest.raises(ShapeError, match="needs rank >= 3, got rank 2"):
        shapecalc_call("RandomCrop", {"height": 2, "width": 2}, (None, 8))
    with pytest.raises(ArgError, match=r"factor: expected a number in \[0, 1\]") as err:
        shapecalc_call("RandomContrast", {"factor": 1.5}, (None, 8, 8, 3))
    assert err.value.argument == "factor"
    with pytest.raises(ArgError, match=r"seed: the seed must fit in uint32") as err:
        shapecalc_call("RandomFlip", {"seed": -1}, (None, 8, 8, 3))
    with pytest.raises(ArgError, match=r"height_factor: expected a number in \(-1, 1\]"):
        shapecalc_call("RandomZoom", {"height_factor": -1}, (None, 8, 8, 3))
    with pytest.raises(ArgError, match="does not take a factor"):
        shapecalc_call("RandomFlip", {"factor": 0.5}, (None, 8, 8, 3))
    with pytest.raises(ArgError, match="value_range") as err:
        shapecalc_call("RandomColorJitter", {"saturation_factor": 0.5, "value_range": 3}, (None, 8, 8, 3))
    assert err.value.argument == "value_range"


# ----------------------------------------------------------------------------- every argument value
def argument_cases() -> list[Case]:
    """Each argument of each layer takes each value of its pool, the others minimal."""
    cases = []
    for name, (minimal, pools) in LAYERS.items():
        for arg, pool in {**pools, **COMMON}.items():
            for value in pool:
                cases.append((name, {**minimal, arg: value}, (2, 8, 9, 3)))
        for arg in REQUIRED[name]:
            cases.append((name, {k: v for k, v in minimal.items() if k != arg}, (2, 8, 9, 3)))
        cases.append((name, {**minimal, "unknown_argument": 1}, (2, 8, 9, 3)))
        cases.append((name, {**minimal, "name": "aug", "dtype": "float16", "trainable": False}, (2, 8, 9, 3)))
    return cases


@pytest.mark.parametrize("case", argument_cases(), ids=case_id)
def test_argument_values(case: Case) -> None:
    assert_same_as_keras(*case)


# ----------------------------------------------------------------------------- every input shape
def shape_cases() -> list[Case]:
    """Each layer, both data formats, on batched, unbatched, other ranks and unknown dims."""
    cases = []
    for name, (minimal, _) in LAYERS.items():
        for data_format in (None, "channels_first"):
            args = dict(minimal) if data_format is None else {**minimal, "data_format": data_format}
            for shape in SHAPES:
                cases.append((name, args, shape))
    return cases


@pytest.mark.parametrize("case", shape_cases(), ids=case_id)
def test_input_shapes(case: Case) -> None:
    assert_same_as_keras(*case)


CROP_CASES: list[Case] = [
    ("RandomCrop", {"height": 20, "width": 30}, (2, 8, 9, 3)),  # larger than the input: Keras pads
    ("RandomCrop", {"height": 0, "width": 0}, (2, 8, 9, 3)),
    ("RandomCrop", {"height": None, "width": 3}, (None, None, None, None)),
    ("RandomCrop", {"height": 4, "width": 5, "data_format": "channels_first"}, (8,)),
    ("RandomCrop", {"height": 4, "width": 5, "data_format": "channels_first"}, (None, None)),
    ("RandomCrop", {"height": 4, "width": 5}, (None, None)),
    ("RandomCrop", {"height": 4, "width": 5}, (3, 8, 9)),
    ("RandomCrop", {"height": 4, "width": 5}, (1, 2, 3, 4, 5, 6)),
    ("RandomColorDegeneration", {"factor": 0.5, "data_format": "channels_first"}, (None, 3, None, None)),
    ("RandomColorDegeneration", {"factor": 0.5, "data_format": "channels_first"}, (None, 8, 8, 3)),
    ("RandomColorDegeneration", {"factor": 0.5}, (8, 8, None)),
    ("RandomColorDegeneration", {"factor": 0.5}, (8, None, 3)),
    ("RandomColorDegeneration", {"factor": 0.5}, (8, 3)),
    ("RandomGrayscale", {"factor": 1.0}, (2, 8, 9, 1)),  # the channels are kept, even 1 or 4
    ("RandomGrayscale", {"factor": 1.0}, (2, 8, 9, 4)),
    ("RandomFlip", {}, ()),
    ("AugMix", {"data_format": "channels_first"}, (2, 3, 8, 9)),
    ("RandAugment", {}, (8, 9, 5)),
    ("RandomColorJitter", {"brightness_factor": 0.1, "contrast_factor": 0.2, "hue_factor": 0.3}, (8, 9, 3)),
    ("RandomColorJitter", {"saturation_factor": 0.1, "contrast_factor": 0.2, "hue_factor": 0.3}, (8, 9, 1)),
]


@pytest.mark.parametrize("case", CROP_CASES, ids=case_id)
def test_edge_shapes(case: Case) -> None:
    assert_same_as_keras(*case)


# ----------------------------------------------------------------------------- random combinations
@st.composite
def random_augmentation(draw: st.DrawFn) -> Case:
    name = draw(st.sampled_from(sorted(LAYERS)))
    minimal, pools = LAYERS[name]
    args = dict(minimal)
    for arg in REQUIRED[name]:
        if draw(st.integers(0, 19)) == 0:  # rarely leave out a required argument
            del args[arg]
    for arg, pool in {**pools, **COMMON}.items():
        if draw(st.integers(0, 2)) == 0:
            values = st.sampled_from(pool)
            if pool is FACTORS:  # also any number near the bounds, alone or in pairs
                number = st.floats(-2, 9, allow_nan=False)
                values = values | number | st.lists(number, min_size=2, max_size=2)
            args[arg] = draw(values)
    rank = draw(st.sampled_from([1, 2, 3, 3, 4, 4, 4, 5]))
    shape = tuple(draw(st.lists(st.sampled_from([None, 1, 3, 3, 4, 8]), min_size=rank, max_size=rank)))
    return name, args, shape


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(random_augmentation())
def test_random_augmentation(case: Case) -> None:
    assert_same_as_keras(*case)


# ----------------------------------------------------------------------------- in a model
SUBLAYER_CASES: list[tuple[str, dict[str, Any]]] = [
    ("AugMix", {}),
    ("AugMix", {"all_ops": False}),
    ("AugMix", {"all_ops": 0, "seed": 3}),
    ("AugMix", {"name": "aug"}),
    ("RandAugment", {}),
    ("RandAugment", {"name": "ra"}),
    ("RandomColorJitter", {}),
    ("RandomColorJitter", {"brightness_factor": 0.1, "hue_factor": 0.2}),
    ("RandomColorJitter", {"contrast_factor": 0.1, "saturation_factor": 0.2, "name": "jitter"}),
    ("RandomFlip", {}),
]


@pytest.mark.parametrize(("type_name", "args"), SUBLAYER_CASES)
def test_sublayers_take_auto_names(type_name: str, args: dict[str, Any]) -> None:
    """The layers Keras creates inside __init__ use up auto-names: the counters Keras advances."""
    import keras
    from keras.src.backend.common import global_state
    from keras.src.utils.naming import to_snake_case

    keras.backend.clear_session(free_memory=False)
    getattr(keras.layers, type_name)(**args)
    counters = dict(global_state.get_global_attribute("object_name_uids"))
    counters.pop("seed_generator", None)
    counters.pop(to_snake_case(type_name), None)
    layer = create_layer(type_name, args, Namer())
    inner = layer.auto_named_sublayers(name_given="name" in args)
    assert {to_snake_case(t): inner.count(t) for t in inner} == counters


def test_augmentation_model_summary_matches_keras() -> None:
    """An augmentation front end in a Sequential model: names, shapes and summary text as Keras's."""
    from model_check import assert_model_same_as_keras

    spec = {
        "input": [32, 32, 3],
        "layers": [
            {"RandomFlip": {"mode": "horizontal"}},
            {"RandomRotation": {"factor": 0.1}},
            {"RandomCrop": {"height": 28, "width": 24}},
            {"RandomColorDegeneration": {"factor": 0.2}},
            {"RandomGrayscale": {}},
            {"RandomFlip": {}},
            {"Conv2D": {"filters": 4, "kernel_size": 3}},
            {"AdaptiveAveragePooling2D": {"output_size": [2, 3]}},
        ],
    }
    assert_model_same_as_keras(spec)


def test_sublayer_names_in_a_model() -> None:
    """RandAugment creates a RandomColorDegeneration (and more): the model's own is then _1."""
    from model_check import assert_model_same_as_keras

    spec = {
        "input": [32, 32, 3],
        "layers": [
            {"RandAugment": {}},
            {"RandomColorDegeneration": {"factor": 0.2}},
            {"AugMix": {"name": "mix"}},
            {"RandomColorJitter": {"brightness_factor": 0.1}},
            {"RandomBrightness": {"factor": 0.1}},
            {"Solarization": {}},
        ],
    }
    assert_model_same_as_keras(spec)


@pytest.mark.parametrize(
    "spec",
    [
        {"input": [9, 10, 3], "layers": [{"Equalization": {}}]},
        {"input": [9, 10, 3], "layers": [{"Dense": {"units": 3}}, {"Equalization": {"bins": 16}}]},
        # inside a wrapper its output is a new tensor, and Keras builds the model
        {"input": [4, 9, 10, 3], "layers": [{"TimeDistributed": {"layer": {"Equalization": {}}}}]},
    ],
)
def test_a_model_calling_equalization_directly_is_refused_as_keras_does(spec: dict[str, Any]) -> None:
    from model_check import assert_model_same_as_keras

    assert_model_same_as_keras(spec)


def test_equalization_on_a_model_input_is_refused_where_keras_drops_it() -> None:
    # A deliberate difference: called on a model input whose result is not a model output, the
    # layer's output is that input tensor itself, so Keras builds the model without the layer
    # (its input renamed "aCLONE"); shapecalc refuses such a spec instead of skipping a layer.
    from oracle import ModelFacts, keras_model_facts

    from shapecalc.api import analyze_data
    from shapecalc.errors import SpecError

    spec = {
        "inputs": {"a": [9, 10, 3]},
        "layers": [
            {"Equalization": {"name": "eq", "inputs": "a"}},
            {"Conv2D": {"filters": 2, "kernel_size": 3, "inputs": "eq"}},
        ],
    }
    keras_model = keras_model_facts(spec)
    assert isinstance(keras_model, ModelFacts)
    assert [row.name for row in keras_model.layers] == ["aCLONE", "conv2d"]
    with pytest.raises(SpecError, match="Keras cannot build a model that calls Equalization directly"):
        analyze_data(spec)
