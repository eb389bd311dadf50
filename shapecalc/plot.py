"""The model graph as Keras's ``plot_model(model, show_shapes=True, show_layer_names=True)``
draws it (keras/src/utils/model_visualization.py), as plain data for the renderers.

Keras's rules, kept here:

* one node per layer of the model, a shared layer once; a Sequential model has no InputLayer
  node (``model.layers`` leaves it out), a functional one has one per input;
* a node shows the layer's name and class, the shapes of its *first* call as Python prints
  them (``(None, 32)``, ``(None,)``; several tensors as a list ``[(None, 8), (None, 8)]``), no
  input shape for an InputLayer;
* one edge per pair of connected layers: a Sequential model links each layer to the next, a
  functional one each source layer of each of its calls in the model to the layer; a pair
  connected twice (``Add([x, x])``, a shared layer called twice on the same tensor) is drawn
  once, as Keras's ``add_edge`` skips an edge it already has.

shapecalc adds each layer's parameter count and, on request (``expand``), opens the layers a
wrapper holds (Bidirectional's two copies, TimeDistributed's layer, a recurrent layer's cell) as
Keras's ``expand_nested`` opens a nested model, which is all it opens: the wrapper becomes a
cluster of its inner layers, edges into it go to the layers that read its input, edges out of it
leave from those that make its output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from .analysis import Analysis
from .graph import unique_layers
from .layers.base import Layer, Shape, Weight, fmt_shape
from .layers.input_layer import InputLayer
from .layers.recurrent import RNN
from .layers.recurrent_cells import StackedRNNCells
from .layers.rnn_wrappers import Bidirectional, TimeDistributed


@dataclass(frozen=True)
class PlotNode:
    """A layer's box. ``inputs`` is None for an InputLayer (Keras prints its output alone);
    ``params`` is None there too. A node with ``children`` (``expand``) is drawn as a cluster
    of them topped by its own box, which edges do not reach (they go to the children)."""

    id: str
    name: str
    type: str
    inputs: str | None
    outputs: str
    params: tuple[int, int] | None  # (trainable, non-trainable)
    children: tuple[PlotNode, ...] = ()
    chained: bool = False  # the children run one after the other (stacked cells), not side by side


@dataclass(frozen=True)
class PlotEdge:
    source: str  # ids of nodes without children: an edge never ends at a cluster
    target: str


@dataclass(frozen=True)
class Plot:
    name: str
    nodes: list[PlotNode]
    edges: list[PlotEdge] = field(default_factory=list)
    # Invisible links that only place an expanded wrapper's own box at the top of its cluster,
    # below the layers feeding it (a cluster label would be drawn over by the edges).
    anchors: list[PlotEdge] = field(default_factory=list)


DIRECTIONS = ("TB", "LR")  # Keras's rankdir values: top to bottom, left to right


def params_text(params: tuple[int, int]) -> str:
    """``264``, or ``1,040 (16 non-trainable)``: the count the summary shows, and what is frozen."""
    trainable, frozen = params
    total = f"{trainable + frozen:,}"
    return f"{total} ({frozen:,} non-trainable)" if frozen else total


def shapes_text(shapes: list[Shape] | None) -> str:
    """As Keras's label prints ``layer.input`` / ``layer.output``: one tensor's shape as a
    tuple, several as a list of tuples, ``?`` when it is not known."""
    if shapes is None:
        return "?"
    if len(shapes) == 1:
        return fmt_shape(shapes[0])
    return "[" + ", ".join(fmt_shape(s) for s in shapes) + "]"


def model_plot(analysis: Analysis, expand: bool = False) -> Plot:
    """The nodes and edges Keras's model_to_dot makes of the model."""
    layers = unique_layers(analysis.layers)
    nodes = {layer.name: _node(analysis, layer, expand) for layer in layers}
    connected: list[tuple[str, str]] = []
    if analysis.graph.sequential:
        # Keras: add_edge(layers[i], layers[i + 1]) over model.layers, repeats included
        connected = [(a.name, b.name) for a, b in pairwise(analysis.layers)]
    else:
        in_model = analysis.call_depth
        for layer in layers:
            for call in analysis.calls_of(layer):
                if call in in_model:  # Keras skips a call that leads to no output
                    connected.extend((ref.call.layer.name, layer.name) for ref in call.inputs)
    pairs: dict[tuple[str, str], None] = {}  # an ordered set: Keras adds each pair once
    anchors: dict[tuple[str, str], None] = {}
    for node in nodes.values():
        pairs.update(dict.fromkeys(_inner_pairs(node)))
        anchors.update(dict.fromkeys(_inner_anchors(node)))
    for source, target in connected:
        for exit_id in _ends(nodes[source], last=True):
            if nodes[target].children:
                anchors[exit_id, target] = None
            for entry_id in _ends(nodes[target], last=False):
                pairs[exit_id, entry_id] = None
    return Plot(
        analysis.graph.name,
        list(nodes.values()),
        [PlotEdge(s, t) for s, t in pairs],
        [PlotEdge(s, t) for s, t in anchors],
    )


