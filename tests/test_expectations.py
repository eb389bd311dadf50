"""A spec's ``expect:``: every key kept and broken, the forms of counts and sizes, and the
malformed ones. Expected figures are derived beside each test from Keras's rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from located import where
from typer.testing import CliRunner

from shapecalc.cli import app

runner = CliRunner()

# Conv2D(8, 3x3, same, no bias) on 10x10x3, then BatchNormalization and Dense(4) on the last axis.
#   conv2d: 3*3*3*8 = 216 params; 10*10 positions x 9 taps x 3 x 8 = 21,600 MACs
#   batch_normalization: gamma, beta trainable (2 x 8), moving mean and variance not (2 x 8)
#   dense: 8*4 + 4 = 36 params; 10*10 positions x 8 x 4 = 3,200 MACs
#   totals: 216 + 32 + 36 = 284 params (268 trainable, 16 not), 24,800 MACs
#   activations, float32: (800 + 800 + 400) x 4 = 8,000 bytes for one example
MODEL = """\
input: [10, 10, 3]
layers:
  - Conv2D: {filters: 8, kernel_size: 3, padding: same, use_bias: false}
  - BatchNormalization: {}
  - Dense: {units: 4}
expect:
"""


def problems(expect: str, model: str = MODEL) -> list[tuple[str, int, int, str]]:
    """(code, line, column, message) of each problem lint finds in the model with ``expect``."""
    result = runner.invoke(app, ["lint", "-", "--format", "json"], input=model + expect)
    assert result.exit_code in (0, 1), result.output
    return [(p["code"], p["line"], p["column"], p["message"]) for p in json.loads(result.stdout)]


def test_every_key_kept() -> None:
    expect = """\
  output_shape: [null, 10, 10, 4]
  total_params: 284
  trainable_params: 268
  non_trainable_params: 16
  total_macs: 24800
  max_params: 284
  max_macs: 24800
  max_activation_bytes: 8000
  layers:
    conv2d: {output_shape: [null, 10, 10, 8], params: 216, trainable_params: 216, macs: 21600}
    batch_normalization: {params: 32, trainable_params: 16, non_trainable_params: 16, macs: 0}
    dense: {macs: 3200}
"""
    assert problems(expect) == []


@pytest.mark.parametrize(
    ("expect", "fragment", "code", "message"),
    [
        ("  total_params: 285\n", "285", "E007", "expected total_params 285, the model has 284"),
        ("  non_trainable_params: 0\n", "0", "E007", "expected non_trainable_params 0, the model has 16"),
        ("  total_macs: 24801\n", "24801", "E007", "expected total_macs 24,801, the model has 24,800"),
        (
            "  output_shape: [null, 10, 10, 5]\n",
            "[null",
            "E007",
            "expected output_shape (None, 10, 10, 5), the model has (None, 10, 10, 4)",
        ),
        ("  max_params: 283\n", "283", "E008", "max_params is 283, the model has 284 parameters"),
        (
            "  max_macs: 24K\n",
            "24K",
            "E008",
            "max_macs is 24K (24,000), the model has 24,800 MACs for one example",
        ),
        (
            "  max_activation_bytes: 7K\n",
            "7K",
            "E008",
            "max_activation_bytes is 7K (7,168), the model has 8,000 bytes of activations for one example",
        ),
        (
            "  layers:\n    dense: {params: 37}\n",
            "37",
            "E007",
            "expected dense's params 37, the model has 36",
        ),
        (
            "  layers:\n    batch_normalization: {trainable_params: 32}\n",
            "32",
            "E007",
            "expected batch_normalization's trainable_params 32, the model has 16",
        ),
    ],
)
def test_a_broken_expectation_is_located_at_its_value(
    expect: str, fragment: str, code: str, message: str
) -> None:
    text = MODEL + expect
    line, column = where(text, fragment, text.count(fragment, 0, len(MODEL)))
    assert problems(expect) == [(code, line, column, message)]


def test_a_count_with_a_unit_matches_to_the_digits_written() -> None:
    # 24,800 MACs shows as 24.8K, 25K and 0.0248M: each pins it to the precision written
    for written in ("24.8K", "25K", "0.0248M", "24.80K"):
        assert problems(f"  total_macs: {written}\n") == [], written
    # 24.7K covers 24,650 to 24,749; the message shows the model's count in the same form
    text = MODEL + "  total_macs: 24.7K\n"
    assert problems("  total_macs: 24.7K\n") == [
        ("E007", *where(text, "24.7K"), "expected total_macs 24.7K, the model has 24,800 (24.8K)")
    ]
    # a budget with a unit is the number it writes: 24.8K is 24,800, 0.0078M bytes 8,178.69
    assert problems("  max_macs: 24.8K\n  max_activation_bytes: 0.0078M\n") == []


@pytest.mark.parametrize("bad", ["1e3K", "-5", "5X", "'12'", "1.5", "true", "K", "1.K"])
def test_a_malformed_count_says_what_a_count_is(bad: str) -> None:
    text = MODEL + f"  max_params: {bad}\n"
    ((code, line, column, message),) = problems(f"  max_params: {bad}\n")
    assert (line, column) == where(text, bad, text.count(bad, 0, len(MODEL)))
    assert code == "E002" and message.startswith("max_params is a count such as 3369, 5M or 1.2G; got ")


def test_unknown_keys_and_layers_are_named_with_a_suggestion() -> None:
    expect = "  total_param: 284\n  layers:\n    dense_1: {params: 36}\n    dense: {param: 36}\n"
    text = MODEL + expect
    assert problems(expect) == [
        ("E002", *where(text, "total_param"), "expect has no 'total_param' (did you mean 'total_params'?)"),
        ("E007", *where(text, "dense_1"), "expect: the model has no layer 'dense_1' (did you mean 'dense'?)"),
        ("E002", *where(text, "param: 36}"), "expect: a layer has no 'param' (did you mean 'params'?)"),
    ]


def test_a_figure_an_unknown_size_leaves_unknown_cannot_be_checked() -> None:
    # with a null height, the MACs depend on it; the parameters do not
    model = MODEL.replace("input: [10, 10, 3]", "input: [null, 10, 3]")
    ((code, line, column, message),) = problems("  total_params: 284\n  max_macs: 1G\n", model)
    assert (code, (line, column)) == ("E008", where(model + "  total_params: 284\n  max_macs: 1G\n", "1G"))
    assert message == "max_macs cannot be checked: an input size is unknown (null); give it in the spec"


def test_several_outputs_take_a_list_of_shapes() -> None:
    model = """\
inputs:
  x: [6]
layers:
  - Dense: {name: a, units: 2, inputs: x}
  - Dense: {name: b, units: 3, inputs: x}
outputs: [a, b]
expect:
"""
    assert problems("  output_shape: [[null, 2], [null, 3]]\n", model) == []
    text = model + "  output_shape: [[null, 2], [null, 4]]\n"
    assert problems("  output_shape: [[null, 2], [null, 4]]\n", model) == [
        (
            "E007",
            *where(text, "[[null"),
            "expected output_shape (None, 2), (None, 4), the model has (None, 2), (None, 3)",
        )
    ]


def test_summary_checks_expectations_too(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(MODEL + "  max_params: 100\n")
    result = runner.invoke(app, ["summary", str(path)])
    assert result.exit_code == 1 and result.stdout == ""
    line, column = where(MODEL + "  max_params: 100\n", "100")
    assert (
        result.stderr == f"{path}:{line}:{column}: error: max_params is 100, the model has 284 parameters\n"
    )
