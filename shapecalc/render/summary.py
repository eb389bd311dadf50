"""The summary as Keras 3's ``model.summary()`` prints it (keras/src/utils/summary_utils.py).

The table is built with rich exactly as Keras builds it (column widths from the terminal
width, heavy-head box, a line between rows), so the same terminal gives the same text.
On a terminal it is coloured as Keras colours it; piped, rich drops the colour codes.

A spec written with blocks may show each block instance as one row, as Keras shows a nested
model (which rows: :mod:`shapecalc.render.nesting`); the library's default is every layer.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import IO

import rich.console
import rich.markup

from ..analysis import Analysis
from ..costs import Costs
from ..errors import DisplayError
from ..layers.base import Layer, Shape
from ..units import SI, binary_size
from . import nesting as nested
from . import table
from .nesting import Grouped, Instance, Nesting, Row


def _number(x: object) -> str:
    return f"[color(45)]{x}[/]" if x is None else f"[color(34)]{x}[/]"


def _bold(text: str) -> str:
    return f"[bold]{text}[/]"


def readable_size(nbytes: float) -> str:
    """1024-based units with two decimals, as Keras prints memory sizes."""
    return binary_size(nbytes, ("B", "KB", "MB", "GB", "TB", "PB"), 2)


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


# ----------------------------------------------------------------------------- columns
Item = Layer | Instance  # what a row shows


@dataclass(frozen=True)
class Column:
    """A column of the table: its title, alignment, and how a row's cell reads (a layer's, or
    a block instance's: sums where figures add up, its outputs' shapes and fields)."""

    title: str
    justify: str
    cell: Callable[[_Context, Item], str]


@dataclass(frozen=True)
class _Context:
    analysis: Analysis
    costs: Costs | None
    grouped: Grouped  # which tensors are shown as an instance's (a row folds their layers)
    compact: bool = False  # counts as 1.85G rather than 1,849,688,064, for a narrow terminal


def _output_shape(ctx: _Context, item: Item) -> str:
    if isinstance(item, Instance):
        return format_outputs(nested.output_shapes(ctx.analysis, item), multi=True)
    # Keras shows the shape of the layer's last call.
    last = ctx.analysis.shapes[ctx.analysis.calls_of(item)[-1]]
    return format_outputs(last.outputs, last.multi)


def _params(ctx: _Context, item: Item) -> str:
    if isinstance(item, Instance):
        return _number(f"{nested.params(ctx.analysis, item):,}")
    return _number(f"{sum(ctx.analysis.params_of(item)):,}")


def _connections(ctx: _Context, item: Item) -> str:
    analysis = ctx.analysis
    if isinstance(item, Instance):
        tensors = item.inputs  # each outside tensor once, as a nested model's inputs
    else:
        tensors = []
        for call in analysis.calls_of(item):
            if call not in analysis.call_depth:
                continue
            for ref in call.inputs:
                source = analysis.shapes[ref.call]
                indices = range(len(source.outputs)) if ref.index is None else [ref.index]
                tensors += [(ref.call, k) for k in indices]
    parts = []
    for call, k in tensors:
        name, node, index = ctx.grouped.tensor(call, k)
        parts.append(f"{rich.markup.escape(name)}[{_number(node)}][{_number(index)}]")
    return ", ".join(parts) or "-"


def _trainable(ctx: _Context, item: Item) -> str:
    # as Keras's show_trainable: Y or N for a layer with weights, - for one without. Keras
    # shows a nested model's own flag, which an instance has not: it trains (Y) if any of its
    # weights does, as a model with some layers frozen still trains
    if isinstance(item, Instance):
        weights = nested.weights(ctx.analysis, item)
        trains = any(w.trainable for w in weights)
    else:
        weights, trains = ctx.analysis.weights_of(item), item.trainable
    if not weights:
        return _bold("-")
    return "[bold][color(34)]Y[/][/]" if trains else "[bold][color(9)]N[/][/]"


def _costs(ctx: _Context) -> Costs:
    assert ctx.costs is not None, "cost columns need the model's costs"
    return ctx.costs


def _item_macs(ctx: _Context, item: Item) -> int | None:
    costs = _costs(ctx)
    return nested.macs(costs, item) if isinstance(item, Instance) else costs.layer_macs(item)


def _macs(ctx: _Context, item: Item) -> str:
    return _count(_item_macs(ctx, item), ctx.compact)


def _flops(ctx: _Context, item: Item) -> str:
    macs = _item_macs(ctx, item)
    return _count(None if macs is None else 2 * macs, ctx.compact)


def _activation_bytes(ctx: _Context, item: Item) -> str:
    costs = _costs(ctx)
    if isinstance(item, Instance):
        nbytes = nested.activation_bytes(costs, item)
    else:
        nbytes = costs.layer_activation_bytes(item)
    return "?" if nbytes is None else readable_size(nbytes)


def _fields(ctx: _Context, item: Item) -> list[tuple[list[int] | None, list[int] | None]]:
    """(receptive field, effective stride) of a layer's first call, or of each of an instance's
    outputs (listed as its output shapes are)."""
    if isinstance(item, Instance):
        return nested.output_fields(_costs(ctx), item)
    first = _costs(ctx).first(item)
    return [(first.receptive_field, first.effective_stride)]


def _receptive_field(ctx: _Context, item: Item) -> str:
    return ", ".join(_per_axis(field) for field, _ in _fields(ctx, item)) or "-"


def _effective_stride(ctx: _Context, item: Item) -> str:
    return ", ".join(_per_axis(stride) for _, stride in _fields(ctx, item)) or "-"


def _count(value: int | None, compact: bool) -> str:
    if value is None:
        return "?"
    return _number(_si(value) if compact else f"{value:,}")


def _scaled(value: int) -> tuple[float | Decimal, str] | None:
    """A count of a thousand or more in SI units: (15.47..., "G"); None below a thousand. A
    count past a float's range (a spec may declare one) is divided as a Decimal."""
    for prefix, scale in reversed(SI.items()):
        if value >= scale:
            return (value / scale if value.bit_length() <= 1000 else Decimal(value) / scale), prefix
    return None


