"""A fast renderer for the summary table, character for character what rich draws.

rich lays out the 10,000 rows of a big model in seconds; this draws the same heavy-head box
in milliseconds. rich itself still decides what depends on its internals: the column widths
(measured once, on an empty table) and the wrapping of any cell too long for its column.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import rich.box
import rich.console
import rich.table
import rich.text

_MARKUP = re.compile(r"\[(?:/|bold|color\(\d+\))\]")
_COLOR = re.compile(r"\[color\((\d+)\)\](.*?)\[/\]")


def plain(markup: str) -> str:
    """Text of a cell written in the summary's small markup ([bold], [color(N)], [/])."""
    return _MARKUP.sub("", markup).replace(r"\[", "[")


@dataclass(frozen=True)
class Layout:
    widths: list[int]  # content width of each column (padding and borders excluded)
    justify: list[str]


def measure(
    console: rich.console.Console,
    header: Sequence[str],
    justify: Sequence[str],
    widths: Sequence[int],
    total: int,
) -> Layout:
    """The content widths rich gives these columns in a table ``total`` characters wide."""
    columns = [
        rich.table.Column(h, justify=j, width=w)  # type: ignore[arg-type]
        for h, j, w in zip(header, justify, widths, strict=True)
    ]
    probe = rich.table.Table(*columns, width=total, show_lines=True)
    options = console.options.update(width=total)
    top = next(iter(console.render_lines(probe, options, pad=False)))
    line = "".join(segment.text for segment in top)
    segments = line[1:-1].split(_box(console).top_divider)
    return Layout([len(s) - 2 for s in segments], list(justify))


def _box(console: rich.console.Console) -> rich.box.Box:
    return rich.box.HEAVY_HEAD.substitute(console.options, safe=True)


def _cell_lines(
    console: rich.console.Console, markup: str, width: int, justify: str, color: bool
) -> list[str]:
    text = plain(markup)
    if len(text) <= width and "\n" not in text:
        body = _justified(text, width, justify)
        if color:
            body = _colorize(markup, body, text)
        return [body]
    # Too long for its column: let rich wrap it exactly as it would in its own table.
    # (a table column's default overflow is "ellipsis": a word longer than the column is cut with …)
    wrapped = rich.text.Text.from_markup(markup).wrap(
        console,
        width,
        justify=justify,
        overflow="ellipsis",  # type: ignore[arg-type]
    )
    return [_justified(line.plain, width, justify) for line in wrapped]


def _justified(text: str, width: int, justify: str) -> str:
    if justify == "right":
        return text.rjust(width)
    if justify == "center":  # as rich centres: the odd space goes to the right
        left = (width - len(text)) // 2
        return " " * left + text.ljust(width - left)
    return text.ljust(width)


def _colorize(markup: str, body: str, text: str) -> str:
    """Terminal colours for a cell that fits on one line (256-colour codes, as rich emits them)."""
    styled = _COLOR.sub(lambda m: f"\x1b[38;5;{m.group(1)}m{m.group(2)}\x1b[0m", markup)
    styled = styled.replace("[bold]", "\x1b[1m").replace("[/]", "\x1b[0m").replace(r"\[", "[")
    return body.replace(text, styled, 1) if text else body


def render(
    console: rich.console.Console,
    layout: Layout,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    color: bool,
) -> str:
    box = _box(console)
    widths = layout.widths

    def rule(left: str, fill: str, cross: str, right: str) -> str:
        return left + cross.join(fill * (w + 2) for w in widths) + right

    def row_lines(
        cells: Sequence[str], vertical: str, edge_left: str, edge_right: str, bold: bool
    ) -> list[str]:
        columns = [
            _cell_lines(console, cell, w, j, color)
            for cell, w, j in zip(cells, widths, layout.justify, strict=True)
        ]
        height = max(len(c) for c in columns)
        lines = []
        for i in range(height):
            parts = [c[i] if i < len(c) else " " * w for c, w in zip(columns, widths, strict=True)]
            if bold and color:
                parts = [f"\x1b[1m{p}\x1b[0m" for p in parts]
            lines.append(edge_left + " " + f" {vertical} ".join(parts) + " " + edge_right)
        return lines

    out = [rule(box.top_left, box.top, box.top_divider, box.top_right)]
    out += row_lines(header, box.head_vertical, box.head_left, box.head_right, bold=True)
    out.append(rule(box.head_row_left, box.head_row_horizontal, box.head_row_cross, box.head_row_right))
    for i, cells in enumerate(rows):
        if i:
            out.append(rule(box.row_left, box.row_horizontal, box.row_cross, box.row_right))
        out += row_lines(cells, box.mid_vertical, box.mid_left, box.mid_right, bold=False)
    out.append(rule(box.bottom_left, box.bottom, box.bottom_divider, box.bottom_right))
    return "\n".join(out) + "\n"
