"""Turn a layer written in the spec's one-key form into a layer object, named as Keras names it."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ArgError
from . import registry
from .args import describe, did_you_mean
from .base import Layer

AutoName = Callable[[str], str]


@functools.lru_cache(maxsize=1024)
def to_snake_case(name: str) -> str:
    """keras.src.utils.naming.to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


class Namer:
    """Keras's auto-naming: ``conv2d``, ``conv2d_1``, ... per snake_case prefix, in creation order."""

    def __init__(self) -> None:
        self._counts: defaultdict[str, int] = defaultdict(int)

    def __call__(self, type_name: str) -> str:
        name = self.peek(type_name)
        self._counts[to_snake_case(type_name)] += 1
        return name

    def peek(self, type_name: str) -> str:
        """The name the next layer of this type would get, without taking it."""
        prefix = to_snake_case(type_name)
        count = self._counts[prefix]
        return prefix if count == 0 else f"{prefix}_{count}"


def split_one_key(entry: Any, where: str = "a layer") -> tuple[str, dict[str, Any]]:
    """``{Conv2D: {filters: 8}}`` -> ("Conv2D", {"filters": 8}); ``{Flatten: null}`` -> ("Flatten", {})."""
    if not isinstance(entry, dict) or len(entry) != 1:
        raise ArgError(
            f"{where} is written as a one-key mapping such as {{Dense: {{units: 8}}}}, got {describe(entry)}"
        )
    ((type_name, raw),) = entry.items()
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ArgError(
            f"the arguments of {type_name} must be a mapping, got {describe(raw)}", argument=type_name
        )
    return str(type_name), raw


def create_layer(
    type_name: str,
    raw: dict[str, Any],
    auto_name: AutoName,
    custom_types: Mapping[str, type[Layer]] | None = None,
) -> Layer:
    """Parse and construct one layer; nested layers (wrappers) are constructed first, as in Python.

    ``custom_types`` are the spec's own layer types. An :class:`ArgError` carries the path of
    keys to the offending value in ``argument`` (dotted for nested layers).
    """
    cls = (custom_types or {}).get(type_name) or registry.lookup(type_name)
    if cls is None:
        known = [*registry.all_layer_types(), *(custom_types or {})]
        raise ArgError(f"unknown layer type '{type_name}'{did_you_mean(type_name, known)}", argument=None)
    values = dict(raw)
    for arg in cls.nested_arguments():
        if values.get(arg.name) is not None:
            entry = values[arg.name]
            if isinstance(entry, list):  # several layers, e.g. RNN(cell=[LSTMCell, LSTMCell])
                nested = [_create_nested(arg.name, item, auto_name, custom_types) for item in entry]
                wrap = getattr(cls, "wrap_nested_list", None)
                values[arg.name] = wrap(arg.name, nested, auto_name) if wrap else nested
            else:
                values[arg.name] = _create_nested(arg.name, entry, auto_name, custom_types)
    parsed = cls.parse_arguments(values)
    name_given = parsed.get("name") is not None
    if not name_given:
        parsed["name"] = auto_name(cls.type_name())  # Keras names by class, also under an alias
    try:
        layer = cls(**parsed)
    except ArgError as err:
        err.layer_name = parsed["name"]
        raise
    for inner_type in layer.auto_named_sublayers(name_given):
        auto_name(inner_type)
    return layer


def _create_nested(
    argument: str, entry: Any, auto_name: AutoName, custom_types: Mapping[str, type[Layer]] | None
) -> Layer:
    try:
        inner_type, inner_raw = split_one_key(entry, f"argument '{argument}'")
    except ArgError as err:
        raise ArgError(err.message, argument=argument) from None
    try:
        return create_layer(inner_type, inner_raw, auto_name, custom_types)
    except ArgError as err:
        suffix = f".{err.argument}" if err.argument else ""
        raise ArgError(err.message, argument=f"{argument}.{inner_type}{suffix}", at_key=err.at_key) from None
