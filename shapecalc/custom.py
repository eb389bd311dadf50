"""Custom layers declared in the spec, as a Keras user subclasses ``Layer``::

    custom_layers:
      MyLayer:
        arguments: {output_dim: required, use_bias: false}
        weights:
          kernel: [input_shape[1], output_dim]
          bias: {shape: [output_dim], when: use_bias, initializer: zeros}
        output_shape: [input_shape[0], output_dim]

``arguments`` maps each argument to its default (``required``: no default). ``weights`` maps
weight names to a shape, or to ``{shape, trainable, initializer, when}``. ``output_shape`` is
a list of expressions (``"*input_shape[:-1]"`` splices a shape in), or ``output_shapes`` a
list of them for a layer with several outputs. ``checks`` lists conditions the input must meet.
``takes_list: true`` makes the layer take a list of tensors, seen as ``input_shapes``.
Expressions are those of :mod:`shapecalc.expressions`; nothing in them is executed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .errors import ArgError, ExpressionError, Location, ShapeError, SpecError
from .expressions import Expression, parse
from .layers import args as A
from .layers.base import REQUIRED, Arg, Layer, OutputShape, Shape, Weight, fmt_shape, fmt_shapes
from .layers.explaining import Step
from .layers.registry import lookup
from .source import Node

DEFINITION_KEYS = (
    "arguments",
    "weights",
    "output_shape",
    "output_shapes",
    "checks",
    "takes_list",
    "macs",
    "doc",
)
WEIGHT_KEYS = ("shape", "trainable", "initializer", "when")
RESERVED_NAMES = frozenset({"input_shape", "input_shapes", "None", "null", "true", "false"})


@dataclass(frozen=True)
class LocatedExpression:
    expression: Expression
    loc: Location

    def evaluate(self, names: dict[str, Any]) -> Any:
        try:
            return self.expression.evaluate(names)
        except ExpressionError as err:
            raise ShapeError(
                f"{self.expression.text}: {err.message}", _offset(self.loc, err.offset)
            ) from None


@dataclass(frozen=True)
class ShapeExpr:
    """A shape: a list of dimension expressions (``"*expr"`` splices a shape in), or one
    expression that gives the whole shape, such as ``(input_shape[1], output_dim)``."""

    parts: tuple[LocatedExpression, ...]
    whole: bool

    def evaluate(self, names: dict[str, Any], what: str) -> Shape:
        dims: list[Any] = []
        for expr in self.parts:
            value = expr.evaluate(names)
            splice = self.whole or expr.expression.text.lstrip().startswith("*")
            if splice and not isinstance(value, tuple):
                raise ShapeError(f"{expr.expression.text} = {A.describe(value)}; expected a shape", expr.loc)
            for dim in value if splice else (value,):
                if dim is not None and (not A.is_int(dim) or dim < 0):
                    raise ShapeError(
                        f"{what}: {expr.expression.text} gives {A.describe(dim)}; "
                        "a dimension must be an integer >= 0 or None",
                        expr.loc,
                    )
                dims.append(dim)
        return tuple(dims)


@dataclass(frozen=True)
class WeightDecl:
    name: str
    shape: ShapeExpr
    trainable: bool
    initializer: Any
    when: LocatedExpression | None


class CustomLayer(Layer):
    """Base of the layer types a spec declares; subclasses are made by :func:`read_custom_layers`."""

    custom_name: ClassVar[str]
    weight_decls: ClassVar[tuple[WeightDecl, ...]]
    output_exprs: ClassVar[tuple[ShapeExpr, ...]]  # one per output
    multi_output: ClassVar[bool]
    checks: ClassVar[tuple[LocatedExpression, ...]]
    macs_expr: ClassVar[LocatedExpression | None]  # without one, the layer's MACs are unknown

    @classmethod
    def type_name(cls) -> str:
        return cls.custom_name

    def _names(self, input_shape: Any) -> dict[str, Any]:
        names = {arg.name: _freeze(getattr(self, arg.name)) for arg in self.arguments}
        if self.takes_list:
            names["input_shapes"] = tuple(tuple(s) for s in input_shape)
            names["input_shape"] = tuple(input_shape[0])
        else:
            names["input_shape"] = tuple(input_shape)
        return names

    def check_input(self, input_shape: Any) -> None:
        names = self._names(input_shape)
        for check in self.checks:
            if not check.evaluate(names):
                raise ShapeError(f"check failed: {check.expression.text}", check.loc)

    def build(self, input_shape: Any) -> list[Weight]:
        names = self._names(input_shape)
        weights = []
        for decl in self.weight_decls:
            if decl.when is not None and not decl.when.evaluate(names):
                continue
            dims = decl.shape.evaluate(names, f"weight '{decl.name}'")
            if None in dims:
                raise ShapeError(
                    f"weight '{decl.name}' would have shape {fmt_shape(dims)}; weight sizes must be known",
                    decl.shape.parts[0].loc,
                )
            weights.append(self.weight(decl.name, dims, decl.initializer, decl.trainable))
        return weights

    def compute_output_shape(self, input_shape: Any) -> OutputShape:
        names = self._names(input_shape)
        shapes = [shape.evaluate(names, "output shape") for shape in self.output_exprs]
        return shapes if self.multi_output else shapes[0]

    def explain(self, input_shape: Any) -> list[Step]:
        """The spec's own output expressions, evaluated with this call's input shape."""
        given = fmt_shapes(input_shape) if self.takes_list else fmt_shape(input_shape)
        names = self._names(input_shape)
        steps = []
        for k, shape in enumerate(self.output_exprs):
            text = ", ".join(part.expression.text for part in shape.parts)
            label = f"output {k}" if self.multi_output else "shape"
            result = list(shape.evaluate(names, "output shape"))
            steps.append(Step(label, f"{text} with input_shape = {given}", result))
        return steps

    def macs(self, input_shape: Any, output_shape: OutputShape) -> int | None:
        if self.macs_expr is None:
            return None
        names = self._names(input_shape)
        names["output_shapes" if self.multi_output else "output_shape"] = (
            tuple(tuple(s) for s in output_shape) if self.multi_output else tuple(output_shape)  # type: ignore[union-attr]
        )
        value = self.macs_expr.evaluate(names)
        if value is not None and (not A.is_int(value) or value < 0):
            raise ShapeError(
                f"macs: {self.macs_expr.expression.text} = {A.describe(value)}; expected an integer >= 0 "
                "(None for unknown)",
                self.macs_expr.loc,
            )
        return value


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _offset(loc: Location, offset: int) -> Location:
    return Location(loc.file, loc.line, loc.col + offset)


def _expression(node: Node) -> LocatedExpression:
    value = node.value
    if isinstance(value, bool) or value is None:
        text = {True: "true", False: "false", None: "None"}[value]
    elif isinstance(value, (int, float, str)):
        text = str(value)
    else:
        raise SpecError(f"expected an expression, got {A.describe(node.plain())}", node.loc)
    # A leading '*' splices a shape into a list: parse the rest, keep the text for the splice test.
    body = text.lstrip()[1:] if text.lstrip().startswith("*") else text
    try:
        expression = parse(body)
    except ExpressionError as err:
        raise SpecError(f"{err.message} in '{text}'", _offset(node.loc, err.offset)) from None
    return LocatedExpression(Expression(text, expression.tree), node.loc)


def _shape(node: Node, what: str) -> ShapeExpr:
    if isinstance(node.value, list):
        return ShapeExpr(tuple(_expression(item) for item in node.value), whole=False)
    if isinstance(node.value, str):
        return ShapeExpr((_expression(node),), whole=True)
    raise SpecError(
        f"{what} is an expression such as (input_shape[1], units), or a list of dimension expressions",
        node.loc,
    )


def _mapping(node: Node, what: str) -> dict[str, Node]:
    if not isinstance(node.value, dict):
        raise SpecError(f"{what} must be a mapping", node.loc)
    return node.value


def read_custom_layers(node: Node | None) -> dict[str, type[Layer]]:
    if node is None:
        return {}
    types: dict[str, type[Layer]] = {}
    for name, definition in _mapping(node, "custom_layers").items():
        if not name.isidentifier():
            raise SpecError(
                f"custom layer name '{name}' must be an identifier such as MyLayer", definition.key_loc
            )
        if lookup(name) is not None:
            raise SpecError(
                f"'{name}' is a Keras layer; give the custom layer another name", definition.key_loc
            )
        types[name] = _custom_type(name, definition)
    return types


def _custom_type(name: str, definition: Node) -> type[Layer]:
    items = _mapping(definition, f"custom layer {name}")
    for key, value in items.items():
        if key not in DEFINITION_KEYS:
            raise SpecError(
                f"custom layer {name} has no setting '{key}'{A.did_you_mean(key, DEFINITION_KEYS)}",
                value.key_loc,
            )
    arguments = []
    if "arguments" in items:
        for arg_name, default in _mapping(items["arguments"], "arguments").items():
            if not arg_name.isidentifier() or arg_name in RESERVED_NAMES:
                raise SpecError(f"'{arg_name}' cannot be an argument name", default.key_loc)
            value = REQUIRED if default.value == "required" else default.plain()
            arguments.append(Arg(arg_name, A.anything, value))
    if ("output_shape" in items) == ("output_shapes" in items):
        raise SpecError(
            f"custom layer {name} needs output_shape (or output_shapes for several outputs)", definition.loc
        )
    if "output_shape" in items:
        outputs: tuple[ShapeExpr, ...] = (_shape(items["output_shape"], "output_shape"),)
    else:
        shapes = items["output_shapes"]
        if not isinstance(shapes.value, list) or not shapes.value:
            raise SpecError("output_shapes is a list of shapes", shapes.loc)
        outputs = tuple(_shape(item, "each of output_shapes") for item in shapes.value)
    checks = ()
    if "checks" in items:
        if not isinstance(items["checks"].value, list):
            raise SpecError("checks is a list of conditions", items["checks"].loc)
        checks = tuple(_expression(item) for item in items["checks"].value)
    takes_list = items["takes_list"].value if "takes_list" in items else False
    if not isinstance(takes_list, bool):
        raise SpecError("takes_list is true or false", items["takes_list"].loc)
    doc = items["doc"].value if "doc" in items else f"custom layer {name}, declared in the spec"
    macs = _expression(items["macs"]) if "macs" in items else None
    return type(
        name,
        (CustomLayer,),
        {
            "__doc__": str(doc),
            "custom_name": name,
            "arguments": tuple(arguments),
            "weight_decls": tuple(_weights(items.get("weights"))),
            "output_exprs": outputs,
            "multi_output": "output_shapes" in items,
            "checks": checks,
            "takes_list": takes_list,
            "macs_expr": macs,
        },
    )


def _weights(node: Node | None) -> list[WeightDecl]:
    if node is None:
        return []
    decls = []
    for weight_name, spec in _mapping(node, "weights").items():
        if not isinstance(spec.value, dict):
            decls.append(
                WeightDecl(weight_name, _shape(spec, "a weight shape"), True, "glorot_uniform", None)
            )
            continue
        fields = _mapping(spec, f"weight '{weight_name}'")
        for key, value in fields.items():
            if key not in WEIGHT_KEYS:
                raise SpecError(
                    f"weight '{weight_name}' has no setting '{key}'{A.did_you_mean(key, WEIGHT_KEYS)}",
                    value.key_loc,
                )
        if "shape" not in fields:
            raise SpecError(f"weight '{weight_name}' needs a shape", spec.loc)
        trainable = fields["trainable"].value if "trainable" in fields else True
        if not isinstance(trainable, bool):
            raise SpecError("trainable is true or false", fields["trainable"].loc)
        initializer = "glorot_uniform"
        if "initializer" in fields:
            try:
                initializer = A.initializer(fields["initializer"].plain())
            except ArgError as err:
                raise SpecError(err.message, fields["initializer"].loc) from None
        when = _expression(fields["when"]) if "when" in fields else None
        decls.append(
            WeightDecl(weight_name, _shape(fields["shape"], "a weight shape"), trainable, initializer, when)
        )
    return decls
