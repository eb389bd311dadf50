"""Variables and substitution: ``vars:``, ``$name`` and ``$(expression)`` in a spec's values,
and ``--set NAME=VALUE``.

A string with ``$`` in it is evaluated: one ``$name`` or ``$(...)`` alone gives its value as it
is (a number, a list, ...); within other text each is written in (``block$i``); ``$$`` is a
``$``. Expressions run on the safe interpreter of custom layers (:mod:`shapecalc.expressions`):
nothing is executed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from .errors import ExpressionError, Location, SpecError
from .layers.args import did_you_mean
from .source import Node

# a name: of a variable, a block, a parameter (the longest word after a $ is the name)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def substitute(node: Node, names: Mapping[str, Any]) -> Node:
    """A copy of ``node`` with every ``$name`` and ``$(expression)`` in its strings evaluated."""
    value = node.value
    if isinstance(value, str):
        return (
            as_node(evaluate_text(value, names, node.loc), node.loc, node.key_loc) if "$" in value else node
        )
    if isinstance(value, dict):
        items = {k: substitute(v, names) for k, v in value.items()}
        if all(items[k] is v for k, v in value.items()):
            return node  # nothing to substitute: no copy (a 10,000-layer spec has 10,000 of these)
        return Node(items, node.loc, node.key_loc)
    if isinstance(value, list):
        elements = [substitute(v, names) for v in value]
        if all(new is old for new, old in zip(elements, value, strict=True)):
            return node
        return Node(elements, node.loc, node.key_loc)
    return node


def as_node(value: Any, loc: Location, key_loc: Location | None = None) -> Node:
    if isinstance(value, Node):
        return Node(value.value, loc, key_loc)
    if isinstance(value, dict):
        return Node({str(k): as_node(v, loc) for k, v in value.items()}, loc, key_loc)
    if isinstance(value, (list, tuple)):
        return Node([as_node(v, loc) for v in value], loc, key_loc)
    return Node(value, loc, key_loc)


def evaluate_text(text: str, names: Mapping[str, Any], loc: Location) -> Any:
    """The value of a string with ``$`` in it: one ``$name`` or ``$(...)`` alone gives its value
    as it is (a number, a list, ...); within other text, each is written in (``block$i``)."""
    parts: list[Any] = []
    pos = 0
    while pos < len(text):
        start = text.find("$", pos)
        if start < 0:
            parts.append(text[pos:])
            break
        parts.append(text[pos:start])
        if text.startswith("$$", start):
            parts.append("$")
            pos = start + 2
            continue
        value, pos = _one_substitution(text, start, names, loc)
        parts.append(_Value(value))
    parts = [p for p in parts if p != ""]
    if len(parts) == 1 and isinstance(parts[0], _Value):
        return parts[0].value
    return "".join(str(p.value) if isinstance(p, _Value) else p for p in parts)


class _Value(NamedTuple):
    value: Any


def _one_substitution(text: str, start: int, names: Mapping[str, Any], loc: Location) -> tuple[Any, int]:
    if text.startswith("$(", start):
        depth, end = 0, start + 1
        while end < len(text):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
            end += 1
        if depth:
            raise SpecError(f"'$(' without its ')' in {text!r}", loc)
        source = text[start + 2 : end]
        return _expression(source, names, loc), end + 1
    found = NAME.match(text, start + 1)
    if found is None:
        raise SpecError(f"'$' stands before a name or a '(': {text!r} (write $$ for a '$' itself)", loc)
    name = found.group()
    if name not in names:
        raise SpecError(f"unknown name ${name}{did_you_mean(name, list(names))}{_known(names)}", loc)
    return names[name], found.end()


def _expression(source: str, names: Mapping[str, Any], loc: Location) -> Any:
    from .expressions import FUNCTIONS, parse  # the interpreter: only specs that compute something

    bound = {k: _frozen(v) for k, v in names.items()}
    try:
        expression = parse(source)
        unknown = sorted(expression.names() - set(bound) - set(FUNCTIONS))
        if unknown:
            hint = did_you_mean(unknown[0], list(names))
            raise SpecError(f"unknown name '{unknown[0]}' in $({source}){hint}{_known(names)}", loc)
        return _thawed(expression.evaluate(bound))
    except ExpressionError as err:
        raise SpecError(f"$({source}): {err.message}", loc) from None


def _known(names: Mapping[str, Any]) -> str:
    return f"; the names here: {', '.join(sorted(names))}" if names else "; no names are defined here"


def _frozen(value: Any) -> Any:
    if isinstance(value, Node):
        value = value.plain()
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _thawed(value: Any) -> Any:
    return [_thawed(v) for v in value] if isinstance(value, tuple) else value


def read_vars(node: Node | None, overrides: Mapping[str, str]) -> dict[str, Any]:
    """The spec's variables, each evaluated with those before it; ``overrides`` (from --set)
    replace values by name and must name variables the spec has."""
    variables: dict[str, Any] = {}
    items = {} if node is None else node.value
    if node is not None and not isinstance(items, dict):
        raise SpecError("'vars' maps names to values, e.g. vars: {width: 64}", node.loc)
    for name in overrides:
        if name not in items:
            raise SetError(
                f"--set {name}: the spec has no variable '{name}'{did_you_mean(name, list(items))}"
            )
    for name, value in items.items():
        if not NAME.fullmatch(name):
            raise SpecError(
                f"a variable name is a word such as width, got '{name}'", value.key_loc or value.loc
            )
        if name in overrides:
            variables[name] = _override(name, overrides[name])
        else:
            variables[name] = substitute(value, variables).plain()
    return variables


class SetError(ValueError):
    """A --set that names no variable or gives no value: a usage error."""


def _override(name: str, text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise SetError(f"--set {name}={text}: not a value") from None
