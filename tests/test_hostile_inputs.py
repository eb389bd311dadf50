"""Hostile specs end in a clean answer: Keras's where Keras accepts them, else a located refusal.

Issue 14's cases (a null initializer, sizes past NumPy's index type, a 12-column terminal) and
every finding of the fuzz (fuzz.py, test_fuzz.py), each kept here as the spec that found it.
Every command runs through fuzz.run_command, which also fails on a traceback, an internal
error, an unlocated message or a warning reaching the terminal.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from fuzz import run_command
from located import where
from oracle import Refusal, keras, keras_model_facts

HUGE = 2**63  # one past NumPy's index type (intp)


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def clean(args: list[str], env: dict[str, str] | None = None) -> tuple[int | None, str, str]:
    """A command's exit status and output, after checking that it ended as a command should."""
    outcome = run_command(args, env or {})
    assert outcome.problem is None, outcome.problem
    return outcome.exit_code, outcome.stdout, outcome.stderr


# ----------------------------------------------------------------------------- null initializers
DENSE_NULL = "input: [4]\nlayers:\n  - Dense: {units: 3, kernel_initializer: null, bias_initializer: null}\n"


def test_keras_falls_back_on_glorot_uniform_for_a_null_initializer() -> None:
    """The rule shapecalc follows, seen in Keras: add_weight gives a float weight with no
    initializer glorot_uniform's values (the bias too, not zeros)."""

    def weights(**initializers: str | None) -> list[np.ndarray]:
        keras.utils.set_random_seed(7)
        layer = keras.layers.Dense(3, **initializers)
        layer.build((None, 4))
        return [np.asarray(w.numpy()) for w in layer.weights]

    null = weights(kernel_initializer=None, bias_initializer=None)
    glorot = weights(kernel_initializer="glorot_uniform", bias_initializer="glorot_uniform")
    assert all(np.array_equal(a, b) for a, b in zip(null, glorot, strict=True))
    assert np.any(null[1] != 0)


def test_a_null_initializer_runs_as_glorot_uniform(tmp_path: Path) -> None:
    null = write(tmp_path, DENSE_NULL, "null.yaml")
    glorot = write(tmp_path, DENSE_NULL.replace("null", "glorot_uniform"), "glorot.yaml")
    outputs = []
    for spec in (null, glorot):
        saved = tmp_path / f"{spec.stem}.npz"
        code, _, _ = clean(["summary", str(spec), "--run", "--save-outputs", str(saved), "--format", "json"])
        assert code == 0
        outputs.append(np.load(saved)["dense"])
    assert np.array_equal(*outputs)
    assert not isinstance(keras_model_facts(yaml.safe_load(DENSE_NULL)), Refusal)


@pytest.mark.parametrize(
    "entry",
    [
        "MultiHeadAttention: {num_heads: 2, key_dim: 4, kernel_initializer: null, inputs: [x, x]}",
        # refused even without a bias: Keras copies both initializers whatever use_bias says
        "MultiHeadAttention: {num_heads: 2, key_dim: 4, bias_initializer: null, use_bias: false, "
        "inputs: [x, x]}",
        "GroupQueryAttention: {head_dim: 4, num_query_heads: 2, num_key_value_heads: 1, "
        "bias_initializer: null, inputs: [x, x]}",
        "LSTM: {units: 3, bias_initializer: null, inputs: x}",
        "RNN: {cell: {LSTMCell: {units: 3, bias_initializer: null}}, inputs: x}",
        "BatchNormalization: {renorm: true, moving_variance_initializer: null, inputs: x}",
    ],
)
def test_null_initializers_keras_cannot_build_are_refused_where_written(tmp_path: Path, entry: str) -> None:
    text = f"inputs: {{x: [5, 4]}}\nlayers:\n  - {entry}\n"
    assert isinstance(keras_model_facts(yaml.safe_load(text)), Refusal)
    path = write(tmp_path, text)
    code, _, stderr = clean(["summary", str(path)])
    assert code == 1
    line, col = where(text, "null")
    assert stderr.startswith(f"{path}:{line}:{col}: error: ")