def _si(value: int) -> str:
    """A count with an SI prefix and three significant digits or more: 1.85G, 86.7M, 512."""
    scaled = _scaled(value)
    if scaled is None:
        return str(value)
    number, prefix = scaled
    return f"{number:.3g}{prefix}" if number < 1000 else f"{number:.0f}{prefix}"


def _per_axis(values: list[int] | None) -> str:
    return "-" if values is None else "x".join(str(v) for v in values)


COLUMNS: dict[str, Column] = {
    "output_shape": Column("Output Shape", "left", _output_shape),
    "params": Column("Param #", "right", _params),
    "connected_to": Column("Connected to", "left", _connections),
    "trainable": Column("Trainable", "center", _trainable),
    "macs": Column("MACs", "right", _macs),
    "flops": Column("FLOPs", "right", _flops),
    "activation_bytes": Column("Activations", "right", _activation_bytes),
    "receptive_field": Column("Receptive field", "left", _receptive_field),
    "effective_stride": Column("Eff. stride", "left", _effective_stride),
}
_WRAPPING = frozenset({"Output Shape", "Connected to"})  # titles of text columns that may wrap
COST_COLUMNS = frozenset({"macs", "flops", "activation_bytes", "receptive_field", "effective_stride"})


def keras_columns(analysis: Analysis) -> list[str]:
    """The columns Keras's summary shows for this model."""
    if is_sequential_like(analysis):
        return ["output_shape", "params"]
    return ["output_shape", "params", "connected_to"]


def _keras_layout(
    analysis: Analysis, chosen: list[str], line_length: int | None
) -> tuple[list[int], int] | None:
    """Keras's column widths and table width for its own columns (with or without Trainable)."""
    keras = keras_columns(analysis)
    if chosen not in (keras, [*keras, "trainable"]):
        return None
    default_length, positions = (88, [0.45, 0.80, 1.0]) if len(keras) == 2 else (108, [0.3, 0.56, 0.74, 1.0])
    if chosen[-1] == "trainable":
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
    columns = shutil.get_terminal_size().columns
    line_length = line_length or min(default_length, columns - 4)
    widths = _widths(positions, line_length)
    if min(widths) < 4:
        # Keras refuses too: "Insufficient console width to print summary."
        least = next(n for n in range(line_length, default_length + 1) if min(_widths(positions, n)) >= 4)
        _too_narrow(columns, least + 4)
    return widths, line_length


def _fitted_layout(
    header: list[str], rows: list[list[str]], line_length: int | None
) -> tuple[list[int], int, bool]:
    """Widths for a choice of columns Keras has no layout for, the table width, and whether it
    fits the line: each column as wide as its widest cell; where the line is too short for
    that, the text columns (layer, shapes, connections) narrow, widest first, down to 12
    characters (their cells wrap), and titles wrap between words. Figures never wrap: a table
    that cannot fit is printed wider than the line."""
    wanted, least = [], []
    for i, title in enumerate(header):
        cells = [len(table.plain(row[i])) for row in rows]
        wanted.append(max(len(title), *cells))
        shortest = max(len(word) for word in title.split())
        least.append(min(wanted[-1], 12) if i == 0 or title in _WRAPPING else max(shortest, *cells))
    frame = 3 * len(header) + 1  # borders and padding
    room = (line_length or shutil.get_terminal_size().columns - 4) - frame
    widths = list(wanted)
    for i in sorted(range(len(header)), key=lambda k: -wanted[k]):
        widths[i] = max(least[i], widths[i] - max(0, sum(widths) - room))
    return widths, sum(widths) + frame, sum(widths) <= room


def _too_narrow(columns: int, needed: int) -> None:
    raise DisplayError(
        f"the terminal is {columns} columns wide; the summary table needs at least {needed} "
        "(Keras refuses too: 'Insufficient console width to print summary'). Widen it, set "
        "COLUMNS, or use --format json"
    )


