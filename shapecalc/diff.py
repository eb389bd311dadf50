"""``shapecalc diff``: what changed from one version of a model to another, layer by layer.

Layers are matched by name first; those left are matched by position, in Keras's order (a
renamed layer); what is left then was removed or added. A matched pair has changed when its
type, output shapes, parameter counts or MACs differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from .analysis import Analysis
from .costs import Costs
from .graph import unique_layers
from .layers.base import Layer, Shape


@dataclass(frozen=True)
class LayerFacts:
    """What the diff compares of a layer: its first call's shapes, its counts, its MACs."""

    name: str
    type: str
    output_shapes: tuple[Shape, ...]
    params: int
    trainable_params: int
    macs: int | None

    @classmethod
    def of(cls, layer: Layer, analysis: Analysis, costs: Costs) -> LayerFacts:
        trainable, frozen = analysis.params_of(layer)
        shapes = tuple(analysis.output_shapes(analysis.first_call(layer)))
        return cls(
            layer.name, layer.type_name(), shapes, trainable + frozen, trainable, costs.layer_macs(layer)
        )


@dataclass(frozen=True)
class Change:
    """A layer of either version: ``before`` None if added, ``after`` None if removed."""

    before: LayerFacts | None
    after: LayerFacts | None

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed" if _key(self.before) != _key(self.after) else "same"


def _key(facts: LayerFacts) -> tuple[object, ...]:
    return (facts.type, facts.output_shapes, facts.params, facts.trainable_params, facts.macs)


@dataclass(frozen=True)
class Totals:
    params: int
    trainable_params: int
    non_trainable_params: int
    macs: int | None
    weight_bytes: int
    activation_bytes: int | None


@dataclass(frozen=True)
class ModelDiff:
    before_name: str
    after_name: str
    layers: list[Change]  # every layer of the second version in its order, then the removed ones
    before: Totals
    after: Totals

    @property
    def changes(self) -> list[Change]:
        return [c for c in self.layers if c.kind != "same"]


def diff(before: tuple[Analysis, Costs], after: tuple[Analysis, Costs]) -> ModelDiff:
    old = [LayerFacts.of(layer, *before) for layer in unique_layers(before[0].layers)]
    new = [LayerFacts.of(layer, *after) for layer in unique_layers(after[0].layers)]
    old_by_name = {f.name: f for f in old}
    new_names = {f.name for f in new}
    left_old = [f for f in old if f.name not in new_names]
    left_new = [f for f in new if f.name not in old_by_name]
    by_position = dict(zip((f.name for f in left_new), left_old, strict=False))
    matched = {f.name for f in by_position.values()}
    changes: list[Change] = []
    removed = [f for f in left_old if f.name not in matched]
    for facts in new:
        partner = old_by_name.get(facts.name) or by_position.get(facts.name)
        changes.append(Change(partner, facts))
    changes += [Change(f, None) for f in removed]
    return ModelDiff(before[0].graph.name, after[0].graph.name, changes, _totals(*before), _totals(*after))


def _totals(analysis: Analysis, costs: Costs) -> Totals:
    return Totals(
        analysis.total_params,
        analysis.trainable_params,
        analysis.non_trainable_params,
        costs.total_macs,
        costs.param_bytes,
        costs.activation_bytes,
    )
