"""--run on random models: Keras's weights and inputs in, every layer's output equal to Keras's.

The same random specs as the static differential tests; those Keras refuses are skipped here
(the static tests already check that shapecalc refuses them too).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from oracle import Refusal, keras_model_facts
from random_specs import functional_spec, sequential_spec
from run_check import assert_run_matches_keras


def _inputs(spec: dict[str, Any], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random ids or floats. Ids are 0 (padding, for mask_zero) in about a third of the places and
    in the last two steps; with a Masking layer, every third float step is all zeros."""
    declared = spec["inputs"] if "inputs" in spec else {"input_layer": spec["input"]}
    ids = any("Embedding" in entry for entry in spec["layers"])
    masking = any("Masking" in entry for entry in spec["layers"])
    batch = spec.get("batch_size") or 2
    arrays = {}
    for name, shape in declared.items():
        dims = [
            batch,
            *(6 if d is None else d for d in (shape["shape"] if isinstance(shape, dict) else shape)),
        ]
        if ids:
            array = rng.integers(0, 50, dims).astype("int32")
            array[rng.random(dims) < 0.3] = 0
            array[..., -2:] = 0
        else:
            array = rng.standard_normal(dims).astype("float32")
            if masking and array.ndim >= 3:
                array[:, ::3] = 0
        arrays[name] = array
    return arrays


def _check(spec: dict[str, Any], tmp_path: Path, seed: int) -> None:
    if isinstance(keras_model_facts(spec), Refusal):
        return  # an invalid spec: nothing to run (test_models_random checks shapecalc refuses it)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    assert_run_matches_keras(path, spec, _inputs(spec, np.random.default_rng(seed)), tmp_path)


@pytest.mark.parametrize("seed", range(120))
def test_random_sequential_run(seed: int, tmp_path: Path) -> None:
    _check(sequential_spec(seed), tmp_path, seed)


@pytest.mark.parametrize("seed", range(60))
def test_random_functional_run(seed: int, tmp_path: Path) -> None:
    _check(functional_spec(seed), tmp_path, seed)
