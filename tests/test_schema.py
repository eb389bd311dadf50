"""``shapecalc schema``: the JSON Schema of the spec format, checked against the code it is made
from and against the specs shapecalc reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from random_specs import functional_spec, sequential_spec
from typer.testing import CliRunner

from shapecalc import source
from shapecalc.api import analyze_text
from shapecalc.blocks import BLOCK_KEYS
from shapecalc.cli import app
from shapecalc.custom import DEFINITION_KEYS
from shapecalc.errors import SpecError
from shapecalc.expectations import MODEL_KEYS
from shapecalc.graph import REUSE_KEYS, build_graph
from shapecalc.layers import registry
from shapecalc.lint.runner import lint_spec
from shapecalc.schema import ENTRY_KEYS, spec_schema
from shapecalc.spec import INPUT_SETTINGS, INPUT_TYPES, REUSE, TOP_LEVEL_KEYS, WIRING_KEYS, read_spec

SPECS = sorted((Path(__file__).parent.parent / "specs").glob("*.yaml"))

# vars, blocks (one instance repeated), when, $name and $(expression): after specs/resnet50.yaml
BLOCKS_SPEC = """
name: tiny_resnet
vars: {width: 8, classes: 10}
blocks:
  residual:
    params: {filters: required, project: false}
    layers:
      - Conv2D: {name: proj, filters: $filters, kernel_size: 1, inputs: x, when: $project}
      - Conv2D: {name: conv, filters: $filters, kernel_size: 3, padding: same, inputs: x}
      - Add: {name: add, inputs: ["$('proj' if project else 'x')", conv]}
inputs:
  image: {shape: [32, 32, 3], dtype: float32}
layers:
  - Conv2D: {name: stem, filters: $width, kernel_size: 3, padding: same, inputs: image}
  - residual: {name: stage1, filters: $width}
  - residual: {name: stage2_$i, filters: $(2 * width), project: $(i == 1), repeat: 2}
  - GlobalAveragePooling2D:
  - Dense: {units: $classes, activation: softmax}
