"""The judge: real Keras 3, driven from the same plain spec data shapecalc reads.

Everything here talks to Keras only; nothing is imported from shapecalc, so a comparison
never checks shapecalc against itself. Keras runs on the numpy backend unless
KERAS_BACKEND says otherwise.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "numpy")
warnings.filterwarnings("ignore")

import keras  # noqa: E402

Shape = tuple[int | None, ...]

# How many times each kind of question was put to Keras in this test run (printed by conftest).
CALLS: dict[str, int] = {
    "layer shapes": 0,
    "model summaries": 0,
    "layer outputs": 0,
    "model runs": 0,
    "model plots": 0,
}

# Layers called with several positional tensors rather than one list.
POSITIONAL_CALLS = {"MultiHeadAttention", "GroupedQueryAttention"}


@dataclass
class LayerFacts:
    """What Keras says about one layer call: output shape(s) and parameter counts."""

    output: Shape | list[Shape]
    trainable: int
    non_trainable: int
    weights: dict[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass
class Refusal:
    """Keras raised; the message is kept for the test report."""

    message: str


def _shape(x: Any) -> Shape:
    return tuple(None if d is None else int(d) for d in x.shape)


def _outputs(out: Any) -> Shape | list[Shape]:
    if isinstance(out, (list, tuple)):
        flat: list[Shape] = []
        for o in out:
            part = _outputs(o)
            flat.extend(part if isinstance(part, list) else [part])
        return flat
    return _shape(out)


# Hand-written Keras classes for the custom layers that specs declare (see keras_custom.py).
EXTRA_LAYERS: dict[str, Any] = {}


def make_layer(type_name: str, args: dict[str, Any]) -> Any:
    """Construct a Keras layer from spec arguments; nested one-key layers are built first."""
    kwargs = dict(args)
    for key in ("layer", "backward_layer", "cell", "cells"):
        value = kwargs.get(key)
        if isinstance(value, dict) and len(value) == 1:
            ((inner_type, inner_args),) = value.items()
            kwargs[key] = make_layer(inner_type, inner_args or {})
        elif isinstance(value, list) and key in ("cell", "cells"):
            kwargs[key] = [make_layer(*next(iter(v.items()))) for v in value]
    cls = EXTRA_LAYERS.get(type_name) or _application_layer(type_name) or getattr(keras.layers, type_name)
    return cls(**kwargs)


def _application_layer(type_name: str) -> Any:
    """The layers keras.applications defines for its models (not in keras.layers)."""
    from keras.src.applications import convnext, inception_resnet_v2

    return {
        "LayerScale": convnext.LayerScale,
        "StochasticDepth": convnext.StochasticDepth,
        "CustomScaleLayer": inception_resnet_v2.CustomScaleLayer,
    }.get(type_name)


def _count(weights: list[Any]) -> int:
    total = 0
    for w in weights:
        n = 1
        for d in w.shape:
            n *= int(d)
        total += n
    return total


def keras_layer_facts(
    type_name: str,
    args: dict[str, Any],
    input_shapes: list[Shape],
    dtypes: list[str] | None = None,
    as_list: bool | None = None,
) -> LayerFacts | Refusal:
    """Build one Keras layer and call it on symbolic inputs of the given batch shapes.

    ``as_list``: pass the inputs as one list (merges); default: a list when there are several.
    """
    CALLS["layer shapes"] += 1
    # free_memory=False: names restart just the same, without a gc.collect() per comparison
    keras.backend.clear_session(free_memory=False)
    dtypes = dtypes or ["float32"] * len(input_shapes)
    try:
        layer = make_layer(type_name, args)
        inputs = [keras.Input(batch_shape=s, dtype=d) for s, d in zip(input_shapes, dtypes, strict=False)]
        if type(layer).__name__ in POSITIONAL_CALLS:
            out = layer(*inputs)
        elif not (as_list or (as_list is None and len(inputs) > 1)):
            out = layer(inputs[0])
        else:
            out = layer(inputs)
    except Exception as err:
        return Refusal(f"{type(err).__name__}: {err}")
    return LayerFacts(
        output=_outputs(out),
        trainable=_count(layer.trainable_weights),
        non_trainable=_count(layer.non_trainable_weights),
        weights={w.path: tuple(int(d) for d in w.shape) for w in layer.weights},
    )


# ---------------------------------------------------------------------------------------
# Model level: a whole spec (spec-format.md section 1) built as a real Keras model.
# ---------------------------------------------------------------------------------------

# Width used to capture ``model.summary()``. Keras sizes its table as
# ``min(default, shutil.get_terminal_size().columns - 4)`` (default 88 for a
# sequential-like layout, 108 with the "Connected to" column) and rich wraps at its
# console width; both read the COLUMNS environment variable. With COLUMNS=200 neither
# limit bites, so the captured text is Keras's own default layout (88 / 108 wide),
# independent of the terminal the tests run in. LINES is set as well because rich
# falls back to 80x25 on TERM=dumb when the height is unknown.
SUMMARY_COLUMNS = 200


@dataclass
class ModelLayerFacts:
    """One row of the model: a layer in ``model.layers`` order (InputLayer rows included
    for functional models)."""

    name: str
    type: str
    output: Shape | list[Shape]  # of its first call; a list for several outputs
    trainable: int
    non_trainable: int
    weights: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # Inbound tensors of the first call as (layer name, node index, tensor index).
    inbound: list[tuple[str, int, int]] = field(default_factory=list)
    # Output shape(s) of every call, in call order (a shared layer has several).
    call_outputs: list[Shape | list[Shape]] = field(default_factory=list)

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable


@dataclass
class ModelFacts:
    """What Keras says about a whole model built from a spec."""

    name: str
    kind: str  # "Sequential" or "Functional"
    layers: list[ModelLayerFacts]
    inputs: list[str]  # input layer names
    outputs: list[tuple[str, int, int]]  # (layer name, node index, tensor index)
    total_params: int
    trainable_params: int
    non_trainable_params: int
    summary: str  # model.summary() text exactly as Keras prints it (plain, no colour)
    columns: int = SUMMARY_COLUMNS

    def layer(self, name: str) -> ModelLayerFacts:
        for row in self.layers:
            if row.name == name:
                return row
        raise KeyError(name)


def _entry(entry: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(entry, dict) or len(entry) != 1:
        raise ValueError(f"a layer entry must be a one-key mapping, got {entry!r}")
    ((type_name, args),) = entry.items()
    args = dict(args or {})
    return type_name, args


def is_sequential_spec(spec: dict[str, Any]) -> bool:
    """spec-format.md: ``input`` and no ``inputs:`` reference anywhere -> keras.Sequential."""
    if "input" not in spec or "inputs" in spec:
        return False
    for entry in spec.get("layers") or []:
        if isinstance(entry, dict) and len(entry) == 1:
            args = next(iter(entry.values()))
            if isinstance(args, dict) and "inputs" in args:
                return False
    return True


def _input_kwargs(value: Any, batch_size: Any) -> dict[str, Any]:
    """An input given as a shape list, or as {shape, dtype, ...} (other keys go to keras.Input)."""
    if isinstance(value, dict):
        kwargs = dict(value)
        kwargs["shape"] = tuple(kwargs["shape"]) if kwargs.get("shape") is not None else ()
    else:
        kwargs = {"shape": tuple(value) if value is not None else ()}
    if batch_size is not None:
        kwargs.setdefault("batch_size", batch_size)
    return kwargs


def _build_sequential(spec: dict[str, Any]) -> Any:
    inp = keras.Input(**_input_kwargs(spec["input"], spec.get("batch_size")))
    built: dict[str, Any] = {}
    layers: list[Any] = [inp]
    for entry in spec.get("layers") or []:
        type_name, args = _entry(entry)
        if type_name == "Reuse":
            # keras.Sequential refuses the same layer twice (unique names); let it say so.
            layers.append(built[args["layer"]])
            continue
        layer = make_layer(type_name, args)
        built[layer.name] = layer
        layers.append(layer)
    kwargs = {"name": spec["name"]} if spec.get("name") is not None else {}
    model = keras.Sequential(layers, **kwargs)
    if getattr(model, "_functional", None) is None:
        # Sequential.build swallows NotImplementedError and leaves the model unbuilt.
        raise RuntimeError("keras.Sequential could not be built from this spec (unbuilt model)")
    return model


def _flat(out: Any) -> list[Any]:
    return list(keras.tree.flatten(out))


def _build_functional(spec: dict[str, Any]) -> Any:
    batch_size = spec.get("batch_size")
    refs: dict[str, list[Any]] = {}  # reference name -> flat output tensors
    inputs: list[Any] = []
    if "inputs" in spec:
        for name, value in (spec["inputs"] or {}).items():
            t = keras.Input(name=name, **_input_kwargs(value, batch_size))
            inputs.append(t)
            refs[name] = [t]
    if "input" in spec:
        t = keras.Input(**_input_kwargs(spec["input"], batch_size))
        inputs.append(t)
        refs[t._keras_history.operation.name] = [t]  # "input_layer"
    if not inputs:
        raise ValueError("a spec needs `input` or `inputs`")

    def resolve(ref: Any) -> Any:
        ref = str(ref)
        if ref in refs:
            return refs[ref][0]
        head, dot, k = ref.rpartition(".")
        if dot and head in refs and k.isdigit():
            return refs[head][int(k)]
        raise ValueError(f"unknown reference {ref!r}")

    layer_objs: dict[str, Any] = {}
    previous: list[Any] = [inputs[0]]  # default feed: the previous entry's output 0
    last: list[Any] | None = None
    for entry in spec.get("layers") or []:
        type_name, args = _entry(entry)
        src = args.pop("inputs", None)
        keywords = dict(args.pop("call", None) or {})  # Keras's call-time arguments
        if "initial_state" in keywords:  # tensors of the graph, given by reference
            states = keywords["initial_state"]
            keywords["initial_state"] = [
                resolve(r) for r in (states if isinstance(states, list) else [states])
            ]
        if src is None:
            call_in = previous[0]
        elif isinstance(src, list):
            call_in = [resolve(r) for r in src]
        else:
            call_in = resolve(src)
        if type_name == "Reuse":
            layer = layer_objs[args["layer"]]
            ref_name = args.get("name")
        else:
            layer = make_layer(type_name, args)
            layer_objs[layer.name] = layer
            ref_name = layer.name
        if isinstance(call_in, list) and layer.__class__.__name__ in POSITIONAL_CALLS:
            out = layer(*call_in, **keywords)  # MultiHeadAttention(query, value[, key])
        else:
            out = layer(call_in, **keywords)
        flat = _flat(out)
        if ref_name is not None:
            refs[ref_name] = flat
        previous = last = flat

    if "outputs" in spec and spec["outputs"] is not None:
        outs = spec["outputs"]
        outputs = [resolve(r) for r in outs] if isinstance(outs, list) else resolve(outs)
    elif last is not None:
        outputs = last[0]
    else:
        raise ValueError("a spec needs at least one layer")
    kwargs = {"name": spec["name"]} if spec.get("name") is not None else {}
    return keras.Model(inputs=inputs, outputs=outputs, **kwargs)


def capture_summary(model: Any, columns: int = SUMMARY_COLUMNS, **options: Any) -> str:
    """``model.summary(**options)`` text, captured with print_fn (rich console,
    color_system=None) and a fixed width: COLUMNS/LINES are set to ``columns``/50 for the
    duration."""
    saved = {k: os.environ.get(k) for k in ("COLUMNS", "LINES")}
    os.environ["COLUMNS"] = str(columns)
    os.environ["LINES"] = "50"
    chunks: list[str] = []
    try:
        model.summary(print_fn=chunks.append, **options)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return "".join(chunks)


def _rel_path(path: str, model_name: str) -> str:
    """Keras builds a Sequential's layers inside the model's name scope, so their variable
    paths read ``<model name>/conv2d/kernel``; functional layers are built when called,
    before the model exists, and read ``conv2d/kernel``. The contract's keys
    (``--weights``) are the latter form, so the model-name prefix is dropped."""
    prefix = model_name + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def _history(t: Any) -> tuple[str, int, int]:
    h = t._keras_history
    return (h.operation.name, int(h.node_index), int(h.tensor_index))


def build_keras_model(spec: dict[str, Any]) -> Any:
    """The Keras model for a spec (after clear_session, so auto-names start afresh)."""
    # free_memory=False: names restart just the same, without a gc.collect() per comparison
    keras.backend.clear_session(free_memory=False)
    return _build_sequential(spec) if is_sequential_spec(spec) else _build_functional(spec)


def keras_model_facts(spec: dict[str, Any], columns: int = SUMMARY_COLUMNS) -> ModelFacts | Refusal:
    """Build the spec in real Keras and report names, shapes, counts and the summary text.

    - ``input`` and no ``inputs:`` key on any entry -> keras.Sequential([keras.Input(...),
      *layers]) (the input is auto-named ``input_layer``; a ``Reuse`` entry adds the same
      layer object again, as keras.Sequential would take it); otherwise keras.Model.
    - Functional: ``inputs`` entries become keras.Input(name=...); a singular ``input`` is
      keras.Input() and is referenced by its Keras name ``input_layer``. A top-level
      ``batch_size`` applies to every input. An entry without ``inputs`` takes output 0 of
      the previous entry (the first entry: the first input). A list reference is passed as
      a list (merges, Attention), or positionally for MultiHeadAttention /
      GroupedQueryAttention; a plain string reference passes one tensor. ``NAME.K`` is the
      K-th of the flattened outputs. Missing ``outputs``: output 0 of the last entry.
    - ``layers`` follow ``model.layers`` (Keras's depth order, InputLayer rows included
      for functional models), which may differ from spec order.
    - ``weights`` paths drop a leading ``<model name>/`` (see ``_rel_path``).

    Any exception while constructing, calling, building or summarising is a Refusal.
    """
    try:
        model = build_keras_model(spec)
    except Exception as err:  # any refusal by Keras is a refusal, and an answer of Keras's
        CALLS["model summaries"] += 1
        return Refusal(f"{type(err).__name__}: {err}")
    return model_facts(model, columns)


# The zoo specs written with blocks (specs/), and the keras.applications model each one is.
ZOO_APPLICATIONS = {"vgg16.yaml": "VGG16", "resnet50.yaml": "ResNet50", "mobilenet_v2.yaml": "MobileNetV2"}


def keras_application(name: str, **kwargs: Any) -> Any:
    """A ``keras.applications`` model, built without weights (``weights=None``)."""
    keras.backend.clear_session(free_memory=False)
    return getattr(keras.applications, name)(weights=None, **kwargs)


def keras_application_facts(name: str, columns: int = SUMMARY_COLUMNS, **kwargs: Any) -> ModelFacts | Refusal:
    return model_facts(keras_application(name, **kwargs), columns)


def keras_spec_facts(
    filename: str, spec: dict[str, Any], columns: int = SUMMARY_COLUMNS
) -> ModelFacts | Refusal:
    """Keras's facts for a file of specs/: the keras.applications model a zoo spec reproduces,
    the model built from a zoo spec written out layer by layer, else from the spec itself."""
    from zoo_written_out import WRITTEN_OUT  # hand-written plain forms of the other zoo specs

    zoo = ZOO_APPLICATIONS.get(filename)
    if zoo:
        return keras_application_facts(zoo, columns)
    written_out = WRITTEN_OUT.get(filename)
    return keras_model_facts(written_out() if written_out else spec, columns)


def model_facts(model: Any, columns: int = SUMMARY_COLUMNS) -> ModelFacts | Refusal:
    """Names, shapes, counts and the summary text of a built Keras model."""
    CALLS["model summaries"] += 1
    try:
        summary = capture_summary(model, columns)
        rows = []
        for layer in model.layers:
            nodes = list(layer._inbound_nodes)
            call_outputs = [_outputs(n.output_tensors) for n in nodes]
            for i, co in enumerate(call_outputs):
                if isinstance(co, list) and len(co) == 1:
                    call_outputs[i] = co[0]
            inbound = [_history(t) for t in nodes[0].input_tensors] if nodes else []
            rows.append(
                ModelLayerFacts(
                    name=layer.name,
                    type=layer.__class__.__name__,
                    output=call_outputs[0] if call_outputs else (),
                    trainable=_count(layer.trainable_weights),
                    non_trainable=_count(layer.non_trainable_weights),
                    weights={
                        _rel_path(w.path, model.name): tuple(int(d) for d in w.shape) for w in layer.weights
                    },
                    inbound=inbound,
                    call_outputs=call_outputs,
                )
            )
        trainable = _count(model.trainable_weights)
        non_trainable = _count(model.non_trainable_weights)
        sequential = isinstance(model, keras.Sequential)
        if sequential:
            in_names = [model._functional.inputs[0]._keras_history.operation.name]
            outs = [_history(t) for t in _flat(model._functional.outputs)]
        else:
            in_names = [t._keras_history.operation.name for t in _flat(model.inputs)]
            outs = [_history(t) for t in _flat(model.outputs)]
    except Exception as err:  # any refusal by Keras is a refusal
        return Refusal(f"{type(err).__name__}: {err}")
    return ModelFacts(
        name=model.name,
        kind="Sequential" if sequential else "Functional",
        layers=rows,
        inputs=in_names,
        outputs=outs,
        total_params=trainable + non_trainable,
        trainable_params=trainable,
        non_trainable_params=non_trainable,
        summary=summary,
        columns=columns,
    )


@dataclass
class PlotFacts:
    """What Keras's ``model_to_dot(model, show_shapes=True)`` draws: a node per layer, named
    here by the layer (Keras names it id(layer)), and each (source, target) edge once."""

    nodes: list[str]
    types: dict[str, str]
    # the label's shapes as make_layer_label prints them; input None for an InputLayer
    shapes: dict[str, tuple[str | None, str]]
    edges: list[tuple[str, str]]


def keras_plot_facts(spec: dict[str, Any] | Any) -> PlotFacts | Refusal:
    """model_to_dot's walk (keras/src/utils/model_visualization.py, expand_nested=False)
    replayed on the Keras model without pydot, which it needs to draw and which is not a
    dependency: Sequential models draw ``model.layers`` (no InputLayer) linked one to the next;
    functional ones ``model._operations``, an edge from the operation of each input tensor of
    each inbound node the model holds; ``add_edge`` skips a pair it already has. ``spec``: a
    spec's plain data, or a model Keras built itself (keras.applications)."""
    from keras.src.ops.function import make_node_key

    CALLS["model plots"] += 1
    try:
        model = build_keras_model(spec) if isinstance(spec, dict) else spec
        pairs: list[tuple[Any, Any]] = []
        if isinstance(model, keras.Sequential):
            layers = list(model.layers)
            pairs = list(pairwise(layers))
        else:
            layers = list(model._operations)
            for layer in layers:
                for index, node in enumerate(layer._inbound_nodes):
                    if make_node_key(layer, index) not in model._nodes:
                        continue
                    for tensor in node.input_tensors:
                        history = tensor._keras_history
                        if history.operation is None:
                            continue
                        source = history.operation._inbound_nodes[history.node_index].operation
                        pairs.append((source, layer))
        edges = list(dict.fromkeys((a.name, b.name) for a, b in pairs))
        unique = list({id(layer): layer for layer in layers}.values())  # pydot merges same-id nodes
        shapes: dict[str, tuple[str | None, str]] = {}
        for layer in unique:
            # make_layer_label: f"{shape}" of tree.map_structure(lambda x: x.shape, layer.input)
            given = keras.tree.map_structure(lambda x: x.shape, layer.input)
            made = keras.tree.map_structure(lambda x: x.shape, layer.output)
            is_input = type(layer).__name__ == "InputLayer"
            shapes[layer.name] = (None if is_input else f"{given}", f"{made}")
    except Exception as err:
        return Refusal(f"{type(err).__name__}: {err}")
    return PlotFacts(
        nodes=[layer.name for layer in unique],
        types={layer.name: type(layer).__name__ for layer in unique},
        shapes=shapes,
        edges=edges,
    )
