"""What Keras saves, read as a spec: the architecture ``model.to_json()`` writes (Keras 3), and
the ``config.json`` inside a ``.keras`` archive.

The model's JSON becomes the spec tree shapecalc reads from YAML, its values keeping their
positions in the file, so a layer shapecalc refuses is located in the saved file. A
Sequential model becomes a Sequential spec; a functional one names its inputs, and each call of
a layer (``inbound_nodes``) becomes an entry: the layer's first call, its later ones a
``Reuse``, in an order where every call comes after the calls it reads. Keras's serialised
objects take the spec's forms: a dtype policy its name, an initializer, regularizer or
constraint the mapping the spec accepts.
"""

from __future__ import annotations

import re

from .errors import Location, SpecError
from .layers import registry
from .layers.args import describe, is_int
from .source import Node

MODEL_CLASSES = ("Sequential", "Functional", "Model")
# config keys that describe the saved object, not arguments a spec gives
_NOT_ARGUMENTS = ("build_config", "compile_config")
# convert keeps the layer classes shapecalc does not know (see spec_from_keras)
_KEEP_UNKNOWN = [False]
# where Keras's operation classes live: a node of one is a keras.ops call, not a layer
_OPERATION_MODULES = ("keras.src.ops.", "keras.ops.")


def is_keras_model(root: Node) -> bool:
    """Whether a file holds a model Keras saved (``to_json()``, a .keras config.json)."""
    value = root.value
    return (
        isinstance(value, dict)
        and isinstance(value.get("class_name"), Node)
        and value["class_name"].value in MODEL_CLASSES
        and isinstance(value.get("config"), Node)
    )


def spec_from_keras(root: Node, keep_unknown: bool = False) -> Node:
    """The spec tree of a saved Keras model. A layer class shapecalc does not know is refused,
    or, with ``keep_unknown`` (convert), kept as an entry of its own type for the user to
    declare under ``custom_layers``."""
    blocks: dict[str, Node] = {}
    _KEEP_UNKNOWN[0] = keep_unknown
    spec = _model(root, blocks)
    if blocks:  # the models used as layers, each a block written as a nested model
        spec = Node({"blocks": Node(blocks, root.loc), **spec.value}, spec.loc)
    return spec


def _model(root: Node, blocks: dict[str, Node]) -> Node:
    config = _mapping(root.value["config"], "the model's config")
    kind = root.value["class_name"].value
    layers = _list(config.get("layers"), "the model's layers", root.loc)
    if kind == "Sequential":
        return _sequential(config, layers, root.loc, blocks)
    return _functional(config, layers, root.loc, blocks)


def _nested_model(layer: Node, blocks: dict[str, Node]) -> tuple[str, dict[str, Node]]:
    """A model used as a layer: a block that keeps its layers' names and is shown with its class,
    named after the model; the entry that calls it is an instance of that block."""
    name = _name(layer)
    inner = _model(layer, blocks).value
    body: dict[str, Node] = {
        "model": Node(
            "Sequential" if layer.value["class_name"].value == "Sequential" else "Functional", layer.loc
        ),
        "layers": inner["layers"],
    }
    if "inputs" in inner:
        body["inputs"] = Node([Node(n, layer.loc) for n in inner["inputs"].value], layer.loc)
    if "outputs" in inner:
        body["outputs"] = inner["outputs"]
    block = re.sub(r"\W", "_", name)
    if not block or block[0].isdigit():
        block = f"model_{block}"
    while block in blocks:
        block += "_"
    blocks[block] = Node(body, layer.loc)
    return block, {"name": Node(name, layer.loc)}


# ----------------------------------------------------------------------------- Sequential
def _sequential(config: dict[str, Node], layers: list[Node], loc: Location, blocks: dict[str, Node]) -> Node:
    spec: dict[str, Node] = {}
    if "name" in config:
        spec["name"] = config["name"]
    entries = []
    for layer in layers:
        kind, args = _nested_model(layer, blocks) if _is_model(layer) else _layer(layer)
        if kind == "InputLayer":
            spec["input"] = _input(args, layer.loc)
            continue
        entries.append(Node({kind: Node(args, layer.loc)}, layer.loc))
    if "input" not in spec:
        raise SpecError("this Sequential model has no InputLayer: Keras saved it unbuilt", loc, code="E002")
    spec["layers"] = Node(entries, loc)
    return Node(spec, loc)


