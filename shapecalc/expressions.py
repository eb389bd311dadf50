"""Shape expressions for custom layers: ``input_shape[-1] * 2``, ``max(1, filters // groups)``.

The text is parsed with Python's own parser (``ast.parse``, which runs nothing) and evaluated
by the small interpreter below, which knows only numbers, names bound by the layer (its
arguments, ``input_shape``, ``input_shapes``), indexing and slicing, arithmetic, comparisons,
``and``/``or``/``not``, ``a if c else b`` and a few pure functions. Anything else - attribute
access, calls of other names, lambdas, comprehensions - is refused before evaluation.

Unknown dimensions (None) propagate through arithmetic as Keras shapes do: ``None * 2`` is None.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ExpressionError

MAX_LENGTH = 1000
MAX_MAGNITUDE = 2**62  # keeps integer arithmetic from growing without bound


def _prod(values: Any) -> Any:
    items = _sequence(values, "prod")
    return None if any(v is None for v in items) else math.prod(items)


def _sequence(value: Any, name: str) -> tuple[Any, ...]:
    if not isinstance(value, tuple):
        raise ExpressionError(f"{name}() takes a shape or list")
    return value


def _known(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any) -> Any:
        flat = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
        return None if any(a is None for a in flat) else fn(*flat)

    return wrapped


def _make_divisible(value: Any, divisor: Any = 8, least: Any = None) -> Any:
    """keras.applications' _make_divisible (MobileNet's channel rounding): ``value`` rounded to
    the nearest multiple of ``divisor`` (at least ``least``, default the divisor), one divisor
    more when that loses more than a tenth."""
    if value is None or divisor is None:
        return None
    rounded = max(divisor if least is None else least, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": _known(min),
    "max": _known(max),
    "abs": _known(abs),
    "ceil": _known(lambda x: math.ceil(x)),
    "floor": _known(lambda x: math.floor(x)),
    "round": _known(lambda x: round(x)),
    "int": _known(lambda x: int(x)),
    "prod": _prod,
    "len": lambda x: len(_sequence(x, "len")),
    "make_divisible": _make_divisible,
}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    # None is the one value compared by identity here: ``input_shape[1] is None``
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}

# What a refused construct is, in words (Python's node names mean nothing to a spec's author).
_REFUSED = {
    ast.Attribute: "attribute access (a.b)",
    ast.Lambda: "a lambda",
    ast.ListComp: "a list comprehension",
    ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.NamedExpr: "an assignment (:=)",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.Pow: "the power operator (**)",
    ast.MatMult: "the matrix product operator (@)",
    ast.BitAnd: "a bitwise operator",
    ast.BitOr: "a bitwise operator",
    ast.BitXor: "a bitwise operator",
    ast.LShift: "a bitwise operator",
    ast.RShift: "a bitwise operator",
    ast.Invert: "a bitwise operator",
    ast.In: "'in'",
    ast.NotIn: "'not in'",
}


@dataclass(frozen=True)
class Expression:
    """A parsed expression, checked to use only what the interpreter allows."""

    text: str
    tree: ast.expr

    def evaluate(self, names: dict[str, Any]) -> Any:
        return _Interpreter(names).value_of(self.tree)

    def names(self) -> set[str]:
        return {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name)}


def parse(text: str) -> Expression:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as err:
        raise ExpressionError(f"cannot parse expression: {err.msg}", max(0, (err.offset or 1) - 1)) from None
    offset = len(text) - len(text.lstrip())
    for node in ast.walk(tree):
        _check_allowed(node, offset)
    return Expression(text, tree)


_ALLOWED = (
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.BinOp,
    ast.UnaryOp,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.Compare,
    ast.IfExp,
    ast.Subscript,
    ast.Slice,
    ast.Tuple,
    ast.List,
    ast.Call,
    ast.Starred,
    *_BINARY,
    *_COMPARE,
)


def _check_allowed(node: ast.AST, offset: int) -> None:
    column = offset + getattr(node, "col_offset", 0)
    if not isinstance(node, _ALLOWED):
        what = _REFUSED.get(type(node), f"this construct ({type(node).__name__})")
        allowed = "numbers, names, + - * / // %, comparisons, and/or/not, a if c else b, indexing"
        raise ExpressionError(f"{what} is not allowed in an expression (allowed: {allowed})", column)
    if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, bool, type(None), str)):
        raise ExpressionError("only numbers, strings, true/false and None are allowed as constants", column)
    if isinstance(node, ast.Compare):
        for op, right in zip(node.ops, node.comparators, strict=True):
            none = (isinstance(right, ast.Constant) and right.value is None) or (
                isinstance(right, ast.Name) and right.id in ("None", "null")
            )
            if isinstance(op, (ast.Is, ast.IsNot)) and not none:
                raise ExpressionError("'is' and 'is not' compare with None only: use == and !=", column)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS))
            raise ExpressionError(f"only these functions can be called: {allowed}", column)
        if node.keywords:
            raise ExpressionError("functions take positional arguments only", column)


class _Interpreter:
    def __init__(self, names: dict[str, Any]) -> None:
        self.names = names

    def fail(self, node: ast.AST, message: str) -> ExpressionError:
        return ExpressionError(message, getattr(node, "col_offset", 0))

    def value_of(self, node: ast.expr) -> Any:
        value = self._value_of(node)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_MAGNITUDE:
            raise self.fail(node, "value out of range")
        return value

    def _value_of(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in ("None", "null"):
                return None
            if node.id in ("true", "false"):
                return node.id == "true"
            if node.id not in self.names:
                raise self.fail(node, f"unknown name '{node.id}' (known: {', '.join(sorted(self.names))})")
            return self.names[node.id]
        if isinstance(node, (ast.Tuple, ast.List)):
            items: list[Any] = []
            for element in node.elts:
                if isinstance(element, ast.Starred):
                    items.extend(_sequence(self.value_of(element.value), "*"))
                else:
                    items.append(self.value_of(element))
            return tuple(items)
        if isinstance(node, ast.BinOp):
            return self._binary(node)
        if isinstance(node, ast.UnaryOp):
            value = self.value_of(node.operand)
            if isinstance(node.op, ast.Not):
                return not value
            if value is None:
                return None
            if not isinstance(value, (int, float)):
                raise self.fail(node, f"a sign needs a number, got {value!r}")
            return -value if isinstance(node.op, ast.USub) else +value
        if isinstance(node, ast.BoolOp):
            result = self.value_of(node.values[0])
            for item in node.values[1:]:
                if isinstance(node.op, ast.And) and not result:
                    return result
                if isinstance(node.op, ast.Or) and result:
                    return result
                result = self.value_of(item)
            return result
        if isinstance(node, ast.Compare):
            left = self.value_of(node.left)
            for op, comparator in zip(node.ops, node.comparators, strict=False):
                right = self.value_of(comparator)
                try:
                    if not _COMPARE[type(op)](left, right):
                        return False
                except TypeError:
                    raise self.fail(node, f"cannot compare {left!r} with {right!r}") from None
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self.value_of(node.body) if self.value_of(node.test) else self.value_of(node.orelse)
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            args = [self.value_of(a) for a in node.args]
            try:
                return FUNCTIONS[node.func.id](*args)
            except ExpressionError:
                raise
            except (TypeError, ValueError, OverflowError) as err:  # int(inf): cannot convert ...
                raise self.fail(node, f"{node.func.id}(): {err}") from None
        raise self.fail(node, f"'{type(node).__name__}' is not allowed")

    def _binary(self, node: ast.BinOp) -> Any:
        left, right = self.value_of(node.left), self.value_of(node.right)
        if isinstance(left, tuple) and isinstance(right, tuple) and isinstance(node.op, ast.Add):
            return left + right
        if left is None or right is None:
            return None
        numbers = all(isinstance(v, (int, float)) for v in (left, right))
        if not numbers:  # a shape, a string, a mapping a variable was given
            raise self.fail(node, "arithmetic needs numbers (a shape can only be joined to a shape with +)")
        try:
            return _BINARY[type(node.op)](left, right)
        except ZeroDivisionError:
            raise self.fail(node, "division by zero") from None
        except OverflowError:  # a huge integer met a float: 10**400 / 3
            raise self.fail(node, "value out of range") from None

    def _subscript(self, node: ast.Subscript) -> Any:
        target = self.value_of(node.value)
        if not isinstance(target, tuple):
            raise self.fail(node, "only shapes and lists can be indexed")
        if isinstance(node.slice, ast.Slice):
            bounds = [
                None if b is None else self.value_of(b)
                for b in (node.slice.lower, node.slice.upper, node.slice.step)
            ]
            if any(b is not None and (not isinstance(b, int) or isinstance(b, bool)) for b in bounds):
                raise self.fail(node, "slice bounds must be integers")
            if bounds[2] == 0:
                raise self.fail(node, "slice step cannot be zero")
            return target[slice(*bounds)]
        index = self.value_of(node.slice)
        if not isinstance(index, int) or isinstance(index, bool):
            raise self.fail(node, "an index must be an integer")
        if not -len(target) <= index < len(target):
            raise self.fail(
                node, f"index {index} is out of range for {_show(target)} of length {len(target)}"
            )
        return target[index]


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return "None" if value is None else str(value)
