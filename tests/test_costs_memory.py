"""Memory figures: each call's output dtype against Keras's symbolic output, its activation
bytes, and the CLI's memory totals (hand-derived), including unknown sizes.

The dtype of a call's output is what ``activation_bytes`` is counted in, so it is compared with
the dtype Keras gives the symbolic output of the same layer called on a ``keras.Input`` of the
same dtype (the oracle); the byte count is then checked against that dtype's numpy itemsize.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from oracle import CALLS, POSITIONAL_CALLS, keras, make_layer
from typer.testing import CliRunner

from shapecalc.api import analyze_data
from shapecalc.cli import app
from shapecalc.costs import model_costs
from shapecalc.errors import SpecError
from shapecalc.layers.input_layer import InputLayer

runner = CliRunner()

INPUT_DTYPES = ["int32", "bool", "float64", "float16", "float32", "int64", "uint8"]

# (layer type, arguments, input shape without the batch axis); merges take two such inputs.
SINGLE: list[tuple[str, dict[str, Any], tuple[int, ...]]] = [
    ("Flatten", {}, (4, 3)),
    ("Reshape", {"target_shape": [12]}, (4, 3)),
    ("Reshape", {"target_shape": [-1, 2]}, (4, 3)),
    ("Permute", {"dims": [2, 1]}, (4, 3)),
    ("Identity", {}, (4, 3)),
    ("RepeatVector", {"n": 2}, (3,)),
    ("Cropping1D", {"cropping": 1}, (4, 3)),
    ("Cropping2D", {"cropping": 1}, (4, 4, 3)),
    ("ZeroPadding1D", {"padding": 1}, (4, 3)),
    ("ZeroPadding2D", {"padding": 1}, (4, 4, 3)),
    ("UpSampling1D", {"size": 2}, (4, 3)),
    ("UpSampling2D", {"size": 2}, (4, 4, 3)),
    ("Dropout", {"rate": 0.5}, (4, 3)),
    ("SpatialDropout1D", {"rate": 0.5}, (4, 3)),
    ("GaussianNoise", {"stddev": 0.1}, (4, 3)),
    ("GaussianDropout", {"rate": 0.1}, (4, 3)),
    ("ActivityRegularization", {}, (4, 3)),
    ("Masking", {}, (4, 3)),
    ("Activation", {"activation": "relu"}, (4, 3)),
    ("Activation", {"activation": "linear"}, (4, 3)),
    ("ReLU", {}, (4, 3)),
    ("LeakyReLU", {}, (4, 3)),
    ("Softmax", {}, (4, 3)),
    ("Dense", {"units": 2}, (4, 3)),
    ("Embedding", {"input_dim": 10, "output_dim": 2}, (4,)),
    ("Conv1D", {"filters": 2, "kernel_size": 2}, (4, 3)),
    ("Conv2D", {"filters": 2, "kernel_size": 2}, (4, 4, 3)),
    ("MaxPooling1D", {"pool_size": 2}, (4, 3)),
    ("AveragePooling1D", {"pool_size": 2}, (4, 3)),
    ("GlobalAveragePooling1D", {}, (4, 3)),
    ("GlobalMaxPooling1D", {}, (4, 3)),
    ("BatchNormalization", {}, (4, 3)),
    ("LayerNormalization", {}, (4, 3)),
    ("UnitNormalization", {}, (4, 3)),
    ("RandomFlip", {}, (4, 4, 3)),
    ("RandomContrast", {"factor": 0.1}, (4, 4, 3)),
    ("RandomGrayscale", {}, (4, 4, 3)),
    ("RandomGrayscale", {"data_format": "channels_first"}, (3, 4, 4)),
    ("TimeDistributed", {"layer": {"RandomGrayscale": {}}}, (2, 4, 4, 3)),
    ("TimeDistributed", {"layer": {"Equalization": {}}}, (2, 4, 4, 3)),
    ("CategoryEncoding", {"num_tokens": 5}, (3,)),
    ("CategoryEncoding", {"num_tokens": 5, "output_mode": "one_hot"}, (3,)),
    ("CategoryEncoding", {"num_tokens": 5, "output_mode": "count"}, (3,)),
    ("Discretization", {"bin_boundaries": [0.0, 1.0]}, (4, 3)),
    ("Discretization", {"bin_boundaries": [0.0, 1.0], "output_mode": "one_hot"}, (3,)),
    ("Discretization", {"bin_boundaries": [0.0, 1.0], "output_mode": "multi_hot"}, (4, 3)),
    ("Discretization", {"bin_boundaries": [0.0, 1.0], "output_mode": "count"}, (4, 3)),
    ("Rescaling", {"scale": 0.5, "offset": 1.0}, (4, 3)),
    ("Normalization", {"mean": 0.5, "variance": 2.0}, (4, 3)),
    ("CenterCrop", {"height": 2, "width": 2}, (4, 4, 3)),
    ("Resizing", {"height": 2, "width": 2}, (4, 4, 3)),
    ("TimeDistributed", {"layer": {"Dense": {"units": 2}}}, (4, 3)),
    ("TimeDistributed", {"layer": {"Flatten": {}}}, (4, 3, 2)),
    ("LSTM", {"units": 2}, (4, 3)),
    ("LSTM", {"units": 2, "return_sequences": True}, (4, 3)),
    ("SimpleRNN", {"units": 2}, (4, 3)),
    ("Bidirectional", {"layer": {"GRU": {"units": 2}}}, (4, 3)),
]

MERGES: list[tuple[str, dict[str, Any], tuple[int, ...]]] = [
    ("Add", {}, (4, 3)),
    ("Subtract", {}, (4, 3)),
    ("Multiply", {}, (4, 3)),
    ("Maximum", {}, (4, 3)),
    ("Average", {}, (4, 3)),
    ("Concatenate", {}, (4, 3)),
    ("Concatenate", {"axis": 1}, (4, 3)),
    ("Minimum", {}, (4, 3)),
    ("Dot", {"axes": -1}, (4, 3)),
    ("Attention", {}, (4, 3)),
    ("MultiHeadAttention", {"num_heads": 1, "key_dim": 2}, (4, 3)),
]

# (layer type, arguments, input shape, input dtype, dtype policy)
POLICIES: list[tuple[str, dict[str, Any], tuple[int, ...], str, str]] = [
    (name, args, shape, input_dtype, policy)
    for policy in ["mixed_float16", "mixed_bfloat16", "float64", "bfloat16", "float16"]
    for name, args, shape, input_dtype in [
        ("Dense", {"units": 2}, (4, 3), "float32"),
        ("Dense", {"units": 2}, (4, 3), "int32"),
        ("Embedding", {"input_dim": 10, "output_dim": 2}, (4,), "int32"),
        ("Conv1D", {"filters": 2, "kernel_size": 2}, (4, 3), "float32"),
        ("LSTM", {"units": 2}, (4, 3), "float32"),
        ("GRU", {"units": 2}, (4, 3), "float32"),
        ("Dense", {"units": 2, "kernel_initializer": "orthogonal"}, (4, 3), "float32"),
        ("BatchNormalization", {}, (4, 3), "float32"),
        ("LayerNormalization", {}, (4, 3), "float32"),
        ("Activation", {"activation": "relu"}, (4, 3), "float32"),
        ("Softmax", {}, (4, 3), "float32"),
        ("Dropout", {"rate": 0.5}, (4, 3), "float32"),
        ("Flatten", {}, (4, 3), "float32"),
        ("Flatten", {}, (4, 3), "int32"),
        ("Flatten", {}, (4, 3), "float64"),
        ("Reshape", {"target_shape": [12]}, (4, 3), "bool"),
        ("Identity", {}, (4, 3), "float16"),
        ("Rescaling", {"scale": 0.5}, (4, 3), "int32"),
        ("CategoryEncoding", {"num_tokens": 5}, (3,), "int32"),
        ("Discretization", {"bin_boundaries": [0.0, 1.0]}, (4, 3), "float32"),
        ("Discretization", {"bin_boundaries": [0.0, 1.0], "output_mode": "one_hot"}, (3,), "float32"),
        ("MaxPooling1D", {"pool_size": 2}, (4, 3), "float32"),
        ("RandomGrayscale", {}, (4, 4, 3), "float32"),
        ("RandomGrayscale", {}, (4, 4, 3), "uint8"),
        ("TimeDistributed", {"layer": {"Dense": {"units": 2}}}, (4, 3), "float32"),
    ]
]

FLOATS = {"float16", "bfloat16", "float32", "float64"}


def _itemsize(dtype: str) -> int:
    """numpy's item size for a Keras dtype name (bfloat16 through ml_dtypes, as JAX has it)."""
    return np.dtype(getattr(ml_dtypes, dtype) if dtype == "bfloat16" else dtype).itemsize


