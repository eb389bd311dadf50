"""The analysis: a pure pass over a graph, giving every call's shapes and every layer's weights.

:func:`analyze` reads the graph and changes nothing in it: what Keras's layers would keep on
themselves once built (the weights, the input they were built for) is kept in the returned
:class:`Analysis`, keyed by the layer and the call objects. So the same graph can be analysed
again, for example at concrete sizes (``--run``, cost figures), and every analysis stands alone.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from .errors import ShapeError, SpecError
from .graph import Call, Graph, TensorRef, unique_layers
from .graph_order import keras_functional_structure
from .layers.base import Built, Layer, Shape, Weight, fmt_shapes
from .layers.input_layer import InputLayer
from .trace import describe_inputs, source_name


@dataclass(frozen=True)
class ConcreteSizes:
    """Sizes to analyse a graph at in place of its unknown ones: the batch, every other unknown
    input size, and the exact shapes of named inputs (data given for them, batch axis included).
    A field left None keeps that size as the spec declares it."""

    batch: int | None = None
    unknown: int | None = None
    inputs: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def input_shape(self, name: str, declared: Shape) -> Shape:
        if name in self.inputs:
            return tuple(self.inputs[name])
        dims = list(declared)
        if dims and dims[0] is None:
            dims[0] = self.batch
        if self.unknown is not None:
            dims[1:] = [self.unknown if d is None else d for d in dims[1:]]
        return tuple(dims)


class CallShapes(NamedTuple):
    """The shapes one call received and returned; ``multi`` when the layer returns a list."""

    inputs: list[Shape]
    outputs: list[Shape]
    multi: bool


@dataclass
class Analysis:
    """What a graph is at the sizes it was analysed at."""

    graph: Graph
    sizes: ConcreteSizes | None
    shapes: dict[Call, CallShapes]
    built: dict[Layer, Built]  # each layer's first call: its input and the weights it built
    layers: list[Layer]  # the model's layers in Keras's order (InputLayers included if functional)
    call_depth: dict[Call, int]  # functional models: Keras's node depth of each call in the model
    failed: frozenset[Call] = frozenset()  # calls left without shapes (analyse with ``problems``)
    _params: dict[Layer, tuple[int, int]] = field(default_factory=dict, init=False, repr=False)

    @functools.cached_property
    def _calls_by_layer(self) -> dict[Layer, list[Call]]:
        calls: dict[Layer, list[Call]] = {}
        for call in self.graph.calls:
            calls.setdefault(call.layer, []).append(call)
        return calls

    @functools.cached_property
    def model_calls(self) -> list[Call]:
        """The calls the Keras model holds, in graph order (a functional model leaves out calls
        that lead to no output)."""
        if self.graph.sequential:
            return list(self.graph.calls)
        return [c for c in self.graph.calls if c in self.call_depth]

    def calls_of(self, layer: Layer) -> list[Call]:
        return self._calls_by_layer[layer]

    def first_call(self, layer: Layer) -> Call:
        return self._calls_by_layer[layer][0]

    def input_shapes(self, call: Call) -> list[Shape]:
        return self.shapes[call].inputs

    def output_shapes(self, call: Call) -> list[Shape]:
        return self.shapes[call].outputs

    def weights_of(self, layer: Layer) -> list[Weight]:
        """The layer's variables as Keras's model holds them (its trainable flag applied)."""
        built = self.built.get(layer)
        return layer.variables(built.weights) if built else []

    def params_of(self, layer: Layer) -> tuple[int, int]:
        """(trainable, non-trainable) parameter counts of the layer, as Keras counts them."""
        counts = self._params.get(layer)
        if counts is None:
            built = self.built.get(layer)
            counts = self._params[layer] = layer.count_params(built.weights) if built else (0, 0)
        return counts

    @functools.cached_property
    def weights(self) -> list[Weight]:
        """Every variable of the model, a shared layer's once."""
        return [w for layer in unique_layers(self.layers) for w in self.weights_of(layer)]

    @functools.cached_property
    def trainable_params(self) -> int:
        return sum(w.size for w in self.weights if w.trainable)

    @functools.cached_property
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
                refs.extend((ref.call, k) for k in range(len(self.shapes[ref.call].outputs)))
            else:
                refs.append((ref.call, ref.index))
        return refs


