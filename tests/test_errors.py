"""Every way a spec can be wrong gets exit 1 and ``FILE:LINE:COL: error: MESSAGE`` at the
offending value, never a traceback. Positions below are counted by hand in each spec text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shapecalc.cli import app

runner = CliRunner()


def run(tmp_path: Path, text: str | bytes, suffix: str = ".yaml", *args: str) -> tuple[int, str, str]:
    path = tmp_path / f"spec{suffix}"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    result = runner.invoke(app, ["summary", str(path), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr.replace(str(path), "SPEC")


def position(text: str, needle: str | None) -> str:
    """LINE:COL of the first character of ``needle`` in ``text`` (1:1 for None, "END" past the end)."""
    if needle is None:
        return "1:1"
    if needle == "END":
        return f"{text.count(chr(10)) + 1}:{len(text) - (text.rfind(chr(10)) + 1) + 1}"
    offset = text.index(needle)
    line = text.count("\n", 0, offset) + 1
    return f"{line}:{offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


# (spec text, the text the error must point at, fragment of the message)
YAML_CASES = [
    (
        "input: [4]\nlayers:\n  - Dense: {units: 0}\n",
        "0}",
        "dense (Dense): units: expected a positive integer, got 0",
    ),
    (
        "input: [4]\nlayers:\n  - Dense: {units: 3, activatoin: relu}\n",
        "activatoin",
        "unknown argument 'activatoin' (did you mean 'activation'?)",
    ),
    (
        "input: [4]\nlayers:\n  - Dens: {units: 3}\n",
        "Dens",
        "unknown layer type 'Dens' (did you mean 'Dense'?)",
    ),
    (
        "input: [4]\nlayers:\n  - Dense: {units: 3, activation: rellu}\n",
        "rellu",
        "unknown activation 'rellu' (did you mean 'relu'?)",
    ),
    ("input: [4]\nlayers:\n  - Dense: {units: 3\n", "END", "invalid YAML"),
    (
        "input: [4]\nlayer:\n  - Dense: {units: 3}\n",
        "layer:",
        "unknown top-level key 'layer' (did you mean 'layers'?)",
    ),
    ("input: [4]\n", None, "no 'layers' list"),
    ("input: [4]\nlayers: []\n", "[]", "'layers' is empty"),
    ("input: 4\nlayers:\n  - Dense: {units: 3}\n", "4", "write [4]"),
    ("input: [4, -1]\nlayers:\n  - Dense: {units: 3}\n", "-1", "integers >= 0 or null"),
    ("layers:\n  - Dense: {units: 3}\n", None, "needs 'input: [shape]'"),
    (
        "input: [4]\nlayers:\n  - Dense: {units: 3}\n  - Dense: {units: 3}\n    Flatten: {}\n",
        "Dense: {units: 3}\n    F",
        "one-key mapping",
    ),
    ("input: [4]\nlayers:\n  - Dense: [3]\n", "[3]", "must be a mapping"),
    ("input: [4]\nlayers:\n  - Dense: {units: 3, units: 4}\n", "units: 4", "duplicate key 'units'"),
    (
        "input: [4]\nlayers:\n"
        "  - Dense: {name: a, units: 3}\n  - Dense: {name: b, units: 3}\n  - Dense: {name: a, units: 1}\n",
        "a, units: 1",
        "the name 'a' is already used",
    ),
    ("inputs: {a: [4]}\nlayers:\n  - Dense: {units: 3, inputs: b}\n", "b}", "unknown input 'b'"),
    (
        "inputs: {a: [4]}\nlayers:\n  - Dense: {units: 3, inputs: c}\n  - Dense: {name: c, units: 3}\n",
        "c}",
        "defined further down",
    ),
    ("inputs: {a: [4], b: [4]}\nlayers:\n  - Dense: {units: 3}\n", "Dense", "must say which input feeds it"),
    (
        "inputs: {a: [4]}\nlayers:\n"
        "  - Dense: {name: d, units: 3, inputs: a}\n  - Dense: {units: 2, inputs: d.1}\n",
        "d.1",
        "d has one output, d; there is no output 1",
    ),
    (
        "inputs: {a: [4]}\nlayers:\n"
        "  - Dense: {name: d, units: 3, inputs: a}\n  - Reuse: {layer: e, inputs: a}\n",
        "e, inputs",
        "Reuse: no layer named 'e'",
    ),
    (
        "inputs: {a: [4]}\nlayers:\n  - Dense: {name: d, units: 3, inputs: a}\noutputs: [x]\n",
        "x]",
        "unknown input 'x'",
    ),
    # the issue's own example: a 5x5 kernel on a 4x4 input
    (
        "input: [4, 4, 3]\nlayers:\n"
        "  - Conv2D: {filters: 2, kernel_size: 1}\n  - Conv2D: {filters: 2, kernel_size: 5}\n",
        "Conv2D: {filters: 2, kernel_size: 5}",
        "conv2d_1 (Conv2D): valid padding needs input >= dilated kernel: "
        "floor((4 + 2*0 - 1*(5-1) - 1) / 1) + 1 = 0",
    ),
    ("input: [4, null]\nlayers:\n  - Dense: {units: 3}\n", "Dense", "must be known"),
    ("name: a/b\ninput: [4]\nlayers:\n  - Dense: {units: 3}\n", "a/b", "model name"),
    (
        "input: [4]\nbatch_size: 0\nlayers:\n  - Dense: {units: 3}\n",
        "0",
        "batch_size must be a positive integer",
    ),
    (
        "input: [4]\nlayers:\n  - Dense: {units: 3, trainable: maybe}\n",
        "maybe",
        "trainable: expected true or false",
    ),
    ("input: [4]\nlayers:\n  - Dense: {units: 3, dtype: float33}\n", "float33", "did you mean 'float32'"),
    ("a: &a [*a]\n", "&a", "refers to itself"),
    ("- 1\n- 2\n", None, "a spec is a mapping"),
]


@pytest.mark.parametrize(("text", "needle", "fragment"), YAML_CASES)
def test_yaml_errors_are_located(tmp_path: Path, text: str, needle: str | None, fragment: str) -> None:
    code, stdout, stderr = run(tmp_path, text)
    assert code == 1
    assert stdout == ""
    assert stderr.startswith(f"SPEC:{position(text, needle)}: error: "), stderr
    assert fragment in stderr
    assert "Traceback" not in stderr


JSON_CASES = [
    (
        '{"input": [4],\n "layers": [{"Dense": {"units": "x"}}]}',
        '"x"',
        "expected a positive integer, got 'x'",
    ),
    ('{"input": [4],\n "layers": [{"Dense": {"units": 3,}}]}', "}}]", "invalid JSON: expected a string key"),
    ('{"input": [4],\n "layers": [{"Dense": {"units": 3}}]', "END", "expected ',' or '}'"),
    ('{"input": [4], "input": [5]}', '"input": [5]', "duplicate key 'input'"),
    ('{"input": [4]} x', "x", "extra data"),
    ('{"input": [4], "layers": [{"Dense": {"units": NaN}}]}', "NaN", "expected a value"),
    ('{"input": "\\q"}', "\\q", "Invalid \\escape"),
    ("", None, "the spec is empty"),
]


@pytest.mark.parametrize(("text", "needle", "fragment"), JSON_CASES)
def test_json_errors_are_located(tmp_path: Path, text: str, needle: str | None, fragment: str) -> None:
    code, _, stderr = run(tmp_path, text, ".json")
    assert code == 1
    assert stderr.startswith(f"SPEC:{position(text, needle)}: error: "), stderr
    assert fragment in stderr


def test_json_with_tabs_and_surrogate_escapes_is_read(tmp_path: Path) -> None:
    text = '{\n\t"name": "m\\ud83d\\ude00",\n\t"input": [4],\t"layers": [{"Dense": {"units": 3}}]}'
    code, stdout, _ = run(tmp_path, text, ".json", "--format", "json")
    assert code == 0
    assert '"name": "m\\ud83d\\ude00"' in stdout


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"", "the spec is empty"),
        (b"   \n# only a comment\n", "the spec is empty"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes, fragment: str) -> None:
    code, _, stderr = run(tmp_path, content)
    assert code == 1
    assert stderr.startswith("SPEC:1:1: error: ")
    assert fragment in stderr


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    code, _, stderr = run(tmp_path, "\n".join(lines) + "\n")
    assert code == 1
    assert "expands to more than" in stderr


@pytest.mark.parametrize("aliased", [False, True])
def test_deep_nesting_is_refused_where_it_passes_the_limit(tmp_path: Path, aliased: bool) -> None:
    # 201 nested lists under 'layers' put the innermost values at depth 203 (the root is 0)
    text = "layers: " + "[" * 201 + "1" + "]" * 201 + "\n" + ("extra: &e [1]\nmore: *e\n" if aliased else "")
    code, _, stderr = run(tmp_path, text)
    assert code == 1
    # the root mapping is at depth 0 and the k-th list at depth k: the 201st '[' is the first
    # value past depth 200
    assert stderr.startswith(f"SPEC:1:{len('layers: ') + 201}: error: the spec nests deeper than 200 levels")


def test_yaml_tags_are_not_executed(tmp_path: Path) -> None:
    code, _, stderr = run(tmp_path, "input: !!python/object/apply:os.system ['echo hi']\nlayers: []\n")
    assert code == 1
    assert "error:" in stderr


def test_missing_file_and_bad_options_are_usage_errors(tmp_path: Path) -> None:
    assert runner.invoke(app, ["summary", str(tmp_path / "nope.yaml")]).exit_code == 2
    path = tmp_path / "ok.yaml"
    path.write_text("input: [4]\nlayers:\n  - Dense: {units: 3}\n")
    assert runner.invoke(app, ["summary", str(path), "--format", "xml"]).exit_code == 2
    assert runner.invoke(app, ["summary"]).exit_code == 2


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("input: [4]\nlayers:\n  - Dense: {units: -1}\n")
    done = subprocess.run(
        [sys.executable, "-m", "shapecalc", "summary", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert done.stderr == f"{path}:3:20: error: dense (Dense): units: expected a positive integer, got -1\n"