def _keras_dtype(
    type_name: str, args: dict[str, Any], shape: tuple[int, ...], input_dtypes: list[str]
) -> tuple[str, tuple[int | None, ...]] | Exception:
    """Keras's symbolic output dtype and shape for the layer called on inputs of these dtypes."""
    CALLS["layer shapes"] += 1
    keras.backend.clear_session(free_memory=False)
    try:
        layer = make_layer(type_name, args)
        inputs = [keras.Input(shape, dtype=d) for d in input_dtypes]
        if type_name in POSITIONAL_CALLS:
            out = layer(*inputs)  # MultiHeadAttention(query, value)
        else:
            out = layer(inputs if len(inputs) > 1 else inputs[0])
    except Exception as err:
        return err
    return keras.backend.standardize_dtype(out.dtype), tuple(out.shape)


def _shapecalc_call(
    type_name: str, args: dict[str, Any], shape: tuple[int, ...], input_dtypes: list[str]
) -> tuple[str, int | None]:
    """shapecalc's dtype and activation bytes for the same one-layer spec."""
    if len(input_dtypes) == 1:
        spec: dict[str, Any] = {
            "input": {"shape": list(shape), "dtype": input_dtypes[0]},
            "layers": [{type_name: args}],
        }
    else:
        names = [f"x{i}" for i in range(len(input_dtypes))]
        inputs = {n: {"shape": list(shape), "dtype": d} for n, d in zip(names, input_dtypes, strict=True)}
        spec = {"inputs": inputs, "layers": [{type_name: {**args, "inputs": names}}]}
    analysis = analyze_data(spec)
    costs = model_costs(analysis)
    (call,) = [c for c in analysis.model_calls if not isinstance(c.layer, InputLayer)]
    return costs.calls[call].dtype, costs.calls[call].activation_bytes


