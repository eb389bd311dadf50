"""Custom layers declared in a spec: expressions, shapes, weights, and located errors."""

from __future__ import annotations

import re

import keras_custom  # noqa: F401 - registers the Keras twins of the spec-declared layers
import pytest
import yaml
from model_check import assert_model_same_as_keras
from oracle import ModelFacts

from shapecalc.api import analyze_text
from shapecalc.errors import ExpressionError, SpecError
from shapecalc.expressions import parse

MY_LAYER = """
custom_layers:
  MyLayer:
    arguments: {output_dim: required}
    weights:
      kernel: (input_shape[1], output_dim)
    output_shape: (input_shape[0], output_dim)
"""


@pytest.mark.parametrize(
    ("text", "names", "expected"),
    [
        ("input_shape[1] * 2", {"input_shape": (None, 3)}, 6),
        ("input_shape[0] * 2", {"input_shape": (None, 3)}, None),  # unknown stays unknown
        ("(input_shape[-1] - 1) // 2 + 1", {"input_shape": (None, 8)}, 4),  # floor(7/2) + 1
        ("(*input_shape[:-1], units)", {"input_shape": (None, 5, 7), "units": 4}, (None, 5, 4)),
        ("input_shape[1:] + (2,)", {"input_shape": (None, 5, 7)}, (5, 7, 2)),
        ("prod(input_shape[1:])", {"input_shape": (None, 5, 7)}, 35),
        ("prod(input_shape)", {"input_shape": (None, 5, 7)}, None),
        ("max(1, k // 3) if k > 2 else 0", {"k": 9}, 3),
        ("len(input_shape) == 3 and input_shape[-1] % 2 == 0", {"input_shape": (None, 5, 8)}, True),
        ("ceil(n / 4)", {"n": 9}, 3),
        ("-n", {"n": 4}, -4),
        ("mode == 'same'", {"mode": "same"}, True),
        ("input_shape[1] is None", {"input_shape": (None, None, 3)}, True),
        ("8 if input_shape[1] is not None else 0", {"input_shape": (None, None, 3)}, 0),
    ],
)
def test_expression_values(text: str, names: dict, expected: object) -> None:
    assert parse(text).evaluate(names) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os')", "only these functions can be called"),
        ("input_shape.__class__", "attribute access (a.b) is not allowed"),
        ("2 ** 100000", "the power operator (**) is not allowed"),
        ("[x for x in input_shape]", "a list comprehension is not allowed"),
        ("lambda: 1", "a lambda is not allowed"),
        ("input_shape is 3", "'is' and 'is not' compare with None only"),
        ("(1,", "cannot parse expression"),
        ("max(key=1)", "positional arguments only"),
        ("b'x'", "only numbers, strings"),
    ],
)
def test_expressions_refuse_everything_else(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(fragment)):
        parse(text)


@pytest.mark.parametrize(
    ("text", "names", "fragment"),
    [
        ("input_shape[3]", {"input_shape": (None, 2)}, "index 3 is out of range"),
        ("units // 0", {"units": 2}, "division by zero"),
        ("nope + 1", {"units": 2}, "unknown name 'nope'"),
        ("units[0]", {"units": 2}, "only shapes and lists can be indexed"),
        ("10 ** 0 * 2 ** 0", {}, "the power operator (**) is not allowed"),
    ],
)
def test_expression_errors(text: str, names: dict, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(fragment)):
        parse(text).evaluate(names)


def test_values_are_bounded() -> None:
    with pytest.raises(ExpressionError, match="out of range"):
        parse("n * n * n * n * n").evaluate({"n": 10**13})


def spec_with(custom: str, layers: str, input_shape: str = "[784]") -> str:
    return f"{custom}\ninput: {input_shape}\nlayers:\n{layers}"


def test_seed_my_layer_in_a_few_lines() -> None:
    analysis = analyze_text(spec_with(MY_LAYER, "  - MyLayer: {output_dim: 32}\n"))
    (layer,) = analysis.layers
    assert analysis.output_shapes(analysis.graph.calls[-1]) == [(None, 32)]
    assert analysis.params_of(layer) == (784 * 32, 0)  # kernel (784, 32)


def test_custom_layer_spec_matches_a_hand_written_keras_layer() -> None:
    spec = yaml.safe_load(
        spec_with(MY_LAYER, "  - Dense: {units: 16}\n  - MyLayer: {output_dim: 3}\n", "[5, 8]")
    )
    facts = assert_model_same_as_keras(spec)
    assert isinstance(facts, ModelFacts)
    # Dense on (5, 8): 8*16 + 16 = 144; MyLayer kernel (input_shape[1], 3) = (5, 3) = 15
    assert facts.total_params == 144 + 15


def located(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        analyze_text(text, "spec.yaml")
    return info.value


def test_error_inside_an_expression_points_at_it() -> None:
    text = spec_with(
        MY_LAYER.replace("input_shape[1], output_dim)", "input_shape[1], output_dm)"),
        "  - MyLayer: {output_dim: 2}\n",
    )
    err = located(text)
    line = text.splitlines().index("      kernel: (input_shape[1], output_dm)") + 1
    assert (err.location.line, err.location.col) == (line, len("      kernel: (input_shape[1], ") + 1)
    assert "unknown name 'output_dm'" in err.message
    assert "my_layer (MyLayer)" in err.message


def test_parse_error_points_at_the_expression() -> None:
    text = spec_with(MY_LAYER.replace("(input_shape[0], output_dim)", "(input_shape[0], output_dim"), "")
    err = located(text + "  - MyLayer: {output_dim: 2}\n")
    line = text.splitlines().index("    output_shape: (input_shape[0], output_dim") + 1
    assert err.location.line == line
    assert "cannot parse expression" in err.message


def test_failed_check_and_unknown_argument() -> None:
    custom = MY_LAYER + "    checks:\n      - input_shape[-1] % 2 == 0\n"
    err = located(spec_with(custom, "  - MyLayer: {output_dim: 2}\n", "[7]"))
    assert "check failed: input_shape[-1] % 2 == 0" in err.message
    err = located(spec_with(MY_LAYER, "  - MyLayer: {output_dim: 2, units: 3}\n"))
    assert "unknown argument 'units'" in err.message
    err = located(spec_with(MY_LAYER, "  - MyLayer: {}\n"))
    assert "needs the argument 'output_dim'" in err.message


def test_weights_must_be_known() -> None:
    err = located(spec_with(MY_LAYER, "  - MyLayer: {output_dim: 2}\n", "[null]"))
    assert "weight sizes must be known" in err.message


def test_custom_name_may_not_shadow_keras() -> None:
    err = located(
        "custom_layers:\n  Dense:\n    output_shape: (1,)\ninput: [2]\nlayers:\n  - Dense: {units: 1}\n"
    )
    assert "is a Keras layer" in err.message
    assert err.location.line == 2


def test_several_outputs_and_list_inputs() -> None:
    custom = """
custom_layers:
  Split:
    arguments: {parts: 2}
    output_shapes:
      - (input_shape[0], input_shape[1] // parts)
      - (input_shape[0], input_shape[1] - input_shape[1] // parts)
  Join:
    takes_list: true
    output_shape: (input_shapes[0][0], sum_of_two)
    arguments: {sum_of_two: required}
"""
    text = custom + (
        "inputs: {x: [10]}\nlayers:\n"
        "  - Split: {name: s, parts: 3, inputs: x}\n"
        "  - Join: {sum_of_two: 10, inputs: [s.0, s.1]}\n"
    )
    analysis = analyze_text(text)
    split, join = analysis.graph.calls[1], analysis.graph.calls[2]
    assert analysis.output_shapes(split) == [(None, 3), (None, 7)]  # 10 // 3 = 3, 10 - 3 = 7
    assert analysis.input_shapes(join) == [(None, 3), (None, 7)]
