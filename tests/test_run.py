"""--run end to end: outputs equal Keras's, refusals are clean, mismatches exit 3."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np
import pytest
import yaml
from run_check import assert_run_matches_keras
from typer.testing import CliRunner

from shapecalc.cli import app
from shapecalc.layers.core import Dense
from shapecalc.run.allocator import keep_freed_memory

runner = CliRunner()

DENSE_SPEC = """
inputs:
  a: [6]
  b: [6]
layers:
  - Dense: {name: shared, units: 5, activation: tanh, inputs: a}
  - Reuse: {layer: shared, inputs: b, name: shared_b}
  - Dense: {name: head, units: 3, activation: softmax, inputs: shared_b}
outputs: [shared, head]
"""


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_dense_graph_with_a_shared_layer_equals_keras(tmp_path: Path) -> None:
    path = write(tmp_path, DENSE_SPEC)
    rng = np.random.default_rng(1)
    inputs = {
        "a": rng.standard_normal((4, 6)).astype("float32"),
        "b": rng.standard_normal((4, 6)).astype("float32"),
    }
    report = assert_run_matches_keras(path, yaml.safe_load(DENSE_SPEC), inputs, tmp_path)
    assert report["run"]["batch"] == 4  # the batch the input files bring, not --batch's default
    assert {layer["name"]: layer["run_shape"] for layer in report["layers"]}["head"] == [4, 3]


def run(tmp_path: Path, text: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["summary", str(write(tmp_path, text)), "--run", *args])
    return result.exit_code, result.stdout, result.stderr


def test_random_run_reports_every_layer(tmp_path: Path) -> None:
    code, stdout, _ = run(tmp_path, DENSE_SPEC, "--format", "json", "--batch", "3")
    assert code == 0
    data = json.loads(stdout)
    shapes = {layer["name"]: layer["run_shape"] for layer in data["layers"]}
    assert shapes == {"a": [3, 6], "b": [3, 6], "shared": [3, 5], "head": [3, 3]}
    assert all(layer["ok"] for layer in data["layers"])
    assert all(layer["time_ms"] >= 0 for layer in data["layers"])


def heap_block(nbytes: int) -> int:
    """A heap block as glibc makes it: the size plus a 16-byte header, rounded up to 16 bytes."""
    return -(-(nbytes + 16) // 16) * 16


MAPPED_FROM = 32 * 2**20  # blocks this large are mapped on their own (run/allocator.py)
RUN_OBJECTS = 2**20  # the interpreter's small objects, one CPython arena (run/estimate.py)


def test_memory_limit_refuses_with_the_estimate(tmp_path: Path) -> None:
    spec = "input: [4096]\nlayers:\n  - Dense: {units: 4096}\n  - Dense: {units: 4096}\n"
    # A 4096-float vector takes 16 KiB; a kernel, 4096 * 4096 floats (64 MiB), is mapped on its own.
    vector, kernel = 4096 * 4, 4096 * 4096 * 4
    assert kernel >= MAPPED_FROM > vector
    # The heap: the input, then the first Dense's bias, temporary (one output's worth) and output.
    # Its bias and temporary are freed, and the input after it; the second Dense's bias,
    # temporary and output then fit those three freed blocks: the heap stays four blocks long.
    peak = 4 * heap_block(vector) + kernel + RUN_OBJECTS
    code, _, stderr = run(tmp_path, spec, "--max-memory", "32M")
    assert code == 2
    assert f"needs about {peak / 2**20:.1f} MiB" in stderr
    assert "over --max-memory 32.0 MiB" in stderr


def test_memory_estimate_counts_a_recurrent_layers_projection(tmp_path: Path) -> None:
    # An LSTM projects all 2000 steps at once: (2000, batch 8, 4 gates * 256) floats, 62.5 MiB,
    # while its weights, input and output take about 2 MiB; the estimate must see it.
    spec = "input: [2000, 16]\nlayers:\n  - LSTM: {units: 256}\n"
    weights = [16 * 1024 * 4, 256 * 1024 * 4, 1024 * 4]  # kernel, recurrent kernel, bias
    activations = [8 * 2000 * 16 * 4, 8 * 256 * 4]  # its input and its output
    # the projection, and a handful of step-sized arrays (8 of batch * units): mapped on its own
    temporaries = (2000 * 8 * 256 * 4 + 8 * 8 * 256) * 4
    assert temporaries >= MAPPED_FROM
    peak = sum(heap_block(n) for n in weights + activations) + temporaries + RUN_OBJECTS
    code, _, stderr = run(tmp_path, spec, "--batch", "8", "--max-memory", "48M")
    assert code == 2
    assert f"needs about {peak / 2**20:.1f} MiB" in stderr
    code, _, _ = run(tmp_path, spec, "--batch", "8", "--max-memory", "80M", "--format", "json")
    assert code == 0


def test_weights_file_is_checked_before_running(tmp_path: Path) -> None:
    weights = tmp_path / "w.npz"
    np.savez(
        weights, **{"shared/kernel": np.zeros((6, 4), "float32"), "stray/kernel": np.zeros(1, "float32")}
    )
    code, _, stderr = run(tmp_path, DENSE_SPEC, "--weights", str(weights))
    assert code == 2
    assert "missing: shared/bias (5,)" in stderr
    assert "missing: head/kernel (5, 3)" in stderr
    assert "not a weight of this model: stray/kernel" in stderr
    assert "wrong shape: shared/kernel is (6, 4), the model needs (6, 5)" in stderr


def test_input_files_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((2, 7), "float32"))
    code, _, stderr = run(tmp_path, DENSE_SPEC, "--input", f"a={bad}")
    assert code == 2 and "does not fit input 'a' (None, 6)" in stderr
    code, _, stderr = run(tmp_path, DENSE_SPEC, "--input", f"c={bad}")
    assert code == 2 and "has no input 'c'" in stderr
    code, _, stderr = run(tmp_path, DENSE_SPEC, "--input", str(bad))
    assert code == 2 and "NAME=FILE.npy" in stderr


def test_run_options_need_run(tmp_path: Path) -> None:
    result = runner.invoke(app, ["summary", str(write(tmp_path, DENSE_SPEC)), "--save-outputs", "x.npz"])
    assert result.exit_code == 2


def test_a_kernel_that_disagrees_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        Dense, "forward", lambda self, x, w: np.zeros((x.shape[0], self.units + 1), "float32")
    )
    code, stdout, _ = run(tmp_path, DENSE_SPEC, "--format", "json")
    assert code == 3
    data = json.loads(stdout)
    assert [layer["ok"] for layer in data["layers"]] == [True, True, False, False]
    assert data["run"]["mismatches"] == 3  # shared twice, head once


def test_custom_layers_are_checked_statically_only(tmp_path: Path) -> None:
    spec = Path(__file__).parent.parent / "specs" / "custom_layer.yaml"
    result = runner.invoke(app, ["summary", str(spec), "--run", "--format", "json"])
    assert result.exit_code == 0
    data = {layer["name"]: layer for layer in json.loads(result.stdout)["layers"]}
    assert data["my_layer"]["ok"] is None and data["my_layer"]["run_note"] == "static only: no kernel"
    assert data["dense_1"]["ok"] is True  # runs on data of the predicted shape


def test_allocator_policy_is_taken_where_glibc_runs_us() -> None:
    # glibc accepts the thresholds (each within its documented range); elsewhere a no-op
    assert keep_freed_memory() is (platform.libc_ver()[0] == "glibc")
