"""How lint reports its problems: text, GitHub annotations, JSON, SARIF 2.1.0."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import __version__
from .problems import RULES, Problem


def text(problems: list[Problem]) -> str:
    """``FILE:LINE:COL: error: MESSAGE [CODE]``, one line each."""
    return "".join(f"{_where(p)}: {p.severity}: {p.message} [{p.code}]\n" for p in problems)


def _where(problem: Problem) -> str:
    if problem.line is None:
        return problem.file
    return f"{problem.file}:{problem.line}:{problem.column}"


def github(problems: list[Problem]) -> str:
    """GitHub Actions workflow commands: one ``::error file=F,line=L,col=C::MESSAGE [CODE]``
    (or ``::warning``) annotation each. No ``title``: scripts match the plain form, and the
    message names the rule as the text format does."""
    lines = []
    for p in problems:
        fields = [f"file={_property(p.file)}"]
        if p.line is not None:
            fields += [f"line={p.line}", f"col={p.column}"]
        lines.append(f"::{p.severity} {','.join(fields)}::{_data(p.message)} [{p.code}]\n")
    return "".join(lines)


def _data(value: str) -> str:
    """A workflow command's message: %, carriage returns and newlines escaped."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(value: str) -> str:
    """A workflow command's property value: the message escapes, and : and , too."""
    return _data(value).replace(":", "%3A").replace(",", "%2C")


def as_json(problems: list[Problem]) -> str:
    return json.dumps([p.as_dict() for p in problems], indent=2) + "\n"


def sarif(problems: list[Problem]) -> str:
    """A SARIF 2.1.0 log with one run: every rule, and a result per problem."""
    codes = sorted(RULES)
    rules = [
        {
            "id": code,
            "name": _camel(RULES[code][0]),
            "shortDescription": {"text": RULES[code][1]},
            "defaultConfiguration": {"level": "error" if code.startswith("E") else "warning"},
        }
        for code in codes
    ]
    results = [_result(p, codes.index(p.code)) for p in problems]
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "shapecalc", "version": __version__, "rules": rules}},
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def _result(problem: Problem, rule_index: int) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": _uri(problem.file)}}
    if problem.line is not None:
        location["region"] = {"startLine": problem.line, "startColumn": problem.column}
    result: dict[str, Any] = {
        "ruleId": problem.code,
        "ruleIndex": rule_index,
        "level": problem.severity,
        "message": {"text": problem.message},
        "locations": [{"physicalLocation": location}],
    }
    if problem.layer:
        result["properties"] = {"layer": problem.layer}
    return result


def _uri(file: str) -> str:
    """A path as a URI reference (relative ones with forward slashes), as code-scanning tools
    expect them."""
    path = Path(file)
    return path.as_uri() if path.is_absolute() else quote(path.as_posix(), safe="/")


def _camel(name: str) -> str:
    first, *rest = name.split("-")
    return first + "".join(part.capitalize() for part in rest)