def _widths(positions: list[float], line_length: int) -> list[int]:
    """Keras's column widths: each position is the column's right edge as a fraction of the line."""
    widths, current = [], 0
    for position in positions:
        widths.append(int(position * line_length) - current)
        current += widths[-1]
    return widths


def print_summary(
    analysis: Analysis,
    file: IO[str] | None = None,
    line_length: int | None = None,
    columns: list[str] | None = None,
    costs: Costs | None = None,
    nesting: Nesting | None = None,
) -> None:
    """The summary table and totals. Without ``columns`` it is Keras's, character for
    character; ``columns`` (keys of :data:`COLUMNS`) picks others, each cost column adding its
    totals line (those need ``costs``). Without ``nesting`` every layer is a row (Keras's
    summary of the model written out flat); with it, block instances are rows as Keras shows
    nested models (:mod:`shapecalc.render.nesting`), the totals the model's still."""
    chosen = columns or keras_columns(analysis)
    console = rich.console.Console(highlight=False, file=file)
    header = ["Layer (type)", *(COLUMNS[key].title for key in chosen)]
    alignment = ["left", *(COLUMNS[key].justify for key in chosen)]
    grouped = nested.group(analysis, nesting)
    rows = _rows(analysis, costs, chosen, grouped, compact=False)
    keras = _keras_layout(analysis, chosen, line_length)
    if keras is not None:
        widths, total = keras
    else:
        widths, total, fits = _fitted_layout(header, rows, line_length)
        if not fits:  # too wide with every digit: counts in SI form (1.85G) instead
            rows = _rows(analysis, costs, chosen, grouped, compact=True)
            widths, total, _ = _fitted_layout(header, rows, line_length)
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
    if costs is not None:
        for line in cost_totals(analysis, costs, chosen):
            console.print(line)


def _rows(
    analysis: Analysis, costs: Costs | None, chosen: list[str], grouped: Grouped, compact: bool
) -> list[list[str]]:
    ctx = _Context(analysis, costs, grouped, compact)
    return [[_name(row.item, row.level), *(_cell(ctx, key, row) for key in chosen)] for row in grouped.rows]


def _cell(ctx: _Context, key: str, row: Row) -> str:
    if key == "connected_to" and row.level:
        return "-"  # Keras lists a nested model's calls as not part of the model it is in
    return COLUMNS[key].cell(ctx, row.item)


def _name(item: Item, level: int) -> str:
    # Keras's expand_nested prefix; an instance's block stands where Keras puts a class
    prefix = "   " * level + "└ " if level else ""
    kind = item.block if isinstance(item, Instance) else item.type_name()
    return f"{rich.markup.escape(prefix + item.name)} ([color(33)]{rich.markup.escape(kind)}[/])"


def cost_totals(analysis: Analysis, costs: Costs, chosen: list[str]) -> list[str]:
    """The totals lines of the cost columns shown."""
    lines: list[str] = []
    batch = costs.batch
    for key, label, factor in (("macs", "MACs", 1), ("flops", "FLOPs", 2)):
        if key in chosen:
            one = None if costs.total_macs is None else factor * costs.total_macs
            lines.append(_bold(f" {label} per example: ") + _amount(one))
            if batch != 1:
                lines.append(
                    _bold(f" {label} for a batch of {batch}: ")
                    + _amount(None if one is None else one * batch)
                )
    if "activation_bytes" in chosen:
        lines.append(_bold(f" Memory for a batch of {batch}:"))
        for label, nbytes in (
            ("Input size", costs.batch_input_bytes),
            ("Forward pass size", costs.batch_activation_bytes),
            ("Params size", costs.param_bytes),
            ("Estimated total size", costs.total_bytes),
        ):
            lines.append(f"   {label}: " + ("?" if nbytes is None else readable_size(nbytes)))
    if {"receptive_field", "effective_stride"} & set(chosen):
        widest = max(
            ((call, c) for call, c in costs.calls.items() if c.receptive_field is not None),
            key=lambda item: (item[1].receptive_field, item[1].effective_stride),
            default=None,
        )
        if widest is None:
            lines.append(_bold(" Largest receptive field: ") + "none (no layer has a spatial window)")
        else:
            call, field = widest
            lines.append(
                _bold(" Largest receptive field: ")
                + f"{_per_axis(field.receptive_field)} at {rich.markup.escape(call.layer.name)} "
                + f"(effective stride {_per_axis(field.effective_stride)})"
            )
    return lines


def _amount(value: int | None) -> str:
    """A count with its SI-prefixed reading: 15,470,264,320 (15.47 G)."""
    if value is None:
        return "? (a size is unknown: give --unknown-size)"
    text, scaled = _number(f"{value:,}"), _scaled(value)
    return text if scaled is None else f"{text} ({scaled[0]:.2f} {scaled[1]})"
