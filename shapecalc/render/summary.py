"""The summary as Keras 3's ``model.summary()`` prints it (keras/src/utils/summary_utils.py).

The table is built with rich exactly as Keras builds it (column widths from the terminal
width, heavy-head box, a line between rows), so the same terminal gives the same text.
On a terminal it is coloured as Keras colours it; piped, rich drops the colour codes.
"""

from __future__ import annotations

import shutil
from typing import IO

import rich.console
import rich.markup

from ..analysis import Analysis
from ..errors import DisplayError
from ..layers.base import Layer, Shape
from . import table


def _number(x: object) -> str:
    return f"[color(45)]{x}[/]" if x is None else f"[color(34)]{x}[/]"


def _bold(text: str) -> str:
    return f"[bold]{text}[/]"


def readable_size(nbytes: float) -> str:
    """1024-based units with two decimals, as Keras prints memory sizes."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if nbytes / 1024 < 1:
            return f"{nbytes:.2f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.2f} PB"


def format_shape(shape: Shape) -> str:
    # Keras joins the dims without a trailing comma: (None,) prints as "(None)".
    return "(" + ", ".join(_number(d) for d in shape) + ")"


def format_outputs(shapes: list[Shape], multi: bool) -> str:
    if not multi:
        return format_shape(shapes[0])
    if len(shapes) == 1:
        return format_shape(shapes[0])
    return "[" + ", ".join(format_shape(s) for s in shapes) + "]"


def is_sequential_like(analysis: Analysis) -> bool:
    """Keras drops the "Connected to" column for a plain chain: one call per depth, each
    with one input tensor, and no layer called twice in the model."""
    graph = analysis.graph
    if graph.sequential:
        return True
    calls = analysis.model_calls
    per_depth: dict[int, int] = {}
    for call in calls:
        depth = analysis.call_depth[call]
        per_depth[depth] = per_depth.get(depth, 0) + 1
        if len(analysis.input_shapes(call)) > 1:
            return False
    if any(n > 1 for n in per_depth.values()):
        return False
    return len({c.layer for c in calls}) == len(calls)


def _connections(analysis: Analysis, layer: Layer) -> str:
    parts = []
    for call in analysis.calls_of(layer):
        if call not in analysis.call_depth:
            continue
        for ref in call.inputs:
            source = analysis.shapes[ref.call]
            indices = range(len(source.outputs)) if ref.index is None else [ref.index]
            for k in indices:
                name = rich.markup.escape(ref.call.layer.name)
                parts.append(f"{name}[{_number(ref.call.node_index)}][{_number(k)}]")
    return ", ".join(parts) or "-"


def _row(analysis: Analysis, layer: Layer, with_connections: bool) -> list[str]:
    name = f"{rich.markup.escape(layer.name)} ([color(33)]{rich.markup.escape(layer.type_name())}[/])"
    # Keras shows the shape of the layer's last call.
    last = analysis.shapes[analysis.calls_of(layer)[-1]]
    trainable, non_trainable = analysis.params_of(layer)
    fields = [name, format_outputs(last.outputs, last.multi), _number(f"{trainable + non_trainable:,}")]
    if with_connections:
        fields.append(_connections(analysis, layer))
    return fields


def _columns(analysis: Analysis, line_length: int | None) -> tuple[list[str], list[str], list[int], int]:
    """Keras's header, alignment, requested column widths and table width."""
    if is_sequential_like(analysis):
        default_length, positions = 88, [0.45, 0.80, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
        alignment = ["left", "left", "right"]
    else:
        default_length, positions = 108, [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        alignment = ["left", "left", "right", "left"]
    columns = shutil.get_terminal_size().columns
    line_length = line_length or min(default_length, columns - 4)
    widths = _widths(positions, line_length)
    if min(widths) < 4:
        # Keras refuses too: "Insufficient console width to print summary."
        least = next(n for n in range(line_length, default_length + 1) if min(_widths(positions, n)) >= 4)
        raise DisplayError(
            f"the terminal is {columns} columns wide; the summary table needs at least {least + 4} "
            "(Keras refuses too: 'Insufficient console width to print summary'). Widen it, set "
            "COLUMNS, or use --format json"
        )
    return header, alignment, widths, line_length


def _widths(positions: list[float], line_length: int) -> list[int]:
    """Keras's column widths: each position is the column's right edge as a fraction of the line."""
    widths, current = [], 0
    for position in positions:
        widths.append(int(position * line_length) - current)
        current += widths[-1]
    return widths


def print_summary(analysis: Analysis, file: IO[str] | None = None, line_length: int | None = None) -> None:
    console = rich.console.Console(highlight=False, file=file)
    header, alignment, widths, total = _columns(analysis, line_length)
    with_connections = len(header) == 4
    rows = [_row(analysis, layer, with_connections) for layer in analysis.layers]
    layout = table.measure(console, header, alignment, widths, total)
    color = console.is_terminal and console.color_system is not None
    console.print(_bold(f'Model: "{rich.markup.escape(analysis.graph.name)}"'))
    console.file.write(table.render(console, layout, header, rows, color))
    weights = analysis.weights
    trainable = [w for w in weights if w.trainable]
    frozen = [w for w in weights if not w.trainable]
    for label, group in (("Total", weights), ("Trainable", trainable), ("Non-trainable", frozen)):
        count = sum(w.size for w in group)
        size = readable_size(sum(w.nbytes for w in group))
        console.print(_bold(f" {label} params: ") + _number(f"{count:,}") + f" ({size})")
