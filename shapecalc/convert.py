"""A model Keras saved, written as a spec a person would write: ``shapecalc convert``.

The saved model is read as every command reads it (keras_files.py); then each layer keeps only
the arguments that differ from Keras's defaults (an initializer with its default settings is
its default; ``trainable: true`` and the float32 dtype are left out), an entry names its input
only where it is not the entry before it, and ``outputs`` is left out where it is the last
layer. Names stay as Keras gave them. The result reads back to the same model: a test
summarises both.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .errors import ArgError
from .layers import registry
from .layers.base import Layer

# settings a serialised initializer has at its default (an initializer's own are left None)
_INITIALIZER_DEFAULTS = {"gain": 1.0, "mean": 0.0, "stddev": 0.05, "minval": -0.05, "maxval": 0.05}
_FLOAT32 = ("float32", None)


def convert(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec of a saved model (as spec_from_keras gives it, plain), made minimal."""
    out: dict[str, Any] = {}
    if "name" in spec:
        out["name"] = spec["name"]
    if "blocks" in spec:  # the models it uses as layers
        out["blocks"] = {name: _block(body) for name, body in spec["blocks"].items()}
    for key in ("input", "inputs"):
        if key in spec:
            out[key] = _inputs(spec[key]) if key == "inputs" else _input(spec[key])
    out["layers"], last = _entries(spec["layers"])
    if out["layers"] and "inputs" in spec:
        first = next(iter(out["layers"][0].values()))
        if list(spec["inputs"]) == [first.get("inputs")]:
            del first["inputs"]  # the only input feeds the first entry by default
    outputs = spec.get("outputs")
    if outputs and outputs != [last]:
        out["outputs"] = outputs
    return out


def _block(body: dict[str, Any]) -> dict[str, Any]:
    """A nested model's block, its entries made minimal as the model's are."""
    out = {key: value for key, value in body.items() if key != "layers"}
    out["layers"], last = _entries(body["layers"])
    inputs = body.get("inputs") or ["x"]
    first = next(iter(out["layers"][0].values()))
    if first.get("inputs") == inputs[0]:
        del first["inputs"]  # a block's first layer takes its first input by default
    if out.get("outputs") == [last]:
        del out["outputs"]
    return out


def _entries(entries: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """Entries with minimal arguments, each naming its input only where it is not the entry
    before; and the name of the last one."""
    layers = []
    previous: str | None = None
    for entry in entries:
        ((kind, args),) = entry.items()
        args = dict(args)
        if args.get("inputs") == previous and previous is not None:
            del args["inputs"]  # the entry before: what an entry takes by default
        if kind != "Reuse":
            args = _minimal(kind, args)
        layers.append({kind: args})
        previous = args.get("name")  # a layer's name, or the name its Reuse gives this call
    return layers, previous


def to_yaml(spec: dict[str, Any], source: str) -> str:
    """The spec as YAML: one line per layer, in flow style, as the examples in specs/ are."""
    lines = [f"# Converted by shapecalc from {source}"]
    for key, value in spec.items():
        if key == "layers":
            lines.append("layers:")
            lines += _entry_lines(value, "  ")
        elif key == "blocks":
            lines.append("blocks:")
            for name, body in value.items():
                lines.append(f"  {name}:")
                for part, item in body.items():
                    if part == "layers":
                        lines += ["    layers:", *_entry_lines(item, "      ")]
                    else:
                        lines.append(f"    {part}: {_flow(item)}")
        elif isinstance(value, dict) and key == "inputs":
            lines.append("inputs:")
            lines += [f"  {_flow(name)}: {_flow(shape)}" for name, shape in value.items()]
        else:
            lines.append(f"{key}: {_flow(value)}")
    return "\n".join(lines) + "\n"


def _entry_lines(entries: list[dict[str, Any]], indent: str) -> list[str]:
    return [f"{indent}- {kind}: {_flow(args)}" for entry in entries for kind, args in entry.items()]


def _flow(value: Any) -> str:
    return (
        yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False)
        .strip()
        .removesuffix("...")
        .strip()
    )


def _input(decl: Any) -> Any:
    """{shape: [...]} alone is written as the shape."""
    if isinstance(decl, dict) and set(decl) - {"dtype"} == {"shape"} and decl.get("dtype") in _FLOAT32:
        return decl["shape"]
    return decl


def _inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    return {name: _input(decl) for name, decl in inputs.items()}


def _minimal(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    """The arguments that differ from the layer type's defaults, nested layers made minimal too."""
    cls = registry.lookup(kind)
    if cls is None:
        return args  # not a type shapecalc knows: what Keras wrote, for the error to show
    kept: dict[str, Any] = {}
    for name, value in args.items():
        arg = cls.argument(name)
        if arg is not None and arg.nested_layer:
            value = _nested(value)
        if name in ("name", "inputs", "call") or arg is None or not _is_default(cls, name, value):
            kept[name] = value
    return kept


def _nested(value: Any) -> Any:
    if isinstance(value, list):
        return [_nested(item) for item in value]
    if isinstance(value, dict) and len(value) == 1:
        ((kind, args),) = value.items()
        if isinstance(args, dict):
            return {kind: _minimal(kind, args)}
    return value


def _is_default(cls: type[Layer], name: str, value: Any) -> bool:
    arg = cls.argument(name)
    if arg is None or arg.required:
        return False
    if name == "trainable":
        return value is True
    if name == "dtype":
        return value in _FLOAT32
    if name == "activation" and value == "linear" and arg.default is None:
        return True  # Keras writes no activation as linear
    default = arg.default
    if isinstance(value, dict) and "class_name" in value and isinstance(default, str):
        config = value.get("config") or {}
        return (
            isinstance(config, dict)
            and _snake(value["class_name"]) == default
            and all(v is None or _INITIALIZER_DEFAULTS.get(k) == v for k, v in config.items())
        )
    try:
        return arg.parse(value) == default
    except ArgError:  # a value the type refuses is kept, for its error to show
        return False


def _snake(name: str) -> str:
    """GlorotUniform -> glorot_uniform, as Keras names its initializers."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", str(name)).lower()
