"""``shapecalc solve`` against real Keras: for each window type and input length, every argument
combination Keras accepts, grouped by the output length it gives, must be exactly what solve
answers for that output; plus the command line's contract."""

from __future__ import annotations

import functools
import itertools
import json
from typing import Any

import oracle
import pytest
from typer.testing import CliRunner

# ----------------------------------------------------------------------------- the oracle: Keras only
keras = oracle.keras

# type -> (rank, family); the arguments each family takes
KERAS_TYPES = {
    **{f"Conv{r}D": (r, "conv") for r in (1, 2, 3)},
    **{f"Conv{r}DTranspose": (r, "transpose") for r in (1, 2, 3)},
    **{f"DepthwiseConv{r}D": (r, "depthwise") for r in (1, 2)},
    **{f"SeparableConv{r}D": (r, "separable") for r in (1, 2)},
    **{f"MaxPooling{r}D": (r, "pool") for r in (1, 2, 3)},
    **{f"AveragePooling{r}D": (r, "pool") for r in (1, 2, 3)},
    **{f"ConvLSTM{r}D": (r, "conv_lstm") for r in (1, 2, 3)},
}
LENGTHS = (1, 2, 5, 8, 13, 28)
# The space put to Keras: wider than solve's own for output_padding, so that Keras's check, not
# an assumption shared with solve, decides which values it accepts.
PADDINGS = ("valid", "same", "causal")
STRIDES = range(1, 5)
DILATIONS = range(1, 5)
KERNELS = tuple(range(1, 8))
OUTPUT_PADDINGS = (None, *range(8))

# (padding, strides, dilation_rate or None, kernel_size or pool_size, output_padding or None)
Combo = tuple[str, int, int | None, int, int | None]


def _make(type_name: str, combo: Combo) -> Any:
    """The Keras layer of ``combo`` (scalar arguments: every spatial axis the same)."""
    padding, strides, dilation, window, extra = combo
    family = KERAS_TYPES[type_name][1]
    cls = getattr(keras.layers, type_name)
    if family == "pool":
        return cls(pool_size=window, strides=strides, padding=padding)
    kwargs: dict[str, Any] = {"kernel_size": window, "strides": strides, "padding": padding}
    kwargs["dilation_rate"] = dilation
    if family == "transpose":
        kwargs["output_padding"] = extra
    if family == "depthwise":
        return cls(depth_multiplier=1, **kwargs)
    return cls(filters=2, **kwargs)


@functools.cache
def keras_layers(type_name: str, kernels: tuple[int, ...]) -> tuple[tuple[Combo, Any], ...]:
    """Every combination Keras constructs, with its layer (made once, asked for each length)."""
    family = KERAS_TYPES[type_name][1]
    dilations = (None,) if family == "pool" else DILATIONS
    extras = OUTPUT_PADDINGS if family == "transpose" else (None,)
    made = []
    for combo in itertools.product(PADDINGS, STRIDES, dilations, kernels, extras):
        try:
            made.append((combo, _make(type_name, combo)))
        except Exception:  # Keras refuses the arguments: not a combination
            continue
    return tuple(made)


def keras_outputs(type_name: str, length: int, kernels: tuple[int, ...] = KERNELS) -> dict[int, set[Combo]]:
    """Output length -> the combinations giving it, by Keras's compute_output_shape on an input
    with every spatial axis ``length``. Keras raises there for valid padding with an output <= 0
    (compute_conv_output_shape / compute_pooling_output_shape), as its build does."""
    rank, family = KERAS_TYPES[type_name]
    spatial = (length,) * rank
    # ConvLSTM reads (batch, time, *spatial, channels) and returns the last step's state
    shape = (1, 3, *spatial, 2) if family == "conv_lstm" else (1, *spatial, 2)
    by_output: dict[int, set[Combo]] = {}
    for combo, layer in keras_layers(type_name, kernels):
        oracle.CALLS["layer shapes"] += 1
        try:
            out = tuple(layer.compute_output_shape(shape))
        except Exception:
            continue
        assert len(set(out[1:-1])) == 1, (type_name, combo, out)
        by_output.setdefault(int(out[1]), set()).add(combo)
    return by_output


# ----------------------------------------------------------------------------- shapecalc
from shapecalc.cli import app  # noqa: E402
from shapecalc.solve import SOLVABLE, Combination, solve  # noqa: E402

runner = CliRunner()


def as_combo(c: Combination) -> Combo:
    return (c.padding, c.strides, c.dilation_rate, c.window, c.output_padding)


def json_combo(item: dict[str, Any]) -> Combo:
    window = item.get("kernel_size", item.get("pool_size"))
    return (item["padding"], item["strides"], item.get("dilation_rate"), window, item.get("output_padding"))


def test_solve_covers_every_type_the_oracle_does() -> None:
    assert set(SOLVABLE) == set(KERAS_TYPES)


