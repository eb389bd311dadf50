"""Markdown: a spec's summary and a diff of two versions, as tables a pull request renders."""

from __future__ import annotations

from ..analysis import Analysis
from ..costs import Costs
from ..diff import Change, ModelDiff
from ..layers.base import Layer, fmt_shapes
from . import nesting as nested
from .diff_report import TOTALS, count, delta
from .nesting import Nesting


def summary(analysis: Analysis, costs: Costs, nesting: Nesting | None = None) -> str:
    """The layers (shapes, parameters, MACs) and the totals of a spec; with ``nesting``, block
    instances as the text summary shows them (:mod:`shapecalc.render.nesting`)."""
    rows = [["Layer", "Type", "Output shape", "Param #", "MACs"]]
    seen: set[Layer] = set()
    for row in nested.group(analysis, nesting).rows:
        item = row.item
        # markdown cells drop leading spaces: the text summary's └ prefix, with no-break spaces
        prefix = "\u00a0" * 3 * row.level + "└ " if row.level else ""
        if not isinstance(item, Layer):
            shapes = nested.output_shapes(analysis, item)
            figures = [f"{nested.params(analysis, item):,}", count(nested.macs(costs, item))]
            rows.append([prefix + _code(item.name), f"block {item.block}", fmt_shapes(shapes), *figures])
            continue
        if item in seen:  # a layer a Sequential holds twice: one row
            continue
        seen.add(item)
        last = analysis.output_shapes(analysis.calls_of(item)[-1])  # as Keras's summary: the last call's
        rows.append(
            [
                prefix + _code(item.name),
                item.type_name(),
                fmt_shapes(last),
                f"{sum(analysis.params_of(item)):,}",
                count(costs.layer_macs(item)),
            ]
        )
    totals = [
        ["Total", "Value"],
        ["Parameters", f"{analysis.total_params:,}"],
        ["Trainable", f"{analysis.trainable_params:,}"],
        ["Non-trainable", f"{analysis.non_trainable_params:,}"],
        ["MACs for one example", count(costs.total_macs)],
    ]
    return f"### {_code(analysis.graph.name)}\n\n{_table(rows, 'lllrr')}\n{_table(totals, 'lr')}"


def diff(model_diff: ModelDiff, before: str, after: str) -> str:
    """The changed, added and removed layers, and every total, before and after."""
    title = f"### shapecalc diff: {_code(before)} → {_code(after)}\n\n"
    changes = model_diff.changes
    if not changes:
        body = "No layer changed.\n\n"
    else:
        rows = [["Layer", "Change", "Type", "Output shape", "Param #", "MACs"]]
        rows += [_change_row(c) for c in changes]
        body = _table(rows, "llllrr") + "\n"
    old, new = model_diff.before, model_diff.after
    totals = [["Total", "Before", "After", "Change"]]
    for key, label in TOTALS:
        a, b = getattr(old, key), getattr(new, key)
        totals.append([label[0].upper() + label[1:], count(a), count(b), delta(a, b)])
    return title + body + _table(totals, "lrrr")


def _change_row(change: Change) -> list[str]:
    before, after = change.before, change.after
    if before is None or after is None:
        facts = after or before
        assert facts is not None
        return [
            _code(facts.name),
            change.kind,
            facts.type,
            fmt_shapes(facts.output_shapes),
            f"{facts.params:,}",
            count(facts.macs),
        ]
    name = _code(after.name) if before.name == after.name else f"{_code(before.name)} → {_code(after.name)}"
    return [
        name,
        "changed",
        _arrow(before.type, after.type),
        _arrow(fmt_shapes(before.output_shapes), fmt_shapes(after.output_shapes)),
        _arrow(f"{before.params:,}", f"{after.params:,}", delta(before.params, after.params)),
        _arrow(count(before.macs), count(after.macs), delta(before.macs, after.macs)),
    ]


def _arrow(before: str, after: str, change: str = "") -> str:
    if before == after:
        return before
    return f"{before} → {after}" + (f" ({change})" if change else "")


def _code(text: str) -> str:
    return f"`{text}`"


def _table(rows: list[list[str]], align: str) -> str:
    """A GitHub-flavoured markdown table; ``align``: l or r per column."""
    marks = {"l": "---", "r": "---:"}
    lines = [_cells(rows[0]), "|" + "|".join(marks[a] for a in align) + "|"]
    lines += [_cells(row) for row in rows[1:]]
    return "\n".join(lines) + "\n"


def _cells(row: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