def _ends(node: PlotNode, last: bool) -> list[str]:
    """The drawn nodes an edge leaves from (``last``) or goes to, as Keras resolves an edge to
    an expanded model: the layer making the output, the layer reading the input."""
    if not node.children:
        return [node.id]
    parts = [node.children[-1 if last else 0]] if node.chained else node.children
    return [end for part in parts for end in _ends(part, last)]


def _inner_pairs(node: PlotNode) -> list[tuple[str, str]]:
    pairs = [pair for child in node.children for pair in _inner_pairs(child)]
    if node.chained:
        for before, after in pairwise(node.children):
            pairs.extend((s, t) for s in _ends(before, last=True) for t in _ends(after, last=False))
    return pairs


def _inner_anchors(node: PlotNode) -> list[tuple[str, str]]:
    firsts = node.children[:1] if node.chained else node.children
    return [(node.id, child.id) for child in firsts] + [
        pair for child in node.children for pair in _inner_anchors(child)
    ]


def _node(analysis: Analysis, layer: Layer, expand: bool) -> PlotNode:
    first = analysis.first_call(layer)  # Keras's layer.input / layer.output: the first call's
    outputs = shapes_text(analysis.output_shapes(first))
    if isinstance(layer, InputLayer):
        return PlotNode(layer.name, layer.name, layer.type_name(), None, outputs, None)
    input_shapes = analysis.input_shapes(first)
    children: tuple[PlotNode, ...] = ()
    if expand:
        one_input = input_shapes[0] if len(input_shapes) == 1 else None
        children = _children(layer, layer.name, one_input, analysis.weights_of(layer), "")
    return PlotNode(
        layer.name,
        layer.name,
        layer.type_name(),
        shapes_text(input_shapes),
        outputs,
        analysis.params_of(layer),
        children,
        isinstance(layer, StackedRNNCells),
    )


def inner_layers(layer: Layer, input_shape: Shape | None) -> list[tuple[Layer, Shape | None]]:
    """The layers ``layer`` holds, each with the input shape it is built for (None where
    shapecalc has no rule for it): the copies a Bidirectional runs (its ``layer`` argument is
    only their template), the step a TimeDistributed or a recurrent layer's cell sees, stacked
    cells one after the other; any other layer-valued argument (SpectralNormalization's) gets
    the input."""
    step = None if input_shape is None else (input_shape[0], *input_shape[2:])
    if isinstance(layer, Bidirectional):
        return [(layer.forward_layer, input_shape), (layer.backward, input_shape)]
    if isinstance(layer, TimeDistributed):
        return [(layer.layer, step)]
    if isinstance(layer, RNN):
        return [(layer.cell, step)]
    if isinstance(layer, StackedRNNCells):
        chained: list[tuple[Layer, Shape | None]] = []
        shape = input_shape
        for cell in layer.cells:
            chained.append((cell, shape))
            out = _output_shapes(cell, shape)
            shape = out[0] if out else None
        return chained
    found: list[tuple[Layer, Shape | None]] = []
    for arg in type(layer).nested_arguments():
        value = getattr(layer, arg.name, None)
        for inner in value if isinstance(value, list) else [value]:
            if isinstance(inner, Layer):
                found.append((inner, input_shape))
    return found


def _children(
    layer: Layer, node_id: str, input_shape: Shape | None, weights: list[Weight], prefix: str
) -> tuple[PlotNode, ...]:
    """Nodes for the layers ``layer`` holds; their weights are the wrapper's, under the inner
    layer's name (``forward_lstm/lstm_cell/kernel``)."""
    children = []
    for inner, shape in inner_layers(layer, input_shape):
        path = f"{prefix}{inner.name}/"
        own = [w for w in weights if w.path.startswith(path)]
        trainable = sum(w.size for w in own if w.trainable)
        inner_id = f"{node_id}/{inner.name}"
        children.append(
            PlotNode(
                inner_id,
                inner.name,
                # Keras's class of ConvLSTM's cell is ConvLSTMCell; shapecalc's is private
                inner.type_name().lstrip("_"),
                shapes_text(None if shape is None else [shape]),
                shapes_text(_output_shapes(inner, shape)),
                (trainable, sum(w.size for w in own) - trainable),
                _children(inner, inner_id, shape, weights, path),
                isinstance(inner, StackedRNNCells),
            )
        )
    return tuple(children)


def _output_shapes(layer: Layer, input_shape: Shape | None) -> list[Shape] | None:
    if input_shape is None:
        return None
    # a recurrent cell is not called on a tensor: what one step gives is its output
    step_output = getattr(layer, "step_output", None)
    size = getattr(layer, "output_size", None)
    try:
        if callable(step_output):
            return [tuple(step_output(input_shape))]
        if isinstance(size, int):
            return [(input_shape[0], size)]
        out = layer.compute_output_shape(input_shape)
    except Exception:  # a drawing shows "?" where an inner rule does not apply, as Keras does
        return None
    return [tuple(s) for s in out] if isinstance(out, list) else [tuple(out)]
