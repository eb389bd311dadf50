"""The library entry points: a spec (file, text or plain data) in, an Analysis out.

Data flows one way: source -> spec -> graph -> infer; renderers read the Analysis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from . import source
from .graph import build_graph
from .infer import Analysis, analyze
from .spec import read_spec


def analyze_node(root: source.Node) -> Analysis:
    return analyze(build_graph(read_spec(root)))


def analyze_file(path: str | Path) -> Analysis:
    return analyze_node(source.load(path))


def analyze_text(text: str, name: str = "<spec>", json_format: bool = False) -> Analysis:
    return analyze_node(source.parse(text, name, json_format))


def analyze_data(data: dict[str, Any], name: str = "<spec>") -> Analysis:
    """Analyze a spec given as plain Python data (it is written out as YAML, so errors are located)."""
    return analyze_text(yaml.safe_dump(data, sort_keys=False), name)
