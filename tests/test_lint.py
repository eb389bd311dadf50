"""``shapecalc lint``: every problem of every spec, located, in four formats; warnings; budgets.

Expected positions are found in each spec's text beside the case (``where``), never copied
from shapecalc's output.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml
from located import where
from typer.testing import CliRunner

from shapecalc.cli import app
from shapecalc.lint.runner import lint_paths

SPECS = Path(__file__).parent.parent / "specs"
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"  # OASIS's, unchanged
runner = CliRunner()

SHAPE_ERROR = """\
input: [4, 4, 2]
layers:
  - Conv2D: {filters: 2, kernel_size: 3}
  - Conv2D: {filters: 2, kernel_size: 5}
  - Flatten: {}
"""

# three independent problems; the layers after each failing one depend on it and are skipped
SEVERAL = """\
inputs:
  image: [8, 8, 3]
  tokens: {shape: [12], dtype: int32}
layers:
  - Conv2D: {name: c1, filters: 4, kernel_size: 9, inputs: image}
  - Flatten: {name: flat}
  - Embedding: {name: emb, input_dim: 100, output_dim: 8, inputs: tokens}
  - LSTM: {name: lstm, units: 4, return_sequence: true}
  - Dense: {name: head, units: 2, inputs: lstm}
  - Dense: {name: side, units: 2, inputs: emb}
  - Dense: {name: other, units: 3, inputs: nowhere}
outputs: [flat, head, side]
"""

OVER_BUDGET = """\
input: [32]
layers:
  - Dense: {units: 64}
  - Dense: {units: 10}
expect:
  output_shape: [null, 10]
  max_params: 1K
"""

NOT_A_SPEC = "name: build\non: [push]\njobs: {}\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    good = tmp_path / "specs" / "good"
    good.mkdir(parents=True)
    for spec in SPECS.glob("*.yaml"):
        shutil.copy(spec, good / spec.name)
    bad = tmp_path / "specs" / "bad"
    bad.mkdir()
    (bad / "shape.yaml").write_text(SHAPE_ERROR)
    (bad / "several.yaml").write_text(SEVERAL)
    (bad / "budget.yaml").write_text(OVER_BUDGET)
    (tmp_path / "specs" / "workflow.yml").write_text(NOT_A_SPEC)
    return tmp_path / "specs"


def expected_annotations(root: Path) -> list[tuple[str, str, int, int, str]]:
    """(severity, file, line, column, code) of every problem of the tree, derived from the texts."""
    bad = root / "bad"
    rows = [("error", "shape.yaml", *where(SHAPE_ERROR, "Conv2D: {filters: 2, kernel_size: 5}"), "E006")]
    # c1's kernel 9 > 8 (E006), LSTM's misspelt return_sequences (E004, at the argument's name),
    # 'nowhere' names nothing (E005, at the reference); flat and head depend on failures: skipped
    rows.append(("error", "several.yaml", *where(SEVERAL, "Conv2D: {name: c1"), "E006"))
    rows.append(("error", "several.yaml", *where(SEVERAL, "return_sequence"), "E004"))
    rows.append(("error", "several.yaml", *where(SEVERAL, "nowhere"), "E005"))
    # 32*64 + 64 + 64*10 + 10 = 2,826 parameters > 1K
    rows.append(("error", "budget.yaml", *where(OVER_BUDGET, "1K"), "E008"))
    return sorted((sev, str(bad / name), line, col, code) for sev, name, line, col, code in rows)


# the form the interface promises: ::error file=F,line=L,col=C::MESSAGE (the code ends it)
GITHUB = re.compile(r"^::(error|warning) file=([^,]+),line=(\d+),col=(\d+)::.+ \[(\w\d+)\]$")


def test_github_annotations_one_per_problem(tree: Path) -> None:
    result = runner.invoke(app, ["lint", str(tree), "--format", "github"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    parsed = [GITHUB.match(line) for line in lines]
    assert all(parsed), lines
    got = sorted((m[1], m[2], int(m[3]), int(m[4]), m[5]) for m in parsed if m)
    assert got == expected_annotations(tree)
    assert not any("/good/" in line for line in lines)


def test_text_and_json_formats(tree: Path) -> None:
    result = runner.invoke(app, ["lint", str(tree)])
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert re.match(r"^\S+:\d+:\d+: error: .+ \[E\d{3}\]$", first)
    assert "spec(s) checked: 5 error(s), 0 warning(s)" in result.stderr  # 10 good + 3 bad, workflow skipped
    data = json.loads(runner.invoke(app, ["lint", str(tree), "--format", "json"]).stdout)
    assert sorted((p["severity"], p["file"], p["line"], p["column"], p["code"]) for p in data) == (
        expected_annotations(tree)
    )
    assert set(data[0]) == {"file", "line", "column", "severity", "code", "message", "layer"}
    several = [p for p in data if p["file"].endswith("several.yaml")]
    assert {p["layer"] for p in several} == {"c1", "lstm", None}


def test_sarif_validates_against_the_published_schema(tree: Path) -> None:
    result = runner.invoke(app, ["lint", str(tree), "--format", "sarif"])
    log = json.loads(result.stdout)
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validate(log, schema, cls=jsonschema.Draft4Validator)
    results = log["runs"][0]["results"]
    assert len(results) == len(expected_annotations(tree))
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)


def test_clean_tree_exits_zero_and_skips_non_specs(tree: Path) -> None:
    shutil.rmtree(tree / "bad")
    result = runner.invoke(app, ["lint", str(tree), "--verbose"])
    assert result.exit_code == 0, result.stdout
    assert result.stdout == ""
    assert "workflow.yml: skipped, not a spec" in result.stderr
    # named explicitly too, as a pre-commit hook passes every changed YAML file
    named = runner.invoke(app, ["lint", str(tree / "workflow.yml"), "--strict"])
    assert named.exit_code == 0, named.stderr


def test_stdin_and_usage_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["lint", "-", "--format", "json"], input=SHAPE_ERROR)
    problems = json.loads(result.stdout)
    assert result.exit_code == 1 and [(p["file"], p["code"]) for p in problems] == [("<stdin>", "E006")]
    # what comes on stdin is meant as a spec, so it is checked rather than skipped
    result = runner.invoke(app, ["lint", "-", "--format", "json"], input=NOT_A_SPEC)
    (problem,) = json.loads(result.stdout)
    assert result.exit_code == 1 and problem["code"] == "E001"  # on: is YAML 1.1's true
    assert problem["message"].endswith("(YAML reads yes, no, on, off as true or false: quote the key)")
    assert runner.invoke(app, ["lint", str(tmp_path / "missing")]).exit_code == 2
    assert runner.invoke(app, ["lint", str(tmp_path), "--ignore", "W999"]).exit_code == 2
    assert runner.invoke(app, ["lint", str(tmp_path), "--ignore", "E006"]).exit_code == 2


# ----------------------------------------------------------------------------- warnings
WARNINGS = """\
inputs:
  x: [16, 16, 3]
  spare: [4]
  a: [10]
  b: [null]
layers:
  - Conv2D: {name: c, filters: 4, kernel_size: 3, inputs: x}
  - BatchNormalization: {name: bn}
  - Dense: {name: d, units: 8, activation: relu}
  - ReLU: {name: r}
  - Dropout: {name: drop, rate: 0}
  - Dense: {name: dead, units: 3, inputs: bn}
  - Add: {name: sum, inputs: [a, b]}
outputs: [drop, sum]
"""


def lint_text(tmp_path: Path, text: str, *options: str) -> list[dict]:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["lint", str(path), "--format", "json", *options])
    return json.loads(result.stdout)


def test_every_warning_rule(tmp_path: Path) -> None:
    got = {(p["code"], p["line"], p["column"]) for p in lint_text(tmp_path, WARNINGS)}
    assert got == {
        ("W102", *where(WARNINGS, "[4]")),  # spare: no layer reads it
        ("W105", *where(WARNINGS, "Conv2D")),  # c's bias, then BatchNormalization on its channels
        ("W104", *where(WARNINGS, "ReLU")),  # relu after d's relu
        ("W103", *where(WARNINGS, "Dropout")),
        ("W101", *where(WARNINGS, "Dense: {name: dead")),  # nothing reads dead
        ("W106", *where(WARNINGS, "Add")),  # (None, 10) + (None, None) fits only while b's size is unknown
    }


def test_warnings_can_be_ignored_and_made_strict(tmp_path: Path) -> None:
    assert {p["code"] for p in lint_text(tmp_path, WARNINGS, "--ignore", "W101,W102,W103")} == {
        "W104",
        "W105",
        "W106",
    }
    ignored = WARNINGS + "lint: {ignore: [W104, W105, W106]}\n"
    assert {p["code"] for p in lint_text(tmp_path, ignored)} == {"W101", "W102", "W103"}
    path = tmp_path / "spec.yaml"
    path.write_text(WARNINGS)
    assert runner.invoke(app, ["lint", str(path)]).exit_code == 0
    assert runner.invoke(app, ["lint", str(path), "--strict"]).exit_code == 1
    bad = WARNINGS + "lint: {ignore: [E006, W777]}\n"
    assert [(p["code"], p["line"]) for p in lint_text(tmp_path, bad)] == [
        ("E002", where(bad, "E006")[0]),
        ("E002", where(bad, "W777")[0]),
    ]


# The workers are forked from this test process, where the oracle has started JAX's threads;
# they only parse and analyse specs, never touching JAX, so its warning does not apply.
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
def test_many_files_in_several_processes_give_the_same_report(tmp_path: Path) -> None:
    for i in range(60):
        (tmp_path / f"s{i:02}.yaml").write_text(
            SHAPE_ERROR if i % 7 == 0 else OVER_BUDGET.replace("1K", "1M")
        )
    serial = lint_paths([str(tmp_path)], jobs=1).problems
    parallel = lint_paths([str(tmp_path)], jobs=2).problems
    assert serial == parallel and len(serial) == 9  # files 0, 7, ..., 56


# ----------------------------------------------------------------------------- expectations
PINNED = """\
input: [28, 28, 1]
layers:
  - Conv2D: {filters: 16, kernel_size: 3, padding: same}
  - Flatten: {}
  - Dense: {units: 10}
expect:
  output_shape: [null, 10]
  total_params: 125610
  trainable_params: 125610
  max_macs: 3M
  max_activation_bytes: 100K
  layers:
    conv2d: {output_shape: [null, 28, 28, 16], params: 160, macs: 112896}
"""


def test_expectations_pin_an_architecture(tmp_path: Path) -> None:
    # conv2d: 3*3*1*16 + 16 = 160; dense: 28*28*16*10 + 10 = 125,450; 160 + 125,450 = 125,610
    # MACs: 28*28*9*16 = 112,896 and 12,544*10 = 125,440: 238,336 <= 3M
    # activations: (12,544 + 12,544 + 10) floats of 4 bytes = 100,392 bytes > 100K (102,400)? no: fits
    path = tmp_path / "pinned.yaml"
    path.write_text(PINNED)
    assert runner.invoke(app, ["summary", str(path)]).exit_code == 0
    assert lint_text(tmp_path, PINNED) == []
    broken = PINNED.replace("total_params: 125610", "total_params: 125611").replace("macs: 112896", "macs: 1")
    broken = broken.replace("max_activation_bytes: 100K", "max_activation_bytes: 90K")
    got = [(p["code"], p["line"], p["column"], p["message"]) for p in lint_text(tmp_path, broken)]
    macs_line, macs_col = where(broken, "macs: 1")
    assert got == [
        ("E007", *where(broken, "125611"), "expected total_params 125,611, the model has 125,610"),
        ("E008", *where(broken, "90K"), "max_activation_bytes is 90K (92,160), the model has 100,392 "
         "bytes of activations for one example"),
        ("E007", macs_line, macs_col + len("macs: "), "expected conv2d's macs 1, the model has 112,896"),
    ]  # fmt: skip


def test_summary_refuses_a_broken_expectation_with_json_on_stdout(tmp_path: Path) -> None:
    broken = PINNED.replace("[null, 10]\n  total", "[null, 11]\n  total")
    path = tmp_path / "pinned.yaml"
    path.write_text(broken)
    result = runner.invoke(app, ["summary", str(path), "--format", "json"])
    assert result.exit_code == 1
    (problem,) = json.loads(result.stdout)["problems"]
    line, col = where(broken, "[null, 11]")
    assert (problem["line"], problem["column"], problem["code"]) == (line, col, "E007")
    assert problem["message"] == "expected output_shape (None, 11), the model has (None, 10)"
    assert f"pinned.yaml:{line}:{col}: error: expected output_shape" in result.stderr


def test_summary_json_prints_a_spec_error_as_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SHAPE_ERROR)
    result = runner.invoke(app, ["summary", str(path), "--format", "json"])
    assert result.exit_code == 1
    (problem,) = json.loads(result.stdout)["problems"]
    assert (problem["line"], problem["column"], problem["code"], problem["severity"]) == (
        *where(SHAPE_ERROR, "Conv2D: {filters: 2, kernel_size: 5}"),
        "E006",
        "error",
    )


def test_the_repositorys_specs_keep_their_expectations() -> None:
    # vgg16.yaml pins Keras's counts (138,357,544 parameters, fc1's 7*7*512*4096 + 4096) and
    # its 15,470,264,320 MACs (tests/test_costs_models.py derives them)
    assert "expect" in yaml.safe_load((SPECS / "vgg16.yaml").read_text())
    result = runner.invoke(app, ["lint", str(SPECS), "--strict"])
    assert result.exit_code == 0, result.stdout
    broken = (SPECS / "vgg16.yaml").read_text().replace("total_params: 138357544", "total_params: 138357545")
    result = runner.invoke(app, ["lint", "-", "--format", "json"], input=broken)
    assert [(p["code"], p["message"]) for p in json.loads(result.stdout)] == [
        ("E007", "expected total_params 138,357,545, the model has 138,357,544")
    ]
