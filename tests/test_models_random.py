"""Random whole models, shapecalc against Keras: rows, shapes, counts, weights, totals, summary text.

The seeds are fixed so CI is reproducible; each seed is one spec from tests/random_specs.py.
"""

from __future__ import annotations

import pytest
from model_check import assert_model_same_as_keras
from random_specs import functional_spec, sequential_spec


@pytest.mark.parametrize("seed", range(400))
def test_random_sequential_model(seed: int) -> None:
    assert_model_same_as_keras(sequential_spec(seed))


@pytest.mark.parametrize("seed", range(150))
def test_random_functional_model(seed: int) -> None:
    assert_model_same_as_keras(functional_spec(seed))
