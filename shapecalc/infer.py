"""The static pass: every call's output shapes, every layer's weights, the model's totals."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .errors import ShapeError, SpecError
from .graph import Call, Graph, TensorRef, keras_functional_structure, unique_layers
from .layers.base import Layer, Shape, Weight, fmt_shape
from .layers.input_layer import InputLayer


@dataclass
class CallShapes:
    """The shapes one call received and returned; ``multi`` when the layer returns a list."""

    inputs: list[Shape]
    outputs: list[Shape]
    multi: bool


@dataclass
class Analysis:
    graph: Graph
    shapes: dict[int, CallShapes]  # id(call) -> shapes
    layers: list[Layer]  # the model's layers in Keras's order (InputLayers included if functional)
    call_depth: dict[int, int]  # functional models: id(call) -> Keras node depth

    @functools.cached_property
    def _calls_by_layer(self) -> dict[int, list[Call]]:
        calls: dict[int, list[Call]] = {}
        for call in self.graph.calls:
            calls.setdefault(id(call.layer), []).append(call)
        return calls

    def calls_of(self, layer: Layer) -> list[Call]:
        return self._calls_by_layer[id(layer)]

    def first_call(self, layer: Layer) -> Call:
        return self._calls_by_layer[id(layer)][0]

    @property
    def weights(self) -> list[Weight]:
        return [w for layer in unique_layers(self.layers) for w in layer.layer_weights]

    @property
    def trainable_params(self) -> int:
        return sum(w.size for w in self.weights if w.trainable)

    @property
    def non_trainable_params(self) -> int:
        return sum(w.size for w in self.weights if not w.trainable)

    @property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    def output_refs(self) -> list[tuple[Call, int]]:
        """The model's outputs as (call, output index), lists expanded."""
        refs: list[tuple[Call, int]] = []
        for ref in self.graph.outputs:
            if ref.index is None:
                refs.extend((ref.call, k) for k in range(len(self.shapes[id(ref.call)].outputs)))
            else:
                refs.append((ref.call, ref.index))
        return refs


def analyze(graph: Graph) -> Analysis:
    shapes: dict[int, CallShapes] = {}
    for call in graph.calls:
        shapes[id(call)] = _infer_call(call, shapes)
    for ref in graph.outputs:
        _resolve(ref, shapes)  # an output NAME.K must exist
    if graph.sequential:
        layers = graph.model_layers()
        depth: dict[int, int] = {}
    else:
        structure = keras_functional_structure(graph)
        layers, depth = structure.layers, structure.call_depth
    return Analysis(graph, shapes, layers, depth)


def _resolve(ref: TensorRef, shapes: dict[int, CallShapes]) -> tuple[list[Shape], bool]:
    """The shapes a reference stands for, and whether they come as a list."""
    source = shapes[id(ref.call)]
    if ref.index is None:
        return source.outputs, source.multi
    if ref.index >= len(source.outputs):
        name = ref.call.alias or ref.call.layer.name
        count = len(source.outputs)
        have = f"outputs {name}.0 to {name}.{count - 1}" if count > 1 else f"one output, {name}"
        raise SpecError(f"{name} has {have}; there is no output {ref.index}", ref.loc)
    return [source.outputs[ref.index]], False


def _infer_call(call: Call, shapes: dict[int, CallShapes]) -> CallShapes:
    layer = call.layer
    if isinstance(layer, InputLayer):
        return CallShapes([], [layer.compute_output_shape()], False)
    inputs: list[Shape] = []
    as_list = call.as_list or len(call.inputs) > 1
    for ref in call.inputs:
        resolved, came_as_list = _resolve(ref, shapes)
        inputs.extend(resolved)
        as_list = as_list or came_as_list
    who = f"{layer.name} ({layer.type_name()})"
    if layer.takes_list and not as_list:
        raise SpecError(f"{who}: is called on a list of tensors; write inputs: [a, b]", call.loc)
    if not layer.takes_list and as_list:
        given = ", ".join(fmt_shape(s) for s in inputs)
        raise SpecError(f"{who}: takes one input tensor, but is given {len(inputs)}: {given}", call.loc)
    try:
        out = layer.infer(inputs if layer.takes_list else inputs[0])
    except ShapeError as err:
        given = ", ".join(fmt_shape(s) for s in inputs)
        where = getattr(err, "location", None)  # an error inside a custom layer's expression
        if where is not None:
            raise SpecError(
                f"{who}: {err.message} [input {given}, called at line {call.loc.line}]", where
            ) from None
        raise SpecError(f"{who}: {err.message} [input {given}]", call.loc) from None
    if layer.model_call_refusal:
        raise SpecError(f"{who}: {layer.model_call_refusal}", call.loc)
    if isinstance(out, list):
        return CallShapes(inputs, [tuple(s) for s in out], True)
    return CallShapes(inputs, [tuple(out)], False)