"""


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return spec_schema()


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema)


def _messages(validator: Draft202012Validator, spec: Any) -> str:
    return "\n".join(error.message for error in validator.iter_errors(spec))


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].removeprefix("#/$defs/")]
    return node


def _as_lists(value: Any) -> Any:
    return [_as_lists(v) for v in value] if isinstance(value, (tuple, list)) else value


def test_the_schema_is_a_valid_2020_12_schema_and_plain_json(schema: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema)
    assert json.loads(json.dumps(schema, allow_nan=False)) == schema


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_every_example_spec_validates(validator: Draft202012Validator, path: Path) -> None:
    assert _messages(validator, yaml.safe_load(path.read_text())) == ""


def test_a_spec_with_vars_blocks_repeat_when_and_expressions_validates(
    validator: Draft202012Validator,
) -> None:
    analyze_text(BLOCKS_SPEC)  # shapecalc reads it: the spec is a real one
    assert _messages(validator, yaml.safe_load(BLOCKS_SPEC)) == ""


def _dense(**more: Any) -> dict[str, Any]:
    return {"input": [8], "layers": [{"Dense": {"units": 4}}], **more}


@pytest.mark.parametrize(
    ("spec", "found"),
    [
        (
            {"input": [8, 8, 3], "layers": [{"Conv2D": {"filters": 8, "kernel_size": 3, "stride": 2}}]},
            "stride",
        ),
        (_dense(outputz=["dense"]), "outputz"),
        ({"input": [8], "layers": [{"Dens": {"units": 4}}]}, "Dens"),
        ({"input": 784, "layers": [{"Dense": {"units": 4}}]}, "784"),
        ({"input": [8], "layers": [{"Dense": {}}]}, "units"),  # a required argument
        ({"input": [8], "layers": [{"Convolution1D": {"filters": 2, "kernel_size": 1, "size": 2}}]}, "size"),
        ({"input": [8, 3], "layers": [{"Bidirectional": {"layer": {"LSTM": {"unit": 4}}}}]}, "LSTM"),
        ({"input": [8], "layers": [{"Dense": {"units": 4}, "Flatten": {}}]}, "too many"),
        ({"input": [8], "layers": [{"Reuse": {"layers": "dense"}}]}, "layer"),
        (_dense(inputs={"a": [8]}), "should not be valid"),  # input and inputs
        (_dense(input={"shape": [8], "dtyp": "int32"}), "not valid"),
        (_dense(expect={"total_param": 36}), "total_param"),
        (_dense(expect={"max_params": "5 M"}), "5 M"),
        (_dense(lint={"ignore": ["W999"]}), "W999"),
        (_dense(blocks={"b": {"layers": [{"Dense": {"units": 4}}], "param": {}}}), "param"),
        (_dense(custom_layers={"Dense": {"output_shape": "input_shape"}}), "Dense"),
        (_dense(custom_layers={"Half": {"output_shape": "input_shape", "output_shapes": []}}), "valid"),
        (_dense(custom_layers={"Half": {"output_shape": "input_shape", "weights": {"w": {}}}}), "valid"),
    ],
)
def test_names_shapecalc_refuses_are_rejected(
    validator: Draft202012Validator, spec: dict[str, Any], found: str
) -> None:
    messages = _messages(validator, spec)
    assert messages, "the schema accepts it"
    assert found in messages
    # and shapecalc refuses it too (lint reads every part of a spec): the schema is not stricter
    problems = lint_spec(source.parse(json.dumps(spec), "<spec>", json_format=True))
    assert any(problem.code.startswith("E") for problem in problems)


def test_unknown_types_pass_only_where_blocks_or_custom_layers_may_define_them(
    validator: Draft202012Validator,
) -> None:
    spec = yaml.safe_load(BLOCKS_SPEC)
    spec["layers"].append({"typo_or_block": {"anything": 1}})
    assert _messages(validator, spec) == ""  # cannot be told from a block instance
    spec["layers"].append({"Dense": {"units": 4, "unit": 4}})
    assert "'unit' was unexpected" in _messages(validator, spec)  # known types are still checked
    del spec["blocks"]
    spec["layers"] = spec["layers"][-2:-1]
    assert "typo_or_block" in _messages(validator, spec)


def test_every_layer_type_and_alias_has_exactly_its_arguments(schema: dict[str, Any]) -> None:
    entries = schema["$defs"]["entry"]["properties"]
    names = {*registry.all_layer_types(), *registry.aliases(), *INPUT_TYPES}
    assert set(entries) == names | {REUSE}
    for name in names:
        cls = registry.lookup("InputLayer" if name in INPUT_TYPES else name)
        assert cls is not None, name
        wiring = set(ENTRY_KEYS) | (set() if name in INPUT_TYPES else WIRING_KEYS)
        properties = _resolve(schema, entries[name])["properties"]
        assert set(properties) == set(cls.arguments_by_name()) | wiring, name
        for arg in cls.all_arguments():
            assert properties[arg.name].get("description", "") == arg.doc, (name, arg.name)
            if "default" in properties[arg.name]:
                assert properties[arg.name]["default"] == _as_lists(arg.default), (name, arg.name)
            else:
                assert arg.required or not isinstance(arg.default, (int, float, str, tuple)), (name, arg.name)
    reuse = _resolve(schema, entries[REUSE])["properties"]
    assert set(reuse) == set(REUSE_KEYS) | set(ENTRY_KEYS)


def test_the_fixed_keys_are_the_codes_own(schema: dict[str, Any]) -> None:
    top = schema["properties"]
    assert list(top) == list(TOP_LEVEL_KEYS)
    assert list(top["expect"]["properties"]) == list(MODEL_KEYS)
    assert list(top["custom_layers"]["additionalProperties"]["properties"]) == list(DEFINITION_KEYS)
    assert list(top["blocks"]["additionalProperties"]["properties"]) == list(BLOCK_KEYS)
    assert list(top["input"]["anyOf"][1]["properties"]) == list(INPUT_SETTINGS)
    assert all("description" in value for value in top.values())


@pytest.mark.parametrize("seed", range(60))
def test_random_specs_the_schema_rejects_shapecalc_refuses(
    validator: Draft202012Validator, seed: int
) -> None:
    """No false alarm: a spec the schema rejects is one shapecalc cannot build."""
    for spec in (sequential_spec(seed), functional_spec(seed)):
        if validator.is_valid(spec):
            continue
        with pytest.raises(SpecError):
            build_graph(read_spec(source.parse(json.dumps(spec), "<spec>", json_format=True)))


def test_the_command_prints_the_schema_as_json(schema: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == schema
