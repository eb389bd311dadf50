"""Activation-layer kernels against Keras: Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax,
Masking, Identity, on concrete arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from kernel_check import assert_kernel_matches_keras, keras_run

from shapecalc.kernels.activations import ACTIVATIONS
from shapecalc.layers import create_layer, registry
from shapecalc.layers.factory import Namer

LAYERS = ["Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Masking", "Identity"]


def data(*shape: int, seed: int = 1, scale: float = 3.0) -> np.ndarray:
    return (scale * np.random.default_rng(seed).standard_normal(shape)).astype("float32")


def test_every_activation_layer_has_a_kernel() -> None:
    assert all(registry.lookup(name).has_kernel() for name in LAYERS)


# ----------------------------------------------------------------------------- Activation
@pytest.mark.parametrize("name", [*sorted(ACTIVATIONS), None])
def test_activation(name: str | None) -> None:
    assert_kernel_matches_keras("Activation", {"activation": name}, [data(2, 3, 8)])


# ----------------------------------------------------------------------------- ReLU
RELU_CASES = [
    {},
    {"max_value": 6},
    {"max_value": 6.0, "threshold": 1.0},
    {"max_value": 2.5},
    {"max_value": 0},
    {"negative_slope": 0.1},
    {"negative_slope": 2.0},  # Keras's leaky_relu is max(x, 2x): positive x doubles too
    {"negative_slope": 0.1, "max_value": 4},
    {"negative_slope": 0.3, "threshold": 1.5},
    {"negative_slope": 0.2, "threshold": 0.5, "max_value": 3},
    {"negative_slope": 1.5, "threshold": 0.5},
    {"threshold": 2.0},
    {"threshold": 1, "max_value": 0.5},  # the cap below the threshold
    {"max_value": None, "negative_slope": 0, "threshold": 0},
    {"negative_slope": True},
]


@pytest.mark.parametrize("args", RELU_CASES)
@pytest.mark.parametrize("shape", [(2, 7), (2, 3, 4, 2)])
def test_relu(args: dict[str, Any], shape: tuple[int, ...]) -> None:
    assert_kernel_matches_keras("ReLU", args, [data(*shape)])


def test_relu_threshold_by_hand() -> None:
    # threshold 1, slope 0.5: x <= 1 -> -0.5 * (1 - x); x > 1 -> x.
    x = np.array([[-1.0, 0.0, 1.0, 2.0]], "float32")
    out = assert_kernel_matches_keras("ReLU", {"threshold": 1.0, "negative_slope": 0.5}, [x])[0]
    np.testing.assert_allclose(out, [[-1.0, -0.5, 0.0, 2.0]])


# ----------------------------------------------------------------------------- LeakyReLU
@pytest.mark.parametrize(
    "args", [{}, {"negative_slope": 0.01}, {"negative_slope": 0}, {"negative_slope": 3}, {"alpha": 0.5}]
)
def test_leaky_relu(args: dict[str, Any]) -> None:
    assert_kernel_matches_keras("LeakyReLU", args, [data(2, 3, 5)])


# ----------------------------------------------------------------------------- PReLU
PRELU_CASES = [
    ((2, 5), None),
    ((2, 3, 4), None),
    ((2, 3, 4), 1),
    ((2, 3, 4), [2]),
    ((2, 3, 4, 5), [1, 2]),
    ((2, 3, 4, 5), [1, 2, 3]),
    ((2, 3, 4, 5), [3]),
    ((2, 3, 4, 5), -1),  # param_shape[-2] = 1: the height axis
    ((2, 3, 4, 5), [0]),  # param_shape[-1] = 1: the channel axis
    ((2, 2, 3, 4, 2), [1, 2, 3]),
]


@pytest.mark.parametrize(("shape", "shared_axes"), PRELU_CASES)
def test_prelu(shape: tuple[int, ...], shared_axes: Any) -> None:
    assert_kernel_matches_keras("PReLU", {"shared_axes": shared_axes}, [data(*shape)])


# ----------------------------------------------------------------------------- ELU
@pytest.mark.parametrize("alpha", [1.0, 0.5, 2, 0, -1.0])
def test_elu(alpha: float) -> None:
    assert_kernel_matches_keras("ELU", {"alpha": alpha}, [data(2, 4, 3)])


def test_elu_large_negative_inputs() -> None:
    x = np.array([[-100.0, -20.0, -1e-8, 0.0, 1e-8, 50.0]], "float32")
    assert_kernel_matches_keras("ELU", {}, [x])


# ----------------------------------------------------------------------------- Softmax
SOFTMAX_CASES = [
    ((2, 5), -1),
    ((2, 5), 1),
    ((2, 5), 0),
    ((2, 3, 4), 1),
    ((2, 3, 4), -2),
    ((2, 3, 4), (1, 2)),
    ((2, 3, 4), (-1, -2)),
    ((2, 3, 4), [2]),
    ((2, 3, 4), (1,)),
    ((2, 3, 4), (0, 2)),
    ((2, 3, 4, 5), (1, 3)),
    ((2, 3, 4, 5), (1, 2, 3)),
    ((2, 1), -1),  # a size-1 axis: Keras warns, the answer is 1
]


@pytest.mark.parametrize(("shape", "axis"), SOFTMAX_CASES)
def test_softmax(shape: tuple[int, ...], axis: Any) -> None:
    assert_kernel_matches_keras("Softmax", {"axis": axis}, [data(*shape)])


@pytest.mark.parametrize("axis", [-1, (1, 2)])
def test_softmax_large_logits_do_not_overflow(axis: Any) -> None:
    x = data(2, 3, 4, scale=1.0) * np.float32(300.0)
    out = assert_kernel_matches_keras("Softmax", {"axis": axis}, [x])[0]
    assert np.isfinite(out).all()


# Several axes work only as a tuple (Python API); a spec's list fails in Keras's numpy backend.
@pytest.mark.parametrize("axis", [3, [], "x", [1, 5], [1, 2], [-1, -2]])
def test_softmax_bad_axis_fails_at_run_as_in_keras(axis: Any) -> None:
    x = data(2, 3, 4)
    layer = create_layer("Softmax", {"axis": axis}, Namer())
    layer.infer(x.shape)  # Keras accepts any axis on a symbolic call
    with pytest.raises(Exception):  # noqa: B017 - Keras raises numpy's AxisError, IndexError, TypeError...
        keras_run("Softmax", {"axis": axis}, [x], as_list=False)
    with pytest.raises(Exception):  # noqa: B017
        layer.forward(x, {})


# ----------------------------------------------------------------------------- Masking
def masked_steps(shape: tuple[int, ...], value: float, seed: int = 2) -> np.ndarray:
    """Random data where about half the steps (last-axis vectors) are all ``value``; some
    other steps hold ``value`` in only part of their features (not masked)."""
    x = data(*shape, seed=seed)
    rng = np.random.default_rng(seed + 1)
    steps = rng.random(shape[:-1]) < 0.5
    x[steps] = value
    partial = rng.random(shape) < 0.3
    return np.where(partial, np.float32(value), x).astype("float32")


@pytest.mark.parametrize("mask_value", [0.0, 1.5, -2, float("nan")])
@pytest.mark.parametrize("shape", [(3, 5, 4), (2, 3, 4, 2), (6, 3), (7,)])
def test_masking(mask_value: float, shape: tuple[int, ...]) -> None:
    x = masked_steps(shape, mask_value)
    out = assert_kernel_matches_keras("Masking", {"mask_value": mask_value}, [x])[0]
    if not np.isnan(mask_value):
        # Hand check: a step whose features all equal mask_value is zeroed, the rest kept.
        gone = np.all(x == mask_value, axis=-1, keepdims=True)
        np.testing.assert_array_equal(out, np.where(gone, 0, x))


def test_masking_nan_in_data_never_masks() -> None:
    x = np.full((2, 3, 2), np.nan, "float32")
    x[0, 1] = 0.0
    out = assert_kernel_matches_keras("Masking", {}, [x])[0]
    assert np.isnan(out[1]).all() and (out[0, 1] == 0).all()


def test_masking_serialized_numpy_mask_value() -> None:
    value = {"class_name": "__numpy__", "config": {"value": [1.0, 2.0], "dtype": "float32"}}
    x = masked_steps((2, 4, 2), 0.0)
    x[0, 1] = [1.0, 2.0]
    x[1, 2] = [1.0, 0.0]
    out = assert_kernel_matches_keras("Masking", {"mask_value": value}, [x])[0]
    assert (out[0, 1] == 0).all() and out[1, 2, 0] == 1.0


# ----------------------------------------------------------------------------- Identity
@pytest.mark.parametrize("shape", [(2,), (2, 3), (2, 3, 4, 5)])
def test_identity(shape: tuple[int, ...]) -> None:
    x = data(*shape)
    out = assert_kernel_matches_keras("Identity", {}, [x])[0]
    np.testing.assert_array_equal(out, x)


# ----------------------------------------------------------------------------- loose arguments
# Keras checks none of these values; NumPy converts them where Keras's backend does.
@pytest.mark.parametrize(
    ("type_name", "args"),
    [
        ("ELU", {"alpha": "0.5"}),
        ("ELU", {"alpha": None}),  # np.array(None, float32) is NaN: every negative input gives NaN
        ("Masking", {"mask_value": None}),  # x != None everywhere: nothing is masked
        ("Masking", {"mask_value": [0.0, 1.0, 2.0, 3.0]}),  # compared feature by feature
        ("Masking", {"mask_value": float("inf")}),
        ("Masking", {"mask_value": True}),
    ],
)
def test_loose_arguments(type_name: str, args: dict[str, Any]) -> None:
    x = data(3, 2, 4)
    x[0, 1] = [0.0, 1.0, 2.0, 3.0]
    x[1, 0] = np.inf
    x[2, 1] = 1.0
    assert_kernel_matches_keras(type_name, args, [x])


def test_masking_string_value_fails_at_run_as_in_keras() -> None:
    x = data(2, 3, 4)
    layer = create_layer("Masking", {"mask_value": "a"}, Namer())
    layer.infer(x.shape)
    with pytest.raises(Exception):  # noqa: B017 - numpy's ufunc error, wrapped by Keras
        keras_run("Masking", {"mask_value": "a"}, [x], as_list=False)
    with pytest.raises(Exception):  # noqa: B017
        layer.forward(x, {})
