"""Regularization kernels against Keras: in inference mode every dropout and noise layer, and
ActivityRegularization, returns its input unchanged."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from kernel_check import assert_kernel_matches_keras

from shapecalc.layers import registry

LAYERS = [
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "ActivityRegularization",
]  # fmt: skip


def data(*shape: int) -> np.ndarray:
    return np.random.default_rng(3).standard_normal(shape).astype("float32")


def test_every_regularization_layer_has_a_kernel() -> None:
    assert all(registry.lookup(name).has_kernel() for name in LAYERS)


CASES = [
    ("Dropout", {"rate": 0.5}, (2, 3)),
    ("Dropout", {"rate": 0.0}, (2, 3, 4)),
    ("Dropout", {"rate": 1.0}, (2, 4)),
    ("Dropout", {"rate": 0.3, "noise_shape": [None, 1, 4], "seed": 7}, (2, 3, 4)),
    ("SpatialDropout1D", {"rate": 0.5}, (2, 5, 3)),
    ("SpatialDropout1D", {"rate": 0.9, "seed": 1}, (2, 5, 3)),
    ("SpatialDropout2D", {"rate": 0.5}, (2, 3, 4, 2)),
    ("SpatialDropout2D", {"rate": 0.5, "data_format": "channels_first"}, (2, 2, 3, 4)),
    ("SpatialDropout3D", {"rate": 0.5}, (2, 2, 3, 2, 2)),
    ("SpatialDropout3D", {"rate": 0.2, "data_format": "channels_first"}, (2, 2, 3, 2, 2)),
    ("GaussianNoise", {"stddev": 1.0}, (2, 3)),
    ("GaussianNoise", {"stddev": 0.1, "seed": 3}, (2, 3, 4, 5)),
    ("GaussianDropout", {"rate": 0.4}, (2, 3)),
    ("GaussianDropout", {"rate": 0.0}, (2, 3, 2)),
    ("AlphaDropout", {"rate": 0.5}, (2, 6)),
    ("AlphaDropout", {"rate": 0.2, "noise_shape": [2, 1], "seed": 5}, (2, 6)),
    ("ActivityRegularization", {}, (2, 3)),
    ("ActivityRegularization", {"l1": 0.1, "l2": 0.01}, (2, 3, 4)),
    ("Dropout", {"rate": 0.5}, (4,)),
    ("GaussianNoise", {"stddev": 0.5}, (1, 2, 2, 2, 2, 2)),
]


@pytest.mark.parametrize(("type_name", "args", "shape"), CASES)
def test_identity_at_inference(type_name: str, args: dict[str, Any], shape: tuple[int, ...]) -> None:
    x = data(*shape)
    out = assert_kernel_matches_keras(type_name, args, [x])[0]
    np.testing.assert_array_equal(out, x)  # exactly the input, not merely close