# ----------------------------------------------------------------------------- Functional
def _functional(config: dict[str, Node], layers: list[Node], loc: Location, blocks: dict[str, Node]) -> Node:
    spec: dict[str, Node] = {}
    if "name" in config:
        spec["name"] = config["name"]
    inputs: dict[str, Node] = {}
    calls: list[_Call] = []
    masks = _mask_operations(layers, config.get("output_layers"))
    for layer in layers:
        if _name(layer) in masks:
            continue  # shapecalc derives a model's masks itself
        nested = _is_model(layer)
        kind, args = _nested_model(layer, blocks) if nested else _layer(layer)
        name = _name(layer)
        if kind == "InputLayer":
            inputs[name] = _input(args, layer.loc)
            continue
        nodes = _list(layer.value.get("inbound_nodes"), f"the calls of {name}", layer.loc)
        if nested and len(nodes) > 1:
            raise SpecError(
                f"the model {name} is used as a layer {len(nodes)} times: a nested model called more than "
                "once cannot be read yet",
                layer.loc,
                code="E002",
            )
        for index, node in enumerate(nodes):
            calls.append(_Call(kind, name, index, args, _modern_node(node), layer.loc, nested))
    given = config.get("input_layers")
    order = [_reference_name(ref) for ref in _references(given)] if given is not None else list(inputs)
    spec["inputs"] = Node({name: inputs[name] for name in order if name in inputs}, loc)
    spec["layers"] = Node([call.entry() for call in _in_call_order(calls, set(inputs))], loc)
    outputs = config.get("output_layers")
    if outputs is not None:
        spec["outputs"] = Node([_tensor_reference(ref) for ref in _references(outputs)], outputs.loc)
    return Node(spec, loc)


def _mask_operations(layers: list[Node], outputs: Node | None) -> set[str]:
    """The operation nodes that only compute Keras masks (Embedding's ``NotEqual``, Masking's
    ``Any``, ...): their outputs reach the model only as the ``mask`` of a call."""
    operations = {
        _name(layer)
        for layer in layers
        if str(getattr(_mapping(layer, "a layer").get("module"), "value", "")).startswith(_OPERATION_MODULES)
    }
    read: dict[str, set[str]] = {}  # a node -> the nodes whose tensors it reads other than as a mask
    for layer in layers:
        name = _name(layer)  # a layer that is no mapping, or has no name, is refused here
        for node in _list(layer.value.get("inbound_nodes"), f"the calls of {name}", layer.loc):
            node = _modern_node(node)
            parts = node.value if isinstance(node.value, dict) else {}
            kwargs = parts.get("kwargs")
            kept = [parts.get("args")] + [
                value
                for key, value in (kwargs.value if kwargs and isinstance(kwargs.value, dict) else {}).items()
                if key != "mask"
            ]
            names = {_tensor_history(t) for part in kept if part is not None for t in _tensors(part)}
            read.setdefault(name, set()).update(names)
    needed = {_tensor_history(t) for t in _references(outputs)} if outputs is not None else set()
    needed |= {name for name in read if name not in operations}
    changed = True
    while changed:  # what a needed node reads is needed
        grown = needed | {source for name in needed for source in read.get(name, ())}
        changed, needed = grown != needed, grown
    return operations - needed


def _tensor_history(node: Node) -> str:
    """The name of the layer or operation a serialised tensor (or a [name, node, tensor]) comes from."""
    value = node.value
    if isinstance(value, dict):
        history = _mapping(value.get("config"), "a Keras tensor's config", node.loc).get("keras_history")
        value = history.value if history is not None else None
    return str(value[0].value) if isinstance(value, list) and value else ""


