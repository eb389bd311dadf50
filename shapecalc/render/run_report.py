"""The --run report: per layer, the predicted and the real shape, a pass/fail mark, the time."""

from __future__ import annotations

from typing import Any

import rich.console
import rich.table

from ..analysis import Analysis
from ..graph import unique_layers
from ..layers.base import Shape
from ..run.engine import RunReport, readable_bytes


def _shapes(shapes: list[Shape] | None) -> str:
    if shapes is None:
        return "-"
    text = ", ".join("(" + ", ".join(str(d) for d in s) + ")" for s in shapes)
    return f"[{text}]" if len(shapes) > 1 else text


def print_run_report(analysis: Analysis, report: RunReport, console: rich.console.Console) -> None:
    table = rich.table.Table(
        "Layer", "Predicted (sizes filled in)", "Run shape", "", "ms", title="Run check", title_justify="left"
    )
    for layer in unique_layers(analysis.layers):
        for call in analysis.calls_of(layer):
            outcome = report.outcomes.get(call)
            if outcome is None:
                continue
            if outcome.ok is None:
                mark = "[yellow]static only[/]"
            elif outcome.ok:
                mark = "[green]✓[/]"
            else:
                mark = "[bold red]✗[/]"
            label = layer.name if call.node_index == 0 else f"{layer.name} (call {call.node_index})"
            table.add_row(
                label,
                _shapes(report.concrete.output_shapes(call)),
                _shapes(outcome.run_shapes),
                mark,
                f"in {outcome.fused_into}" if outcome.fused_into else f"{outcome.ms:.2f}",
            )
            if outcome.note and outcome.ok is not None:
                table.add_row("", f"[red]{outcome.note}[/]", "", "", "")
    console.print(table)
    failures = len(report.failures)
    static = sum(1 for o in report.outcomes.values() if o.ok is None)
    verdict = "[bold red]MISMATCH[/]" if failures else "[bold green]all shapes confirmed[/]"
    console.print(
        f" Run at batch {report.batch}: {verdict}; {failures} mismatch(es), "
        f"{static} layer(s) checked statically "
        f"only; estimated peak memory {readable_bytes(report.peak_bytes)}"
    )


def add_run_fields(data: dict[str, Any], analysis: Analysis, report: RunReport) -> None:
    """JSON: run_shape, ok and time_ms on each layer (its first call), and a run summary."""
    for entry, layer in zip(data["layers"], unique_layers(analysis.layers), strict=True):
        # the first call that ran: a shared layer's first call may lie outside the model
        ran = [c for c in analysis.calls_of(layer) if c in report.outcomes]
        if not ran:
            continue
        outcome = report.outcomes[ran[0]]
        shapes = outcome.run_shapes
        multi = analysis.shapes[ran[0]].multi
        entry["run_shape"] = (
            None if shapes is None else ([list(s) for s in shapes] if multi else list(shapes[0]))
        )
        entry["ok"] = outcome.ok
        entry["time_ms"] = round(outcome.ms, 3)
        if outcome.fused_into:  # computed inside that layer's kernel: its time_ms includes this one
            entry["fused_into"] = outcome.fused_into
        if outcome.note:
            entry["run_note"] = outcome.note
    data["run"] = {
        "batch": report.batch,
        "mismatches": len(report.failures),
        "estimated_peak_bytes": report.peak_bytes,
    }
