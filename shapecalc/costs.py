"""What a model costs, read off an analysis: multiply-accumulates, memory and receptive fields.

Every figure is for one example (the batch axis excluded) unless it says otherwise; a size
the analysis leaves unknown makes the figures that need it unknown (None), so to have them,
analyse the graph at concrete sizes first (:class:`shapecalc.analysis.ConcreteSizes`). The
rules themselves live with the layers (``Layer.macs``, ``Layer.receptive_field``); this module
walks the model's calls and adds them up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from .analysis import Analysis
from .arithmetic import Field
from .errors import ShapeError, SpecError
from .graph import Call
from .layers import args as A
from .layers.base import Layer, Shape, known_product, known_sum
from .layers.input_layer import InputLayer


class CallCosts(NamedTuple):
    """One call: its multiply-accumulates and output bytes for one example, the dtype of its
    outputs, and their field."""

    macs: int | None
    activation_bytes: int | None
    dtype: str
    field: Field | None

    @property
    def receptive_field(self) -> list[int] | None:
        """Input positions one output position sees, per spatial axis; None where undefined."""
        windows = self.field.spatial_windows() if self.field else None
        return None if windows is None else [w.size for w in windows]

    @property
    def effective_stride(self) -> list[int] | None:
        """Input positions between neighbouring output positions, per spatial axis."""
        windows = self.field.spatial_windows() if self.field else None
        return None if windows is None else [w.jump for w in windows]


@dataclass(frozen=True)
class Costs:
    """The model's costs: per call, and in total for one example and for ``batch`` examples."""

    analysis: Analysis  # what they were read off
    calls: dict[Call, CallCosts]
    batch: int
    total_macs: int | None  # one example
    input_bytes: int | None  # one example of every input
    activation_bytes: int | None  # one example: the outputs of every call but the inputs
    param_bytes: int

    def of_layer(self, layer: Layer) -> list[CallCosts]:
        """The costs of the layer's calls in the model (a shared layer works once per call)."""
        return [self.calls[c] for c in self.analysis.calls_of(layer) if c in self.calls]

    def layer_macs(self, layer: Layer) -> int | None:
        """A layer's MACs over all its calls in the model."""
        return known_sum(c.macs for c in self.of_layer(layer))

    def layer_activation_bytes(self, layer: Layer) -> int | None:
        return known_sum(c.activation_bytes for c in self.of_layer(layer))

    def first(self, layer: Layer) -> CallCosts:
        """The costs of the layer's first call in the model (its receptive field)."""
        return self.of_layer(layer)[0]

    @property
    def batch_macs(self) -> int | None:
        return None if self.total_macs is None else self.total_macs * self.batch

    @property
    def batch_input_bytes(self) -> int | None:
        return None if self.input_bytes is None else self.input_bytes * self.batch

    @property
    def batch_activation_bytes(self) -> int | None:
        return None if self.activation_bytes is None else self.activation_bytes * self.batch

    @property
    def total_bytes(self) -> int | None:
        """As torchinfo estimates a forward pass: inputs, activations and parameters, for the batch."""
        return known_sum([self.batch_input_bytes, self.batch_activation_bytes, self.param_bytes])


def model_costs(analysis: Analysis, batch: int = 1) -> Costs:
    """The costs of the model's calls, in the model's order. ``batch`` scales the totals."""
    calls: dict[Call, CallCosts] = {}
    inputs: list[int | None] = []
    activations: list[int | None] = []
    for call in analysis.model_calls:
        costs = _call_costs(analysis, call, calls)
        calls[call] = costs
        (inputs if isinstance(call.layer, InputLayer) else activations).append(costs.activation_bytes)
    macs = known_sum(c.macs for c in calls.values())
    param_bytes = sum(w.nbytes for w in analysis.weights)
    return Costs(analysis, calls, batch, macs, known_sum(inputs), known_sum(activations), param_bytes)


def _call_costs(analysis: Analysis, call: Call, done: dict[Call, CallCosts]) -> CallCosts:
    layer = call.layer
    outputs = analysis.output_shapes(call)
    # each input tensor's call (a reference to all of a call's outputs stands for each of them)
    sources = [
        done.get(ref.call)
        for ref in call.inputs
        for _ in (analysis.output_shapes(ref.call) if ref.index is None else [0])
    ]
    dtype = layer.output_dtype([s.dtype if s else "float32" for s in sources])
    nbytes = known_sum(_bytes(shape, dtype) for shape in outputs)
    if isinstance(layer, InputLayer):
        return CallCosts(0, nbytes, dtype, Field.of_input(len(outputs[0])))
    shapes = analysis.shapes[call]
    given: Any = shapes.inputs if layer.takes_list else shapes.inputs[0]
    made: Any = shapes.outputs if shapes.multi else shapes.outputs[0]
    try:
        macs = layer.macs(given, made)
    except ShapeError as err:  # a custom layer's macs expression
        where = err.location or call.loc
        raise SpecError(f"{layer.label}: {err.message}", where, code="E006") from None
    fields = [s.field for s in sources if s and s.field]
    if len(fields) < len(sources):
        return CallCosts(macs, nbytes, dtype, None)  # what an input sees is undefined: so is this
    return CallCosts(macs, nbytes, dtype, layer.receptive_field(fields, given, made))


def _bytes(shape: Shape, dtype: str) -> int | None:
    """Bytes of one example of a tensor; None for an unknown size or a string tensor."""
    size = known_product(shape[1:])
    itemsize = A.DTYPE_SIZES.get(dtype)
    return None if size is None or itemsize is None else size * itemsize
