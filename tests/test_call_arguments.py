"""Call arguments (``call:``): what Keras takes when a layer is called rather than built,
honoured by the shape rules and by --run, against Keras given the same arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from model_check import assert_model_same_as_keras
from oracle import ModelFacts, Refusal, keras_model_facts
from run_check import assert_run_matches_keras

from shapecalc.api import analyze_text
from shapecalc.errors import SpecError


def _attention(call: dict[str, Any], query: int = 6, value: int = 6, **extra: Any) -> dict[str, Any]:
    mha = {"name": "mha", "num_heads": 2, "key_dim": 4, **extra, "inputs": ["q", "v"], "call": call}
    return {
        "inputs": {"q": [query, 8], "v": [value, 8]},
        "layers": [{"MultiHeadAttention": mha}],
        "outputs": ["mha"] if not call.get("return_attention_scores") else ["mha.0", "mha.1"],
    }


@pytest.mark.parametrize(
    "call",
    [
        {"use_causal_mask": True},
        {"return_attention_scores": True},
        {"use_causal_mask": True, "return_attention_scores": True, "training": False},
    ],
)
def test_attention_call_arguments_shapes(call: dict[str, Any]) -> None:
    facts = assert_model_same_as_keras(_attention(call))
    assert isinstance(facts, ModelFacts)
    if call.get("return_attention_scores"):
        # the scores: (batch, heads, query steps, value steps)
        assert facts.layer("mha").output == [(None, 6, 8), (None, 2, 6, 6)]


def test_scores_of_a_longer_value_take_keras_s_symbolic_shape() -> None:
    # Keras's compute_output_spec gives (batch, heads, T, T) whatever the value's length S
    facts = assert_model_same_as_keras(_attention({"return_attention_scores": True}, query=3, value=5))
    assert isinstance(facts, ModelFacts)
    assert facts.layer("mha").output == [(None, 3, 8), (None, 2, 3, 3)]


@pytest.mark.parametrize(
    ("call", "extra"),
    [
        ({"use_causal_mask": True}, {}),  # Keras's fused route with is_causal
        ({"use_causal_mask": True}, {"dropout": 0.1}),  # its einsum route, the mask built
        ({"return_attention_scores": True}, {}),
        ({"use_causal_mask": True, "return_attention_scores": True}, {}),
    ],
)
def test_attention_call_arguments_run_as_keras(
    call: dict[str, Any], extra: dict[str, Any], tmp_path: Path
) -> None:
    spec = _attention(call, **extra)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    rng = np.random.default_rng(0)
    inputs = {name: rng.standard_normal((2, 6, 8)).astype("float32") for name in ("q", "v")}
    assert_run_matches_keras(path, spec, inputs, tmp_path)


def test_a_causal_mask_changes_the_output(tmp_path: Path) -> None:
    # the last query step sees every value step either way: only earlier steps differ
    outputs = []
    for call in ({}, {"use_causal_mask": True}):
        spec = _attention(call)
        path = tmp_path / f"{len(call)}.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        rng = np.random.default_rng(0)
        inputs = {name: rng.standard_normal((2, 6, 8)).astype("float32") for name in ("q", "v")}
        folder = tmp_path / str(len(call))
        folder.mkdir()
        assert_run_matches_keras(path, spec, inputs, folder)
        outputs.append(np.load(folder / "outputs.npz")["mha"])
    assert not np.allclose(outputs[0][:, 0], outputs[1][:, 0])
    np.testing.assert_allclose(outputs[0][:, -1], outputs[1][:, -1], rtol=1e-5, atol=1e-5)


BAD = [
    (
        "{use_casual_mask: true}",
        "its call takes no argument 'use_casual_mask' (did you mean 'use_causal_mask'?)",
    ),
    ("{use_causal_mask: 1}", "call argument use_causal_mask"),
    ("{training: maybe}", "call argument training is true, false or null"),
    ("true", "call maps Keras's call arguments to values"),
]


@pytest.mark.parametrize(("call", "message"), BAD)
def test_bad_call_arguments_are_located(call: str, message: str) -> None:
    entry = f"MultiHeadAttention: {{num_heads: 2, key_dim: 4, inputs: [x, x], call: {call}}}"
    text = f"inputs: {{x: [6, 8]}}\nlayers:\n  - {entry}\n"
    with pytest.raises(SpecError) as caught:
        analyze_text(text, "spec.yaml")
    assert message in caught.value.message
    assert caught.value.location is not None and caught.value.location.line == 3
    assert caught.value.code == "E004"


def test_a_sequential_spec_takes_no_call_arguments() -> None:
    spec = {"input": [4], "layers": [{"Dense": {"units": 2, "call": {"training": False}}}]}
    assert isinstance(keras_model_facts(spec), Refusal)  # keras.Sequential passes no arguments
    with pytest.raises(SpecError, match="a Sequential model calls each layer on the tensor alone"):
        analyze_text(yaml.safe_dump(spec))


def test_training_is_taken_by_every_layer() -> None:
    spec = {
        "inputs": {"x": [4]},
        "layers": [{"Dropout": {"rate": 0.5, "inputs": "x", "call": {"training": True}}}],
    }
    facts = assert_model_same_as_keras(spec)
    assert isinstance(facts, ModelFacts)


def _decoder(cell: str, states: list[str], units: int = 6) -> dict[str, Any]:
    return {
        "inputs": {"a": [5, 4], "b": [7, 3]},
        "layers": [
            {cell: {"name": "enc", "units": units, "return_state": True, "inputs": "a"}},
            {
                cell: {
                    "name": "dec",
                    "units": units,
                    "return_sequences": True,
                    "inputs": "b",
                    "call": {"initial_state": states},
                }
            },
        ],
        "outputs": ["dec"],
    }


@pytest.mark.parametrize(
    ("cell", "states"), [("GRU", ["enc.1"]), ("SimpleRNN", ["enc.1"]), ("LSTM", ["enc.1", "enc.2"])]
)
def test_initial_state_starts_a_recurrent_layer(cell: str, states: list[str], tmp_path: Path) -> None:
    spec = _decoder(cell, states)
    facts = assert_model_same_as_keras(spec)
    assert isinstance(facts, ModelFacts)
    assert facts.layer("dec").inbound[1:] == [("enc", 0, int(s[-1])) for s in states]
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    rng = np.random.default_rng(1)
    inputs = {
        "a": rng.standard_normal((2, 5, 4)).astype("float32"),
        "b": rng.standard_normal((2, 7, 3)).astype("float32"),
    }
    assert_run_matches_keras(path, spec, inputs, tmp_path)


def test_initial_states_that_do_not_fit_fail_when_the_layer_runs(tmp_path: Path) -> None:
    # Keras checks nothing when it builds the model; its call fails on one state for an LSTM
    spec = _decoder("LSTM", ["enc.1"])
    assert isinstance(assert_model_same_as_keras(spec), ModelFacts)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    rng = np.random.default_rng(1)
    inputs = {
        "a": rng.standard_normal((2, 5, 4)).astype("float32"),
        "b": rng.standard_normal((2, 7, 3)).astype("float32"),
    }
    report = assert_run_matches_keras(path, spec, inputs, tmp_path)
    (dec,) = [layer for layer in report["layers"] if layer["name"] == "dec"]
    assert not dec["ok"] and "initial_state must be 2 states" in dec["run_note"]


def test_an_unknown_state_reference_is_located() -> None:
    text = "inputs: {b: [7, 3]}\nlayers:\n  - LSTM: {units: 4, inputs: b, call: {initial_state: [enc.1]}}\n"
    with pytest.raises(SpecError) as caught:
        analyze_text(text, "spec.yaml")
    assert "unknown input 'enc.1'" in caught.value.message
    where = caught.value.location
    assert where is not None and (where.line, where.col) == (3, 1 + text.splitlines()[2].index("enc.1"))


def _dot_attention(kind: str, call: dict[str, Any], query: int = 6, value: int = 6) -> dict[str, Any]:
    outputs = ["att.0", "att.1"] if call.get("return_attention_scores") else ["att"]
    return {
        "inputs": {"q": [query, 8], "v": [value, 8]},
        "layers": [{kind: {"name": "att", "inputs": ["q", "v"], "call": call}}],
        "outputs": outputs,
    }


@pytest.mark.parametrize("kind", ["Attention", "AdditiveAttention"])
@pytest.mark.parametrize(
    "call",
    [
        {"use_causal_mask": True},
        {"return_attention_scores": True},
        {"use_causal_mask": True, "return_attention_scores": True},
    ],
)
def test_dot_attention_call_arguments(kind: str, call: dict[str, Any], tmp_path: Path) -> None:
    spec = _dot_attention(kind, call, value=6)
    facts = assert_model_same_as_keras(spec)
    assert isinstance(facts, ModelFacts)
    if call.get("return_attention_scores"):
        assert facts.layer("att").output == [(None, 6, 8), (None, 6, 6)]  # the scores: (batch, Tq, Tv)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    rng = np.random.default_rng(2)
    inputs = {name: rng.standard_normal((2, 6, 8)).astype("float32") for name in ("q", "v")}
    assert_run_matches_keras(path, spec, inputs, tmp_path)


def test_dot_attention_scores_of_a_longer_value() -> None:
    facts = assert_model_same_as_keras(
        _dot_attention("Attention", {"return_attention_scores": True}, query=3, value=5)
    )
    assert isinstance(facts, ModelFacts)
    assert facts.layer("att").output == [(None, 3, 8), (None, 3, 5)]


@pytest.mark.parametrize(
    "call",
    [
        {"use_causal_mask": True},
        {"return_attention_scores": True},
        {"use_causal_mask": True, "return_attention_scores": True},
    ],
)
def test_grouped_query_attention_call_arguments(call: dict[str, Any], tmp_path: Path) -> None:
    gqa = {
        "name": "gqa",
        "head_dim": 4,
        "num_query_heads": 4,
        "num_key_value_heads": 2,
        "inputs": ["q", "v"],
        "call": call,
    }
    spec = {
        "inputs": {"q": [6, 8], "v": [5, 8]},
        "layers": [{"GroupQueryAttention": gqa}],  # the name keras.layers exports
        "outputs": ["gqa.0", "gqa.1"] if call.get("return_attention_scores") else ["gqa"],
    }
    facts = assert_model_same_as_keras(spec)
    assert isinstance(facts, ModelFacts)
    if call.get("return_attention_scores"):
        assert facts.layer("gqa").output == [(None, 6, 8), (None, 4, 6, 5)]  # (batch, query heads, T, S)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    rng = np.random.default_rng(3)
    inputs = {
        "q": rng.standard_normal((2, 6, 8)).astype("float32"),
        "v": rng.standard_normal((2, 5, 8)).astype("float32"),
    }
    assert_run_matches_keras(path, spec, inputs, tmp_path)


def test_bidirectional_initial_state_splits_in_halves(tmp_path: Path) -> None:
    # Keras: the first half of the states starts the forward layer, the second the backward one
    lstm = {"LSTM": {"units": 5, "return_sequences": True}}
    spec = {
        "inputs": {"a": [4, 3], "b": [6, 3]},
        "layers": [
            {
                "Bidirectional": {
                    "name": "enc",
                    "layer": {"LSTM": {"units": 5, "return_state": True}},
                    "inputs": "a",
                }
            },
            {
                "Bidirectional": {
                    "name": "dec",
                    "layer": lstm,
                    "inputs": "b",
                    "call": {"initial_state": ["enc.1", "enc.2", "enc.3", "enc.4"]},
                }
            },
        ],
        "outputs": ["dec"],
    }
    facts = assert_model_same_as_keras(spec)
    assert isinstance(facts, ModelFacts)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    rng = np.random.default_rng(4)
    inputs = {
        "a": rng.standard_normal((2, 4, 3)).astype("float32"),
        "b": rng.standard_normal((2, 6, 3)).astype("float32"),
    }
    assert_run_matches_keras(path, spec, inputs, tmp_path)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_lstm_initial_state(data_format: str, tmp_path: Path) -> None:
    conv = {"filters": 2, "kernel_size": 3, "padding": "same", "data_format": data_format}
    shape = [3, 5, 5, 2] if data_format == "channels_last" else [3, 2, 5, 5]
    spec = {
        "inputs": {"a": shape, "b": shape},
        "layers": [
            {"ConvLSTM2D": {"name": "enc", **conv, "return_state": True, "inputs": "a"}},
            {
                "ConvLSTM2D": {
                    "name": "dec",
                    **conv,
                    "inputs": "b",
                    "call": {"initial_state": ["enc.1", "enc.2"]},
                }
            },
        ],
        "outputs": ["dec"],
    }
    facts = assert_model_same_as_keras(spec)
    assert isinstance(facts, ModelFacts)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    rng = np.random.default_rng(5)
    inputs = {name: rng.standard_normal((2, *shape)).astype("float32") for name in ("a", "b")}
    assert_run_matches_keras(path, spec, inputs, tmp_path)
