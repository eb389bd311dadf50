"""``shapecalc solve`` as text (a table per group of combinations) and as JSON (a list)."""

from __future__ import annotations

import json
from typing import Any

import rich.box
import rich.console
import rich.markup
import rich.table

from ..solve import DILATIONS, OUTPUT_PADDINGS, STRIDES, WINDOWS, Combination, Solution

# The nearest misses can be a hundred combinations that differ only in the kernel: enough to
# show the pattern.
CLOSEST_ROWS = 10

_COMPACT = json.JSONEncoder(separators=(", ", ": ")).encode  # as json_report: the C encoder


def as_dict(solution: Solution, combination: Combination) -> dict[str, Any]:
    """One combination under Keras's argument names (only those the type has)."""
    data: dict[str, Any] = {"padding": combination.padding, "strides": combination.strides}
    if solution.has_dilation:
        data["dilation_rate"] = combination.dilation_rate
    data[solution.window_name] = combination.window
    if solution.transposed:
        data["output_padding"] = combination.output_padding
    data["output"] = combination.output
    data["formula"] = combination.formula
    return data


def dumps(solution: Solution) -> str:
    """The answers as a JSON list, one object a line (json_report.dumps's layout, for a list)."""
    items = [_COMPACT(as_dict(solution, c)) for c in solution.answers]
    if not items:
        return "[]"
    return "[\n" + ",\n".join(f"  {item}" for item in items) + "\n]"


def _table(solution: Solution, combinations: list[Combination], limit: int | None = None) -> rich.table.Table:
    """The combinations, one a row (all of a group give the same output, said above the table)."""
    columns = ["padding", "strides"]
    if solution.has_dilation:
        columns.append("dilation_rate")
    columns.append(solution.window_name)
    if solution.transposed:
        columns.append("output_padding")
    table = rich.table.Table(box=rich.box.SIMPLE_HEAD)
    # Keras's names on two lines (dilation / rate): narrow columns leave the formula room to
    # stay on one line in an 80-column terminal
    for i, name in enumerate(columns):
        table.add_column(name.replace("_", "\n"), justify="left" if i == 0 else "right")
    table.add_column("formula")
    shown = combinations if limit is None else combinations[:limit]
    for c in shown:
        row = [c.padding, str(c.strides)]
        if solution.has_dilation:
            row.append(str(c.dilation_rate))
        row.append(str(c.window))
        if solution.transposed:
            row.append("None" if c.output_padding is None else str(c.output_padding))
        table.add_row(*row, rich.markup.escape(c.formula))
    if len(shown) < len(combinations):
        table.caption = f"and {len(combinations) - len(shown)} more"
    return table


def searched(solution: Solution) -> str:
    """The search space in words, for a reader wondering what "no combination" covered."""
    window = (
        f"{solution.window_name} {solution.kernel}"
        if solution.kernel is not None
        else f"{solution.window_name} {WINDOWS.start}-{WINDOWS.stop - 1}"
    )
    parts = [
        "padding " + "/".join(solution.paddings),
        f"strides {STRIDES.start}-{STRIDES.stop - 1}",
        *([f"dilation_rate {DILATIONS.start}-{DILATIONS.stop - 1}"] if solution.has_dilation else []),
        window,
        *([f"output_padding None or 0-{OUTPUT_PADDINGS[-1]}"] if solution.transposed else []),
    ]
    return ", ".join(parts)


def _count(n: int) -> str:
    return f"{n} combination{'' if n == 1 else 's'}"


def print_solution(console: rich.console.Console, solution: Solution) -> None:
    """The answers under a one-line header; without any, what was searched and the nearest misses."""
    fixed = "" if solution.kernel is None else f" with {solution.window_name}={solution.kernel}"
    axis = f"a spatial axis of length {solution.length} to {solution.target}{fixed}"
    if solution.answers:
        verb = "takes" if len(solution.answers) == 1 else "take"
        console.print(f"[bold]{solution.type_name}[/]: {_count(len(solution.answers))} {verb} {axis}")
        console.print(_table(solution, solution.answers))
        return
    console.print(
        f"[bold]{solution.type_name}[/]: no combination takes {axis} (searched {searched(solution)})"
    )
    for label, group in (("nearest below", solution.below), ("nearest above", solution.above)):
        if not group:
            console.print(f"{label}: none")
            continue
        console.print(f"{label}: output {group[0].output}, {_count(len(group))}")
        console.print(_table(solution, group, CLOSEST_ROWS))
