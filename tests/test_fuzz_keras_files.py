"""Hostile mutations of models Keras saved (``to_json()``), through every command that reads
them: summary (text, JSON, --run), convert and export end with exit 0-3, a located message,
no traceback, internal error or warning (fuzz.py judges each run). The models are random
functional models with masks and with keras.ops calls, built in Keras. A small campaign runs
by default; SHAPECALC_FUZZ_KERAS=N runs N cases. Each finding is fixed where it arises, and
kept below as a regression case."""

from __future__ import annotations

import copy
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
from fuzz import mutate, run_command
from oracle import build_keras_model
from test_mask_operations import _Draw
from test_operations import _random_model
from typer.testing import CliRunner

from shapecalc.cli import app

CASES = int(os.environ.get("SHAPECALC_FUZZ_KERAS") or 150)
runner = CliRunner()


def _saved_models() -> list[Any]:
    models = []
    for seed in range(6):
        models.append(json.loads(build_keras_model(_Draw(seed).spec()).to_json()))
        models.append(json.loads(_random_model(seed).to_json()))
    return models


def _commands(path: Path) -> list[list[str]]:
    target = str(path)
    return [
        ["summary", target],
        ["summary", target, "--format", "json"],
        ["summary", target, "--run"],
        ["convert", target],
        ["export", target, "--to", "keras"],
    ]


def test_mutated_keras_files_end_cleanly(tmp_path: Path) -> None:
    sources = _saved_models()
    findings = []
    for seed in range(CASES):
        r = random.Random(f"keras/{seed}")
        doc = copy.deepcopy(r.choice(sources))
        changes = []
        for _ in range(r.randint(1, 3)):
            doc, change = mutate(doc, r)
            changes.append(change)
        path = tmp_path / f"case{seed}.json"
        path.write_text(json.dumps(doc))
        for args in _commands(path):
            outcome = run_command(args, {"COLUMNS": "100"})
            if outcome.problem:
                findings.append(
                    f"seed {seed} ({'; '.join(changes)}): {' '.join(args[:1])} -> {outcome.problem}"
                )
                break
    assert not findings, "\n\n".join(findings[:3])


def _summary(tmp_path: Path, doc: Any, *args: str) -> Any:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(doc))
    return runner.invoke(app, ["summary", str(path), *args])


def _text_model() -> Any:
    return json.loads(build_keras_model(_Draw(0).spec()).to_json())


def _first_call(doc: Any) -> Any:
    layer = next(layer for layer in doc["config"]["layers"] if layer["inbound_nodes"])
    return layer["inbound_nodes"][0]["args"][0]["config"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda doc: _first_call(doc)["keras_history"].__setitem__(2, None),
            "a tensor is written [layer name",
        ),
        (
            lambda doc: _first_call(doc)["keras_history"].__setitem__(1, "x"),
            "a tensor is written [layer name",
        ),
        (lambda doc: _first_call(doc).pop("keras_history"), "a Keras tensor without its keras_history"),
        (lambda doc: doc["config"]["layers"].__setitem__(1, 0), "a layer must be a mapping, got 0"),
        (
            lambda doc: doc["config"]["layers"][1]["config"].__setitem__("name", 0),
            "name: a layer name must be a non-empty string",
        ),
    ],
)
def test_broken_saved_models_are_refused_where_they_break(change: Any, message: str, tmp_path: Path) -> None:
    doc = _text_model()
    change(doc)
    result = _summary(tmp_path, doc)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"{tmp_path / 'model.json'}:") and message in result.stderr


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"minval": -0.05, "maxval": [0.05, 0.05]}, "config: maxval must be a number"),
        ({"seed": "x"}, "config: seed must be an integer or null"),
    ],
)
def test_initializer_settings_keras_cannot_build_with_are_refused(
    config: Any, message: str, tmp_path: Path
) -> None:
    spec = {
        "input": [4],
        "layers": [
            {"Dense": {"units": 2, "kernel_initializer": {"class_name": "RandomUniform", "config": config}}}
        ],
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    result = runner.invoke(app, ["summary", str(path)])
    assert result.exit_code == 1 and message in result.stderr


def test_an_initializer_class_given_as_a_mapping_is_refused(tmp_path: Path) -> None:
    spec = {"input": [4], "layers": [{"Dense": {"units": 2, "kernel_initializer": {"class_name": {}}}}]}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    result = runner.invoke(app, ["summary", str(path)])
    assert result.exit_code == 1 and "needs class_name, one of Keras's initializers" in result.stderr


def test_a_uniform_initializer_with_maxval_below_minval_runs(tmp_path: Path) -> None:
    # Keras on JAX draws such values; NumPy's own uniform refuses them, shapecalc's does not
    init = {"class_name": "RandomUniform", "config": {"minval": 1.0, "maxval": -1.0}}
    spec = {"input": [4], "layers": [{"Dense": {"units": 2, "kernel_initializer": init}}]}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    assert runner.invoke(app, ["summary", str(path), "--run"]).exit_code == 0
