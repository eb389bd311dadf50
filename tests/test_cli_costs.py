"""The command line around the cost figures and the error policy: --columns, --unknown-size,
a terminal too narrow for the table, and internal errors (a bug in shapecalc, exit 70)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from model_check import shapecalc_summary_text
from oracle import CALLS, build_keras_model, capture_summary
from typer.testing import CliRunner

from shapecalc import cli
from shapecalc.api import analyze_file
from shapecalc.costs import model_costs
from shapecalc.layers.core import Dense

SPECS = Path(__file__).parent.parent / "specs"
SEED = SPECS / "upsampling_autoencoder.yaml"
runner = CliRunner()

FROZEN = """
input: [6]
layers:
  - Dense: {units: 4, trainable: false}
  - Dropout: {rate: 0.5}
  - Dense: {units: 2}
"""


def keras_summary(spec: dict, **options: bool) -> str:
    """Keras's own summary text at the tests' fixed width, with ``options`` (show_trainable)."""
    CALLS["model summaries"] += 1
    return capture_summary(build_keras_model(spec), **options)


def shapecalc_text(path: Path, columns: list[str] | None) -> str:
    analysis = analyze_file(path)
    return shapecalc_summary_text(analysis, columns=columns, costs=model_costs(analysis))


def test_keras_columns_give_keras_tables(tmp_path: Path) -> None:
    path = tmp_path / "frozen.yaml"
    path.write_text(FROZEN)
    spec = yaml.safe_load(FROZEN)
    assert shapecalc_text(path, None) == keras_summary(spec)
    assert shapecalc_text(path, ["output_shape", "params"]) == keras_summary(spec)
    # Keras's show_trainable layout: Y, N, or - for a layer without weights
    assert shapecalc_text(path, ["output_shape", "params", "trainable"]) == keras_summary(
        spec, show_trainable=True
    )


def test_cost_columns_and_their_totals() -> None:
    result = runner.invoke(
        cli.app,
        ["summary", str(SEED), "--columns", "output_shape,macs,flops,activation_bytes,receptive_field"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    # the first convolution: 28x28 positions x 3x3 taps x 1 channel x 16 filters
    assert f"{28 * 28 * 9 * 16:,}" in text
    # every 3x3 convolution of the spec, positions x 9 taps x channels in x filters (same padding;
    # pooling halves the size, up-sampling doubles it): 28 (1->16), 14 (16->8), 7 (8->4, 4->4),
    # 14 (4->8), 28 (8->16, 16->1)
    macs = 28 * 28 * 9 * (1 * 16) + 14 * 14 * 9 * (16 * 8) + 7 * 7 * 9 * (8 * 4 + 4 * 4)
    macs += 14 * 14 * 9 * (4 * 8) + 28 * 28 * 9 * (8 * 16 + 16 * 1)
    totals = text.split("Non-trainable params")[1]
    assert f"MACs per example: {macs:,}" in totals
    assert f"FLOPs per example: {2 * macs:,}" in totals
    for line in ("Input size: 3.06 KB", "Forward pass size:", "Params size:", "Estimated total size:"):
        assert line in totals  # 28 * 28 * 1 float32 input = 3,136 bytes = 3.06 KB
    # r_out = r_in + (k - 1) * j_in, j_out = j_in * stride: conv 3 (3, 1), pool 2 (4, 2),
    # conv 3 (8, 2), pool 2 (10, 4), conv 3 (18, 4), conv 3 (26, 4); up-sampling leaves it undefined
    assert "Largest receptive field: 26x26 at conv2d_3 (effective stride 4x4)" in totals


def test_batch_scales_the_batch_totals() -> None:
    one = runner.invoke(cli.app, ["summary", str(SEED), "--format", "json"])
    eight = runner.invoke(cli.app, ["summary", str(SEED), "--format", "json", "--batch", "8"])
    import json

    a, b = json.loads(one.stdout), json.loads(eight.stdout)
    assert (a["batch"], b["batch"]) == (1, 8)
    assert b["total_macs"] == a["total_macs"] and b["batch_macs"] == 8 * a["total_macs"]
    assert b["input_bytes"] == 8 * 28 * 28 * 1 * 4
    assert b["total_bytes"] == b["input_bytes"] + b["forward_bytes"] + b["weight_bytes"]


def test_unknown_columns_are_usage_errors() -> None:
    result = runner.invoke(cli.app, ["summary", str(SEED), "--columns", "output_shape,mac"])
    assert result.exit_code == 2
    assert "no column 'mac'" in result.stderr and "did you mean 'macs'" in result.stderr


def test_unknown_sizes_stay_unknown_until_given(tmp_path: Path) -> None:
    path = tmp_path / "seq.yaml"
    path.write_text("input: [null, 6]\nlayers:\n  - Conv1D: {filters: 4, kernel_size: 3}\n")
    result = runner.invoke(cli.app, ["summary", str(path), "--columns", "output_shape,macs"])
    assert "MACs per example: ? " in result.stdout
    result = runner.invoke(
        cli.app, ["summary", str(path), "--columns", "macs", "--unknown-size", "10"], env={"COLUMNS": "200"}
    )
    assert f"MACs per example: {(10 - 2) * 3 * 6 * 4:,}" in result.stdout  # 8 positions x 3 taps x 6 x 4


def test_a_terminal_too_narrow_gets_a_message_not_a_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shapecalc", "summary", str(SEED)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "12", "LINES": "50"},
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    # Keras's widths int(0.45 L), int(0.8 L) - int(0.45 L), L - int(0.8 L) are all >= 4 from L = 16
    assert "needs at least 20" in done.stderr


def test_a_bug_in_a_kernel_is_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    def broken(self: Dense, inputs: object, weights: object) -> object:
        raise IndexError("list index out of range")

    monkeypatch.setattr(Dense, "forward", broken)
    path = str(SPECS / "dense_shrink.yaml")
    with pytest.raises(SystemExit) as stop:
        cli.main(["summary", path, "--run"])
    assert stop.value.code == 70
    err = capsys.readouterr().err
    assert "internal error (IndexError: list index out of range)" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as stop:
        cli.main(["summary", path, "--run", "--debug"])
    assert stop.value.code == 70
    assert "Traceback" in capsys.readouterr().err