class _Call:
    """One call of a layer: its first makes the layer, a later one is a Reuse of it."""

    __slots__ = ("args", "index", "kind", "loc", "name", "nested", "node")

    def __init__(
        self,
        kind: str,
        name: str,
        index: int,
        args: dict[str, Node],
        node: Node,
        loc: Location,
        nested: bool = False,  # a model used as a layer: the call of a block instance
    ) -> None:
        self.kind, self.name, self.index, self.args, self.node, self.loc = kind, name, index, args, node, loc
        self.nested = nested

    @property
    def alias(self) -> str:
        return call_name(self.name, self.index)

    def reads(self) -> list[str]:
        """The calls whose outputs this one reads, by their names in the spec."""
        return [_tensor_reference(ref).value.split(".")[0] for ref in _tensors(self.node)]

    def entry(self) -> Node:
        node = self.node.value if isinstance(self.node.value, dict) else {}
        positional = _list(node.get("args"), f"the arguments of {self.name}'s call", self.loc)
        if self.kind.startswith("ops."):
            positional = self._operands(positional)
        refs = _call_inputs(positional, self.loc)
        kwargs = node.get("kwargs")
        call = _call_keywords(kwargs) if kwargs is not None else {}
        if self.index == 0:
            args = {**self.args, "inputs": refs}
        else:
            args = {"layer": Node(self.name, self.loc), "name": Node(self.alias, self.loc), "inputs": refs}
        if call and self.nested:
            raise SpecError(
                f"the model {self.name} is called with {', '.join(call)}: call arguments of a nested "
                "model cannot be read yet",
                kwargs.loc if kwargs is not None else self.loc,
                code="E002",
            )
        if call:
            args["call"] = Node(call, kwargs.loc if kwargs is not None else self.loc)
        kind = self.kind if self.index == 0 else "Reuse"
        return Node({kind: Node(args, self.loc)}, self.loc)

    def _operands(self, positional: list[Node]) -> list[Node]:
        """An operation's tensors; the Python numbers among its operands become its x1, x2
        arguments (``x + 3.0`` is ``ops.add: {x2: 3.0}``)."""
        tensors = []
        for position, operand in enumerate(positional):
            if _tensors(operand):
                tensors.append(operand)
            elif isinstance(operand.value, (int, float)) and not isinstance(operand.value, bool):
                self.args[f"x{position + 1}"] = operand
            else:
                raise SpecError(
                    f"{self.name} ({self.kind}): an operand {describe(operand.plain())} is neither a tensor "
                    "nor a number; shapecalc reads operations on tensors and Python numbers only",
                    operand.loc,
                    code="E002",
                )
        return tensors


def _modern_node(node: Node) -> Node:
    """A call as Keras 3 writes it ({args, kwargs}, tensors as serialised Keras tensors), from the
    Keras 2 / tf.keras form too: a list of [layer, node index, tensor index, kwargs], the layer
    called on the one tensor or on the list of them (keras/src/models/functional.py)."""
    if not isinstance(node.value, list):
        return node
    tensors = []
    kwargs = Node({}, node.loc)
    for item in node.value:
        parts = item.value if isinstance(item.value, list) else []
        if len(parts) not in (3, 4):
            raise SpecError(
                "a call in the Keras 2 form lists [layer, node index, tensor index, kwargs] for each input, "
                f"got {describe(item.plain())}",
                item.loc,
                code="E002",
            )
        history = Node(parts[:3], item.loc)
        tensors.append(
            Node(
                {
                    "class_name": Node("__keras_tensor__", item.loc),
                    "config": Node({"keras_history": history}, item.loc),
                },
                item.loc,
            )
        )
        if len(parts) == 4:
            kwargs = parts[3]
    called_on = tensors[0] if len(tensors) == 1 else Node(tensors, node.loc)
    return Node({"args": Node([called_on], node.loc), "kwargs": kwargs}, node.loc)


def call_name(layer: str, index: int) -> str:
    """How the spec names call ``index`` of a layer: the layer's name for its first call."""
    return layer if index == 0 else f"{layer}@{index}"


def _in_call_order(calls: list[_Call], inputs: set[str]) -> list[_Call]:
    """The calls in Keras's order where it allows, each after the calls it reads (a shared
    layer's later call may read a layer Keras lists after the shared one)."""
    done = set(inputs)
    ordered: list[_Call] = []
    waiting = list(calls)
    while waiting:
        ready = next((c for c in waiting if all(name in done for name in c.reads())), None)
        if ready is None:  # a cycle or a reference to nothing: let the graph say which
            ordered += waiting
            break
        waiting.remove(ready)
        ordered.append(ready)
        done.add(ready.alias)
    return ordered


