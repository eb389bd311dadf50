"""Blocks, repeats and variables: each spec written with them is the same model, summary text
included, as Keras builds from the same architecture written out layer by layer here (by hand,
beside it); and a problem inside a block is located in the block's definition and names the
instance it arose in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from model_check import assert_model_same_as_keras
from oracle import ModelFacts, keras_model_facts
from typer.testing import CliRunner

from shapecalc.api import analyze_text
from shapecalc.cli import app
from shapecalc.errors import SpecError

runner = CliRunner()


def assert_same_as_written_out(text: str, flat: dict[str, Any]) -> ModelFacts:
    facts = keras_model_facts(flat)
    assert isinstance(facts, ModelFacts), facts
    assert_model_same_as_keras(yaml.safe_load(text), facts)
    return facts


CONV_BN = """
blocks:
  conv_bn:
    params: {filters: required, strides: 1}
    layers:
      - Conv2D: {name: conv, filters: $filters, kernel_size: 3, strides: $strides, padding: same,
                 use_bias: false}
      - BatchNormalization: {name: bn}
      - ReLU: {name: relu}
inputs: {image: [32, 32, 3]}
layers:
  - conv_bn: {filters: 8, inputs: image}
  - conv_bn: {filters: 16, strides: 2}
  - conv_bn: {name: last, filters: 4}
  - GlobalAveragePooling2D: {inputs: last}