def _case_id(type_name: str, args: dict[str, Any], dtypes: list[str], policy: str | None) -> str:
    arg_text = ",".join(f"{k}={v}" for k, v in args.items())
    pol = f"-policy={policy}" if policy else ""
    return f"{type_name}({arg_text})-{'+'.join(dtypes)}{pol}"


def _params() -> list[Any]:
    rows: list[tuple[str, dict[str, Any], tuple[int, ...], list[str], str | None]] = []
    rows += [(n, a, s, [d], None) for n, a, s in SINGLE for d in INPUT_DTYPES]
    rows += [(n, a, s, [d, d], None) for n, a, s in MERGES for d in INPUT_DTYPES]
    rows += [(n, a, s, ["int32", "float32"], None) for n, a, s in MERGES]
    rows += [(n, a, s, ["float16", "float64"], None) for n, a, s in MERGES]
    rows += [(n, a, s, [d], p) for n, a, s, d, p in POLICIES]
    rows += [("Add", {}, (4, 3), [d, d], "mixed_float16") for d in ("float32", "int32")]
    rows += [("Concatenate", {}, (4, 3), [d, d], "float64") for d in ("float32", "bool")]
    params = []
    for name, args, shape, dtypes, policy in rows:
        params.append(
            pytest.param(name, args, shape, dtypes, policy, id=_case_id(name, args, dtypes, policy))
        )
    return params


