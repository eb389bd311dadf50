"""``shapecalc explain`` as text and as JSON: each call's shape working, parameters, MACs and
receptive field."""

from __future__ import annotations

from typing import Any

from ..explain import CallExplanation
from ..layers.base import fmt_shapes
from ..layers.explaining import Step, show


def text(explained: list[CallExplanation]) -> str:
    blocks = [_block(e) for e in explained]
    return "\n\n".join(blocks) + "\n"


def _block(e: CallExplanation) -> str:
    call = f" [call {e.call + 1}]" if e.call else ""
    arrow = f"{fmt_shapes(e.inputs)} -> " if e.inputs else ""
    lines = [f"{e.layer} ({e.type_name}){call}: {arrow}{fmt_shapes(e.outputs)}"]
    rows = [(s.axis, _working(s)) for s in e.steps]
    rows.append(("params", e.params_formula + _frozen(e)))
    rows.append(("MACs", "unknown (a size it needs is unknown)" if e.macs is None else f"{e.macs:,}"))
    rows.append(("receptive field", _field(e)))
    width = max(len(label) for label, _ in rows)
    lines += [f"  {label + ':':<{width + 1}} {value}" for label, value in rows]
    return "\n".join(lines)


def _working(step: Step) -> str:
    line = f"{step.formula} = {show(step.result)}"
    return f"{line} ({step.note})" if step.note else line


def _frozen(e: CallExplanation) -> str:
    trainable, frozen = e.params
    if not frozen or e.call:
        return ""
    return f" ({trainable:,} trainable, {frozen:,} non-trainable)"


def _field(e: CallExplanation) -> str:
    if e.receptive_field is None or e.effective_stride is None:
        return "undefined: no window of the input's spatial axes describes an output position"
    size = " x ".join(str(n) for n in e.receptive_field)
    stride = " x ".join(str(n) for n in e.effective_stride)
    return f"{size}, effective stride {stride}"


def as_dict(path: str, explained: list[CallExplanation]) -> dict[str, Any]:
    return {"file": path, "layers": [_call_dict(e) for e in explained]}


def _call_dict(e: CallExplanation) -> dict[str, Any]:
    trainable, frozen = e.params
    return {
        "layer": e.layer,
        "type": e.type_name,
        "call": e.call,
        "input_shapes": [list(s) for s in e.inputs],
        "output_shapes": [list(s) for s in e.outputs],
        "axes": [
            {"axis": s.axis, "formula": s.formula, "result": s.result, **({"note": s.note} if s.note else {})}
            for s in e.steps
        ],
        "params": {
            "formula": e.params_formula,
            "weights": [
                {
                    "name": w.path,
                    "shape": list(w.shape),
                    "formula": w.formula,
                    "result": w.size,
                    "trainable": w.trainable,
                }
                for w in e.weights
            ],
            "trainable": trainable,
            "non_trainable": frozen,
            "result": trainable + frozen,
        },
        "macs": e.macs,
        "receptive_field": e.receptive_field,
        "effective_stride": e.effective_stride,
    }
