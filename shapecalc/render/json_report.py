"""The machine form of the summary: one JSON object (every key is described in the README)."""

from __future__ import annotations

import json
from typing import Any

from ..analysis import Analysis
from ..costs import Costs
from ..graph import unique_layers
from ..layers.base import Shape, known_sum


def _shape(shape: Shape) -> list[int | None]:
    return list(shape)


def report(analysis: Analysis, costs: Costs) -> dict[str, Any]:
    layers = []
    for layer in unique_layers(analysis.layers):
        call = analysis.first_call(layer)
        shapes = analysis.shapes[call]
        output: Any = [_shape(s) for s in shapes.outputs] if shapes.multi else _shape(shapes.outputs[0])
        trainable, non_trainable = analysis.params_of(layer)
        calls = costs.of_layer(layer)
        inputs = []
        for ref in call.inputs:
            source = ref.call.alias or ref.call.layer.name
            count = len(analysis.output_shapes(ref.call))
            if ref.index is None:
                inputs.extend([source] if count == 1 else [f"{source}.{k}" for k in range(count)])
            else:
                inputs.append(source if ref.index == 0 and count == 1 else f"{source}.{ref.index}")
        layers.append(
            {
                "name": layer.name,
                "type": layer.type_name(),
                "inputs": inputs,
                "output_shape": output,
                "params": trainable + non_trainable,
                "trainable_params": trainable,
                "non_trainable_params": non_trainable,
                "macs": known_sum(c.macs for c in calls),
                "activation_bytes": known_sum(c.activation_bytes for c in calls),
                "receptive_field": calls[0].receptive_field,
                "effective_stride": calls[0].effective_stride,
                "blocks": [instance for instance, _ in call.blocks],
            }
        )
        if layer.is_operation:  # a keras.ops call Keras records as a node (a mask's too), not a layer
            layers[-1]["operation"] = True
    outputs = []
    for call, k in analysis.output_refs():
        count = len(analysis.output_shapes(call))
        name = call.alias or call.layer.name
        outputs.append(name if count == 1 else f"{name}.{k}")
    return {
        "name": analysis.graph.name,
        "layers": layers,
        "outputs": outputs,
        "total_params": analysis.total_params,
        "trainable_params": analysis.trainable_params,
        "non_trainable_params": analysis.non_trainable_params,
        "weight_bytes": costs.param_bytes,
        "total_macs": costs.total_macs,
        "batch": costs.batch,
        "batch_macs": costs.batch_macs,
        "input_bytes": costs.batch_input_bytes,
        "forward_bytes": costs.batch_activation_bytes,
        "total_bytes": costs.total_bytes,
    }


_COMPACT = json.JSONEncoder(separators=(", ", ": ")).encode  # the C encoder: no indent


def dumps(data: dict[str, Any]) -> str:
    """JSON a person can read and a large model writes fast: each top-level key on a line of
    its own, each item of a list of objects (a layer, a problem) too, everything else compact,
    all through the standard library's C encoder (an indented dump runs in Python, 10x slower)."""
    lines = ["{"]
    last = len(data) - 1
    for i, (key, value) in enumerate(data.items()):
        end = "," if i < last else ""
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            items = [f"    {_COMPACT(item)}," for item in value]
            items[-1] = items[-1][:-1]
            lines += [f"  {_COMPACT(key)}: [", *items, f"  ]{end}"]
        else:
            lines.append(f"  {_COMPACT(key)}: {_COMPACT(value)}{end}")
    lines.append("}")
    return "\n".join(lines)
