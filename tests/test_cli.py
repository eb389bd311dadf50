"""The command line: the JSON contract, the plain table when piped, `layers`, exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from oracle import ModelFacts, build_keras_model, capture_summary, keras_model_facts
from typer.testing import CliRunner

from shapecalc.cli import app
from shapecalc.layers import registry
from shapecalc.layers.aliases import KERAS_ALIASES

SPECS = Path(__file__).parent.parent / "specs"
runner = CliRunner()


def summary_json(path: Path) -> dict:
    result = runner.invoke(app, ["summary", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_json_contract_for_a_sequential_spec() -> None:
    spec_path = SPECS / "upsampling_autoencoder.yaml"
    data = summary_json(spec_path)
    facts = keras_model_facts(yaml.safe_load(spec_path.read_text()))
    assert isinstance(facts, ModelFacts)
    assert data["name"] == facts.name
    assert [layer["name"] for layer in data["layers"]] == [f.name for f in facts.layers]
    first = data["layers"][0]
    assert first == {
        "name": "conv2d",
        "type": "Conv2D",
        "inputs": ["input_layer"],
        "output_shape": [None, 28, 28, 16],
        "params": 160,  # 3*3*1*16 + 16
        "trainable_params": 160,
        "non_trainable_params": 0,
        "macs": 28 * 28 * 3 * 3 * 1 * 16,  # output positions x taps x input channels x filters
        "activation_bytes": 28 * 28 * 16 * 4,  # float32
        "receptive_field": [3, 3],
        "effective_stride": [1, 1],
        "blocks": [],  # written at the top level, in no block instance
    }
    assert data["outputs"] == [facts.layers[-1].name]
    assert (data["total_params"], data["trainable_params"], data["non_trainable_params"]) == (3369, 3369, 0)


def test_json_contract_for_a_functional_spec() -> None:
    spec_path = SPECS / "two_inputs_lstm.yaml"
    data = summary_json(spec_path)
    facts = keras_model_facts(yaml.safe_load(spec_path.read_text()))
    assert isinstance(facts, ModelFacts)
    by_name = {layer["name"]: layer for layer in data["layers"]}
    assert [layer["name"] for layer in data["layers"]] == [f.name for f in facts.layers]
    assert by_name["tokens"]["type"] == "InputLayer" and by_name["tokens"]["params"] == 0
    assert by_name["lstm"]["output_shape"] == [[None, 32], [None, 32], [None, 32]]
    assert by_name["cat"]["inputs"] == ["lstm.0", "lstm.1", "lstm.2", "gap"]
    for layer, fact in zip(data["layers"], facts.layers, strict=True):
        expected = fact.output if isinstance(fact.output, tuple) else [list(s) for s in fact.output]
        got = layer["output_shape"]
        assert (tuple(got) if isinstance(expected, tuple) else got) == expected
        assert (layer["trainable_params"], layer["non_trainable_params"]) == (
            fact.trainable,
            fact.non_trainable,
        )
    assert data["total_params"] == facts.total_params


def test_piped_output_has_no_colour_codes_and_matches_keras_at_80_columns() -> None:
    path = SPECS / "upsampling_autoencoder.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "shapecalc", "summary", str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "80", "LINES": "50"},
    )
    assert "\x1b[" not in done.stdout
    facts = keras_model_facts(yaml.safe_load(path.read_text()), columns=80)
    assert isinstance(facts, ModelFacts)
    assert done.stdout == facts.summary


def test_layers_lists_every_registered_type() -> None:
    result = runner.invoke(app, ["layers", "--format", "json"])
    assert result.exit_code == 0
    assert set(json.loads(result.stdout)) == set(registry.all_layer_types())


def test_layers_shows_one_type() -> None:
    result = runner.invoke(app, ["layers", "Conv2D", "--format", "json"])
    arguments = json.loads(result.stdout)["Conv2D"]["arguments"]
    # defaults as JSON values, as Keras's signature has them (strides=(1, 1) -> [1, 1])
    assert arguments["filters"] == {"required": True, "doc": "number of output channels"}
    assert arguments["padding"]["default"] == "valid"
    assert arguments["strides"] == {"default": [1, 1]}
    assert arguments["use_bias"] == {"default": True}
    assert arguments["activation"] == {"default": None}
    text = runner.invoke(app, ["layers", "Dense"]).stdout
    assert "``" not in text and "Last axis -> units: kernel (C, units)" in text
    assert runner.invoke(app, ["layers", "Conv2d"]).exit_code == 2


def test_every_keras_alias_resolves_to_its_class() -> None:
    for alias, target in KERAS_ALIASES.items():
        cls = registry.lookup(alias)
        assert cls is not None and cls.type_name() == target, alias


def test_family_index_names_where_each_class_is_declared() -> None:
    """registry.FAMILIES lets a spec load only the families it uses: it must say exactly which
    module declares each class (a new layer type fails here until it is listed)."""
    registry.all_layer_types()  # imports every family
    declared = {name: cls.__module__.rsplit(".", 1)[-1] for name, cls in registry._REGISTRY.items()}
    listed = {name: family for family, names in registry.FAMILIES.items() for name in names}
    assert declared == listed


def test_alias_names_layers_by_class(tmp_path: Path) -> None:
    path = tmp_path / "alias.yaml"
    path.write_text(
        "input: [8, 8, 3]\nlayers:\n  - Convolution2D: {filters: 2, kernel_size: 3}\n  - MaxPool2D: {}\n"
    )
    data = summary_json(path)
    facts = keras_model_facts(yaml.safe_load(path.read_text()))
    assert isinstance(facts, ModelFacts)
    assert [(layer["name"], layer["type"]) for layer in data["layers"]] == [
        (f.name, f.type) for f in facts.layers
    ]


def test_version_and_help() -> None:
    assert runner.invoke(app, ["--version"]).stdout.startswith("shapecalc ")
    result = runner.invoke(app, ["summary", "--help"])
    assert result.exit_code == 0
    assert "--format" in result.stdout


# A command runs in a fresh interpreter that reports, as it exits, whether NumPy was imported.
_IMPORT_PROBE = """
import atexit, sys
atexit.register(lambda: print("numpy" in sys.modules, "shapecalc.kernels" in sys.modules, file=sys.stderr))
from shapecalc.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize(
    ("args", "loads_numpy"),
    [
        (["summary", "specs/vgg16.yaml"], False),
        (["summary", "specs/custom_layer.yaml", "--format", "json"], False),
        (
            [
                "summary",
                "specs/two_inputs_lstm.yaml",
                "--columns",
                "output_shape,params,macs,receptive_field",
            ],
            False,
        ),
        (["lint", "specs"], False),
        (["diff", "specs/vgg16.yaml", "specs/upsampling_autoencoder.yaml"], False),
        (["layers", "Conv2D"], False),
        (["convert", "tests/data/keras_sequential.json"], False),
        (["export", "specs/vgg16.yaml", "--to", "keras"], False),  # what Keras 3.15's to_json() wrote
        (["summary", "tests/data/keras_sequential.json"], False),
        (["explain", "specs/vgg16.yaml"], False),
        (["solve", "Conv2D", "--input", "28", "--output", "14"], False),
        (["plot", "specs/vgg16.yaml", "-o", "-"], False),  # DOT on stdout: no file left behind
        (["schema"], False),
        (["summary", "specs/upsampling_autoencoder.yaml", "--run"], True),
    ],
)
def test_only_run_imports_numpy_and_the_kernels(args: list[str], loads_numpy: bool) -> None:
    root = Path(__file__).parent.parent
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE, *args], cwd=root, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == f"{loads_numpy} {loads_numpy}"


@pytest.mark.parametrize("width", [60, 140])
def test_width_is_keras_line_length(width: int) -> None:
    """--width N prints what Keras's model.summary(line_length=N) prints, whatever the terminal."""
    spec = yaml.safe_load((SPECS / "two_inputs_lstm.yaml").read_text())
    want = capture_summary(build_keras_model(spec), line_length=width)
    result = runner.invoke(
        app, ["summary", str(SPECS / "two_inputs_lstm.yaml"), "--width", str(width)], env={"COLUMNS": "50"}
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == want


def test_summary_refuses_lint_settings_lint_refuses(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("input: [8]\nlint: {ignore: [W999]}\nlayers:\n  - Dense: {units: 2}\n")
    for command in (["summary"], ["lint"]):
        result = runner.invoke(app, [*command, str(path)])
        assert result.exit_code == 1
        assert f"{path}:2:17: error: lint: no warning 'W999'" in result.output
