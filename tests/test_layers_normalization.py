"""Normalization layers against Keras: weight names, order and shapes, axis forms, every refusal."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_check import assert_same_as_keras, shapecalc_call
from model_check import assert_model_same_as_keras
from oracle import keras

NAN = float("nan")
SHAPES = [
    (None, 3),
    (None, None),
    (None, 4, 3),
    (2, 4, 3),
    (None, None, 5),
    (None, 8, 8, 16),
    (None, 16, 8, 8),
    (None, 2, 3, 4, 6),
    (None,),
    (6,),
    (),
    (None, 0),
]
AXES = [-1, 0, 1, 2, 3, -2, -3, -4, -5]


# ----------------------------------------------------------------------------- BatchNormalization
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("axis", AXES)
def test_batchnorm_axis(axis: int, shape: tuple) -> None:
    assert_same_as_keras("BatchNormalization", {"axis": axis}, [shape])


@pytest.mark.parametrize(
    "args",
    [
        {"center": False},
        {"scale": False},
        {"center": False, "scale": False},
        {"center": "yes", "scale": 0},
        {"center": [1], "scale": {}},
        {"center": [], "scale": {"a": 1}},
        {"renorm": True},
        {"renorm": True, "center": False},
        {"renorm": True, "center": False, "scale": False},
        {"renorm": 1, "trainable": False},
        {"renorm": True, "renorm_clipping": {"rmax": 3, "rmin": 0.3, "dmax": 5}},
        {"renorm": True, "renorm_clipping": {"rmax": 1, "rmin": 2}},
        {"renorm": True, "renorm_clipping": {"rmax": 1, "rmin": 1}},
        {"renorm": True, "renorm_clipping": {"dmax": -1}},
        {"renorm": True, "renorm_clipping": {"dmax": 0}},
        {"renorm": True, "renorm_clipping": {"x": -1}},
        {"renorm": True, "renorm_clipping": {"rmax": 2, "x": 1}},
        {"renorm": True, "renorm_clipping": "rmax"},
        {"renorm": True, "renorm_clipping": ""},
        {"renorm": True, "renorm_clipping": ["rmax"]},
        {"renorm": True, "renorm_clipping": []},
        {"renorm": True, "renorm_clipping": {}},
        {"renorm": True, "renorm_clipping": 5},
        {"renorm": True, "renorm_clipping": 0},
        {"renorm": True, "renorm_clipping": None},
        {"renorm": True, "renorm_clipping": {"rmax": "a", "rmin": 1}},
        {"renorm": True, "renorm_clipping": {"rmax": "a", "rmin": "b"}},
        {"renorm": True, "renorm_clipping": {"rmax": "b", "rmin": "a"}},
        {"renorm": True, "renorm_clipping": {"rmax": [1], "rmin": [2]}},
        {"renorm": True, "renorm_clipping": {"dmax": "a"}},
        {"renorm": True, "renorm_clipping": {"dmax": None, "rmax": None}},
        {"renorm": True, "renorm_clipping": {"rmin": 5}},
        {"renorm": True, "renorm_momentum": "x"},
        {"renorm": False, "renorm_clipping": 5},
        {"renorm": False, "renorm_clipping": {"x": 1}},
        {"synchronized": True},
        {"synchronized": False},
        {"synchronized": 0},
        {"synchronized": "yes"},
        {"momentum": 0.5},
        {"momentum": "0.5"},
        {"momentum": " inf"},
        {"momentum": "x"},
        {"momentum": None},
        {"momentum": True},
        {"momentum": [0.9]},
        {"epsilon": 1e-5},
        {"epsilon": "1e-5"},
        {"epsilon": [1]},
        {"epsilon": None},
        {"axis": "1"},
        {"axis": " -1 "},
        {"axis": "1.5"},
        {"axis": "a"},
        {"axis": 1.7},
        {"axis": -1.2},
        {"axis": NAN},
        {"axis": float("inf")},
        {"axis": True},
        {"axis": False},
        {"axis": None},
        {"axis": [1]},
        {"axis": {}},
        {"beta_initializer": "ones", "gamma_initializer": "zeros"},
        {"moving_mean_initializer": "ones", "moving_variance_initializer": "zeros"},
        {"moving_mean_initializer": "onez"},
        {"gamma_regularizer": "l2", "beta_regularizer": "l1"},
        {"gamma_constraint": "non_neg", "beta_constraint": "unit_norm"},
        {"beta_constraint": "x"},
        {"trainable": False},
        {"dtype": "float16"},
        {"dtype": "mixed_float16"},
        {"dtype": "float64"},
        {"fused": True},
        {"virtual_batch_size": 2},
    ],
)
def test_batchnorm_arguments(args: dict[str, Any]) -> None:
    assert_same_as_keras("BatchNormalization", args, [(None, 5, 4)])


def test_batchnorm_hand_derived() -> None:
    # 64 channels: gamma + beta = 128 trainable; moving mean + variance = 128 non-trainable.
    facts = assert_same_as_keras("BatchNormalization", {}, [(None, 7, 7, 64)])
    assert (facts.trainable, facts.non_trainable) == (128, 128)
    assert list(facts.weights) == [
        "batch_normalization/gamma",
        "batch_normalization/beta",
        "batch_normalization/moving_mean",
        "batch_normalization/moving_variance",
    ]
    # Renorm adds moving_stddev, renorm_mean, renorm_stddev: 3 * 64 more non-trainable.
    facts = assert_same_as_keras("BatchNormalization", {"renorm": True}, [(None, 7, 7, 64)])
    assert (facts.trainable, facts.non_trainable) == (128, 320)


def test_batchnorm_weight_order() -> None:
    # The tests compare dicts; the creation order must match too (it is the .keras file order).
    for args in ({}, {"renorm": True}, {"center": False, "renorm": True}):
        want = assert_same_as_keras("BatchNormalization", args, [(None, 3)])
        layer, _ = shapecalc_call("BatchNormalization", args, (None, 3))
        assert [f"batch_normalization/{w.path}" for w in layer.weights] == list(want.weights)


def test_batchnorm_shared_other_rank() -> None:
    layer, _ = shapecalc_call("BatchNormalization", {}, (None, 4, 3))
    with pytest.raises(Exception, match="rank 3"):
        layer.again((None, 5, 4, 3))
    bn = keras.layers.BatchNormalization()
    bn(keras.Input(batch_shape=(None, 4, 3)))
    with pytest.raises(ValueError):
        bn(keras.Input(batch_shape=(None, 5, 4, 3)))


# ----------------------------------------------------------------------------- LayerNormalization / RMS
LIST_AXES = [
    -1,
    1,
    2,
    0,
    3,
    -3,
    -4,
    [1, 2],
    [2, 1],
    [-1, 1],
    [-2, -1],
    [1, 1],
    [],
    [0],
    [3],
    [-4],
    [0, 1, 2],
    True,
    [True],
    [True, 2],
]


@pytest.mark.parametrize(
    "shape", [(None, 3, 4), (2, 3, 4), (None, None, 4), (None, 3, None), (None, 5), (6,), ()]
)
@pytest.mark.parametrize("axis", LIST_AXES)
@pytest.mark.parametrize("type_name", ["LayerNormalization", "RMSNormalization"])
def test_layernorm_rmsnorm_axis(type_name: str, axis: Any, shape: tuple) -> None:
    assert_same_as_keras(type_name, {"axis": axis}, [shape])


@pytest.mark.parametrize(
    "args",
    [
        {"axis": "1"},
        {"axis": 1.0},
        {"axis": [1.0]},
        {"axis": None},
        {"axis": [None]},
        {"axis": {"a": 1}},
        {"axis": [1, "a"]},
        {"axis": ["a"]},
        {"axis": [[1]]},
        {"center": False},
        {"scale": False},
        {"center": False, "scale": False},
        {"center": [], "scale": {"a": 1}},
        {"rms_scaling": True},
        {"rms_scaling": True, "scale": False},
        {"rms_scaling": True, "center": False, "scale": False},
        {"rms_scaling": "x", "center": False},
        {"rms_scaling": 0},
        {"epsilon": "x"},
        {"epsilon": None},
        {"beta_initializer": "glorot_uniform", "gamma_regularizer": "l2", "beta_constraint": "max_norm"},
        {"gamma_initializer": "onez"},
        {"trainable": False},
        {"dtype": "float16"},
        {"dtype": "mixed_bfloat16"},
        {"axis": [1, 2], "trainable": False},
        {"momentum": 0.9},
    ],
)
def test_layernorm_arguments(args: dict[str, Any]) -> None:
    assert_same_as_keras("LayerNormalization", args, [(None, 3, 4)])


@pytest.mark.parametrize(
    "args",
    [
        {"axis": "a"},
        {"axis": 1.0},
        {"axis": None},
        {"axis": {"a": 1}},
        {"axis": [1.5]},
        {"epsilon": None},
        {"epsilon": "x"},
        {"trainable": False},
        {"dtype": "float16"},
        {"center": True},
        {"scale": False},
    ],
)
def test_rmsnorm_arguments(args: dict[str, Any]) -> None:
    assert_same_as_keras("RMSNormalization", args, [(None, 3, 4)])


# ----------------------------------------------------------------------------- GroupNormalization
@pytest.mark.parametrize(
    "shape",
    [
        (None, 64),
        (None, 16),
        (None, 8, 8, 32),
        (None, 8, 8, 12),
        (None, 12, 8, 8),
        (None, None),
        (None,),
        (),
        (4,),
        (8, 0),
        (None, 7),
        (None, 5, 1),
    ],
)
@pytest.mark.parametrize("groups", [None, 1, 2, 3, 4, 5, 6, 12, 16, 32, 64, -1])
def test_groupnorm_groups(groups: int | None, shape: tuple) -> None:
    args = {} if groups is None else {"groups": groups}
    assert_same_as_keras("GroupNormalization", args, [shape])


@pytest.mark.parametrize(
    "args",
    [
        {"groups": -2},
        {"groups": 0},
        {"groups": True},
        {"groups": False},
        {"groups": 2.0},
        {"groups": "2"},
        {"groups": None},
        {"groups": [2]},
        {"groups": 4, "axis": 1},
        {"groups": 4, "axis": 2},
        {"groups": 4, "axis": 3},
        {"groups": 4, "axis": -3},
        {"groups": 4, "axis": -4},
        {"groups": 4, "axis": 0},
        {"groups": 4, "axis": [1]},
        {"groups": 4, "axis": "1"},
        {"groups": 4, "axis": 1.0},
        {"groups": 4, "axis": True},
        {"groups": 4, "axis": None},
        {"groups": 4, "center": False},
        {"groups": 4, "scale": False},
        {"groups": 4, "scale": False, "center": False},
        {"groups": 4, "epsilon": "a"},
        {"groups": 4, "trainable": False},
        {"groups": 4, "dtype": "float16"},
        {"groups": 4, "gamma_initializer": "zeros", "beta_regularizer": "l1", "gamma_constraint": "non_neg"},
        {"groups": 4, "beta_initializer": "nope"},
        {"groups": 4, "momentum": 0.9},
    ],
)
def test_groupnorm_arguments(args: dict[str, Any]) -> None:
    assert_same_as_keras("GroupNormalization", args, [(None, 8, 4)])


# ----------------------------------------------------------------------------- UnitNormalization
@pytest.mark.parametrize("shape", [(None, 3), (None, 3, 4), (2, None, 4, 5), (None,), ()])
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
        [1, 2],
        [1, 3],
        [],
        [0, -1],
        [1.0],
        [1.5],
        [NAN],
        [float("inf")],
        [True],
        True,
        False,
    ],
)
def test_unitnorm_axis(axis: Any, shape: tuple) -> None:
    assert_same_as_keras("UnitNormalization", {"axis": axis}, [shape])


@pytest.mark.parametrize(
    "args",
    [
        {"axis": 1.0},
        {"axis": "1"},
        {"axis": None},
        {"axis": ["a"]},
        {"axis": [None]},
        {"axis": [[1]]},
        {"axis": {"a": 1}},
        {"trainable": False},
        {"epsilon": 1e-3},
    ],
)
def test_unitnorm_arguments(args: dict[str, Any]) -> None:
    assert_same_as_keras("UnitNormalization", args, [(None, 3, 4)])


# ----------------------------------------------------------------------------- properties
DIMS = st.sampled_from([None, 1, 2, 3, 4, 8, 0])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    axis=st.one_of(st.integers(-5, 4), st.sampled_from(["1", 1.5, None, True])),
    center=st.booleans(),
    scale=st.booleans(),
    renorm=st.booleans(),
    trainable=st.booleans(),
    shape=st.lists(DIMS, min_size=0, max_size=5).map(tuple),
)
def test_batchnorm_property(
    axis: Any, center: bool, scale: bool, renorm: bool, trainable: bool, shape: tuple
) -> None:
    args = {"axis": axis, "center": center, "scale": scale, "renorm": renorm, "trainable": trainable}
    assert_same_as_keras("BatchNormalization", args, [shape])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    type_name=st.sampled_from(["LayerNormalization", "RMSNormalization", "UnitNormalization"]),
    axis=st.one_of(st.integers(-5, 4), st.lists(st.integers(-5, 4), min_size=0, max_size=3)),
    center=st.booleans(),
    scale=st.booleans(),
    shape=st.lists(DIMS, min_size=0, max_size=5).map(tuple),
)
def test_layernorm_family_property(
    type_name: str, axis: Any, center: bool, scale: bool, shape: tuple
) -> None:
    args: dict[str, Any] = {"axis": axis}
    if type_name == "LayerNormalization":
        args.update(center=center, scale=scale)
    assert_same_as_keras(type_name, args, [shape])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    groups=st.sampled_from([-1, 1, 2, 3, 4, 8, 32, 0, -2]),
    axis=st.integers(-4, 3),
    center=st.booleans(),
    scale=st.booleans(),
    shape=st.lists(st.sampled_from([None, 1, 2, 3, 4, 6, 8, 12, 32, 0]), min_size=0, max_size=4).map(tuple),
)
def test_groupnorm_property(groups: int, axis: int, center: bool, scale: bool, shape: tuple) -> None:
    args = {"groups": groups, "axis": axis, "center": center, "scale": scale}
    assert_same_as_keras("GroupNormalization", args, [shape])


# ----------------------------------------------------------------------------- dtypes and whole models
@pytest.mark.parametrize("dtype", [None, "float16", "mixed_float16", "bfloat16", "mixed_bfloat16", "float64"])
@pytest.mark.parametrize(
    "type_name, args",
    [
        ("BatchNormalization", {"renorm": True}),
        ("LayerNormalization", {}),
        ("GroupNormalization", {"groups": 1}),
        ("RMSNormalization", {}),
        ("PReLU", {}),
        ("Normalization", {}),
    ],
)
def test_weight_dtypes(type_name: str, args: dict[str, Any], dtype: str | None) -> None:
    # The oracle compares shapes only; the summary's byte sizes also need each variable's dtype.
    full = {**args, "dtype": dtype} if dtype else dict(args)
    keras.backend.clear_session()
    real = getattr(keras.layers, type_name)(**full)
    real.build((None, 4))
    layer, _ = shapecalc_call(type_name, full, (None, 4))
    assert [(w.path, w.dtype) for w in layer.weights] == [(w.name, w.dtype) for w in real.weights]


MODELS = [
    {
        "input": [32, 32, 3],
        "layers": [
            {"Rescaling": {"scale": 0.00392156862745098}},
            {"Resizing": {"height": 16, "width": 16}},
            {"CenterCrop": {"height": 12, "width": 12}},
            {"Normalization": {}},
            {"Conv2D": {"filters": 8, "kernel_size": 3}},
            {"BatchNormalization": {"renorm": True}},
            {"PReLU": {"shared_axes": [1, 2]}},
            {"GroupNormalization": {"groups": 4}},
            {"Flatten": {}},
            {"Dense": {"units": 10}},
            {"Softmax": {}},
        ],
    },
    {
        "input": [None, 16],
        "layers": [
            {"Masking": {}},
            {"LayerNormalization": {}},
            {"RMSNormalization": {}},
            {"UnitNormalization": {}},
            {"Identity": {}},
            {"Activation": {"activation": "relu"}},
            {"LeakyReLU": {"alpha": 0.1}},
            {"ELU": {}},
            {"ReLU": {"max_value": 6}},
            {"BatchNormalization": {"trainable": False}},
            {"Normalization": {"axis": None}},
            {"Normalization": {"mean": 0.5, "variance": 2}},
        ],
    },
    {
        "inputs": {"a": [8], "b": [8]},
        "layers": [
            {"BatchNormalization": {"name": "bn", "inputs": "a"}},
            {"Reuse": {"layer": "bn", "inputs": "b", "name": "bn_b"}},
            {"Add": {"inputs": ["bn", "bn_b"]}},
        ],
    },
    {"input": [8], "layers": [{"BatchNormalization": {"synchronized": True}}]},
    {"input": [8], "layers": [{"GroupNormalization": {}}]},
]


@pytest.mark.parametrize("spec", MODELS)
def test_models(spec: dict[str, Any]) -> None:
    assert_model_same_as_keras(spec)
