"""``shapecalc export --to keras``: the code it writes builds, in real Keras, the model the spec
describes (Keras's summary of it is the one shapecalc prints), and the round trip spec ->
export -> Keras's to_json() -> shapecalc gives the same summary again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import pytest
import yaml
from model_check import assert_model_same_as_keras, shapecalc_summary_text
from oracle import ModelFacts, model_facts
from typer.testing import CliRunner

from shapecalc.api import analyze_file
from shapecalc.cli import app

SPECS = sorted((Path(__file__).parent.parent / "specs").glob("*.yaml"))
CUSTOM = {"custom_layer.yaml"}  # custom layers are not exported yet: refused, below
runner = CliRunner()


def _exported(spec: Path, tmp_path: Path) -> ModelFacts:
    code = tmp_path / "model.py"
    result = runner.invoke(app, ["export", str(spec), "--to", "keras", "-o", str(code)])
    assert result.exit_code == 0, result.output
    keras.backend.clear_session(free_memory=False)
    namespace: dict = {}
    exec(compile(code.read_text(), str(code), "exec"), namespace)  # the code the user would run
    facts = model_facts(namespace["model"])
    assert isinstance(facts, ModelFacts), facts
    (tmp_path / "model.json").write_text(namespace["model"].to_json())
    return facts


@pytest.mark.parametrize("spec", [p for p in SPECS if p.name not in CUSTOM], ids=lambda p: p.stem)
def test_exported_code_builds_the_model_and_round_trips(spec: Path, tmp_path: Path) -> None:
    facts = _exported(spec, tmp_path)
    assert_model_same_as_keras(yaml.safe_load(spec.read_text()), facts)
    # Keras's own save of the built model reads back to the same summary
    again = analyze_file(tmp_path / "model.json")
    assert shapecalc_summary_text(again, facts.columns) == facts.summary


def test_custom_layers_are_refused_for_now(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", str(SPECS[0].parent / "custom_layer.yaml"), "--to", "keras"])
    assert result.exit_code == 2
    assert "custom layers (HalfGate, MyLayer) cannot be exported yet" in result.stderr


OPERATIONS_AND_MASKS = """
name: masked_ops
inputs:
  tok: {shape: [7], dtype: int32}
layers:
  - Embedding: {name: emb, input_dim: 20, output_dim: 6, mask_zero: true}
  - ops.multiply: {x2: 0.5}
  - Dense: {name: gate, units: 6, inputs: emb}
  - ops.add: {inputs: [multiply, gate]}
  - Concatenate: {name: both, inputs: [emb, gate]}
  - LSTM: {name: lstm, units: 3}
  - ops.mean: {axis: -1, keepdims: true}
"""


def test_operations_and_masks_round_trip(tmp_path: Path) -> None:
    # operations are written as keras.ops calls; the mask operations are left to Keras, which
    # records them again as it calls the layers
    spec = tmp_path / "spec.yaml"
    spec.write_text(OPERATIONS_AND_MASKS)
    facts = _exported(spec, tmp_path)
    assert "keras.ops.not_equal" not in (tmp_path / "model.py").read_text()
    assert shapecalc_summary_text(analyze_file(spec), facts.columns) == facts.summary
    assert shapecalc_summary_text(analyze_file(tmp_path / "model.json"), facts.columns) == facts.summary


def _keras_model_as_spec(model: keras.Model, tmp_path: Path) -> Path:
    (tmp_path / "saved.json").write_text(model.to_json())
    spec = tmp_path / "converted.yaml"
    result = runner.invoke(app, ["convert", str(tmp_path / "saved.json"), "-o", str(spec)])
    assert result.exit_code == 0, result.output
    return spec


def _nested_functional() -> keras.Model:
    inner_in = keras.Input((8,), name="inner_in")
    hidden = keras.layers.Dense(6, name="inner_dense")(inner_in)
    inner = keras.Model(inner_in, [hidden, keras.layers.Dense(2, name="inner_head")(hidden)], name="inner")
    stem = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, name="stem_dense")], name="stem")
    x = keras.Input((8,), name="x")
    features, head = inner(stem(x))
    out = keras.layers.Concatenate(name="cat")([features, head])
    return keras.Model(x, keras.layers.Dense(1, name="out")(out), name="nested")


@pytest.mark.parametrize("build", [_nested_functional, lambda: keras.applications.ConvNeXtTiny(weights=None)])
def test_models_used_as_layers_are_exported_as_models(build: Any, tmp_path: Path) -> None:
    # a saved model -> convert -> export -> the code builds a model Keras summarises as the original
    keras.backend.clear_session(free_memory=False)
    model = build()
    original = model_facts(model)
    assert isinstance(original, ModelFacts)
    spec = _keras_model_as_spec(model, tmp_path)
    facts = _exported(spec, tmp_path)
    assert facts.summary == original.summary
    assert "keras.Sequential(" in (tmp_path / "model.py").read_text()
