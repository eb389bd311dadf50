"""Where a fragment of a spec's text is, as shapecalc reports locations (1-based line, column)."""

from __future__ import annotations

import re


def where(text: str, fragment: str, occurrence: int = 0) -> tuple[int, int]:
    """1-based line and column of the ``occurrence``-th ``fragment`` in ``text``."""
    index = [m.start() for m in re.finditer(re.escape(fragment), text)][occurrence]
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1
