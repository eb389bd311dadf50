"""Merging kernels against Keras: the element-wise merges (with Keras's broadcasting of different
ranks), Concatenate and Dot (every axes form, normalize), on concrete arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from kernel_check import assert_kernel_matches_keras, keras_run

from shapecalc.errors import CallFailure
from shapecalc.layers import create_layer, registry
from shapecalc.layers.factory import Namer

ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]
LAYERS = [*ELEMENTWISE, "Concatenate", "Dot"]


def data(*shape: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def arrays(shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    return [data(*s, seed=k) for k, s in enumerate(shapes)]


def test_every_merging_layer_has_a_kernel() -> None:
    assert all(registry.lookup(name).has_kernel() for name in LAYERS)


# ----------------------------------------------------------------------------- element-wise
SHAPE_LISTS = [
    [(2, 3), (2, 3)],
    [(2, 3), (2, 1)],
    [(2, 1), (2, 3)],
    [(2, 3, 4), (2, 3, 4)],
    [(2, 3, 4), (2, 1, 4)],
    [(2, 3, 1), (2, 1, 4)],
    [(2, 2, 3), (2, 3)],  # different ranks: the missing axes go after the batch axis
    [(2, 3), (2, 2, 3)],
    [(2, 1), (2, 4, 3)],
    [(2, 3, 1), (2, 3)],  # (3, 1) against (3,) right-aligned gives (3, 3)
    [(2, 4), (2, 3, 2, 4)],
    [(2, 5, 1, 3), (2, 1), (2, 2, 3)],
    [(1, 3), (1, 3)],  # batch of one: batch must still meet batch
    [(2, 3)],
]


@pytest.mark.parametrize(
    ("type_name", "shapes"),
    # Subtract takes exactly two inputs.
    [(t, s) for t in ELEMENTWISE for s in SHAPE_LISTS if t != "Subtract" or len(s) == 2],
)
def test_elementwise(type_name: str, shapes: list[tuple[int, ...]]) -> None:
    assert_kernel_matches_keras(type_name, {}, arrays(shapes))


@pytest.mark.parametrize("type_name", [n for n in ELEMENTWISE if n != "Subtract"])
@pytest.mark.parametrize("count", [3, 4, 5])
def test_elementwise_many_inputs(type_name: str, count: int) -> None:
    assert_kernel_matches_keras(type_name, {}, arrays([(2, 3, 4)] * count))


def test_average_by_hand() -> None:
    a, b, c = (np.full((1, 2), v, dtype="float32") for v in (1.0, 2.0, 6.0))
    out = assert_kernel_matches_keras("Average", {}, [a, b, c])[0]
    np.testing.assert_allclose(out, [[3.0, 3.0]])


# ----------------------------------------------------------------------------- Concatenate
CONCATENATIONS = [
    (-1, [(2, 3), (2, 4)]),
    (1, [(2, 3), (2, 4), (2, 1)]),
    (1, [(2, 3, 4), (2, 2, 4)]),
    (2, [(2, 3, 4), (2, 3, 5)]),
    (-2, [(2, 3, 4), (2, 1, 4)]),
    (0, [(2, 3), (1, 3)]),  # the batch axis itself
    (-3, [(2, 3, 4), (3, 3, 4)]),
    (3, [(2, 2, 3, 1), (2, 2, 3, 2), (2, 2, 3, 3)]),
    (-1, [(2, 3)]),
]


@pytest.mark.parametrize(("axis", "shapes"), CONCATENATIONS)
def test_concatenate(axis: int, shapes: list[tuple[int, ...]]) -> None:
    assert_kernel_matches_keras("Concatenate", {"axis": axis}, arrays(shapes))


# ----------------------------------------------------------------------------- Dot
DOTS = [
    (1, [(2, 3), (2, 3)]),
    (-1, [(2, 3), (2, 3)]),
    (1, [(2, 3, 4), (2, 3, 5)]),
    (2, [(2, 3, 4), (2, 5, 4)]),
    (-1, [(2, 3, 4), (2, 5, 4)]),
    ((1, 2), [(2, 3, 4), (2, 5, 3)]),
    ((2, 1), [(2, 3, 4), (2, 4, 5)]),
    ((-1, -2), [(2, 3, 4), (2, 4, 3)]),
    ((1, 1), [(2, 4), (2, 4, 3)]),  # rank 2 with rank 3
    ((2, 1), [(2, 3, 4), (2, 4)]),
    ((1, 2), [(2, 4), (2, 3, 4)]),
    ((2, 3), [(2, 3, 4, 2), (2, 2, 5, 4)]),  # ranks above 3 are squashed and restored
    ((3, 1), [(2, 3, 4, 5), (2, 5, 2, 3)]),
    ((1, 3), [(2, 4, 2, 3), (2, 2, 3, 4)]),
    (-1, [(2, 2, 3, 4), (2, 2, 4)]),
]


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize(("axes", "shapes"), DOTS)
def test_dot(axes: Any, shapes: list[tuple[int, ...]], normalize: bool) -> None:
    args = {"axes": list(axes) if isinstance(axes, tuple) else axes, "normalize": normalize}
    assert_kernel_matches_keras("Dot", args, arrays(shapes))


def test_dot_normalize_with_a_zero_vector() -> None:
    # Keras's numpy backend divides by the norm and treats a zero norm as 1: zeros stay zeros.
    x = data(2, 3)
    x[0] = 0.0
    out = assert_kernel_matches_keras("Dot", {"axes": 1, "normalize": True}, [x, data(2, 3, seed=5)])[0]
    np.testing.assert_array_equal(out[0], [0.0])


def test_dot_cosine_by_hand() -> None:
    x = np.array([[3.0, 4.0]], dtype="float32")
    y = np.array([[4.0, 3.0]], dtype="float32")
    out = assert_kernel_matches_keras("Dot", {"axes": 1, "normalize": True}, [x, y])[0]
    np.testing.assert_allclose(out, [[24 / 25]], rtol=1e-6)


def test_dot_over_the_batch_axis_builds_but_fails_at_run() -> None:
    # The symbolic rule contracts the batch axis happily; batch_dot refuses it on real data.
    inputs = [data(3, 3), data(3, 3, seed=2)]
    layer = create_layer("Dot", {"axes": 0}, Namer())
    layer.infer([(3, 3), (3, 3)])
    with pytest.raises(ValueError):
        keras_run("Dot", {"axes": 0}, inputs, as_list=True)
    with pytest.raises(CallFailure):
        layer.forward(inputs, {})