@pytest.mark.parametrize(("type_name", "args", "shape", "input_dtypes", "policy"), _params())
def test_output_dtype_and_activation_bytes_match_keras(
    type_name: str, args: dict[str, Any], shape: tuple[int, ...], input_dtypes: list[str], policy: str | None
) -> None:
    if policy is not None:
        args = {**args, "dtype": policy}
    keras_answer = _keras_dtype(type_name, args, shape, input_dtypes)
    if isinstance(keras_answer, Exception):
        # Keras refuses to build it: shapecalc must refuse the spec too.
        with pytest.raises(SpecError):
            _shapecalc_call(type_name, args, shape, input_dtypes)
        return
    keras_dtype, keras_shape = keras_answer
    dtype, activation_bytes = _shapecalc_call(type_name, args, shape, input_dtypes)
    assert dtype == keras_dtype
    assert activation_bytes == math.prod(keras_shape[1:]) * _itemsize(keras_dtype)


def test_input_layer_outputs_its_declared_dtype() -> None:
    for input_dtype in [*INPUT_DTYPES, "int8", "int16", "uint16", "uint32", "bfloat16"]:
        keras.backend.clear_session(free_memory=False)
        keras_dtype = keras.backend.standardize_dtype(keras.Input((4, 3), dtype=input_dtype).dtype)
        spec = {"input": {"shape": [4, 3], "dtype": input_dtype}, "layers": [{"Flatten": {}}]}
        analysis = analyze_data(spec)
        costs = model_costs(analysis)
        (call,) = [c for c in analysis.model_calls if isinstance(c.layer, InputLayer)]
        assert costs.calls[call].dtype == keras_dtype
        assert costs.calls[call].activation_bytes == 4 * 3 * _itemsize(keras_dtype)


# ----------------------------------------------------------------------------- CLI totals
def _summary_json(tmp_path: Path, spec: dict[str, Any], *options: str) -> dict[str, Any]:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(spec))
    result = runner.invoke(app, ["summary", str(path), "--format", "json", *options])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_memory_totals_hand_derived(tmp_path: Path) -> None:
    spec = {
        "input": {"shape": [6], "dtype": "int32"},
        "layers": [
            {"Embedding": {"input_dim": 10, "output_dim": 4}},  # (6, 4) float32
            {"Conv1D": {"filters": 5, "kernel_size": 3}},  # (4, 5) float32
            {"GlobalMaxPooling1D": {}},  # (5,) float32
            {"Dense": {"units": 2, "dtype": "float64"}},  # (2,) float64, float64 weights
            {"Dense": {"units": 3, "dtype": "mixed_float16"}},  # (3,) float16, float32 weights
        ],
    }
    data = _summary_json(tmp_path, spec, "--batch", "8")
    by_type = {layer["type"]: layer for layer in data["layers"]}
    dense64, dense16 = [layer for layer in data["layers"] if layer["type"] == "Dense"]
    # per example: output elements x bytes per element
    assert by_type["Embedding"]["activation_bytes"] == 6 * 4 * 4
    assert by_type["Conv1D"]["activation_bytes"] == (6 - 3 + 1) * 5 * 4
    assert by_type["GlobalMaxPooling1D"]["activation_bytes"] == 5 * 4
    assert dense64["activation_bytes"] == 2 * 8
    assert dense16["activation_bytes"] == 3 * 2

    assert data["batch"] == 8
    # one int32 example of 6 tokens, times the batch
    assert data["input_bytes"] == 6 * 4 * 8  # 192
    # every non-input call's output for one example, times the batch
    forward_per_example = 6 * 4 * 4 + 4 * 5 * 4 + 5 * 4 + 2 * 8 + 3 * 2  # 96 + 80 + 20 + 16 + 6 = 218
    assert data["forward_bytes"] == forward_per_example * 8  # 1744
    # Embedding 10*4 float32; Conv1D 3*4*5 + 5 float32; Dense 5*2 + 2 float64 (the policy's
    # variable dtype); Dense 2*3 + 3 float32 (mixed_float16 keeps float32 variables)
    weight_bytes = 40 * 4 + 65 * 4 + 12 * 8 + 9 * 4  # 160 + 260 + 96 + 36 = 552
    assert data["weight_bytes"] == weight_bytes
    assert data["total_bytes"] == 6 * 4 * 8 + forward_per_example * 8 + weight_bytes  # 2488


