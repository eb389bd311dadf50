"""Normalization kernels against Keras (inference mode): BatchNormalization (moving statistics),
LayerNormalization, RMSNormalization, GroupNormalization, UnitNormalization."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from kernel_check import assert_kernel_matches_keras

from shapecalc.errors import CallFailure
from shapecalc.layers import registry

LAYERS = [
    "BatchNormalization", "LayerNormalization", "RMSNormalization", "GroupNormalization",
    "UnitNormalization",
]  # fmt: skip


def data(*shape: int, seed: int = 1) -> np.ndarray:
    # An offset and a spread so that the mean and variance both matter.
    return (1.5 + 2.0 * np.random.default_rng(seed).standard_normal(shape)).astype("float32")


def test_every_normalization_layer_has_a_kernel() -> None:
    assert all(registry.lookup(name).has_kernel() for name in LAYERS)


# ----------------------------------------------------------------------------- BatchNormalization
BATCH_NORM_CASES = [
    ({}, (3, 4)),
    ({}, (2, 3, 4, 5)),
    ({"axis": 1}, (2, 3, 4, 5)),
    ({"axis": -3}, (2, 3, 4, 5)),
    ({"axis": 2}, (2, 3, 4)),
    ({"axis": 0}, (3, 4)),
    ({"axis": "1"}, (2, 3, 4)),
    ({"axis": 1.7}, (2, 3, 4)),
    ({"center": False}, (2, 3, 4)),
    ({"scale": False}, (2, 3, 4)),
    ({"center": False, "scale": False}, (2, 3, 4)),
    ({"epsilon": 0.5}, (2, 5)),
    ({"epsilon": 1e-5, "momentum": 0.9}, (2, 5)),
    ({"epsilon": "1e-2"}, (2, 5)),
    ({"renorm": True}, (2, 3, 4)),
    ({"renorm": True, "renorm_clipping": {"rmax": 2, "rmin": 0.5, "dmax": 1}, "axis": 1}, (2, 3, 4)),
    ({"axis": 1}, (2, 3, 2, 2, 2)),
    ({}, (1, 1)),
]


@pytest.mark.parametrize(("args", "shape"), BATCH_NORM_CASES)
def test_batch_normalization(args: dict[str, Any], shape: tuple[int, ...]) -> None:
    assert_kernel_matches_keras("BatchNormalization", args, [data(*shape)])


def test_batch_normalization_by_hand() -> None:
    # Hand derivation with the random weights the harness assigns (seed 0) read back:
    # (x - moving_mean) / sqrt(moving_variance + eps) * gamma + beta.
    x = data(2, 3)
    out = assert_kernel_matches_keras("BatchNormalization", {"epsilon": 0.01}, [x])[0]
    rng = np.random.default_rng(0)
    gamma, beta = rng.uniform(-0.5, 0.5, 3), rng.uniform(-0.5, 0.5, 3)
    mean, variance = rng.uniform(-0.5, 0.5, 3), rng.uniform(0.5, 1.5, 3)
    gamma, beta, mean, variance = (v.astype("float32") for v in (gamma, beta, mean, variance))
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(variance + 0.01) * gamma + beta, rtol=1e-5)


# ----------------------------------------------------------------------------- LayerNormalization
LAYER_NORM_CASES = [
    ({}, (3, 4)),
    ({}, (2, 3, 4)),
    ({"axis": 1}, (2, 3, 4)),
    ({"axis": -2}, (2, 3, 4)),
    ({"axis": 2}, (2, 3, 4)),
    ({"axis": [1, 2]}, (2, 3, 4)),
    ({"axis": [2, 1]}, (2, 3, 4)),
    ({"axis": [-1, -2]}, (2, 3, 4)),
    ({"axis": [-1, 1]}, (2, 3, 4)),  # sorted [-1, 1]: gamma (4, 3) is reshaped, not transposed
    ({"axis": [-1, 1]}, (2, 3, 3)),
    ({"axis": [1, 3]}, (2, 3, 4, 5)),
    ({"axis": [1, 2, 3]}, (2, 3, 4, 5)),
    ({"axis": [0, 1]}, (2, 3)),  # the weights have the input's rank: plain broadcasting
    ({"axis": 0}, (3, 4)),
    ({"center": False}, (2, 3, 4)),
    ({"scale": False}, (2, 3, 4)),
    ({"center": False, "scale": False, "axis": [1, 2]}, (2, 3, 4)),
    ({"epsilon": 0.3}, (2, 6)),
    ({"epsilon": None}, (2, 6)),  # Keras falls back on keras.config.epsilon() = 1e-7
    ({"epsilon": 0}, (2, 6)),
    ({"rms_scaling": True}, (2, 3, 4)),
    ({"rms_scaling": True, "axis": [1, 2]}, (2, 3, 4)),
    ({"rms_scaling": True, "scale": False, "center": True}, (2, 5)),
    ({"rms_scaling": True, "axis": 1, "epsilon": 0.1}, (2, 3, 4)),
    ({"axis": [-2, -1]}, (2, 1, 4)),
]


@pytest.mark.parametrize(("args", "shape"), LAYER_NORM_CASES)
def test_layer_normalization(args: dict[str, Any], shape: tuple[int, ...]) -> None:
    assert_kernel_matches_keras("LayerNormalization", args, [data(*shape)])


def test_layer_normalization_by_hand() -> None:
    # No weights: (x - mean) / sqrt(var + eps) over the last axis.
    x = np.array([[1.0, 2.0, 3.0, 6.0]], "float32")
    out = assert_kernel_matches_keras("LayerNormalization", {"center": False, "scale": False}, [x])[0]
    np.testing.assert_allclose(out, (x - 3.0) / np.sqrt(3.5 + 1e-3), rtol=1e-5)


# ----------------------------------------------------------------------------- RMSNormalization
RMS_NORM_CASES = [
    ({}, (3, 4)),
    ({}, (2, 3, 4)),
    ({"axis": [1, 2]}, (2, 3, 4)),
    ({"axis": [2, 1]}, (2, 3, 4)),
    ({"axis": [-2, -1]}, (2, 3, 4)),
    ({"axis": 1}, (2, 3)),
    ({"axis": 1}, (2, 4, 4)),  # scale (4,) multiplies the LAST axis by plain broadcasting
    ({"axis": [1, 2, 3]}, (2, 2, 3, 4)),
    ({"epsilon": 0.5}, (2, 5)),
    ({"epsilon": None}, (2, 5)),
]


@pytest.mark.parametrize(("args", "shape"), RMS_NORM_CASES)
def test_rms_normalization(args: dict[str, Any], shape: tuple[int, ...]) -> None:
    assert_kernel_matches_keras("RMSNormalization", args, [data(*shape)])


def test_rms_normalization_scale_on_other_axis_fails_as_in_keras() -> None:
    # axis 1 of (2, 3, 4): scale (3,) cannot broadcast against the last axis (4) in Keras either.
    from kernel_check import keras_run

    x = data(2, 3, 4)
    with pytest.raises(Exception):  # noqa: B017 - numpy's broadcasting ValueError, wrapped by Keras
        keras_run("RMSNormalization", {"axis": 1}, [x], as_list=False)
    from shapecalc.layers import create_layer
    from shapecalc.layers.factory import Namer

    layer = create_layer("RMSNormalization", {"axis": 1}, Namer())
    layer.infer(x.shape)
    with pytest.raises(CallFailure, match="does not broadcast"):  # a failing call, as Keras's
        layer.forward(x, {"scale": np.ones(3, "float32")})


# ----------------------------------------------------------------------------- GroupNormalization
GROUP_NORM_CASES = [
    ({"groups": 2}, (2, 4)),
    ({"groups": 2}, (2, 3, 4)),
    ({"groups": 4}, (2, 3, 4)),
    ({"groups": 1}, (2, 3, 4)),
    ({"groups": -1}, (2, 3, 6)),
    ({"groups": 3}, (2, 3, 4, 6)),
    ({"groups": 2, "axis": 1}, (2, 4, 3, 3)),
    ({"groups": 2, "axis": -3}, (2, 4, 3, 3)),
    ({"groups": 2, "axis": -2}, (2, 3, 4, 3)),
    ({"groups": 3, "axis": 2}, (2, 2, 6, 2)),
    ({"groups": 2, "axis": 1}, (2, 4)),
    ({"groups": 2, "center": False}, (2, 3, 4)),
    ({"groups": 2, "scale": False}, (2, 3, 4)),
    ({"groups": 2, "scale": False, "center": False}, (2, 3, 4)),
    ({"groups": 2, "epsilon": 0.5}, (2, 3, 4)),
    ({"groups": 4, "epsilon": 1e-5}, (2, 2, 2, 2, 8)),
    ({"groups": 2, "axis": 1}, (2, 4, 2, 2, 2)),
]


@pytest.mark.parametrize(("args", "shape"), GROUP_NORM_CASES)
def test_group_normalization(args: dict[str, Any], shape: tuple[int, ...]) -> None:
    assert_kernel_matches_keras("GroupNormalization", args, [data(*shape)])


def test_group_normalization_groups_are_consecutive_channels() -> None:
    # Hand derivation: channels [0, 1] form group 0 and [2, 3] group 1, each normalised
    # over its own spatial positions and channels.
    x = data(1, 5, 4)
    args = {"groups": 2, "center": False, "scale": False}
    out = assert_kernel_matches_keras("GroupNormalization", args, [x])[0]
    for g in range(2):
        part = x[0, :, 2 * g : 2 * g + 2]
        want = (part - part.mean()) / np.sqrt(part.var() + 1e-3)
        np.testing.assert_allclose(out[0, :, 2 * g : 2 * g + 2], want, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- UnitNormalization
UNIT_NORM_CASES = [
    ({}, (3, 4)),
    ({}, (2, 3, 4)),
    ({"axis": 1}, (2, 3, 4)),
    ({"axis": [1, 2]}, (2, 3, 4)),
    ({"axis": [-1, -2]}, (2, 3, 4)),
    ({"axis": [1, 3]}, (2, 3, 4, 5)),
    ({"axis": 0}, (3, 4)),
    ({"axis": [0, 1]}, (3, 4)),
]


@pytest.mark.parametrize(("args", "shape"), UNIT_NORM_CASES)
def test_unit_normalization(args: dict[str, Any], shape: tuple[int, ...]) -> None:
    assert_kernel_matches_keras("UnitNormalization", args, [data(*shape)])


def test_unit_normalization_zero_vector_and_tiny_norms() -> None:
    # An all-zero vector stays 0 (1/||x|| is capped at 1/epsilon = 1e12); tiny norms are capped too.
    x = np.array([[0.0, 0.0, 0.0], [1e-14, 0.0, 0.0], [3.0, 4.0, 0.0]], "float32")
    out = assert_kernel_matches_keras("UnitNormalization", {}, [x])[0]
    np.testing.assert_allclose(out[2], [0.6, 0.8, 0.0], rtol=1e-6)
    assert (out[0] == 0).all()


# ----------------------------------------------------------------------------- loose epsilons
# Keras never checks epsilon in these layers: it is added to the variance as it is.
@pytest.mark.parametrize(
    ("type_name", "args"),
    [
        ("LayerNormalization", {"epsilon": True}),
        ("LayerNormalization", {"epsilon": [0.1, 0.2, 0.3, 0.4]}),  # broadcast over the last axis
        ("RMSNormalization", {"epsilon": [0.1]}),
        ("GroupNormalization", {"groups": 2, "epsilon": 1}),
    ],
)
def test_epsilon_taken_as_given(type_name: str, args: dict[str, Any]) -> None:
    assert_kernel_matches_keras(type_name, args, [data(2, 4)])


@pytest.mark.parametrize(
    ("type_name", "args"),
    [
        ("LayerNormalization", {"epsilon": "0.1"}),
        ("RMSNormalization", {"epsilon": "0.1"}),
        ("GroupNormalization", {"groups": 2, "epsilon": "0.1"}),
        ("GroupNormalization", {"groups": 2, "epsilon": None}),  # no keras.config.epsilon() fallback here
    ],
)
def test_epsilon_that_fails_at_run_in_keras(type_name: str, args: dict[str, Any]) -> None:
    from kernel_check import keras_run

    from shapecalc.layers import create_layer
    from shapecalc.layers.factory import Namer

    x = data(2, 4)
    layer = create_layer(type_name, args, Namer())
    _, built = layer.infer(x.shape)
    with pytest.raises(Exception):  # noqa: B017 - numpy's ufunc error, wrapped by Keras
        _, weights = keras_run(type_name, args, [x], as_list=False)
    weights = {w.path: np.ones(w.shape, "float32") for w in built.weights}
    with pytest.raises(CallFailure):
        layer.forward(x, weights)
