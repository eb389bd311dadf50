"""A problem found in a spec: where, how bad, which rule, what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ERROR_CODES, SpecError
from ..layers.args import describe
from ..source import Node

# The warnings `lint` reports (errors are the refusals of ERROR_CODES): code -> (name, what).
WARNING_CODES = {
    "W101": ("unused-layer", "a layer whose output no layer uses and that is no model output"),
    "W102": ("unused-input", "a model input that no layer uses"),
    "W103": ("dropout-zero", "a dropout layer with rate 0, which drops nothing"),
    "W104": ("activation-twice", "an activation layer on an output that already went through one"),
    "W105": ("bias-before-batchnorm", "a bias that the BatchNormalization right after it cancels"),
    "W106": ("unknown-size-fit", "a shape that fits only because an input size is unknown"),
}
RULES = {**ERROR_CODES, **WARNING_CODES}


@dataclass(frozen=True)
class Problem:
    """One problem of one spec file; ``line`` and ``column`` are 1-based (None: the whole file)."""

    file: str
    line: int | None
    column: int | None
    code: str
    message: str
    layer: str | None = None

    @property
    def severity(self) -> str:
        return "error" if self.code.startswith("E") else "warning"

    @classmethod
    def of(cls, err: SpecError, file: str) -> Problem:
        """The error as a problem of ``file`` (of the file its location names, if it has one)."""
        where = err.location
        if where is None:
            return cls(file, None, None, err.code, err.message, err.layer)
        return cls(where.file, where.line, where.col, err.code, err.message, err.layer)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "layer": self.layer,
        }


def ignored_in(node: Node | None, problems: list[SpecError]) -> frozenset[str]:
    """The warning codes a spec's ``lint: {ignore: [...]}`` turns off; a setting that is not
    one is recorded in ``problems`` (summary refuses it as lint does)."""
    if node is None:
        return frozenset()
    settings = node.value if isinstance(node.value, dict) else {}
    if not isinstance(node.value, dict) or set(settings) - {"ignore"}:
        problems.append(SpecError("lint takes {ignore: [codes]}, e.g. {ignore: [W103]}", node.loc))
        return frozenset()
    items = settings["ignore"].value if "ignore" in settings else []
    codes: set[str] = set()
    for item in items if isinstance(items, list) else [settings["ignore"]]:
        if not isinstance(item.value, str):
            problems.append(
                SpecError(f"lint: a code to ignore is a string, got {describe(item.value)}", item.loc)
            )
        elif item.value in WARNING_CODES:
            codes.add(item.value)
        elif item.value in ERROR_CODES:
            problems.append(SpecError(f"{item.value} is an error; only warnings can be ignored", item.loc))
        else:
            known = ", ".join(WARNING_CODES)
            problems.append(
                SpecError(f"lint: no warning {describe(item.value)}; the warnings: {known}", item.loc)
            )
    return frozenset(codes)
