"""``shapecalc layers``: the supported layer types, and one type's arguments and defaults."""

from __future__ import annotations

import inspect
from typing import Any

import rich.console
import rich.markup
import rich.table

from ..layers import registry
from ..layers.base import Arg, Layer


def family(cls: type[Layer]) -> str:
    return cls.__module__.rsplit(".", 1)[-1].replace("_", " ")


def summary_line(cls: type[Layer]) -> str:
    doc = plain_doc(cls)
    return doc.splitlines()[0] if doc else ""


def plain_doc(cls: type[Layer]) -> str:
    """The class's docstring as plain text: dedented, without reStructuredText's ``code`` marks."""
    return inspect.cleandoc(cls.__doc__ or "").replace("``", "")


def json_default(arg: Arg) -> dict[str, Any]:
    """An argument for JSON: required, or its default as a JSON value (a tuple as a list)."""
    entry: dict[str, Any] = {"required": True} if arg.required else {"default": _json_value(arg.default)}
    if arg.doc:
        entry["doc"] = arg.doc
    return entry


def _json_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def show_default(arg: Arg) -> str:
    if arg.required:
        return "required"
    value: Any = arg.default
    if isinstance(value, tuple):
        value = list(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def catalog_data() -> dict[str, Any]:
    return {
        name: {
            "family": family(cls),
            "doc": summary_line(cls),
            "arguments": {arg.name: json_default(arg) for arg in cls.all_arguments()},
        }
        for name, cls in registry.all_layer_types().items()
    }


def print_catalog(console: rich.console.Console) -> None:
    table = rich.table.Table("Family", "Layer types", box=rich.box.SIMPLE_HEAD, show_lines=False)
    by_family: dict[str, list[str]] = {}
    for name, cls in registry.all_layer_types().items():
        by_family.setdefault(family(cls), []).append(name)
    for fam in sorted(by_family):
        table.add_row(fam, ", ".join(by_family[fam]))
    console.print(table)
    console.print(
        f"{len(registry.all_layer_types())} layer types. `shapecalc layers NAME` shows one's arguments."
    )


def print_layer(console: rich.console.Console, cls: type[Layer]) -> None:
    console.print(f"[bold]{cls.type_name()}[/] ({family(cls)})")
    doc = plain_doc(cls)
    if doc:
        console.print(doc, markup=False)
    table = rich.table.Table("Argument", "Default", "Notes", box=rich.box.SIMPLE_HEAD)
    own = {arg.name for arg in cls.arguments}
    for arg in cls.all_arguments():
        note = arg.doc or ("" if arg.name in own else "common to every layer")
        table.add_row(arg.name, rich.markup.escape(show_default(arg)), rich.markup.escape(note))
    console.print(table)
