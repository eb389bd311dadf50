"""The library entry points: a spec (file, text or plain data) in, an Analysis out.

Data flows one way: source -> spec -> graph -> analysis; renderers read the Analysis.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from . import source
from .analysis import Analysis, analyze
from .errors import SpecError
from .graph import build_graph
from .spec import ModelSpec, read_spec


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause Python's cycle collector: reading a big spec makes hundreds of thousands of small
    objects, none in cycles, and the collector's repeated passes over them cost more than the
    reading itself (4x on a 10,000-layer spec)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_file(path: str | Path, overrides: Mapping[str, str] | None = None) -> ModelSpec:
    """The spec in a file, read and checked at its top level (layers are not built yet);
    ``overrides`` replace the values of its ``vars`` by name (``--set``)."""
    with _no_cyclic_gc():
        return read_spec(source.load(path), overrides)


def analyze_spec(spec: ModelSpec, problems: list[SpecError] | None = None) -> Analysis:
    """Build and analyse a spec; with ``problems``, every problem is recorded there (see
    :func:`build_graph`, :func:`analyze`) rather than the first raised."""
    with _no_cyclic_gc():
        return analyze(build_graph(spec, problems), problems=problems)


def analyze_node(root: source.Node) -> Analysis:
    return analyze_spec(read_spec(root))


def analyze_file(path: str | Path) -> Analysis:
    return analyze_spec(read_file(path))


def analyze_text(text: str, name: str = "<spec>", json_format: bool = False) -> Analysis:
    with _no_cyclic_gc():
        return analyze_node(source.parse(text, name, json_format))


def analyze_data(data: dict[str, Any], name: str = "<spec>") -> Analysis:
    """Analyze a spec given as plain Python data (it is written out as YAML, so errors are located)."""
    return analyze_text(yaml.safe_dump(data, sort_keys=False), name)