@pytest.mark.parametrize(
    "entry",
    [
        "LSTM: {units: 3, bias_initializer: null, unit_forget_bias: false}",
        "LSTM: {units: 3, bias_initializer: null, use_bias: false}",
        "BatchNormalization: {moving_mean_initializer: null, moving_variance_initializer: null}",
        "Embedding: {input_dim: 10, output_dim: 3, embeddings_initializer: null}",
        "Conv1D: {filters: 2, kernel_size: 3, kernel_initializer: null, bias_initializer: null}",
    ],
)
def test_null_initializers_keras_accepts_run(tmp_path: Path, entry: str) -> None:
    text = f"input: [5, 4]\nlayers:\n  - {entry}\n"
    assert not isinstance(keras_model_facts(yaml.safe_load(text)), Refusal)
    code, _, _ = clean(["summary", str(write(tmp_path, text)), "--run"])
    assert code == 0


# ----------------------------------------------------------------------------- sizes NumPy cannot hold
def test_a_stride_past_numpys_index_type_is_refused_at_the_layer(tmp_path: Path) -> None:
    text = (
        f"input: [8, 8, 1]\nlayers:\n  - Conv2DTranspose: {{filters: 2, kernel_size: 3, strides: {HUGE}}}\n"
    )
    text += "  - Flatten: {}\n"
    path = write(tmp_path, text)
    assert clean(["summary", str(path)])[0] == 0  # Keras's shape rule takes it, and so does the summary
    code, _, stderr = clean(["summary", str(path), "--run"])
    assert code == 2
    line, col = where(text, "Conv2DTranspose")
    side = 8 * HUGE  # (8 - 1) * stride + max(kernel - stride, 0) ... = 8 * stride, as Keras computes it
    assert stderr.startswith(f"{path}:{line}:{col}: error: conv2d_transpose (Conv2DTranspose): its output ")
    assert f"(1, {side}, {side}, 2) has {side * side * 2:,} values" in stderr
    assert "--run cannot allocate it" in stderr


