"""The spec's top level: which form it has (Sequential or functional), its inputs, its layer
entries and its outputs. Values stay located; layer arguments are parsed later by the layers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .blocks import Expander, LayerEntry, read_blocks
from .errors import Location, SpecError
from .layers.args import describe, did_you_mean
from .layers.base import Layer
from .layers.input_layer import INPUT_DTYPES
from .source import Node
from .variables import read_vars, substitute

TOP_LEVEL_KEYS = (
    "name",
    "input",
    "inputs",
    "batch_size",
    "layers",
    "outputs",
    "custom_layers",
    "expect",  # values the model must have (expectations.py)
    "lint",  # lint settings for this file: {ignore: [codes]}
    "vars",  # named values: $name, $(expression) (blocks.py)
    "blocks",  # named sub-graphs used like layers (blocks.py)
)
# Keys of a layer entry that are shapecalc's wiring, not Keras arguments.
WIRING_KEYS = frozenset({"inputs", "call"})  # call: Keras's call-time arguments (graph.py)
INPUT_TYPES = ("Input", "InputLayer")
REUSE = "Reuse"

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class InputDecl:
    """A model input: its name (None: Keras names it), shape with the batch axis, and dtype."""

    name: str | None
    shape: Shape
    dtype: str
    loc: Location


@dataclass(frozen=True)
class ModelSpec:
    name: str | None
    sequential: bool
    inputs: list[InputDecl]
    entries: list[LayerEntry]
    outputs: list[Node] | None
    root: Node
    custom_types: dict[str, type[Layer]] = field(default_factory=dict)
    # block instance -> its outputs as references, in the order its block declares them
    instance_outputs: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def expect(self) -> Node | None:
        """The spec's ``expect:`` mapping, checked against the analysed model (expectations.py)."""
        return self.root.get("expect")

    @property
    def lint(self) -> Node | None:
        """The spec's ``lint:`` settings ({ignore: [codes]}), read by ``shapecalc lint``."""
        return self.root.get("lint")


def read_spec(root: Node, overrides: Mapping[str, str] | None = None) -> ModelSpec:
    """The spec's top level, its blocks instantiated and its variables substituted;
    ``overrides`` (from --set) replace variables by name."""
    if not isinstance(root.value, dict):
        raise SpecError("a spec is a mapping with 'layers' and 'input' or 'inputs'", root.loc)
    if "class_name" in root.value:  # what Keras saves (Keras 2 wrote no module), not a spec
        from .keras_files import is_keras_model, spec_from_keras

        if is_keras_model(root):
            root = spec_from_keras(root)
    for key, node in root.value.items():
        if key not in TOP_LEVEL_KEYS:
            raise SpecError(f"unknown top-level key '{key}'{did_you_mean(key, TOP_LEVEL_KEYS)}", node.key_loc)
    variables = read_vars(root.get("vars"), overrides or {})
    expander = Expander(read_blocks(root.get("blocks")), variables)

    def located(key: str) -> Node | None:
        node = root.get(key)
        return None if node is None else substitute(node, variables)

    name = _model_name(located("name"))
    entries = expander.expand(_layer_items(root))
    batch_size = _batch_size(located("batch_size"))
    single, named = located("input"), located("inputs")
    if single is not None and named is not None:
        raise SpecError("give either 'input' (one input) or 'inputs' (named inputs), not both", named.key_loc)

    inputs: list[InputDecl] = []
    if single is not None:
        inputs.append(_input_decl(None, single, batch_size))
    elif named is not None:
        inputs.extend(_named_inputs(named, batch_size))
    elif not (entries and entries[0].type_name in INPUT_TYPES):
        raise SpecError(
            "the spec needs 'input: [shape]' (one input) or 'inputs: {name: [shape]}' (named inputs)",
            root.loc,
        )

    # spec-format.md: one 'input' and no 'inputs:' reference anywhere makes a keras.Sequential
    sequential = single is not None and all(e.references is None for e in entries)
    outputs_node = root.get("outputs")
    outputs = None
    if outputs_node is not None:
        outputs = outputs_node.value if isinstance(outputs_node.value, list) else [outputs_node]
        if not outputs:
            raise SpecError("'outputs' lists no outputs", outputs_node.loc)
        outputs = [expander.reference(node) for node in outputs]
    custom_types = _custom_layers(root.get("custom_layers"))
    return ModelSpec(
        name, sequential, inputs, entries, outputs, root, custom_types, expander.instance_outputs
    )