def analyze(
    graph: Graph, sizes: ConcreteSizes | None = None, problems: list[SpecError] | None = None
) -> Analysis:
    """Every call's shapes and every layer's weights; ``sizes`` fills in unknown input sizes.

    Raises :class:`SpecError` at the call that fails, as Keras would refuse to build the model.
    With ``problems``, each failing call is recorded there instead and the calls that depend on
    it are left without shapes (``Analysis.failed``), independent branches analysed still.
    """
    shapes: dict[Call, CallShapes] = {}
    built: dict[Layer, Built] = {}
    failed: set[Call] = set()
    for call in graph.calls:
        if any(ref.call in failed for ref in call.inputs):
            failed.add(call)
            continue
        try:
            shapes[call] = _infer_call(call, shapes, built, sizes, graph.sequential)
        except SpecError as err:
            if problems is None:
                raise err.within(call.context) from None
            problems.append(err.within(call.context))
            failed.add(call)
    for ref in graph.outputs:
        if ref.call in failed:
            continue
        try:
            _resolve(ref, shapes)  # an output NAME.K must exist
        except SpecError as err:
            if problems is None:
                raise
            problems.append(err)
    if graph.sequential:
        # keras.Sequential lists a layer once per time it was added
        layers = [c.layer for c in graph.calls if not isinstance(c.layer, InputLayer)]
        depth: dict[Call, int] = {}
    else:
        structure = keras_functional_structure(graph)
        layers, depth = structure.layers, structure.call_depth
    return Analysis(graph, sizes, shapes, built, layers, depth, frozenset(failed))


def _resolve(ref: TensorRef, shapes: dict[Call, CallShapes]) -> tuple[list[Shape], bool]:
    """The shapes a reference stands for, and whether they come as a list."""
    source = shapes[ref.call]
    if ref.index is None:
        return source.outputs, source.multi
    if ref.index >= len(source.outputs):
        name = ref.call.alias or ref.call.layer.name
        count = len(source.outputs)
        have = f"outputs {name}.0 to {name}.{count - 1}" if count > 1 else f"one output, {name}"
        raise SpecError(f"{name} has {have}; there is no output {ref.index}", ref.loc, code="E005")
    return [source.outputs[ref.index]], False


def _infer_call(
    call: Call,
    shapes: dict[Call, CallShapes],
    built: dict[Layer, Built],
    sizes: ConcreteSizes | None,
    sequential: bool,
) -> CallShapes:
    layer = call.layer
    if isinstance(layer, InputLayer):
        declared = layer.compute_output_shape()
        shape = declared if sizes is None else sizes.input_shape(layer.name, declared)
        return CallShapes([], [shape], False)
    inputs: list[Shape] = []
    own = call.own_inputs if call.tensor_args else call.inputs
    as_list = call.as_list or len(own) > 1
    for ref in own:
        resolved, came_as_list = _resolve(ref, shapes)
        inputs.extend(resolved)
        as_list = as_list or came_as_list
    if layer.takes_list != as_list:
        raise _wiring_error(call, inputs, sequential)
    given, arguments = inputs, call.call_args
    if call.tensor_args:
        given, arguments = list(inputs), dict(call.call_args)
        for name, (start, count) in call.tensor_args.items():
            # a tensor argument's shapes, as the layer's shape rule is given them (a Keras mask
            # is an input of the call, but no shape rule reads it)
            read = [s for ref in call.inputs[start : start + count] for s in _resolve(ref, shapes)[0]]
            if name != "mask":
                arguments[name] = read
            inputs.extend(read)
    try:
        out, built[layer] = layer.infer(given if layer.takes_list else given[0], built.get(layer), arguments)
    except ShapeError as err:
        given = describe_inputs(call, shapes) or fmt_shapes(inputs)
        if err.location is not None:  # an error inside a custom layer's expression
            raise SpecError(
                f"{layer.label}: {err.message} [input {given}, called at line {call.loc.line}]",
                err.location,
                code="E006",
                layer=layer.name,
            ) from None
        raise SpecError(
            f"{layer.label}: {err.message} [input {given}]", call.loc, code="E006", layer=layer.name
        ) from None
    if layer.model_call_refusal:
        raise SpecError(f"{layer.label}: {layer.model_call_refusal}", call.loc, code="E006", layer=layer.name)
    if isinstance(out, list):
        return CallShapes(inputs, [tuple(s) for s in out], True)
    return CallShapes(inputs, [tuple(out)], False)


def _wiring_error(call: Call, inputs: list[Shape], sequential: bool) -> SpecError:
    """A layer called on one tensor that takes a list, or on a list that takes one tensor."""
    layer = call.layer
    if layer.takes_list:
        message = f"{layer.label}: is called on a list of tensors: inputs: {layer.list_inputs}"
        if "query" in layer.list_inputs and sequential:
            message += (
                "; a Sequential model passes one tensor: for self-attention write the model with named "
                "layers and give the same tensor twice, e.g. inputs: {x: [10, 16]} and inputs: [x, x]"
            )
        elif "query" in layer.list_inputs and len(call.inputs) == 1:
            given = source_name(call.inputs[0])
            message += f"; for self-attention, give the same tensor twice: inputs: [{given}, {given}]"
    else:
        given = fmt_shapes(inputs)
        message = f"{layer.label}: takes one input tensor, but is given {len(inputs)}: {given}"
    return SpecError(message, call.loc, code="E005", layer=layer.name)
