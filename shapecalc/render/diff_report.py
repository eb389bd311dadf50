"""``shapecalc diff`` as text and as JSON (markdown.py renders it for a pull request)."""

from __future__ import annotations

from typing import Any

from ..diff import Change, LayerFacts, ModelDiff, Totals
from ..layers.base import fmt_shapes

# each total of a ModelDiff: its Totals field and its label
TOTALS = (
    ("params", "parameters"),
    ("trainable_params", "trainable"),
    ("non_trainable_params", "non-trainable"),
    ("macs", "MACs for one example"),
    ("weight_bytes", "weight bytes"),
    ("activation_bytes", "activation bytes for one example"),
)


def text(model_diff: ModelDiff) -> str:
    changes = model_diff.changes
    kinds = [c.kind for c in changes]
    counts = ", ".join(f"{kinds.count(k)} {k}" for k in ("changed", "added", "removed"))
    lines = [f"{model_diff.before_name} -> {model_diff.after_name}: {counts}"]
    for change in changes:
        lines.append("  " + _line(change))
    lines.append("totals:")
    for key, label in TOTALS:
        before, after = getattr(model_diff.before, key), getattr(model_diff.after, key)
        lines.append(f"  {label}: {count(before)} -> {count(after)} ({delta(before, after)})")
    return "\n".join(lines) + "\n"


def _line(change: Change) -> str:
    before, after = change.before, change.after
    if before is None or after is None:
        facts = after or before
        assert facts is not None
        sign = "+" if before is None else "-"
        shapes = fmt_shapes(facts.output_shapes)
        return f"{sign} {_who(facts)}: {shapes}, {facts.params:,} params, {count(facts.macs)} MACs"
    name = after.name if before.name == after.name else f"{before.name} -> {after.name}"
    parts = []
    if before.type != after.type:
        parts.append(f"type {before.type} -> {after.type}")
    if before.output_shapes != after.output_shapes:
        parts.append(f"output {fmt_shapes(before.output_shapes)} -> {fmt_shapes(after.output_shapes)}")
    if (before.params, before.trainable_params) != (after.params, after.trainable_params):
        parts.append(f"params {before.params:,} -> {after.params:,}")
    if before.macs != after.macs:
        parts.append(f"MACs {count(before.macs)} -> {count(after.macs)}")
    return f"~ {name} ({after.type}): " + ("; ".join(parts) or "renamed")


def as_dict(model_diff: ModelDiff) -> dict[str, Any]:
    return {
        "before": model_diff.before_name,
        "after": model_diff.after_name,
        "layers": [
            {"change": c.kind, "before": _facts(c.before), "after": _facts(c.after)}
            for c in model_diff.changes
        ],
        "totals": {"before": _totals(model_diff.before), "after": _totals(model_diff.after)},
    }


def _facts(facts: LayerFacts | None) -> dict[str, Any] | None:
    if facts is None:
        return None
    return {
        "name": facts.name,
        "type": facts.type,
        "output_shape": [list(s) for s in facts.output_shapes],
        "params": facts.params,
        "trainable_params": facts.trainable_params,
        "macs": facts.macs,
    }


def _totals(totals: Totals) -> dict[str, int | None]:
    return {key: getattr(totals, key) for key, _ in TOTALS}


def _who(facts: LayerFacts) -> str:
    return f"{facts.name} ({facts.type})"


def count(value: int | None) -> str:
    """A count with thousands separators; ? where unknown."""
    return "?" if value is None else f"{value:,}"


def delta(before: int | None, after: int | None) -> str:
    """The signed change; ? where either side is unknown."""
    return "?" if before is None or after is None else f"{after - before:+,}"
