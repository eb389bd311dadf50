"""Explanations of a model, for people learning shape arithmetic: for each call of each layer,
the working behind its output shape axis by axis (the layer's ``explain`` hook), its parameter
count as a sum of its weights, its multiply-accumulates and its receptive field.

Read off an :class:`Analysis` and the :class:`Costs` taken from it; nothing here changes either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .analysis import Analysis
from .costs import Costs
from .graph import Call
from .layers.args import did_you_mean
from .layers.base import Shape, Weight
from .layers.explaining import Step
from .layers.input_layer import InputLayer


class UnknownLayerName(LookupError):
    """``--layer NAME`` names no layer of the model."""


@dataclass(frozen=True)
class WeightTerm:
    """One weight's share of the parameter count: ``kernel 3*3*1*16 = 144``."""

    path: str
    shape: tuple[int, ...]
    trainable: bool

    @property
    def size(self) -> int:
        return Weight(self.path, self.shape).size

    @property
    def formula(self) -> str:
        return "*".join(str(d) for d in self.shape) or "1"  # a scalar


@dataclass(frozen=True)
class CallExplanation:
    """Why one call of a layer gives what it gives."""

    layer: str
    type_name: str
    call: int  # which call of the layer, from 0 (a shared layer is called several times)
    inputs: list[Shape]
    outputs: list[Shape]
    steps: list[Step]
    weights: list[WeightTerm]  # empty for a later call of a shared layer: its weights are the first's
    params: tuple[int, int]  # (trainable, non-trainable), as Keras counts the layer's
    macs: int | None
    receptive_field: list[int] | None
    effective_stride: list[int] | None

    @property
    def params_formula(self) -> str:
        """``kernel 3*3*1*16 = 144 + bias 16 = 160``; ``no weights`` where there are none."""
        if self.call > 0 and sum(self.params):
            return f"the weights of its first call (shared): {sum(self.params):,} parameters"
        if not self.weights:
            return "no weights: 0"
        terms = [
            f"{w.path} {w.formula}" + ("" if w.formula == str(w.size) else f" = {w.size}")
            for w in self.weights
        ]
        return " + ".join(terms) + (f" = {sum(self.params)}" if len(terms) > 1 else "")


def explain_model(analysis: Analysis, costs: Costs, names: Sequence[str] = ()) -> list[CallExplanation]:
    """Every call of the model in its order (the inputs left out), or only those of the layers
    ``names`` (raises :class:`UnknownLayerName` for a name no layer has)."""
    known = {layer.name for layer in analysis.layers}
    for name in names:
        if name not in known:
            hint = did_you_mean(name, sorted(known))
            raise UnknownLayerName(f"the model has no layer named '{name}'{hint}")
    explained = []
    seen: dict[Any, int] = {}
    for call in analysis.model_calls:
        layer = call.layer
        index = seen[layer] = seen.get(layer, -1) + 1
        if layer.name not in names if names else isinstance(layer, InputLayer):
            continue
        explained.append(_explain_call(analysis, costs, call, index))
    return explained


def _explain_call(analysis: Analysis, costs: Costs, call: Call, index: int) -> CallExplanation:
    layer = call.layer
    shapes = analysis.shapes[call]
    if isinstance(layer, InputLayer):
        steps = [Step("shape", "as the spec declares it (the batch axis first)", list(shapes.outputs[0]))]
    else:
        steps = layer.explain(shapes.inputs if layer.takes_list else shapes.inputs[0])
    weights = [] if index else [WeightTerm(w.path, w.shape, w.trainable) for w in analysis.weights_of(layer)]
    spent = costs.calls.get(call)
    return CallExplanation(
        layer=layer.name,
        type_name=layer.type_name(),
        call=index,
        inputs=shapes.inputs,
        outputs=shapes.outputs,
        steps=steps,
        weights=weights,
        params=analysis.params_of(layer),
        macs=spent.macs if spent else None,
        receptive_field=spent.receptive_field if spent else None,
        effective_stride=spent.effective_stride if spent else None,
    )
