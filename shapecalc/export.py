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
from .blocks import MODEL_CLASSES
from .errors import LocatedRefusal
from .graph import Call, TensorRef, unique_layers
from .layers.base import Layer
from .layers.factory import Namer
from .layers.input_layer import InputLayer


class ExportRefused(LocatedRefusal, ValueError):
    """The spec holds what the export cannot write yet (custom layers), located where."""


def keras_code(analysis: Analysis, source: str) -> str:
    graph = analysis.graph
    layers = unique_layers(analysis.layers)
    custom = [layer for layer in layers if type(layer).__module__ == "shapecalc.custom"]
    if custom:
        names = ", ".join(sorted({layer.type_name() for layer in custom}))
        raise ExportRefused(
            f"custom layers ({names}) cannot be exported yet: write them as Keras layers",
            analysis.first_call(custom[0]).loc,
        )
    deep = [call for call in graph.calls if len(_models(call)) > 1]
    if deep:
        names = ", ".join(sorted({name for call in deep for name, _ in _models(call)[1:]}))
        raise ExportRefused(
            f"models used as layers inside models used as layers ({names}) cannot be exported yet",
            deep[0].loc,
        )
    modules = sorted(
        {type(layer).keras_module for layer in layers if getattr(type(layer), "keras_module", None)}
    )
    lines = [
        f'"""The model of {source}, written by shapecalc export: run it with Keras installed."""',
        "",
        "import keras",
        *(f"import {module}" for module in modules),
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
    calls = [call for call in analysis.graph.calls if not isinstance(call.layer, InputLayer)]
    for model, members in _grouped(calls):
        if model is None:
            entries += [_layer(call.layer, analysis) for call in members]
        else:  # a Sequential model used as a layer of this one (a Functional one cannot be)
            inner = ", ".join(_layer(call.layer, analysis) for call in members)
            entries.append(f"keras.Sequential([{inner}], name={model!r})")
    return [
        "return keras.Sequential(",
        "    [",
        *(f"        {entry}," for entry in entries),
        "    ],",
        f"    name={analysis.graph.name!r},",
        ")",
    ]


def _models(call: Call) -> list[tuple[str, str]]:
    """The models used as layers (blocks with ``model:``) a call is in, outermost first."""
    return [(name, kind) for name, kind in call.blocks if kind in MODEL_CLASSES]


def _grouped(calls: list[Call]) -> list[tuple[str | None, list[Call]]]:
    """The calls in runs: those of one model used as a layer together (None: the model's own)."""
    runs: list[tuple[str | None, list[Call]]] = []
    for call in calls:
        models = _models(call)
        model = models[0][0] if models else None
        if runs and runs[-1][0] == model and model is not None:
            runs[-1][1].append(call)
        else:
            runs.append((model, [call]))
    return runs


class _Writer:
    """The functional API's lines for calls, each call's output held in a variable."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.tensors: dict[Call, str] = {}
        self.layers: dict[Layer, str] = {}
        self.taken: set[str] = set()
        self.lines: list[str] = []
        self.auto_names = Namer()  # how Keras names the operations the code leaves unnamed, in its order

    def call(self, call: Call) -> None:
        layer = call.layer
        variable = _variable(call.alias or layer.name, self.taken)
        self.tensors[call] = variable
        if isinstance(layer, InputLayer):
            self.lines.append(f"{variable} = {_input(layer, sequential=False)}")
        elif layer.is_operation:
            self.lines.append(
                f"{variable} = {_operation(call, self.tensors, self.analysis, self.auto_names)}"
            )
        else:
            if layer not in self.layers:
                self.layers[layer] = _variable(f"{layer.name}_layer", self.taken)
                self.lines.append(f"{self.layers[layer]} = {_layer(layer, self.analysis)}")
            arguments = _call_arguments(call, self.tensors, self.analysis)
            self.lines.append(f"{variable} = {self.layers[layer]}({arguments})")

    def model(self, name: str, kind: str, members: list[Call]) -> None:
        """A model used as a layer: built from its layers, then called on what it reads."""
        analysis = self.analysis
        inside = set(members)
        reads = list(dict.fromkeys(ref.call for c in members for ref in c.inputs if ref.call not in inside))
        model = _variable(f"{name}_model", self.taken)
        outer = [self.tensors[c] for c in reads]
        if kind == "Sequential":
            self.lines += [
                f"{model} = keras.Sequential(",
                "    [",
                *(f"        {_layer(c.layer, analysis)}," for c in members),
                "    ],",
                f"    name={name!r},",
                ")",
            ]
        else:
            saved = dict(self.tensors)
            inputs = []
            for source in reads:  # the nested model's inputs, shaped as what it reads
                shape = analysis.shapes[source].outputs[0][1:]
                self.tensors[source] = _variable(f"{name}_input", self.taken)
                inputs.append(self.tensors[source])
                self.lines.append(f"{self.tensors[source]} = keras.Input(shape={_python(tuple(shape))})")
            for c in members:
                self.call(c)
            outputs = [_tensor(ref, self.tensors, analysis) for ref in analysis.graph.instance_outputs[name]]
            shown = outputs[0] if len(outputs) == 1 else "[" + ", ".join(outputs) + "]"
            self.lines.append(
                f"{model} = keras.Model(inputs=[{', '.join(inputs)}], outputs={shown}, name={name!r})"
            )
            self.tensors = saved
        result = _variable(name, self.taken)
        self.lines.append(
            f"{result} = {model}({outer[0] if len(outer) == 1 else '[' + ', '.join(outer) + ']'})"
        )
        outputs = analysis.graph.instance_outputs.get(name) or [TensorRef(members[-1], 0, members[-1].loc)]
        for k, ref in enumerate(outputs):
            self.tensors[ref.call] = result if len(outputs) == 1 else f"{result}[{k}]"


def _functional(analysis: Analysis) -> list[str]:
    graph = analysis.graph
    writer = _Writer(analysis)
    calls = [call for call in graph.calls if not call.computes_mask]  # Keras records masks itself
    for model, members in _grouped(calls):
        if model is None:
            for call in members:
                writer.call(call)
        else:
            writer.model(model, _models(members[0])[0][1], members)
    tensors = writer.tensors
    inputs = ", ".join(tensors[call] for call in graph.inputs)
    outputs = [_tensor(ref, tensors, analysis) for ref in graph.outputs]
    shown = outputs[0] if len(outputs) == 1 else "[" + ", ".join(outputs) + "]"
    writer.lines.append(
        f"return keras.Model(inputs=[{inputs}], outputs={shown}, name={analysis.graph.name!r})"
    )
    return writer.lines


def _operation(call: Call, tensors: dict[Call, str], analysis: Analysis, auto_names: Namer) -> str:
    """``keras.ops.add(x, 3.0)``; where Keras would name the call otherwise than the spec does,
    the operation's class with its name: ``keras.src.ops.numpy.Add(name="gate")(x, 3.0)``."""
    layer = call.layer
    operands = [_tensor(ref, tensors, analysis) for ref in call.inputs]
    if hasattr(layer, "x1"):  # a Python number among the operands takes its place
        if layer.x1 is not None:
            operands.insert(0, repr(layer.x1))
        elif layer.x2 is not None:
            operands.append(repr(layer.x2))
    settings = {
        key: value
        for key, value in analysis.graph.arguments.get(layer, {}).items()
        if key not in ("name", "x1", "x2")
    }
    keywords = [f"{key}={_python(value)}" for key, value in settings.items()]
    if auto_names.peek(layer.type_name()) == layer.name:
        auto_names(layer.type_name())
        return f"keras.{layer.spec_type()}({', '.join([*operands, *keywords])})"
    named = ", ".join([*keywords, f"name={layer.name!r}"])
    return f"{layer.keras_class()}({named})({', '.join(operands)})"


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
    cls = type(layer)
    module = getattr(cls, "keras_module", None)
    kind = f"{module}.{cls.type_name()}" if module else f"keras.layers.{cls.type_name()}"
    return _constructor(kind, arguments, layer)


def _constructor(kind: str, arguments: dict[str, Any], layer: Any) -> str:
    nested = {arg.name for arg in type(layer).nested_arguments()} if layer is not None else set()
    parts = []
    for key, value in arguments.items():
        if key in nested:
            parts.append(f"{key}={_nested(value)}")
        else:
            parts.append(f"{key}={_python(value)}")
    return f"{kind}({', '.join(parts)})"


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