@pytest.mark.parametrize("type_name", sorted(KERAS_TYPES))
def test_answers_are_exactly_the_combinations_keras_accepts_for_each_output(type_name: str) -> None:
    for length in LENGTHS:
        by_output = keras_outputs(type_name, length)
        outputs = sorted(by_output)
        for target in range(0, outputs[-1] + 3):
            solution = solve(type_name, length, target)
            got = {as_combo(c) for c in solution.answers}
            assert got == by_output.get(target, set()), (type_name, length, target)
            assert len(got) == len(solution.answers)  # no combination twice
            assert all(c.output == target for c in solution.answers)
            if not got:
                below = [m for m in outputs if m < target]
                above = [m for m in outputs if m > target]
                expected_below = by_output[below[-1]] if below else set()
                expected_above = by_output[above[0]] if above else set()
                assert {as_combo(c) for c in solution.below} == expected_below, (type_name, length, target)
                assert {as_combo(c) for c in solution.above} == expected_above, (type_name, length, target)


@pytest.mark.parametrize(
    ("type_name", "length", "kernel"),
    [("Conv1D", 28, 3), ("Conv2DTranspose", 13, 4), ("MaxPooling2D", 28, 2), ("Conv1D", 28, 9)],
)
def test_a_fixed_kernel_limits_the_answers_to_it(type_name: str, length: int, kernel: int) -> None:
    by_output = keras_outputs(type_name, length, (kernel,))
    for target in range(0, max(by_output) + 3):
        answers = solve(type_name, length, target, kernel).answers
        assert {as_combo(c) for c in answers} == by_output.get(target, set()), (length, target)


@pytest.mark.parametrize(
    ("type_name", "keras_name", "length", "target", "kernel"),
    [
        ("Conv2D", "Conv2D", 28, 14, None),
        ("Convolution2DTranspose", "Conv2DTranspose", 7, 14, None),
        ("MaxPool2D", "MaxPooling2D", 13, 6, None),
        ("SeparableConvolution1D", "SeparableConv1D", 8, 8, 5),
        ("ConvLSTM2D", "ConvLSTM2D", 5, 3, None),
    ],
)
def test_the_command_answers_as_keras_in_json(
    type_name: str, keras_name: str, length: int, target: int, kernel: int | None
) -> None:
    args = ["solve", type_name, "--input", str(length), "--output", str(target), "--format", "json"]
    args += [] if kernel is None else ["--kernel", str(kernel)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    items = json.loads(result.stdout)
    kernels = KERNELS if kernel is None else (kernel,)
    assert {json_combo(i) for i in items} == keras_outputs(keras_name, length, kernels)[target]
    family = KERAS_TYPES[keras_name][1]
    keys = ["padding", "strides"]
    keys += [] if family == "pool" else ["dilation_rate"]
    keys += ["pool_size" if family == "pool" else "kernel_size"]
    keys += ["output_padding"] if family == "transpose" else []
    assert all(list(i) == [*keys, "output", "formula"] for i in items)
    assert all(i["output"] == target and i["formula"].endswith(f"= {target}") for i in items)


# ----------------------------------------------------------------------------- the command line
def invoke(*args: str) -> Any:
    return runner.invoke(app, ["solve", *args], env={"COLUMNS": "200"})


def test_text_names_every_answer_with_its_formula() -> None:
    result = invoke("Conv2D", "--input", "28", "--output", "14")
    assert result.exit_code == 0, result.stderr
    answers = solve("Conv2D", 28, 14).answers
    assert result.stdout.splitlines()[0].startswith(f"Conv2D: {len(answers)} combinations take")
    for c in answers:
        assert c.formula in result.stdout
    assert "dilation" in result.stdout and "kernel" in result.stdout and "pool" not in result.stdout


def test_no_answer_exits_1_and_shows_the_nearest_outputs() -> None:
    result = invoke("MaxPooling2D", "--input", "28", "--output", "100")
    assert result.exit_code == 1
    assert "no combination" in result.stdout
    assert "nearest below: output 28" in result.stdout
    assert "nearest above: none" in result.stdout

    result = invoke("Conv1D", "--input", "10", "--output", "11", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == []
    assert "nearest below: output 10" in result.stderr
    assert "nearest above: none" in result.stderr


def test_an_unknown_type_is_a_usage_error_with_a_suggestion() -> None:
    result = invoke("Conv2", "--input", "28", "--output", "14")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "unknown layer type 'Conv2'" in result.stderr and "did you mean 'Conv2D'" in result.stderr


def test_a_type_without_a_window_is_a_usage_error_naming_the_supported_ones() -> None:
    result = invoke("Dense", "--input", "28", "--output", "14")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "Dense" in result.stderr and "Conv2DTranspose" in result.stderr and "MaxPooling3D" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "0", "--output", "3"], "input length must be >= 1, got 0"),
        (["--input", "5", "--output", "-1"], "output length must be >= 0, got -1"),
        (["--input", "5", "--output", "3", "--kernel", "0"], "kernel_size must be >= 1, got 0"),
    ],
)
def test_lengths_out_of_range_are_usage_errors(args: list[str], message: str) -> None:
    result = invoke("Conv1D", *args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
