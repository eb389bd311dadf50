"""The machine form of the summary: one JSON object (every key is described in the README)."""

from __future__ import annotations

import json
import re
from typing import Any

from ..analysis import Analysis
from ..costs import Costs
from ..graph import unique_layers
from ..layers.base import Shape


def _shape(shape: Shape) -> list[int | None]:
    return list(shape)


def report(analysis: Analysis, costs: Costs) -> dict[str, Any]:
    layers = []
    for layer in unique_layers(analysis.layers):
        call = analysis.first_call(layer)
        shapes = analysis.shapes[call]
        output: Any = [_shape(s) for s in shapes.outputs] if shapes.multi else _shape(shapes.outputs[0])
        trainable, non_trainable = analysis.params_of(layer)
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
                "macs": costs.layer_macs(layer),
                "activation_bytes": costs.layer_activation_bytes(layer),
                "receptive_field": costs.first(layer).receptive_field,
                "effective_stride": costs.first(layer).effective_stride,
            }
        )
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


_FLAT_ARRAY = re.compile(r"\[\s*([^\[\]{}]*?)\s*\]")


def dumps(data: dict[str, Any]) -> str:
    """Indented JSON with innermost arrays (shapes, input lists) kept on one line."""
    text = json.dumps(data, indent=2)
    return _FLAT_ARRAY.sub(lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text)