def test_memory_totals_use_the_specs_fixed_batch(tmp_path: Path) -> None:
    spec = {"input": [3], "batch_size": 5, "layers": [{"Dense": {"units": 2}}]}
    data = _summary_json(tmp_path, spec)
    assert data["batch"] == 5
    assert data["input_bytes"] == 3 * 4 * 5  # 60
    assert data["forward_bytes"] == 2 * 4 * 5  # 40
    assert data["weight_bytes"] == (3 * 2 + 2) * 4  # 32
    assert data["total_bytes"] == 60 + 40 + 32
    assert data["total_macs"] == 3 * 2
    assert data["batch_macs"] == 3 * 2 * 5
    # --batch overrides it; without either the batch is 1
    assert _summary_json(tmp_path, spec, "--batch", "2")["input_bytes"] == 3 * 4 * 2
    unbatched = {"input": [3], "layers": [{"Dense": {"units": 2}}]}
    assert _summary_json(tmp_path, unbatched)["batch"] == 1


# ----------------------------------------------------------------------------- unknown sizes
UNKNOWN_LENGTH_SPEC = {
    "input": [None, 3],
    "layers": [
        {"Conv1D": {"filters": 4, "kernel_size": 3}},  # (None, L-2, 4)
        {"Dense": {"units": 2}},  # (None, L-2, 2)
        {"GlobalAveragePooling1D": {}},  # (None, 2)
        {"Dense": {"units": 1}},  # (None, 1)
    ],
}


def test_unknown_sizes_make_figures_null(tmp_path: Path) -> None:
    data = _summary_json(tmp_path, UNKNOWN_LENGTH_SPEC)
    conv, dense2, gap, dense1 = [layer for layer in data["layers"] if layer["type"] != "InputLayer"]
    assert conv["activation_bytes"] is None and conv["macs"] is None
    assert dense2["activation_bytes"] is None and dense2["macs"] is None
    # the pooled tail is known whatever the length
    assert gap["activation_bytes"] == 2 * 4 and gap["macs"] == 0
    assert dense1["activation_bytes"] == 1 * 4 and dense1["macs"] == 2 * 1
    assert data["total_macs"] is None
    assert data["batch_macs"] is None
    assert data["input_bytes"] is None
    assert data["forward_bytes"] is None
    assert data["total_bytes"] is None
    # Conv1D 3*3*4 + 4, Dense 4*2 + 2, Dense 2*1 + 1 parameters, float32
    assert data["weight_bytes"] == (40 + 10 + 3) * 4


def test_unknown_size_option_fills_in_the_length(tmp_path: Path) -> None:
    data = _summary_json(tmp_path, UNKNOWN_LENGTH_SPEC, "--unknown-size", "10")
    conv, dense2, gap, dense1 = [layer for layer in data["layers"] if layer["type"] != "InputLayer"]
    # length 10: the valid 3-tap convolution leaves 10 - 3 + 1 = 8 positions
    assert conv["activation_bytes"] == 8 * 4 * 4  # 128
    assert conv["macs"] == 8 * 3 * 3 * 4  # positions x taps x channels x filters = 288
    assert dense2["activation_bytes"] == 8 * 2 * 4  # 64
    assert dense2["macs"] == 8 * 4 * 2  # 64
    assert gap["activation_bytes"] == 2 * 4
    assert dense1["activation_bytes"] == 1 * 4
    assert data["total_macs"] == 288 + 64 + 0 + 2  # 354
    assert data["batch"] == 1
    assert data["input_bytes"] == 10 * 3 * 4  # 120
    assert data["forward_bytes"] == 128 + 64 + 8 + 4  # 204
    weight_bytes = (40 + 10 + 3) * 4  # 212
    assert data["weight_bytes"] == weight_bytes
    assert data["total_bytes"] == 120 + 204 + weight_bytes  # 536
    # and with a batch, every batch figure scales
    batched = _summary_json(tmp_path, UNKNOWN_LENGTH_SPEC, "--unknown-size", "10", "--batch", "3")
    assert batched["batch_macs"] == 354 * 3
    assert batched["input_bytes"] == 120 * 3
    assert batched["forward_bytes"] == 204 * 3
    assert batched["total_bytes"] == 120 * 3 + 204 * 3 + weight_bytes