def _call_inputs(positional: list[Node], loc: Location) -> Node:
    """The spec's ``inputs`` of a call: one tensor, or a list (a list argument, or several
    positional tensors, as MultiHeadAttention takes its query and value)."""
    if not positional:
        raise SpecError("a layer call with no input tensor", loc, code="E002")
    if len(positional) == 1 and not isinstance(positional[0].value, list):
        return _tensor_reference(positional[0])
    items = positional[0].value if len(positional) == 1 else positional
    return Node([_tensor_reference(item) for item in items], loc)


def _call_keywords(kwargs: Node) -> dict[str, Node]:
    """The call's keyword arguments for ``call:``: tensors as references, values as they are;
    the Keras mask a functional model records is left out (shapecalc derives it itself)."""
    found: dict[str, Node] = {}
    for key, value in _mapping(kwargs, "a call's keyword arguments").items():
        if key == "mask" or value.value is None:
            continue
        if _tensors(value):
            items = value.value if isinstance(value.value, list) else [value]
            found[key] = Node([_tensor_reference(item) for item in items], value.loc)
        else:
            found[key] = value
    return found


def _tensors(node: Node) -> list[Node]:
    """The Keras tensors a serialised value holds, in order."""
    value = node.value
    if isinstance(value, dict):
        if isinstance(value.get("class_name"), Node) and value["class_name"].value == "__keras_tensor__":
            return [node]
        return [t for child in value.values() for t in _tensors(child)]
    if isinstance(value, list):
        return [t for child in value for t in _tensors(child)]
    return []


def _tensor_reference(node: Node) -> Node:
    """A reference to a tensor: a serialised Keras tensor (its keras_history) or a
    [layer, node index, tensor index] triple, as the spec writes it (``name``, ``name.K``)."""
    value = node.value
    if isinstance(value, dict) and "config" in value:
        history = _mapping(value["config"], "a Keras tensor's config", node.loc).get("keras_history")
        if history is None:
            raise SpecError("a Keras tensor without its keras_history", node.loc, code="E002")
        node = history
    triple = node.value
    if not (
        isinstance(triple, list)
        and len(triple) == 3
        and isinstance(triple[0].value, str)
        and all(is_int(part.value) and part.value >= 0 for part in triple[1:])
    ):
        raise SpecError(
            f"a tensor is written [layer name, node index, tensor index] (its keras_history), got "
            f"{describe(node.plain())}",
            node.loc,
            code="E002",
        )
    name = call_name(triple[0].value, triple[1].value)
    index = triple[2].value
    return Node(name if index == 0 else f"{name}.{index}", node.loc)


def _reference_name(node: Node) -> str:
    return _tensor_reference(node).value


def _references(node: Node) -> list[Node]:
    """input_layers / output_layers: a list of [layer, node, tensor], or one of them alone."""
    if isinstance(node.value, list) and all(isinstance(item.value, list) for item in node.value):
        return node.value
    return [node]


# ----------------------------------------------------------------------------- layers and values
def _is_model(layer: Node) -> bool:
    kind = layer.value.get("class_name") if isinstance(layer.value, dict) else None
    return kind is not None and kind.value in MODEL_CLASSES


def _layer(layer: Node) -> tuple[str, dict[str, Node]]:
    """A layer's class and its arguments in the spec's forms."""
    value = _mapping(layer, "a layer")
    kind = value.get("class_name")
    if kind is None or not isinstance(kind.value, str):
        raise SpecError("a layer without its class_name", layer.loc, code="E002")
    if kind.value in MODEL_CLASSES:
        raise SpecError(
            f"a {kind.value} model used as a layer: nested models cannot be read yet", layer.loc, code="E002"
        )
    config = _mapping(value.get("config"), f"the config of {kind.value}", layer.loc)
    args = {key: _argument(item) for key, item in config.items() if key not in _NOT_ARGUMENTS}
    module = value.get("module")
    if module is not None and str(module.value).startswith(_OPERATION_MODULES):
        return _operation(kind.value, str(module.value), layer.loc), args
    if not _KEEP_UNKNOWN[0] and registry.lookup(kind.value) is None:
        raise _unknown_class(kind.value, value, layer.loc)
    return kind.value, args


