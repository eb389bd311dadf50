"""--run under dtype policies: float16 and bfloat16 computed as Keras computes them.

Keras builds each model with the same policies, its weights and inputs go into shapecalc's
run, and every layer's output must equal Keras's within a tolerance fitting the narrowest
dtype in the model: eight units in the last place of its 1.0 (float16 keeps 10 bits after the
point, bfloat16 7), relative to the size of the outputs. shapecalc rounds once per layer where
Keras rounds once per operation (precision.py), which differs by a few such units.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from run_check import assert_run_matches_keras
from typer.testing import CliRunner

from shapecalc.cli import app

TOLERANCE = {"float16": 8 * 2.0**-10, "bfloat16": 8 * 2.0**-7}


def _dense_chain(policy: str) -> dict[str, Any]:
    return {
        "input": [12],
        "layers": [
            {"Dense": {"units": 16, "activation": "relu", "dtype": policy}},
            {"Dense": {"units": 8, "activation": "gelu", "dtype": policy}},
            {"Dense": {"units": 4}},  # float32 after a narrow layer: its input is cast up
        ],
    }


def _conv_net(policy: str) -> dict[str, Any]:
    return {
        "input": [10, 10, 3],
        "layers": [
            {"Conv2D": {"filters": 8, "kernel_size": 3, "padding": "same", "dtype": policy}},
            {"BatchNormalization": {"dtype": policy}},
            {"ReLU": {"max_value": 6, "dtype": policy}},
            {"DepthwiseConv2D": {"kernel_size": 3, "strides": 2, "dtype": policy}},
            {"MaxPooling2D": {"dtype": policy}},
            {"GlobalAveragePooling2D": {"dtype": policy}},
            {"Dense": {"units": 5, "activation": "softmax", "dtype": policy}},
        ],
    }


def _text_model(policy: str) -> dict[str, Any]:
    # not the orthogonal recurrent initializer: Keras cannot make one in float16 (nor shapecalc)
    recurrent = {"recurrent_initializer": "glorot_uniform", "dtype": policy}
    return {
        "input": {"shape": [7], "dtype": "int32"},
        "layers": [
            {"Embedding": {"input_dim": 20, "output_dim": 6, "dtype": policy}},
            {"LSTM": {"units": 5, "return_sequences": True, **recurrent}},
            {"GRU": {"units": 4, **recurrent}},
            {"Dense": {"units": 3, "dtype": policy}},
        ],
    }


def _encoder(policy: str) -> dict[str, Any]:
    return {
        "inputs": {"x": [6, 8]},
        "layers": [
            {
                "MultiHeadAttention": {
                    "name": "attention",
                    "num_heads": 2,
                    "key_dim": 4,
                    "inputs": ["x", "x"],
                    "dtype": policy,
                }
            },
            {"Add": {"name": "residual", "inputs": ["x", "attention"], "dtype": policy}},
            {"LayerNormalization": {"name": "norm", "dtype": policy}},
            {"Dense": {"name": "ffn", "units": 8, "activation": "relu", "dtype": policy}},
        ],
        "outputs": ["ffn"],
    }


MODELS = {"dense chain": _dense_chain, "conv net": _conv_net, "text model": _text_model, "encoder": _encoder}
POLICIES = ["float16", "mixed_float16", "bfloat16", "mixed_bfloat16"]


def _inputs(spec: dict[str, Any], rng: np.random.Generator) -> dict[str, np.ndarray]:
    if "inputs" in spec:
        return {
            name: rng.standard_normal((3, *shape)).astype("float32") for name, shape in spec["inputs"].items()
        }
    declared = spec["input"]
    if isinstance(declared, dict):
        return {"input_layer": rng.integers(0, 20, (3, *declared["shape"])).astype(declared["dtype"])}
    return {"input_layer": rng.standard_normal((3, *declared)).astype("float32")}


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("model", MODELS)
def test_a_model_under_a_dtype_policy_runs_as_keras_runs_it(tmp_path: Path, model: str, policy: str) -> None:
    spec = MODELS[model](policy)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    narrow = policy.removeprefix("mixed_")
    assert_run_matches_keras(path, spec, _inputs(spec, np.random.default_rng(0)), tmp_path, TOLERANCE[narrow])


def test_a_float16_input_is_read_as_float16(tmp_path: Path) -> None:
    spec = {"input": {"shape": [5], "dtype": "float16"}, "layers": [{"Dense": {"units": 3}}]}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    inputs = {"input_layer": np.random.default_rng(1).standard_normal((4, 5)).astype("float16")}
    assert_run_matches_keras(path, spec, inputs, tmp_path, TOLERANCE["float16"])


def test_a_float64_layer_is_refused_where_written(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("input: [4]\nlayers:\n  - Dense: {units: 3}\n  - Dense: {units: 2, dtype: float64}\n")
    result = CliRunner().invoke(app, ["summary", str(path), "--run"])
    assert result.exit_code == 2
    assert f"{path}:4:5: error: dense_1 (Dense) computes in float64" in result.stderr
    assert CliRunner().invoke(app, ["summary", str(path)]).exit_code == 0  # the summary stands
