"""The order Keras gives a functional model's layers and the depth of each call (Keras's
map_graph), from the graph graph.py builds."""

from __future__ import annotations

from dataclasses import dataclass

from .graph import Call, Graph
from .layers.base import Layer


@dataclass
class FunctionalStructure:
    """What Keras's map_graph makes of a functional model: its layers in order and the depth
    of each call that belongs to it (0 at the outputs)."""

    layers: list[Layer]
    call_depth: dict[Call, int]


def keras_functional_structure(graph: Graph) -> FunctionalStructure:
    """Keras's order of a functional model's layers (keras.src.ops.function.map_graph).

    Keras walks depth-first from the outputs, numbers each layer when first seen, gives every
    call a depth (its distance from the outputs; a shared layer takes its deepest call's) and
    lists layers by decreasing depth, ties in traversal order. Layers that lead to no output
    are not part of the model; unused inputs are.
    """
    finished: set[Call] = set()
    post_order: list[Call] = []
    first_seen: dict[Layer, int] = {}
    # Depth-first from each output, iteratively (a 10,000-layer chain is deeper than Python's
    # recursion limit); a call is numbered when first entered, listed once all its inputs are.
    for ref in graph.outputs:
        stack: list[tuple[Call, int]] = [(ref.call, 0)]
        while stack:
            call, next_input = stack.pop()
            if next_input == 0:
                if call in finished:
                    continue
                first_seen.setdefault(call.layer, len(first_seen))
            if next_input < len(call.inputs):
                stack.append((call, next_input + 1))
                stack.append((call.inputs[next_input].call, 0))
            else:
                finished.add(call)
                post_order.append(call)

    call_depth: dict[Call, int] = {}
    layer_depth: dict[Layer, int] = {}
    for call in reversed(post_order):
        depth = max(call_depth.setdefault(call, 0), layer_depth.get(call.layer, 0))
        layer_depth[call.layer] = depth
        call_depth[call] = depth
        for ref in call.inputs:
            if ref.call in finished:
                call_depth[ref.call] = max(depth + 1, call_depth.get(ref.call, 0))
    for call in graph.inputs:
        if call.layer not in layer_depth:
            layer_depth[call.layer] = 0
            first_seen[call.layer] = -1
            call_depth[call] = 0
    ordered = sorted(layer_depth, key=lambda layer: (-layer_depth[layer], first_seen[layer]))
    return FunctionalStructure(ordered, call_depth)