"""


def _conv_bn(prefix: str, filters: int, strides: int = 1, source: str | None = None) -> list[dict[str, Any]]:
    conv = {"name": f"{prefix}_conv", "filters": filters, "kernel_size": 3, "strides": strides}
    conv |= {"padding": "same", "use_bias": False} | ({"inputs": source} if source else {})
    return [
        {"Conv2D": conv},
        {"BatchNormalization": {"name": f"{prefix}_bn"}},
        {"ReLU": {"name": f"{prefix}_relu"}},
    ]


def test_instances_are_prefixed_and_numbered() -> None:
    # unnamed instances take the block's name, numbered as Keras numbers layers: conv_bn, conv_bn_1
    flat = {
        "inputs": {"image": [32, 32, 3]},
        "layers": [
            *_conv_bn("conv_bn", 8, source="image"),
            *_conv_bn("conv_bn_1", 16, 2),
            *_conv_bn("last", 4),
            {"GlobalAveragePooling2D": {"inputs": "last_relu"}},
        ],
    }
    assert_same_as_written_out(CONV_BN, flat)


def test_repeat_of_a_layer_keeps_a_sequential_spec_sequential() -> None:
    text = "input: [8]\nlayers:\n  - Dense: {units: 16, activation: relu, repeat: 3}\n  - Dense: {units: 2}\n"
    flat = {
        "input": [8],
        "layers": [{"Dense": {"units": 16, "activation": "relu"}}] * 3 + [{"Dense": {"units": 2}}],
    }
    facts = assert_same_as_written_out(text, flat)
    assert facts.kind == "Sequential"


def test_repeat_of_a_block_with_the_index_in_names_and_arguments() -> None:
    text = CONV_BN.split("inputs:")[0] + (
        "input: [32, 32, 3]\nlayers:\n"
        "  - conv_bn: {name: stage$i, filters: $(8 * i), strides: $(2 if i == 1 else 1), repeat: 3}\n"
    )
    # stage1: 8 filters, stride 2; stage2: 16, stride 1; stage3: 24, stride 1
    flat = {
        "input": [32, 32, 3],
        "layers": [*_conv_bn("stage1", 8, 2), *_conv_bn("stage2", 16), *_conv_bn("stage3", 24)],
    }
    assert_same_as_written_out(text, flat)


NESTED = """
vars:
  width: 0.5
  base: $(max(8, int(32 * width + 4) // 8 * 8))
blocks:
  residual:
    params: {filters: required}
    layers:
      - Dense: {name: a, units: $filters, activation: relu}
      - Dense: {name: b, units: $filters}
      - Add: {name: add, inputs: [x, b]}
  stage:
    params: {filters: required, depth: 2}
    inputs: [x]
    layers:
      - Dense: {name: proj, units: $filters, inputs: x}
      - residual: {name: res$i, filters: $filters, repeat: $depth}
    outputs: [res$depth, proj]
inputs: {features: [12]}
layers:
  - stage: {name: s1, filters: $base, inputs: features}
  - Concatenate: {name: cat, inputs: [s1, s1.1]}
outputs: [cat, s1.1]
"""


def _nested_flat(units: int) -> dict[str, Any]:
    layers: list[dict[str, Any]] = [{"Dense": {"name": "s1_proj", "units": units, "inputs": "features"}}]
    source = "s1_proj"
    for i in (1, 2):
        layers += [
            {"Dense": {"name": f"s1_res{i}_a", "units": units, "activation": "relu", "inputs": source}},
            {"Dense": {"name": f"s1_res{i}_b", "units": units}},
            {"Add": {"name": f"s1_res{i}_add", "inputs": [source, f"s1_res{i}_b"]}},
        ]
        source = f"s1_res{i}_add"
    layers.append({"Concatenate": {"name": "cat", "inputs": ["s1_res2_add", "s1_proj"]}})
    return {"inputs": {"features": [12]}, "layers": layers, "outputs": ["cat", "s1_proj"]}


def test_nested_blocks_two_outputs_and_variables() -> None:
    # base = max(8, int(32 * 0.5 + 4) // 8 * 8) = max(8, 20 // 8 * 8) = 16
    assert_same_as_written_out(NESTED, _nested_flat(16))


def test_set_overrides_a_variable(tmp_path: Path) -> None:
    path = tmp_path / "nested.yaml"
    path.write_text(NESTED)
    result = runner.invoke(app, ["summary", str(path), "--set", "width=1.0", "--format", "json"])
    assert result.exit_code == 0, result.output
    # width 1.0: base = max(8, int(36) // 8 * 8) = 32; a Dense of 12 -> 32 then 4 of 32 -> 32
    assert result.stdout.count('"output_shape": [null, 32]') >= 5
    flat = keras_model_facts(_nested_flat(32))
    assert isinstance(flat, ModelFacts)
    assert f'"total_params": {flat.total_params}' in result.stdout
    bad = runner.invoke(app, ["summary", str(path), "--set", "widht=1"])
    assert bad.exit_code == 2 and "no variable 'widht' (did you mean 'width'?)" in bad.stderr


def test_when_leaves_a_layer_out() -> None:
    text = (
        "blocks:\n"
        "  maybe_project:\n"
        "    params: {project: false}\n"
        "    layers:\n"
        "      - Dense: {name: proj, units: 4, when: $project}\n"
        "      - ReLU: {name: relu}\n"
        "input: [4]\n"
        "layers:\n"
        "  - maybe_project: {name: one, project: true}\n"
        "  - maybe_project: {name: two}\n"
    )
    flat = {
        "input": [4],
        "layers": [
            {"Dense": {"name": "one_proj", "units": 4}},
            {"ReLU": {"name": "one_relu"}},
            {"ReLU": {"name": "two_relu"}},
        ],
    }
    assert_same_as_written_out(text, flat)


# ----------------------------------------------------------------------------- problems, located
# (spec, the text the problem is located at, what the message says, the instances it names)
ERRORS = [
    (
        CONV_BN.replace("strides: $strides, pad", "stride: $strides, pad"),
        "stride: $",
        "unknown argument 'stride'",
        "[in conv_bn (conv_bn, line 12)]",
    ),
    (
        CONV_BN.replace("{filters: 16, strides: 2}", "{filters: 16, stride: 2}"),
        "stride: 2",
        "block conv_bn has no parameter 'stride' (did you mean 'strides'?)",
        "",
    ),
    (
        CONV_BN.replace("{filters: 16, strides: 2}", "{strides: 2}"),
        "conv_bn: {strides",
        "block conv_bn needs the parameter 'filters'",
        "",
    ),
    (CONV_BN.replace("filters: 8, inputs", "filters: $eight, inputs"), "$eight", "unknown name $eight", ""),
    (
        NESTED.replace("inputs: [x, b]", "inputs: [x, bb]"),
        "bb]",
        "unknown input 'bb' in a block",
        "[in s1_res1 (residual, line 17) in s1 (stage, line 21)]",
    ),
    (
        NESTED.replace("units: $filters, activation", "units: $(filters * 0), activation"),
        "$(filters * 0)",
        "units",
        "[in s1_res1 (residual, line 17) in s1 (stage, line 21)]",
    ),
    (
        CONV_BN.replace("conv_bn: {name: last, filters: 4}", "conv_bn: {name: last, filters: 4, repeat: 2}"),
        "last, filters: 4, repeat",
        "repeat: 2 would give every copy the name 'last'",
        "",
    ),
    (
        CONV_BN.replace("{filters: 8, inputs: image}", "{filters: 8, inputs: [image, image]}"),
        "[image, image]",
        "block conv_bn takes 1 input(s) (x), given 2",
        "",
    ),
]


def _position(text: str, needle: str) -> str:
    """LINE:COL (1-based) of the first occurrence of ``needle`` in ``text``."""
    before = text[: text.index(needle)]
    return f"{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"


@pytest.mark.parametrize(("text", "needle", "message", "context"), ERRORS)
def test_problems_are_located_and_name_the_instance(
    text: str, needle: str, message: str, context: str
) -> None:
    with pytest.raises(SpecError) as caught:
        analyze_text(text, "spec.yaml")
    err = caught.value
    assert err.location is not None
    assert f"{err.location.line}:{err.location.col}" == _position(text, needle), str(err)
    assert message in err.message
    assert context in err.message


def test_a_block_that_uses_itself_is_refused_not_a_crash() -> None:
    block = "blocks: {loop: {layers: [{Dense: {name: fc, units: 4}}, {loop: {name: again}}]}}\n"
    text = block + "input: [4]\nlayers: [{loop: {name: l}}]\n"
    with pytest.raises(SpecError, match=r"blocks nest more than 50 deep .* does block loop use itself"):
        analyze_text(text, "spec.yaml")


def test_reuse_in_a_block_names_the_block_s_layer() -> None:
    block = "blocks: {twice: {layers: [{Dense: {name: fc, units: 4}}, {Reuse: {layer: fc}}]}}\n"
    text = block + "input: [4]\nlayers: [{twice: {name: t}}]\n"
    flat = {"input": [4], "layers": [{"Dense": {"name": "t_fc", "units": 4}}, {"Reuse": {"layer": "t_fc"}}]}
    assert_same_as_written_out(text, flat)
