"""The README stays true: its layer list is the registry, its quick start commands are real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shapecalc.cli import app
from shapecalc.layers import registry
from shapecalc.lint.problems import RULES

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_supported_layer_list_is_the_registry() -> None:
    section = README.split("<!-- supported-layers")[1].split("<!-- end supported-layers -->")[0]
    listed = set(re.findall(r"`([A-Z][A-Za-z0-9]+|ops\.[a-z_]+)`", section))
    assert listed == set(registry.all_layer_types())


def test_quick_start_uses_a_shipped_spec() -> None:
    spec = re.search(r"shapecalc summary (specs/\S+\.yaml)", README)
    assert spec is not None
    assert (Path(__file__).parent.parent / spec.group(1)).exists()
    assert "pip install '.[test]' && pytest" in README


def test_lint_rule_table_is_the_rules() -> None:
    rows = re.findall(r"^\| ([EW]\d{3}) \| ([a-z-]+) \|", README, flags=re.MULTILINE)
    assert dict(rows) == {code: name for code, (name, _) in RULES.items()}


def _shown_after(command: str) -> list[str]:
    """The lines of the README's output block that follows ``command`` (a ``$`` line or a block
    of its own)."""
    parts = README.split(command, 1)[1].split("```")
    # a command in a block of its own is followed by its output's block; a "$" line by its output
    block = parts[2] if not parts[0].strip() else parts[0]
    return [line.rstrip() for line in block.splitlines() if line.strip() and line.strip() != "..."]


@pytest.mark.parametrize(
    "args",
    [
        ["explain", "-i", "28,28,1", "Conv2D: {filters: 16, kernel_size: 3, strides: 2}"],
        ["solve", "MaxPooling2D", "--input", "28", "--output", "13"],
    ],
)
def test_learning_examples_print_what_the_readme_shows(args: list[str]) -> None:
    """Documentation, not correctness (tests/test_explain.py and test_solve.py check the values
    against Keras): the README's examples are what the commands print."""
    command = "shapecalc " + " ".join(f'"{a}"' if " " in a else a for a in args)
    shown = [line for line in _shown_after(command) if not line.startswith("$")]
    printed = [line.rstrip() for line in CliRunner().invoke(app, args).stdout.splitlines()]
    assert shown and all(line in printed for line in shown), (shown, printed)
