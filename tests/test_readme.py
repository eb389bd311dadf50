"""The README stays true: its layer list is the registry, its quick start commands are real."""

from __future__ import annotations

import re
from pathlib import Path

from shapecalc.layers import registry
from shapecalc.lint.problems import RULES

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_supported_layer_list_is_the_registry() -> None:
    section = README.split("<!-- supported-layers")[1].split("<!-- end supported-layers -->")[0]
    listed = set(re.findall(r"`([A-Z][A-Za-z0-9]+)`", section))
    assert listed == set(registry.all_layer_types())


def test_quick_start_uses_a_shipped_spec() -> None:
    spec = re.search(r"shapecalc summary (specs/\S+\.yaml)", README)
    assert spec is not None
    assert (Path(__file__).parent.parent / spec.group(1)).exists()
    assert "pip install '.[test]' && pytest" in README


def test_lint_rule_table_is_the_rules() -> None:
    rows = re.findall(r"^\| ([EW]\d{3}) \| ([a-z-]+) \|", README, flags=re.MULTILINE)
    assert dict(rows) == {code: name for code, (name, _) in RULES.items()}