def _custom_layers(node: Node | None) -> dict[str, type[Layer]]:
    if node is None:
        return {}
    from .custom import read_custom_layers  # and the expression language: only specs that declare layers

    return read_custom_layers(node)


def _model_name(node: Node | None) -> str | None:
    if node is None:
        return None
    if not isinstance(node.value, str) or not node.value or "/" in node.value:
        raise SpecError(
            f"the model name must be a non-empty string without '/', got {describe(node.value)}", node.loc
        )
    return node.value


def _batch_size(node: Node | None) -> int | None:
    if node is None or node.value is None:
        return None
    if isinstance(node.value, bool) or not isinstance(node.value, int) or node.value <= 0:
        raise SpecError(
            f"batch_size must be a positive integer or null, got {describe(node.value)}", node.loc
        )
    return node.value


def _shape(node: Node, what: str) -> Shape:
    """A shape without the batch axis: a list of non-negative integers or nulls (Keras Input)."""
    if not isinstance(node.value, list):
        hint = (
            f" (write [{node.value}])"
            if isinstance(node.value, int) and not isinstance(node.value, bool)
            else ""
        )
        raise SpecError(
            f"{what} shape must be a list such as [28, 28, 1], got {describe(node.plain())}{hint}", node.loc
        )
    dims: list[int | None] = []
    for item in node.value:
        dim = item.value
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 0):
            raise SpecError(
                f"{what} shape entries must be integers >= 0 or null, got {describe(item.plain())}", item.loc
            )
        dims.append(dim)
    return tuple(dims)


def _named_inputs(node: Node, batch_size: int | None) -> list[InputDecl]:
    if not isinstance(node.value, dict) or not node.value:
        raise SpecError("'inputs' maps input names to shapes, e.g. {image: [64, 64, 3]}", node.loc)
    inputs = []
    for name, value in node.value.items():
        if "/" in name or "." in name or not name:
            raise SpecError(f"input name '{name}' may not be empty or contain '/' or '.'", value.key_loc)
        inputs.append(_input_decl(name, value, batch_size))
    return inputs


INPUT_SETTINGS = ("shape", "dtype", "batch_size")


def _input_decl(name: str | None, node: Node, batch_size: int | None) -> InputDecl:
    """An input written as a shape list, or as {shape, dtype, batch_size}."""
    what = "input" if name is None else f"input '{name}'"
    if not isinstance(node.value, dict):
        return InputDecl(name, (batch_size, *_shape(node, what)), "float32", node.loc)
    for key, item in node.value.items():
        if key not in INPUT_SETTINGS:
            raise SpecError(f"{what} has no setting '{key}'{did_you_mean(key, INPUT_SETTINGS)}", item.key_loc)
    shape_node = node.get("shape")
    if shape_node is None:
        raise SpecError(f"{what} needs a shape", node.loc)
    dtype_node = node.get("dtype")
    dtype = "float32" if dtype_node is None else _dtype(dtype_node)
    size_node = node.get("batch_size")
    size = batch_size if size_node is None else _batch_size(size_node)
    return InputDecl(name, (size, *_shape(shape_node, what)), dtype, node.loc)


def _dtype(node: Node) -> str:
    if node.value not in INPUT_DTYPES:
        hint = did_you_mean(node.value, INPUT_DTYPES) if isinstance(node.value, str) else ""
        raise SpecError(f"unknown dtype {describe(node.value)}{hint}", node.loc)
    return str(node.value)


def _layer_items(root: Node) -> list[Node]:
    layers = root.get("layers")
    if layers is None:
        raise SpecError("the spec has no 'layers' list", root.loc)
    if not isinstance(layers.value, list):
        raise SpecError("'layers' must be a list of one-key mappings such as - Dense: {units: 8}", layers.loc)
    if not layers.value:
        raise SpecError("'layers' is empty", layers.loc)
    return layers.value
