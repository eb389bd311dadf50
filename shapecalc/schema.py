"""The spec format as a JSON Schema (draft 2020-12), for editors to validate and complete specs.

Generated from the code that reads specs: the keys come from the constants spec.py, blocks.py,
expectations.py, custom.py, graph.py and lint/ check against, and every layer type, alias and
argument (with its doc and default) from the layer registry, so the schema cannot fall behind.

Values are kept loose on purpose: ``$name`` and ``$(expression)`` may stand for almost any value,
and the layers check their values with better messages than a schema can give. What the schema
catches is names: an unknown top-level key, layer type or argument, a misspelt setting.

Only keywords that draft-07 reads the same way are used (no ``unevaluatedProperties``, nothing
beside a ``$ref`` that validation needs): VS Code's YAML extension (yaml-language-server)
validates with draft-07's rules whatever the ``$schema``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from .blocks import BLOCK_KEYS, INSTANCE_KEYS
from .custom import DEFINITION_KEYS, WEIGHT_KEYS
from .expectations import _DECIMAL, LAYER_KEYS, MODEL_KEYS
from .graph import REUSE_KEYS
from .layers import registry
from .layers.base import Arg, Layer
from .layers.input_layer import INPUT_DTYPES
from .lint.problems import WARNING_CODES
from .spec import INPUT_SETTINGS, INPUT_TYPES, REUSE, TOP_LEVEL_KEYS, WIRING_KEYS
from .units import BINARY, SI
from .variables import NAME

Schema = dict[str, Any]
DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Keys the block expander takes off every entry before the layer sees its arguments: those of
# an instance, but its name (a layer's name is its own argument) and the graph's wiring.
ENTRY_KEYS = tuple(k for k in INSTANCE_KEYS if k != "name" and k not in WIRING_KEYS)
LINT_KEYS = ("ignore",)  # lint/runner.py's _ignored_in: the one setting of lint:
LAYER_TYPE = "layerType"  # $defs of our own are lowercase; layer types are Keras's CamelCase
ENTRY = "entry"

_VAR: Schema = {"type": "string", "pattern": r"\$", "description": "a $name or $(expression)"}
_WORD = f"^{NAME.pattern}$"
_STRINGS: Schema = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
_SHAPE: Schema = {
    "anyOf": [
        {"type": "array", "items": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}, _VAR]}},
        _VAR,
    ]
}
_SIZE: Schema = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}, _VAR]}

# Descriptions of the fixed keys (the keys themselves come from the code's constants: a key
# added there appears here, undescribed and accepting any value, until it is described).
_DOCS: dict[str, str] = {
    "name": "the model's name (default: sequential or functional)",
    "input": "the one input's shape without the batch axis, e.g. [28, 28, 1], or {shape, dtype, batch_size}",
    "inputs": "named inputs: {image: [64, 64, 3], ...}; layers refer to them by name",
    "batch_size": "the batch axis's size for every input (default: null, unknown)",
    "layers": "the layer entries, each a one-key mapping: - Conv2D: {filters: 8, kernel_size: 3}",
    "outputs": "the model's outputs: layer names (NAME.K: output K); default: the last layer",
    "custom_layers": "layer types of your own: {MyLayer: {arguments, weights, output_shape}}",
    "expect": "values the model must have, checked by summary and lint",
    "lint": "lint settings for this file: {ignore: [W103]}",
    "vars": "named values used as $name, or in $(expression): {width: 64}; --set width=32 overrides",
    "blocks": "named sub-graphs used like layers: {name: {params, inputs, layers, outputs}}",
    "shape": "the shape without the batch axis",
    "dtype": "the input's dtype (default float32)",
    "batch_size.input": "this input's batch axis size (default: the spec's batch_size)",
    "inputs.entry": "what feeds this layer: a name, NAME.K (output K) or a list; default: the entry before",
    "repeat": "chain this many copies of the entry, each fed by the one before; $i is the copy, from 1",
    "when": "true or false, e.g. $(stride > 1): false leaves the entry out",
    "layer": "the name of the layer to apply again",
    "name.reuse": "a name for this call's output, for later references",
    "output_shape": "the output shape with the batch axis, [null, 10], or a list of them",
    "total_params": "the exact total parameter count",
    "trainable_params": "the exact trainable parameter count",
    "non_trainable_params": "the exact non-trainable parameter count",
    "total_macs": "the exact multiply-accumulates for one example",
    "max_params": "a budget: at most this many parameters (5M)",
    "max_macs": "a budget: at most this many MACs for one example (1.2G)",
    "max_activation_bytes": "a budget: at most this many bytes of activations (64M: binary units)",
    "layers.expect": "layer name -> {output_shape, params, trainable_params, non_trainable_params, macs}",
    "params": "the layer's exact parameter count",
    "macs": "the exact multiply-accumulates for one example",
    "ignore": "warning codes not to report: "
    + "; ".join(f"{code} {name}" for code, (name, _) in WARNING_CODES.items()),
    "arguments": "argument name -> default (required: none)",
    "weights": "weight name -> shape expression, or {shape, trainable, initializer, when}",
    "output_shape.custom": "the output shape: (input_shape[0], units), or a list of dimension expressions",
    "output_shapes": "the output shapes, for a layer with several outputs",
    "checks": "conditions the input shape must meet, e.g. input_shape[-1] % 2 == 0",
    "takes_list": "true: the layer takes a list of tensors, seen as input_shapes",
    "macs.custom": "an expression for the MACs of one example (default: unknown)",
    "doc": "what the layer does",
    "shape.weight": "the weight's shape: (input_shape[1], units), or a list of dimension expressions",
    "trainable": "false: the weight is not trainable",
    "initializer": "the weight's initializer",
    "when.weight": "an expression: the weight exists only where it is true",
    "params.block": "parameter name -> default (required: none); used as $name inside the block",
    "inputs.block": "the block's input names (default: [x])",
    "layers.block": "the block's layer entries; they may use other blocks",
    "outputs.block": "the outputs (default: the last layer)",
    "instance": "a block or custom layer of this spec (its arguments cannot be checked by a schema)",
}


def spec_schema() -> Schema:
    """The JSON Schema of a spec file, as a JSON-serialisable dict."""
    defs = _layer_defs()
    entries = {"$ref": f"#/$defs/{ENTRY}"}
    layers: Schema = {"type": "array", "items": entries, "minItems": 1}
    one_input: Schema = {"anyOf": [_SHAPE, _closed(INPUT_SETTINGS, _input_settings(), "input")]}
    values: dict[str, Schema] = {
        "name": {"type": "string", "pattern": "^[^/]+$"},
        "input": one_input,
        "inputs": {
            "type": "object",
            "propertyNames": {"pattern": r"^[^/.]+$"},
            "additionalProperties": one_input,
        },
        "batch_size": _SIZE,
        "layers": layers,
        "outputs": _STRINGS,
        "custom_layers": {
            "type": "object",
            "propertyNames": {"pattern": r"^[A-Za-z_]\w*$", "not": {"$ref": f"#/$defs/{LAYER_TYPE}"}},
            "additionalProperties": {
                **_closed(DEFINITION_KEYS, _definition(), "custom"),
                "oneOf": [{"required": ["output_shape"]}, {"required": ["output_shapes"]}],
            },
        },
        "expect": _closed(MODEL_KEYS, _expectations(), "expect"),
        "lint": _closed(LINT_KEYS, {"ignore": {"anyOf": [_codes(), {"type": "array", "items": _codes()}]}}),
        "vars": {"type": "object", "propertyNames": {"pattern": _WORD}},
        "blocks": {
            "type": "object",
            "propertyNames": {"pattern": _WORD},
            "additionalProperties": _closed(BLOCK_KEYS, _block(layers), "block", required=("layers",)),
        },
    }
    return {
        "$schema": DIALECT,
        # no title: yaml-language-server would head every hover with it
        "description": "A model written in Keras's layer vocabulary, read by shapecalc.",
        **_closed(TOP_LEVEL_KEYS, values, required=("layers",)),
        "not": {"required": ["input", "inputs"], "description": "give either input or inputs, not both"},
        # An entry may name a block or custom layer of the spec, which a static schema cannot
        # know: unknown types are accepted only in specs that declare blocks or custom layers.
        "if": {"anyOf": [{"required": ["blocks"]}, {"required": ["custom_layers"]}]},
        "else": {"properties": {"layers": {"items": {"propertyNames": {"$ref": f"#/$defs/{LAYER_TYPE}"}}}}},
        "$defs": defs,
    }


def _layer_defs() -> dict[str, Schema]:
    """One definition per layer class (named as specs may write it), the layer entry, and the
    enum of every type name an entry may have."""
    types = registry.all_layer_types()
    entry_keys = {k: _described(k, _entry_key(k), "entry") for k in (*sorted(WIRING_KEYS), *ENTRY_KEYS)}
    graph_start = {k: v for k, v in entry_keys.items() if k not in WIRING_KEYS}  # an Input has no inputs
    defs: dict[str, Schema] = {
        name: _layer_type(cls, graph_start if name in INPUT_TYPES else entry_keys)
        for name, cls in types.items()
    }
    reuse = {k: _described(k, {"type": "string"} if k == "layer" else {}, "reuse") for k in REUSE_KEYS}
    defs[REUSE] = {
        "type": "object",
        "description": "apply a layer defined earlier again, sharing its weights",
        "properties": {**reuse, **entry_keys},
        "additionalProperties": False,
        "required": ["layer"],
    }
    # other names of a class: Keras's aliases, and Input for InputLayer
    spelled = {cls: name for name, cls in types.items()}
    others = {alias: spelled[registry.lookup(alias)] for alias in registry.aliases() if alias not in types}
    others.update({name: "InputLayer" for name in INPUT_TYPES if name not in types})
    properties: dict[str, Schema] = {name: {"$ref": f"#/$defs/{name}"} for name in (*types, REUSE)}
    for alias, target in others.items():
        properties[alias] = {"$ref": f"#/$defs/{target}", "description": f"another name for {target}"}
    clash = set(defs) & {ENTRY, LAYER_TYPE}
    assert not clash, f"layer types named as the schema's own definitions: {clash}"
    defs[ENTRY] = {
        "type": "object",
        "description": "a layer entry: - TypeName: {arguments}",
        "properties": dict(sorted(properties.items())),
        "additionalProperties": {"type": ["object", "null"], "description": _DOCS["instance"]},
        "minProperties": 1,
        "maxProperties": 1,
    }
    defs[LAYER_TYPE] = {"enum": sorted(properties)}
    return defs


def _layer_type(cls: type[Layer], entry_keys: Mapping[str, Schema]) -> Schema:
    doc = (cls.__doc__ or "").strip().replace("``", "")  # plain text: reStructuredText's marks off
    required = cls.required_arguments()
    schema: Schema = {"type": "object" if required else ["object", "null"]}
    if doc:
        schema["description"] = doc.splitlines()[0]
    properties = {arg.name: _argument(arg) for arg in cls.all_arguments()}
    schema["properties"] = {**properties, **entry_keys}  # the graph reads the wiring keys first
    schema["additionalProperties"] = False
    if required:
        schema["required"] = list(required)
    return schema


def _argument(arg: Arg) -> Schema:
    """Any value (a variable may stand for it); a nested layer written in the one-key form."""
    schema: Schema = {}
    if arg.nested_layer:
        entry = {"$ref": f"#/$defs/{ENTRY}"}
        schema["anyOf"] = [entry, {"type": "array", "items": entry}, {"type": "null"}, _VAR]
    if arg.doc:
        schema["description"] = arg.doc
    if not arg.required:
        # the default as JSON has it (tuples become lists); none for a marker such as "not given"
        with contextlib.suppress(TypeError, ValueError):
            schema["default"] = json.loads(json.dumps(arg.default, allow_nan=False))
    return schema


def _entry_key(key: str) -> Schema:
    return {
        "inputs": _STRINGS,
        "repeat": {"anyOf": [{"type": "integer", "minimum": 1}, _VAR]},
        "when": {"anyOf": [{"type": "boolean"}, _VAR]},
    }.get(key, {})


def _input_settings() -> dict[str, Schema]:
    return {"shape": _SHAPE, "dtype": {"anyOf": [{"enum": list(INPUT_DTYPES)}, _VAR]}, "batch_size": _SIZE}


def _expectations() -> dict[str, Schema]:
    shapes = {"output_shape": {"type": "array"}}
    layer = _closed(LAYER_KEYS, {key: _amount(SI) for key in LAYER_KEYS} | shapes)
    return (
        {key: _amount(SI) for key in MODEL_KEYS}
        | shapes
        | {
            "max_activation_bytes": _amount(BINARY),
            "layers": {"type": "object", "additionalProperties": layer},
        }
    )


def _amount(units: Mapping[str, int]) -> Schema:
    """An integer, or a decimal with a unit (expectations.py's _amount): 25.6M."""
    letters = "".join(units)
    written = {"type": "string", "pattern": f"^{_DECIMAL.pattern}[{letters}{letters.lower()}]$"}
    return {"anyOf": [{"type": "integer", "minimum": 0}, written]}


def _definition() -> dict[str, Schema]:
    expression = {"type": ["string", "number", "boolean", "null"]}
    shape = {"anyOf": [{"type": "string"}, {"type": "array"}]}
    settings = {"shape": shape, "trainable": {"type": "boolean"}, "when": expression}
    weight = _closed(WEIGHT_KEYS, settings, "weight", required=("shape",))
    return {
        "arguments": {"type": "object", "propertyNames": {"pattern": r"^[A-Za-z_]\w*$"}},
        "weights": {
            "type": "object",
            "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "array"}, weight]},
        },
        "output_shape": shape,
        "output_shapes": {"type": "array", "items": shape, "minItems": 1},
        "checks": {"type": "array", "items": expression},
        "takes_list": {"type": "boolean"},
        "macs": expression,
    }


def _block(layers: Schema) -> dict[str, Schema]:
    return {"params": {"type": "object"}, "inputs": _STRINGS, "layers": layers, "outputs": _STRINGS}


def _codes() -> Schema:
    return {"enum": list(WARNING_CODES)}


def _described(key: str, schema: Schema, where: str = "") -> Schema:
    """``schema`` with the description of ``key`` in ``where`` (``when.weight``), else of ``key``."""
    doc = _DOCS.get(f"{key}.{where}", _DOCS.get(key))
    return {**schema, "description": doc} if doc else dict(schema)


def _closed(
    keys: Iterable[str], values: Mapping[str, Schema], where: str = "", required: tuple[str, ...] = ()
) -> Schema:
    """An object with exactly ``keys``, each described, its value schema from ``values`` (any
    value for a key not given one)."""
    schema: Schema = {
        "type": "object",
        "properties": {key: _described(key, values.get(key, {}), where) for key in keys},
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema
