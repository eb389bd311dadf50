"""``shapecalc explain``: every layer type explains its output shape with numbers, and the
working of the sliding-window layers is checked against Keras.

The window formulas are not only compared by their stated result: each formula's text is
evaluated here (floor, ceil and max of the numbers it shows) and must give the length Keras
gives, and the padding ``same`` is said to add is applied by hand to a ``valid`` Keras
convolution or max pooling, which must then equal Keras's own ``same`` one.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import keras
import numpy as np
import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from oracle import Refusal, keras_layer_facts, keras_model_facts
from test_run_every_layer import TABLES, draw
from typer.testing import CliRunner

from shapecalc.api import analyze_data
from shapecalc.cli import app
from shapecalc.costs import model_costs
from shapecalc.explain import explain_model
from shapecalc.layers import create_layer, registry
from shapecalc.layers.explaining import Step
from shapecalc.layers.factory import Namer
from shapecalc.layers.input_layer import InputLayer

runner = CliRunner()


# ----------------------------------------------------------------------------- every layer type
def _explained_calls(type_name: str) -> list[tuple[Any, Any, list[Step]]]:
    """(input, output, steps) of the type's calls in the seeded draws shapecalc accepts."""
    found = []
    target = registry.lookup(type_name)
    assert target is not None
    for seed in range(TABLES[type_name].draws):
        spec, _ = draw(type_name, seed)
        try:
            analysis = analyze_data(spec)
        except Exception:
            continue  # a draw Keras refuses too (test_run_every_layer checks that)
        explained = explain_model(analysis, model_costs(analysis))
        for call in analysis.model_calls:
            layer = call.layer
            # a cell is explained by the RNN that runs it, a layer TimeDistributed wraps by it
            held = [layer, getattr(layer, "cell", None), getattr(layer, "layer", None)]
            if not any(isinstance(x, target) for x in held):
                continue
            entry = next(e for e in explained if e.layer == layer.name)
            shapes = analysis.shapes[call]
            found.append((shapes.inputs, shapes.outputs, entry.steps))
    return found


@pytest.mark.parametrize("type_name", sorted(TABLES))
def test_every_layer_type_explains_its_shape_with_numbers(type_name: str) -> None:
    calls = _explained_calls(type_name)
    assert calls, f"no accepted draw of {type_name}"
    for inputs, outputs, steps in calls:
        assert steps, f"{type_name} on {inputs} has no explanation"
        # a step about an unknown size may have no number of its own, the explanation must
        text = " ".join(f"{step.formula} {step.result}" for step in steps)
        assert re.search(r"\d", text), f"{type_name} on {inputs}: no number in {text}"
        unchanged = [s for s in steps if "unchanged" in s.formula]
        if unchanged:
            # the one-line default is only for a rule that keeps the shape: it must be true
            assert len(inputs) == len(outputs) == 1 and inputs[0] == outputs[0], (type_name, inputs, outputs)


def test_every_registered_type_is_covered_here() -> None:
    aliases, types = registry.aliases(), registry.all_layer_types()
    names = {n for n, cls in types.items() if n not in aliases or cls.type_name() not in types}
    # InputLayer: test_the_input_layer_is_explained_when_named; the operations (keras.ops calls):
    # tests/test_operations.py explains every one in its random models
    operations = {n for n, cls in types.items() if cls.is_operation}
    assert names - set(TABLES) - operations == {"InputLayer"}


def test_the_input_layer_is_explained_when_named() -> None:
    analysis = analyze_data(
        {"inputs": {"pixels": [28, 28, 1]}, "layers": [{"Flatten": {"inputs": "pixels"}}]}
    )
    costs = model_costs(analysis)
    assert [e.layer for e in explain_model(analysis, costs)] == ["flatten"]
    (entry,) = explain_model(analysis, costs, ["pixels"])
    assert entry.steps[0].result == [None, 28, 28, 1]
    assert isinstance(analysis.layers[0], InputLayer)


# ----------------------------------------------------------------------------- windows against Keras
WINDOW_TYPES = {
    "Conv1D": 1,
    "Conv2D": 2,
    "Conv3D": 3,
    "Conv1DTranspose": 1,
    "Conv2DTranspose": 2,
    "Conv3DTranspose": 3,
    "DepthwiseConv1D": 1,
    "DepthwiseConv2D": 2,
    "SeparableConv1D": 1,
    "SeparableConv2D": 2,
    "MaxPooling1D": 1,
    "MaxPooling2D": 2,
    "MaxPooling3D": 3,
    "AveragePooling1D": 1,
    "AveragePooling2D": 2,
    "AveragePooling3D": 3,
}
FORMULA_NAMES = {"floor": math.floor, "ceil": math.ceil, "max": max, "__builtins__": {}}


def _evaluate(formula: str) -> int:
    """The value of a formula as written: ``floor((28 + 2*0 - 1*(3-1) - 1) / 2) + 1``."""
    assert re.fullmatch(r"[\d\s+\-*/()a-z,]+", formula), formula
    return eval(formula, FORMULA_NAMES)  # digits, operators, floor, ceil, max only


@st.composite
def window_layers(draw_: st.DrawFn) -> tuple[str, dict[str, Any], tuple[int | None, ...]]:
    type_name = draw_(st.sampled_from(sorted(WINDOW_TYPES)))
    rank = WINDOW_TYPES[type_name]
    pooling = "Pooling" in type_name
    sizes = st.integers(1, 5)
    args: dict[str, Any] = {
        "pool_size" if pooling else "kernel_size": draw_(st.lists(sizes, min_size=rank, max_size=rank))
    }
    args["strides"] = draw_(st.lists(st.integers(1, 4), min_size=rank, max_size=rank))
    paddings = ["valid", "same", *(["causal"] if type_name == "Conv1D" else [])]
    args["padding"] = draw_(st.sampled_from(paddings))
    if not pooling:
        args["dilation_rate"] = draw_(st.lists(st.integers(1, 3), min_size=rank, max_size=rank))
        if "Depthwise" not in type_name:
            args["filters"] = 2
    if "Transpose" in type_name and draw_(st.booleans()):
        args["output_padding"] = [draw_(st.integers(0, s - 1)) for s in args["strides"]]
    first = draw_(st.booleans())
    args["data_format"] = "channels_first" if first else "channels_last"
    spatial = tuple(draw_(st.integers(1, 30)) for _ in range(rank))
    shape = (None, 3, *spatial) if first else (None, *spatial, 3)
    return type_name, args, shape


@settings(max_examples=400, deadline=None, derandomize=True)
@given(window_layers())
def test_window_formulas_give_keras_lengths(case: tuple[str, dict[str, Any], tuple[int | None, ...]]) -> None:
    type_name, args, shape = case
    facts = keras_layer_facts(type_name, args, [shape])
    assume(not isinstance(facts, Refusal))
    layer = create_layer(type_name, args, Namer())
    steps = layer.explain(shape)
    first = args["data_format"] == "channels_first"
    axes = range(2, len(shape)) if first else range(1, len(shape) - 1)
    windows = [s for s in steps if s.axis != "channels"]
    assert len(windows) == len(axes)
    for step, axis in zip(windows, axes, strict=True):
        assert _evaluate(step.formula) == step.result == facts.output[axis], (step, facts.output)
    channels = next(s for s in steps if s.axis == "channels")
    assert channels.result == facts.output[1 if first else -1]


def _same_note(note: str) -> tuple[int, int]:
    found = re.fullmatch(r"same: Keras (?:pads (\d+) before and (\d+) after|adds no padding here)", note)
    assert found, note
    return (int(found[1]), int(found[2])) if found[1] else (0, 0)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    length=st.integers(1, 20), kernel=st.integers(1, 6), stride=st.integers(1, 4), dilation=st.integers(1, 3)
)
def test_same_padding_is_what_keras_adds(length: int, kernel: int, stride: int, dilation: int) -> None:
    """Keras's ``same`` convolution equals a ``valid`` one on the input padded as explained."""
    if stride > 1:
        dilation = 1  # Keras refuses both at once
    layer = create_layer(
        "Conv1D",
        {
            "filters": 1,
            "kernel_size": kernel,
            "strides": stride,
            "padding": "same",
            "dilation_rate": dilation,
        },
        Namer(),
    )
    before, after = _same_note(layer.explain((None, length, 1))[0].note)
    rng = np.random.default_rng(length * 100 + kernel)
    x = rng.standard_normal((1, length, 1)).astype("float32")
    w = rng.standard_normal((kernel, 1, 1)).astype("float32")
    same = keras.ops.conv(x, w, strides=stride, padding="same", dilation_rate=dilation)
    padded = np.pad(x, ((0, 0), (before, after), (0, 0)))
    valid = keras.ops.conv(padded, w, strides=stride, padding="valid", dilation_rate=dilation)
    np.testing.assert_allclose(np.asarray(same), np.asarray(valid), rtol=1e-5, atol=1e-5)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(length=st.integers(1, 20), pool=st.integers(1, 5), stride=st.integers(1, 4))
def test_same_pooling_padding_is_what_keras_adds(length: int, pool: int, stride: int) -> None:
    layer = create_layer("MaxPooling1D", {"pool_size": pool, "strides": stride, "padding": "same"}, Namer())
    before, after = _same_note(layer.explain((None, length, 1))[0].note)
    x = np.random.default_rng(length).standard_normal((1, length, 1)).astype("float32")
    same = keras.ops.max_pool(x, pool, strides=stride, padding="same")
    padded = np.pad(x, ((0, 0), (before, after), (0, 0)), constant_values=-np.inf)
    valid = keras.ops.max_pool(padded, pool, strides=stride, padding="valid")
    np.testing.assert_array_equal(np.asarray(same), np.asarray(valid))


# ----------------------------------------------------------------------------- the command
def test_one_layer_question_as_data() -> None:
    question = "Conv2D: {filters: 16, kernel_size: 3, strides: 2, padding: same}"
    result = runner.invoke(app, ["explain", "--input", "28,28,1", question, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (conv,) = data["layers"]
    facts = keras_layer_facts(
        "Conv2D", {"filters": 16, "kernel_size": 3, "strides": 2, "padding": "same"}, [(None, 28, 28, 1)]
    )
    assert not isinstance(facts, Refusal)
    height, width, channels = conv["axes"]
    # same: ceil(28 / 2) = 14 windows of 3 need (14-1)*2 + 3 = 29 positions: 1 zero, after
    assert height == {
        "axis": "height",
        "formula": "ceil(28 / 2)",
        "result": 14,
        "note": "same: Keras pads 0 before and 1 after",
    }
    assert width["result"] == facts.output[2] and channels["result"] == facts.output[3]
    assert conv["output_shapes"] == [list(facts.output)]
    # the example: kernel 3*3*1*16 = 144 + bias 16 = 160
    assert conv["params"]["formula"] == "kernel 3*3*1*16 = 144 + bias 16 = 160"
    assert conv["params"]["result"] == facts.trainable == 160
    assert conv["macs"] == 14 * 14 * 3 * 3 * 1 * 16  # each output position: 9 taps x 1 channel x 16 filters
    assert conv["receptive_field"] == [3, 3] and conv["effective_stride"] == [2, 2]


def test_a_spec_with_named_layers() -> None:
    result = runner.invoke(app, ["explain", "specs/vgg16.yaml", "-l", "block1_pool", "-l", "block5_conv3"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    # 224 pooled by 2 with valid padding: floor((224 - 2) / 2) + 1 = 112
    assert "block1_pool (MaxPooling2D): (None, 224, 224, 64) -> (None, 112, 112, 64)" in text
    assert "height:          floor((224 - 2) / 2) + 1 = 112" in text
    # 3x3 'same' at stride 1 needs one zero on each side: (14-1)*1 + 3 - 14 = 2 in all
    assert "ceil(14 / 1) = 14 (same: Keras pads 1 before and 1 after)" in text
    assert "kernel 3*3*512*512 = 2359296 + bias 512 = 2359808" in text
    # receptive field of block5_conv3, derived in tests/test_costs_models.py: 196, stride 16
    assert "receptive field: 196 x 196, effective stride 16 x 16" in text
    assert text.count("->") == 2


def test_a_chain_of_layers_and_a_bare_type_name() -> None:
    result = runner.invoke(
        app, ["explain", "-i", "28,28,1", "Conv2D: {filters: 8, kernel_size: 3}", "MaxPooling2D", "Flatten"]
    )
    assert result.exit_code == 0, result.output
    # 28 - 3 + 1 = 26; floor((26 - 2) / 2) + 1 = 13; 13 * 13 * 8 = 1352
    assert "features:        13 * 13 * 8 = 1352 (every value of one example in a row)" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["explain", "-i", "28,28,1", "Conv2D: {filters: 8, kernel_size: 3, stride: 2}"],
            "<layer>:1:38: error: conv2d (Conv2D): unknown argument 'stride'",
        ),
        (
            ["explain", "-i", "5", "Dense: {units: 2}", "Conv2D: {filters: 1,\n  kernel_size: 3}"],
            "<layer 2>:1:1: error: conv2d (Conv2D): expects input of rank 4",
        ),
    ],
)
def test_errors_point_into_the_argument(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr.startswith(message), result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explain", "Conv2D: {filters: 8}"], "give its input shape: --input 28,28,1"),
        (["explain", "specs/vgg16.yaml", "-l", "block1_conv"], "no layer named 'block1_conv' (did you mean"),
        (["explain", "-i", "28;28", "Flatten"], "expected sizes without the batch axis"),
        (["explain", "-i", "4", "specs/vgg16.yaml"], "a spec file declares its own input"),
        (["explain", "missing.yaml"], "no such file"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_spec_errors_as_json_too() -> None:
    result = runner.invoke(
        app, ["explain", "-i", "4,4,3", "Conv2D: {filters: 2, kernel_size: 5}", "-f", "json"]
    )
    assert result.exit_code == 1
    (problem,) = json.loads(result.stdout)["problems"]
    assert problem["code"] == "E006" and problem["line"] == 1


# ----------------------------------------------------------------------------- errors that trace a size
UNET_66 = {
    "inputs": {"image": [66, 66, 3]},
    "layers": [
        {"Conv2D": {"name": "enc1", "filters": 8, "kernel_size": 3, "padding": "same", "inputs": "image"}},
        {"MaxPooling2D": {}},
        {"Conv2D": {"name": "enc2", "filters": 16, "kernel_size": 3, "padding": "same"}},
        {"MaxPooling2D": {}},
        {"Conv2D": {"name": "bottom", "filters": 16, "kernel_size": 3, "padding": "same"}},
        {"UpSampling2D": {}},
        {"Concatenate": {"inputs": ["up_sampling2d", "enc2"]}},
    ],
}


def _refusal(spec: dict[str, Any], tmp_path: Any) -> str:
    assert isinstance(keras_model_facts(spec), Refusal)  # Keras refuses the model too
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    result = runner.invoke(app, ["summary", str(path)])
    assert result.exit_code == 1
    return result.stderr


def test_a_unet_skip_of_another_size_is_traced_to_the_pooling(tmp_path: Any) -> None:
    message = _refusal(UNET_66, tmp_path)
    # 66 -> same conv 66 -> pool floor((66 - 2) / 2) + 1 = 33 (enc2 keeps it) -> pool 16 -> up 16 * 2 = 32
    assert "[input (None, 32, 32, 16) from up_sampling2d, (None, 33, 33, 16) from enc2; " in message
    assert (
        "axes 1, 2 (height, width): 32 = 16 * 2 at up_sampling2d; "
        "33 = floor((66 - 2) / 2) + 1 at max_pooling2d]" in message
    )


def test_a_merge_names_each_input_layer(tmp_path: Any) -> None:
    spec = {
        "inputs": {"a": [8], "b": [4]},
        "layers": [
            {"Dense": {"name": "da", "units": 5, "inputs": "a"}},
            {"Dense": {"name": "db", "units": 6, "inputs": "b"}},
            {"Add": {"inputs": ["da", "db"]}},
        ],
    }
    message = _refusal(spec, tmp_path)
    assert "[input (None, 5) from da, (None, 6) from db; axis 1: 5 = units at da; 6 = units at db]" in message


def test_self_attention_given_one_tensor_is_told_to_give_it_twice(tmp_path: Any) -> None:
    spec = {
        "inputs": {"x": [10, 16]},
        "layers": [{"MultiHeadAttention": {"num_heads": 2, "key_dim": 8, "inputs": "x"}}],
    }
    message = _refusal(spec, tmp_path)
    assert "inputs: [query, value] (or [query, value, key])" in message
    assert "for self-attention, give the same tensor twice: inputs: [x, x]" in message
    sequential = {"input": [10, 16], "layers": [{"MultiHeadAttention": {"num_heads": 2, "key_dim": 8}}]}
    assert "e.g. inputs: {x: [10, 16]} and inputs: [x, x]" in _refusal(sequential, tmp_path)
