"""A spec written as Keras code: ``shapecalc export SPEC --to keras``.

The code builds the model the spec describes with Keras's own API: ``keras.Sequential`` for a
Sequential spec, else the functional API, one variable per layer and one per call's output, the
layers made with the arguments the spec gives them (blocks and repeats written out, variables
substituted) and the names shapecalc gave them, so the model Keras builds has the summary
shapecalc prints. ``build_model()`` returns it; ``model`` is that model.
"""

from __future__ import annotations

import keyword
import re
from typing import Any

from .analysis import Analysis
from .errors import Location
from .graph import Call, TensorRef, unique_layers
from .layers.base import Layer
from .layers.input_layer import InputLayer


class ExportRefused(ValueError):
    """The spec holds what the export cannot write yet (custom layers); ``location`` is where."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}error: {self.message}"


def keras_code(analysis: Analysis, source: str) -> str:
    graph = analysis.graph
    custom = [
        layer for layer in unique_layers(analysis.layers) if type(layer).__module__ == "shapecalc.custom"
    ]
    if custom:
        names = ", ".join(sorted({layer.type_name() for layer in custom}))
        raise ExportRefused(
            f"custom layers ({names}) cannot be exported yet: write them as Keras layers",
            analysis.first_call(custom[0]).loc,
        )
    lines = [
        f'"""The model of {source}, written by shapecalc export: run it with Keras installed."""',
        "",
        "import keras",
        "",
        "",
        "def build_model():",
    ]
    body = _sequential(analysis) if graph.sequential else _functional(analysis)
    lines += [f"    {line}" for line in body]
    lines += ["", "", "model = build_model()", ""]
    return "\n".join(lines)


def _sequential(analysis: Analysis) -> list[str]:
    (source,) = analysis.graph.inputs
    entries = [_input(source.layer, sequential=True)]
    entries += [
        _layer(call.layer, analysis)
        for call in analysis.graph.calls
        if not isinstance(call.layer, InputLayer)
    ]
    return [
        "return keras.Sequential(",
        "    [",
        *(f"        {entry}," for entry in entries),
        "    ],",
        f"    name={analysis.graph.name!r},",
        ")",
    ]


def _functional(analysis: Analysis) -> list[str]:
    graph = analysis.graph
    tensors: dict[Call, str] = {}
    layers: dict[Layer, str] = {}
    taken: set[str] = set()
    lines = []
    for call in graph.calls:
        layer = call.layer
        variable = _variable(call.alias or layer.name, taken)
        tensors[call] = variable
        if isinstance(layer, InputLayer):
            lines.append(f"{variable} = {_input(layer, sequential=False)}")
            continue
        if layer not in layers:
            layers[layer] = _variable(f"{layer.name}_layer", taken)
            lines.append(f"{layers[layer]} = {_layer(layer, analysis)}")
        lines.append(f"{variable} = {layers[layer]}({_call_arguments(call, tensors, analysis)})")
    inputs = ", ".join(tensors[call] for call in graph.inputs)
    outputs = [_tensor(ref, tensors, analysis) for ref in graph.outputs]
    shown = outputs[0] if len(outputs) == 1 else "[" + ", ".join(outputs) + "]"
    lines.append(f"return keras.Model(inputs=[{inputs}], outputs={shown}, name={analysis.graph.name!r})")
    return lines


def _input(layer: InputLayer, sequential: bool) -> str:
    batch, *shape = layer.batch_shape
    parts = [f"shape={_python(tuple(shape))}"]
    if batch is not None:
        parts.append(f"batch_size={batch}")
    if layer.input_dtype != "float32":
        parts.append(f"dtype={layer.input_dtype!r}")
    if not sequential:
        parts.append(f"name={layer.name!r}")
    return f"keras.Input({', '.join(parts)})"


def _layer(layer: Layer, analysis: Analysis) -> str:
    """``keras.layers.Conv2D(name=..., filters=...)`` with the spec's arguments."""
    arguments = dict(analysis.graph.arguments.get(layer, {}))
    arguments["name"] = layer.name
    return _constructor(type(layer).type_name(), arguments, layer)


def _constructor(kind: str, arguments: dict[str, Any], layer: Any) -> str:
    nested = {arg.name for arg in type(layer).nested_arguments()} if layer is not None else set()
    parts = []
    for key, value in arguments.items():
        if key in nested:
            parts.append(f"{key}={_nested(value)}")
        else:
            parts.append(f"{key}={_python(value)}")
    return f"keras.layers.{kind}({', '.join(parts)})"


def _nested(value: Any) -> str:
    """A layer written in the one-key form (a wrapper's layer, a cell), or a list of them."""
    if isinstance(value, list):
        return "[" + ", ".join(_nested(item) for item in value) + "]"
    if isinstance(value, dict) and len(value) == 1:
        ((kind, arguments),) = value.items()
        from .layers import registry

        cls = registry.lookup(kind)
        inner = {arg.name for arg in cls.nested_arguments()} if cls else set()
        parts = [
            f"{key}={_nested(item) if key in inner else _python(item)}"
            for key, item in (arguments or {}).items()
        ]
        return f"keras.layers.{cls.type_name() if cls else kind}({', '.join(parts)})"
    return _python(value)


def _call_arguments(call: Call, tensors: dict[Call, str], analysis: Analysis) -> str:
    layer = call.layer
    own = [_tensor(ref, tensors, analysis) for ref in call.own_inputs]
    if layer.takes_list and layer.positional_call:
        parts = list(own)
    elif layer.takes_list or call.as_list:
        parts = ["[" + ", ".join(own) + "]"]
    else:
        parts = list(own)
    for name, value in call.call_args.items():
        if name in call.tensor_args:
            start, count = call.tensor_args[name]
            refs = call.inputs[start : start + count]
            parts.append(f"{name}=[{', '.join(_tensor(ref, tensors, analysis) for ref in refs)}]")
        else:
            parts.append(f"{name}={_python(value)}")
    if call.training is not None:
        parts.append(f"training={call.training!r}")
    return ", ".join(parts)


def _tensor(ref: TensorRef, tensors: dict[Call, str], analysis: Analysis) -> str:
    """The expression of a referenced tensor: a call's output, or one of its outputs."""
    variable = tensors[ref.call]
    several = analysis.shapes[ref.call].multi if ref.call in analysis.shapes else False
    if not several:
        return variable
    # a reference to all of a layer's outputs stands for each of them, in a list or a call
    return f"*{variable}" if ref.index is None else f"{variable}[{ref.index}]"


def _variable(name: str, taken: set[str]) -> str:
    """A Python name for a spec's name (``conv2_block1_out``; ``shared@1`` -> ``shared_1``)."""
    base = re.sub(r"\W", "_", name)
    if not base or base[0].isdigit() or keyword.iskeyword(base):
        base = f"t_{base}"
    variable, n = base, 1
    while variable in taken or variable in ("keras", "build_model", "model"):
        variable, n = f"{base}_{n}", n + 1
    taken.add(variable)
    return variable


def _python(value: Any) -> str:
    """A value as Python source (YAML's lists as tuples where Keras takes tuples is fine: lists)."""
    if isinstance(value, tuple):
        return "(" + ", ".join(_python(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(_python(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_python(v)}" for k, v in value.items()) + "}"
    return repr(value)