def _unknown_class(kind: str, value: dict[str, Node], loc: Location) -> SpecError:
    module = value.get("module")
    registered = value.get("registered_name")
    where = f"{module.value}.{kind}" if module is not None and module.value else kind
    if registered is not None and registered.value not in (None, kind):
        where += f", registered as {registered.value}"
    return SpecError(
        f"the layer class {kind} ({where}) is not one shapecalc knows: write the model as a spec "
        f"(shapecalc convert) and declare {kind} under custom_layers, with its arguments, weights and "
        f"output shape, e.g. custom_layers: {{{kind}: {{arguments: {{...}}, weights: {{kernel: "
        "(input_shape[-1], units)}, output_shape: (input_shape[0], units)}}",
        loc,
        code="E003",
    )


def _operation(keras_class: str, module: str, loc: Location) -> str:
    """The spec's name for an operation node (``ops.add`` for ``Add``)."""
    cls = registry.operation(keras_class)
    if cls is None:
        known = ", ".join(
            sorted(c.type_name() for c in registry.all_layer_types().values() if c.is_operation)
        )
        raise SpecError(
            f"the operation {keras_class} ({module}.{keras_class}) is not one shapecalc reads yet; it reads "
            f"{known}",
            loc,
            code="E003",
        )
    return cls.spec_type()


def _name(layer: Node) -> str:
    value = _mapping(layer, "a layer")
    config = value.get("config")
    name = value.get("name") or (
        config.value.get("name") if config is not None and isinstance(config.value, dict) else None
    )
    if name is None or not isinstance(name.value, str):
        raise SpecError("a layer without its name", layer.loc, code="E002")
    return name.value


def _argument(node: Node) -> Node:
    """A config value in the spec's form: a layer (a wrapper's, a cell) the one-key mapping, a
    DTypePolicy its name, other serialised objects (initializers, regularizers, constraints)
    the {class_name, config} mapping the spec takes."""
    value = node.value
    if isinstance(value, list):  # a list of cells, of objects
        return Node([_argument(item) for item in value], node.loc, node.key_loc)
    if isinstance(value, dict) and isinstance(value.get("class_name"), Node):
        kind = value["class_name"].value
        config = value.get("config")
        module = value.get("module")
        if module is not None and str(module.value).startswith(("keras.layers", "keras.src.layers")):
            # a layer inside a layer (a wrapper's, an RNN's cell): the spec's one-key form
            inner_kind, inner_args = _layer(node)
            return Node({inner_kind: Node(inner_args, node.loc)}, node.loc, node.key_loc)
        if kind in ("DTypePolicy", "FloatDTypePolicy") and config is not None:
            return Node(
                _mapping(config, "a dtype policy").get("name", Node(None, node.loc)).value,
                node.loc,
                node.key_loc,
            )
        kept = {"class_name": value["class_name"]}
        if config is not None:
            kept["config"] = config
        return Node(kept, node.loc, node.key_loc)
    return node


def _input(args: dict[str, Node], loc: Location) -> Node:
    """An InputLayer's config as the spec's input: {shape, dtype, batch_size}."""
    batch_shape = args.get("batch_shape") or args.get("batch_input_shape")
    if batch_shape is None or not isinstance(batch_shape.value, list) or not batch_shape.value:
        raise SpecError("an InputLayer without its batch_shape", loc, code="E002")
    decl = {"shape": Node(batch_shape.value[1:], batch_shape.loc)}
    dtype = args.get("dtype")
    if dtype is not None and dtype.value is not None:
        decl["dtype"] = dtype
    if batch_shape.value[0].value is not None:
        decl["batch_size"] = batch_shape.value[0]
    return Node(decl, loc)


def _mapping(node: Node | None, what: str, loc: Location | None = None) -> dict[str, Node]:
    """A mapping of the saved file, or a refusal located at it (or at ``loc`` where it is missing)."""
    if node is None or not isinstance(node.value, dict):
        where = "is missing" if node is None else f"must be a mapping, got {describe(node.plain())}"
        raise SpecError(f"{what} {where}", node.loc if node else loc, code="E002")
    return node.value


def _list(node: Node | None, what: str, loc: Location) -> list[Node]:
    if node is None:
        return []
    if not isinstance(node.value, list):
        raise SpecError(f"{what} must be a list", node.loc, code="E002")
    return node.value