def test_an_input_size_past_numpys_index_type_is_refused_at_the_input(tmp_path: Path) -> None:
    text = f"input: [{HUGE}, 8, 1]\nlayers:\n  - Flatten: {{}}\n"
    path = write(tmp_path, text)
    assert clean(["summary", str(path)])[0] == 0
    code, _, stderr = clean(["summary", str(path), "--run"])
    assert code == 2
    assert stderr.startswith(f"{path}:1:8: error: input_layer (InputLayer): its input (1, {HUGE}, 8, 1) ")
    # in a process of its own: nothing but the message reaches the terminal (no NumPy warning)
    done = subprocess.run(
        [sys.executable, "-m", "shapecalc", "summary", str(path), "--run"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (2, stderr)


def test_more_axes_than_numpy_allows_are_refused(tmp_path: Path) -> None:
    text = f"input: {[1] * 70}\nlayers:\n  - Dense: {{units: 2}}\n"
    code, _, stderr = clean(["summary", str(write(tmp_path, text)), "--run"])
    assert code == 2
    assert "its input has 71 axes (batch included); a NumPy array has at most" in stderr


@pytest.mark.parametrize(
    ("entry", "layer"),
    [
        # windows far wider than the input: small outputs and weights, huge padded inputs
        (f"MaxPooling2D: {{pool_size: [2, {HUGE}], padding: same}}", "max_pooling2d (MaxPooling2D)"),
        (f"AveragePooling2D: {{pool_size: {10**30}, padding: same}}", "average_pooling2d (AveragePooling2D)"),
        (f"Conv2D: {{filters: 2, kernel_size: 3, dilation_rate: {2**40}, padding: same}}", "conv2d (Conv2D)"),
        (
            f"ConvLSTM1D: {{filters: 2, kernel_size: 3, dilation_rate: {2**60}, padding: same}}",
            "conv_lstm1d (ConvLSTM1D)",
        ),
        (
            f"ContrastLimitedAdaptiveHistogramEqualization: {{tile_grid_size: [3, {HUGE - 1}]}}",
            "contrast_limited_adaptive_histogram_equalization (ContrastLimitedAdaptiveHistogramEqualization)",
        ),
    ],
)
def test_temporaries_no_machine_can_hold_are_refused(tmp_path: Path, entry: str, layer: str) -> None:
    text = f"input: [16, 16, 3]\nlayers:\n  - {entry}\n"
    path = write(tmp_path, text)
    assert clean(["summary", str(path)])[0] == 0
    code, _, stderr = clean(["summary", str(path), "--run", "--max-memory", "1e40"])
    assert code == 2
    assert stderr.startswith(f"{path}:3:5: error: {layer}: its kernel's temporaries need ")


def test_the_memory_refusal_names_the_layer_and_the_bytes(tmp_path: Path) -> None:
    text = "input: [100000, 100000]\nlayers:\n  - Dense: {units: 4}\n"
    path = write(tmp_path, text)
    code, _, stderr = clean(["summary", str(path), "--run", "--max-memory", "1G"])
    assert code == 2
    assert stderr.startswith(f"{path}:3:5: error: running this spec needs about 37.3 GiB (")
    assert "bytes), reached at dense (Dense): " in stderr


def test_sizes_past_a_floats_range_are_shown(tmp_path: Path) -> None:
    big = 10**200
    text = f"input: [{big}]\nlayers:\n  - Dense: {{units: {big}}}\nexpect: {{total_params: 1.5K}}\n"
    code, _, stderr = clean(["summary", str(write(tmp_path, text))])
    assert code == 1
    assert f"expected total_params 1.5K, the model has {big * big + big:,} (" in stderr
    code, stdout, _ = clean(["summary", str(write(tmp_path, text.split("expect")[0]))], {"COLUMNS": "200"})
    assert code == 0
    assert " PB)" in stdout


# ----------------------------------------------------------------------------- what --run computes
@pytest.mark.parametrize(
    "text",
    [
        # each of these divided, averaged or reshaped by a zero size in a kernel
        "input: [16, 0, 1]\nlayers:\n  - Resizing: {height: 4, width: 8}\n",
        "input: [4, 0]\nlayers:\n  - Dense: {units: 1}\n",
        "input: [3, 0, 2]\nlayers:\n  - Dense: {units: 2}\n  - RMSNormalization: {axis: [1, 2]}\n",
        "input: [0, 8, 6, 2]\nlayers:\n  - LayerNormalization: {}\n",
        "input: {shape: [0], dtype: int32}\nlayers:\n  - Embedding: {input_dim: 50, output_dim: 4}\n"
        "  - GlobalAveragePooling1D: {}\n",
    ],
)
def test_an_empty_tensor_is_checked_statically(tmp_path: Path, text: str) -> None:
    code, stdout, _ = clean(["summary", str(write(tmp_path, text)), "--run"], {"COLUMNS": "200"})
    assert code == 0
    assert "checked statically only" in stdout


def test_a_size_the_prediction_leaves_unknown_is_filled_in_for_a_layer_not_run(tmp_path: Path) -> None:
    # Keras's EinsumDense leaves the elided axis unknown even at known sizes; the training call
    # after it is checked statically and passes on data of --unknown-size there.
    text = """
inputs: {x: [4, 3]}
layers:
  - EinsumDense: {name: e, equation: "abc,cd->abd", output_shape: [null, 5], bias_axes: d}
  - Dropout: {rate: 0.5, call: {training: true}}
"""
    code, _, _ = clean(["summary", str(write(tmp_path, text)), "--run", "--unknown-size", "6"])
    assert code == 0


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ("RMSNormalization: {epsilon: [1.0e-6, 1.0e-6, 1.0e-6, 1.0e-6, 1.0e-6]}", "does not broadcast"),
        ("LayerNormalization: {axis: [-1, -1]}", "names an axis twice"),
        ("Rescaling: {scale: 0.5, offset: [0, 0, 0, 0, 0]}", "as Keras's call does"),
    ],
)
def test_arguments_keras_calls_fail_on_are_reported_as_failing_calls(
    tmp_path: Path, entry: str, fragment: str
) -> None:
    text = f"input: [4, 3]\nlayers:\n  - {entry}\n"
    code, stdout, _ = clean(["summary", str(write(tmp_path, text)), "--run", "--format", "json"])
    assert code == 3
    assert fragment in stdout


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "input: [120]\nlayers:\n  - MelSpectrogram: {fft_length: false, sequence_stride: 7}\n",
            "fft_length must be a positive integer",
        ),
        ("input: [4, 3]\nlayers:\n  - UnitNormalization: {axis: false}\n", "axes must be integers"),
        ("input: [5, 1]\nlayers:\n  - Reshape: {target_shape: '-1'}\n", "cannot reshape"),
        (
            f"input: [9, 10, 3]\nlayers:\n  - Resizing: {{height: 6, width: 3, pad_to_aspect_ratio: true, "
            f"fill_value: {10**400}}}\n",
            "cannot pad with fill_value",
        ),
        (
            f"inputs: {{a: [5, 3]}}\nlayers:\n  - Concatenate: {{inputs: [a], axis: {HUGE}}}\n",
            "cannot concatenate on axis",
        ),
        # a cell computes (batch, features) steps: Keras's shape rule reads the time axis only
        (
            "input: [5, 3, 3]\nlayers:\n  - RNN: {cell: {StackedRNNCells: {cells: [{LSTMCell: {units: 3}}, "
            "{SimpleRNNCell: {units: 2}}]}}}\n",
            "do not fit the cells' (batch, units) states",
        ),
        (
            "input: [5, 3, 3]\nlayers:\n  - RNN: {cell: {SimpleRNNCell: {units: 2}}, unroll: true}\n",
            "do not fit the cells'",
        ),
        # arguments past any float: Keras's calls fail on both backends with an OverflowError
        (f"input: [3, 4]\nlayers:\n  - ReLU: {{max_value: {10**400}}}\n", "is past any float"),
        (f"input: [3, 4]\nlayers:\n  - LeakyReLU: {{negative_slope: {10**400}}}\n", "is past any float"),
        # a clip limit past any float: Keras's call fails on both backends (long fuzz, seed 978073)
        (
            f"input: [6, 7, 3]\nlayers:\n  - ContrastLimitedAdaptiveHistogramEqualization: "
            f"{{tile_grid_size: [2, 2], clip_limit: {10**400}}}\n",
            "is past any float",
        ),
        # an axis twice: Keras's sum fails on both backends (long fuzz, seed 942545)
        ("input: [3, 4, 2]\nlayers:\n  - UnitNormalization: {axis: [1, 2, 2]}\n", "names an axis twice"),
        # an alpha of no values: Keras's call fails on both backends (long fuzz, seed 926385)
        ("input: [4, 3]\nlayers:\n  - ELU: {alpha: []}\n", "cannot scale inputs"),
        # Keras's numpy backend refuses a boolean axis (long fuzz, seed 935527)
        ("input: [3, 4]\nlayers:\n  - Softmax: {axis: false}\n", "must be an integer or a list of integers"),
        # an axis the inputs do not have: Keras's call fails on both backends (fuzz, seed 8717)
        ("input: [3, 4]\nlayers:\n  - Softmax: {axis: 2147483648}\n", "is not an axis of the inputs"),
        ("input: [3, 4]\nlayers:\n  - Softmax: {axis: -4}\n", "is not an axis of the inputs"),
        ("input: [3, 4]\nlayers:\n  - Softmax: {axis: [5]}\n", "is not an axis of the inputs"),
        # an integer past any float: Keras's call cannot cast it (long fuzz, seed 931021)
        (
            f"input: [7]\nlayers:\n  - Rescaling: {{scale: {10**400}, offset: 1}}\n",
            "int too large to convert",
        ),
        # Keras's summary takes it; its call multiplies by a (3,) scale: (B, 3, 4, 2) cannot
        ("input: [3, 4, 2]\nlayers:\n  - RMSNormalization: {axis: 1}\n", "does not broadcast against"),
        # Keras's summary takes it; its call's not_equal cannot broadcast (6, 3) against (4,)
        ("input: [6, 3]\nlayers:\n  - Masking: {mask_value: [0.0, 0.0, 0.0, 0.0]}\n", "do not broadcast"),
    ],
)
def test_calls_keras_cannot_make_are_failing_calls(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    assert clean(["summary", str(path), "--format", "json"])[0] == 0
    code, stdout, _ = clean(["summary", str(path), "--run", "--batch", "2", "--format", "json"])
    assert code == 3
    assert fragment in stdout


def test_a_lint_setting_that_is_no_code_is_refused_where_written(tmp_path: Path) -> None:
    text = "input: [4]\nlayers:\n  - Dense: {units: 3}\nlint: {ignore: [{}]}\n"
    path = write(tmp_path, text)
    for args in (["summary", str(path)], ["lint", str(path)]):
        code, stdout, stderr = clean(args)
        assert code == 1
        assert f"{path}:4:17: error: lint: a code to ignore is a string, got {{}}" in stdout + stderr


def test_attention_on_a_value_whose_positions_are_not_the_keys(tmp_path: Path) -> None:
    text = "inputs: {q: [3, 4], v: [4], k: [5, 4]}\nlayers:\n  - Attention: {inputs: [q, v, k]}\n"
    code, stdout, _ = clean(["summary", str(write(tmp_path, text)), "--run", "--format", "json"])
    assert code == 3
    assert "cannot weigh the value (1, 4)" in stdout


@pytest.mark.parametrize(
    "entry", ["CenterCrop: {height: null, width: 3}", "Resizing: {height: 4, width: null}"]
)
def test_an_image_size_left_null_fails_the_call(tmp_path: Path, entry: str) -> None:
    # Keras's shape rule leaves the axis unknown; its call computes with the number
    path = write(tmp_path, f"input: [9, 16, 3]\nlayers:\n  - {entry}\n  - LayerNormalization: {{}}\n")
    assert clean(["summary", str(path), "--format", "json"])[0] == 0
    code, stdout, _ = clean(["summary", str(path), "--run", "--format", "json"])
    assert code == 3
    assert "cannot make images of height" in stdout


def test_a_mel_spectrogram_of_no_mel_bins_fails_the_call(tmp_path: Path) -> None:
    text = "input: [120]\nlayers:\n  - MelSpectrogram: {fft_length: 64, num_mel_bins: null}\n"
    code, stdout, _ = clean(["summary", str(write(tmp_path, text)), "--run", "--format", "json"])
    assert code == 3
    assert "num_mel_bins is null" in stdout


def test_a_window_that_is_no_list_of_numbers_fails_the_call(tmp_path: Path) -> None:
    text = "input: [40]\nlayers:\n  - MelSpectrogram: {fft_length: 16, sequence_length: 16, window: {}}\n"
    code, stdout, _ = clean(["summary", str(write(tmp_path, text)), "--run", "--format", "json"])
    assert code == 3
    assert "the window must be a list of numbers" in stdout


@pytest.mark.parametrize(
    "entry",
    ["RMSNormalization: {epsilon: -1}", "Rescaling: {scale: 1.0e+300}", "BatchNormalization: {epsilon: -1}"],
)
def test_infinities_and_nans_of_the_models_arithmetic_raise_no_warning(tmp_path: Path, entry: str) -> None:
    text = f"input: [4, 3]\nlayers:\n  - {entry}\n"
    assert clean(["summary", str(write(tmp_path, text)), "--run"])[0] == 0


# ----------------------------------------------------------------------------- spec values
@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        # expect: an output_shape that is no list
        (
            "input: [4]\nlayers:\n  - Dense: {units: 3}\nexpect: {layers: {dense: {output_shape: true}}}\n",
            "an output_shape is a list of sizes",
        ),
        # float() of an integer past a float's range, in Keras's own checks
        (f"input: [4]\nlayers:\n  - Dropout: {{rate: {10**400}}}\n", "expected a number between 0 and 1"),
        (f"input: [4]\nlayers:\n  - BatchNormalization: {{epsilon: {10**400}}}\n", "expected a number"),
        (f"input: [4]\nlayers:\n  - ActivityRegularization: {{l1: {10**400}}}\n", "expected a number >= 0"),
        (
            f"input: [4, 4, 1]\nlayers:\n  - UpSampling2D: {{size: [2, {-(10**400)}]}}\n",
            "every value must be",
        ),
        # expressions: int() of an infinity, a huge integer divided
        ("vars: {f: .inf}\ninput: [4]\nlayers:\n  - Dense: {units: $(int(f))}\n", "int(): cannot convert"),
        (
            f"vars: {{n: {10**400}}}\ninput: [4]\nlayers:\n  - Dense: {{units: $(n / 3)}}\n",
            "value out of range",
        ),
        # a layer of a block named by a number: no suggestion is made of it
        (
            "vars: {rate: 0.1}\nblocks:\n  b:\n    layers:\n      - Dense: {units: 2, name: $rate}\n"
            "      - Dense: {units: 2, name: out, inputs: d}\ninputs: {x: [4]}\nlayers:\n  - b: {name: i}\n",
            "unknown input 'd' in a block",
        ),
    ],
)
def test_spec_values_are_refused_where_written(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    commands = [["summary", str(path)], ["lint", str(path), "--jobs", "1"]]
    if "expect" not in text:  # explain does not check a spec's expectations
        commands.append(["explain", str(path)])
    for args in commands:
        code, stdout, stderr = clean(args)
        assert code == 1
        assert fragment in stderr + stdout


def test_a_layer_given_on_the_command_line_longer_than_a_file_name(tmp_path: Path) -> None:
    entry = "{Dense: {units: -" + "9" * 400 + "}}"
    code, _, stderr = clean(["explain", "-i", "10", entry])
    assert code == 1
    assert stderr.startswith("<layer>:1:")
    code, _, stderr = clean(["summary", "x" * 400 + ".yaml"])
    assert (code, stderr.endswith(": error: no such file\n")) == (2, True)


def test_an_export_refusal_points_at_the_custom_layer(tmp_path: Path) -> None:
    path = Path(__file__).parent.parent / "specs" / "custom_layer.yaml"
    code, _, stderr = clean(["export", str(path)])
    assert code == 2
    assert stderr.startswith(f"{path}:28:5: error: custom layers (HalfGate, MyLayer) cannot be exported")


@pytest.mark.parametrize("args", [["summary"], ["summary", "--run"], ["summary", "--expand"]])
def test_a_terminal_12_columns_wide_gets_a_message(tmp_path: Path, args: list[str]) -> None:
    path = write(tmp_path, DENSE_NULL)
    code, _, stderr = clean([args[0], str(path), *args[1:]], {"COLUMNS": "12"})
    assert code == 2
    assert stderr.startswith("error: the terminal is 12 columns wide; the summary table needs at least")


def test_explain_takes_an_einsum_output_shape_shorter_than_the_equations_output(tmp_path: Path) -> None:
    # Keras builds it: (None, 4, 3) -> (None, 3), the elided axis last
    text = (
        "input: [4, 3]\nlayers:\n  - EinsumDense: {equation: 'ab,bc->ac', output_shape: [], bias_axes: c}\n"
    )
    code, stdout, _ = clean(["explain", str(write(tmp_path, text))])
    assert code == 0
    assert "(None, 4, 3) -> (None, 3)\n  axis 1:          input axis 2 (ab,bc->ac) = 3" in stdout


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_a_convolution_over_no_channels_is_checked_statically(tmp_path: Path, padding: str) -> None:
    # found by the long fuzz (seeds 910035, 910620): the memory estimate divided by the channels
    text = f"input: [9, 10, 0]\nlayers:\n  - Conv2D: {{filters: 3, kernel_size: 3, padding: {padding}}}\n"
    code, stdout, _ = clean(["summary", str(write(tmp_path, text)), "--run", "--format", "json"])
    assert code == 0
    assert "a tensor of size 0 holds no values" in stdout


def test_an_output_of_billions_of_rows_is_refused_at_once(tmp_path: Path) -> None:
    # found by the long fuzz (seed 935820): the estimate listed the convolution's blocks of
    # patches one by one, billions of them; it now sizes them by arithmetic
    text = (
        "input: [7, 7, 8]\nlayers:\n  - UpSampling2D: {size: [2147483648, 2]}\n"
        "  - Conv2D: {filters: 4, kernel_size: 3, padding: same}\n"
    )
    code, _, stderr = clean(["summary", str(write(tmp_path, text)), "--run", "--max-memory", "256M"])
    assert code == 2
    assert "needs about" in stderr and "reached at conv2d (Conv2D)" in stderr


def test_a_block_of_no_outputs_is_refused_where_written(tmp_path: Path) -> None:
    # found by the long fuzz (seed 998124); a Keras model of no outputs is refused too
    text = (
        "input: [8]\nblocks:\n  pair:\n    layers:\n      - Dense: {units: 4}\n    outputs: []\n"
        "layers:\n  - pair: {}\n"
    )
    path = write(tmp_path, text)
    for args in (["summary", str(path)], ["lint", str(path)], ["explain", str(path)]):
        code, stdout, stderr = clean(args)
        assert code == 1
        assert f"{path}:6:14: error: block pair: outputs names at least one of its layers" in stdout + stderr
