"""Operation nodes: the ``keras.ops`` calls and tensor arithmetic a functional model records
between its layers (``x + 3.0``, ``x * y``, ``ops.mean(x, axis=-1)``), as rows of their own.

Keras 3 records each such call as an ``Operation`` node. Its summary lists it like a layer, with
the operation's class (``add (Add)``) and 0 parameters; it is named from the class as layers are,
sharing their counters (an ``ops.add`` after an ``Add`` layer is ``add_1``). A spec writes one
with the name of its ``keras.ops`` function, ``ops.add: {x2: 3.0}``; a Python number among the
call's operands is an argument (``x1``/``x2``, Keras's parameter names), and the tensors fill the
other positions in order: ``3.0 - x`` is ``ops.subtract: {x1: 3.0}``.

Shapes follow ``keras/src/ops/numpy.py``: broadcasting over every axis, the batch axis included
(``operation_utils.broadcast_shapes``), and Keras's reduction, transpose, reshape and matmul
rules. Dtypes follow ``dtypes.result_type`` where it matters here: a Python number is weak (a
float32 tensor plus 3.0 stays float32) and the float-valued functions give float32 for integers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from ..arithmetic import Field, widest
from ..errors import ArgError, CallFailure, ShapeError
from ..lazy import lazy
from . import args as A
from .base import BASE_ARGUMENTS, Arg, Layer, Shape, fmt_shape
from .explaining import Step, show
from .registry import register

np = lazy("numpy")

# Layer.__init__'s arguments an Operation does not take: it has a name and nothing else
_NOT_AN_OPERATION_ARGUMENT = frozenset(arg.name for arg in BASE_ARGUMENTS if arg.name != "name")
# the dtypes of float values: the float-valued functions give float32 for any other
FLOAT_DTYPES = ("float32", "float16", "bfloat16", "float64")


class Operation(Layer):
    """A ``keras.ops`` call recorded in a functional model: no weights, no masks, no training mode."""

    excluded_base_arguments = _NOT_AN_OPERATION_ARGUMENT
    spec_name: ClassVar[str] = ""  # how a spec names it: the keras.ops function
    float_valued: ClassVar[bool] = False  # integers in, float32 out (sqrt, exp, mean, ...)
    boolean: ClassVar[bool] = False  # a comparison or logical function: bool out
    is_operation: ClassVar[bool] = True
    # what the rest of shapecalc reads of every layer: an operation has no weights to freeze, no
    # dtype policy (its dtype comes from its operands) and no regularizer
    trainable, dtype, autocast, activity_regularizer = True, None, True, None

    # the keras.src.ops module that defines the class, for code that names the call itself
    keras_ops_module: ClassVar[str] = "numpy"

    @classmethod
    def spec_type(cls) -> str:
        return cls.spec_name

    @classmethod
    def keras_class(cls) -> str:
        return f"keras.src.ops.{cls.keras_ops_module}.{cls.type_name()}"

    def output_dtype(self, input_dtypes: Sequence[str]) -> str:
        dtype = input_dtypes[0] if input_dtypes else "float32"
        if self.boolean:
            return "bool"
        if self.float_valued and dtype not in FLOAT_DTYPES:
            return "float32"
        return dtype


def axis_list(value: Any) -> tuple[int, ...] | None:
    """An ``axis`` argument: None (every axis), an integer or a list of integers."""
    if value is None:
        return None
    if A.is_int(value):
        return (value,)
    if isinstance(value, list) and all(A.is_int(v) for v in value):
        return tuple(value)
    raise ArgError(f"expected an axis (an integer), a list of them or null, got {A.describe(value)}")


def canonical(axis: int, rank: int) -> int:
    """operation_utils.canonicalize_axis."""
    if not -rank <= axis < rank:
        raise ShapeError(f"axis {axis} is out of range for a tensor of rank {rank}")
    return axis % rank


def broadcast_shapes(a: Shape, b: Shape) -> Shape:
    """operation_utils.broadcast_shapes: right-aligned over every axis; a 1 takes the other size,
    and an unknown size takes a known one (None against 3 is 3)."""
    given = fmt_shape(a), fmt_shape(b)
    a, b = tuple(a), tuple(b)
    a = (1,) * (len(b) - len(a)) + a
    b = (1,) * (len(a) - len(b)) + b
    out: list[int | None] = []
    for i, j in zip(a, b, strict=True):
        if i == 1:
            out.append(j)
        elif i is None:
            out.append(None if j == 1 else j)
        elif j == 1 or j is None or i == j:
            out.append(i)
        else:
            raise ShapeError(
                f"cannot broadcast {given[0]} with {given[1]} (aligned on the right, the batch axis "
                f"included): {i} vs {j}; sizes must be equal, or one of them 1"
            )
    return tuple(out)


# ----------------------------------------------------------------------------- two operands
class _Binary(Operation):
    """``ops.f(x1, x2)`` element-wise with broadcasting; either operand may be a Python number."""

    arguments = (
        Arg("x1", A.optional(A.number), None, "the first operand when it is a number, not a tensor"),
        Arg("x2", A.optional(A.number), None, "the second operand when it is a number, not a tensor"),
    )
    list_inputs = "[x1, x2]"
    function: ClassVar[Callable[..., Any]]

    def configure(self) -> None:
        if self.x1 is not None and self.x2 is not None:
            raise ArgError("x1 and x2 are both numbers: at least one operand must be a tensor", argument="x2")
        # with a number given, the call reads one tensor; else it reads the two
        self.takes_list = self.x1 is None and self.x2 is None

    def _operands(self, given: Any) -> list[Any]:
        """The two operands in order: the inputs (shapes or arrays) where no number is given."""
        if self.takes_list:
            if len(given) != 2:
                raise ShapeError(f"takes two tensors, x1 and x2, got {len(given)}")
            return list(given)
        return [given, self.x2] if self.x1 is None else [self.x1, given]

    def compute_output_shape(self, input_shape: Any) -> Shape:
        first, second = (() if isinstance(s, float) else s for s in self._operands(input_shape))
        return broadcast_shapes(first, second)

    def output_dtype(self, input_dtypes: Sequence[str]) -> str:
        if self.boolean:
            return "bool"
        floats = [d for d in input_dtypes if d in FLOAT_DTYPES]
        if floats:
            return max(floats, key=A.dtype_size)
        number = self.x1 if self.x1 is not None else self.x2
        if self.float_valued or (number is not None and not float(number).is_integer()):
            return "float32"
        return input_dtypes[0] if input_dtypes else "float32"

    def forward(self, inputs: Any, weights: Mapping[str, Any]) -> Any:
        first, second = self._operands(inputs)
        dtype = self.output_dtype([a.dtype.name for a in (first, second) if hasattr(a, "dtype")])
        with np.errstate(all="ignore"):  # x / 0 is inf and log(-1) nan in Keras too, silently
            return np.asarray(type(self).function(first, second)).astype(dtype, copy=False)

    def receptive_field(self, fields: list[Field], input_shape: Any, output_shape: Any) -> Field | None:
        return widest(fields, len(output_shape))

    def explain(self, input_shape: Any) -> list[Step]:
        if not self.takes_list:
            number = self.x1 if self.x1 is not None else self.x2
            return [
                Step("shape", f"{show(input_shape)} with the number {number}: unchanged", list(input_shape))
            ]
        output = self.compute_output_shape(input_shape)
        first, second = input_shape
        return [
            Step(
                "shape",
                f"{show(first)} and {show(second)} broadcast on the right (a 1 takes the other size)",
                list(output),
            )
        ]


def _binary(
    keras_class: str, spec_name: str, function: str, float_valued: bool = False, boolean: bool = False
) -> type[_Binary]:
    cls = type(
        keras_class,
        (_Binary,),
        {
            "spec_name": spec_name,
            "function": staticmethod(lambda a, b: getattr(np, function)(a, b)),
            "float_valued": float_valued,
            "boolean": boolean,
            "__doc__": f"keras.{spec_name}(x1, x2): element-wise, with broadcasting.",
            "__module__": __name__,
        },
    )
    return register(cls)


Add = _binary("Add", "ops.add", "add")
Subtract = _binary("Subtract", "ops.subtract", "subtract")
Multiply = _binary("Multiply", "ops.multiply", "multiply")
Divide = _binary("Divide", "ops.divide", "true_divide", float_valued=True)
TrueDivide = _binary("TrueDivide", "ops.true_divide", "true_divide", float_valued=True)
Power = _binary("Power", "ops.power", "power")
Maximum = _binary("Maximum", "ops.maximum", "maximum")
Minimum = _binary("Minimum", "ops.minimum", "minimum")
# the comparisons and logic Keras's compute_mask methods run (see mask_operations.py)
NotEqual = _binary("NotEqual", "ops.not_equal", "not_equal", boolean=True)
LogicalOr = _binary("LogicalOr", "ops.logical_or", "logical_or", boolean=True)


# ----------------------------------------------------------------------------- one operand
class _Unary(Operation):
    """``ops.f(x)`` element-wise: the shape is the input's."""

    pointwise = True
    keeps_shape = "the function applies to each value alone"
    function: ClassVar[Callable[[Any], Any]]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def forward(self, inputs: Any, weights: Mapping[str, Any]) -> Any:
        dtype = self.output_dtype([inputs.dtype.name])
        with np.errstate(all="ignore"):
            return type(self).function(inputs.astype(dtype, copy=False))


def _sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-x))


def _unary(
    keras_class: str,
    spec_name: str,
    function: Callable[[Any], Any],
    float_valued: bool = False,
    module: str = "numpy",
) -> type:
    cls = type(
        keras_class,
        (_Unary,),
        {
            "spec_name": spec_name,
            "keras_ops_module": module,
            "function": staticmethod(function),
            "float_valued": float_valued,
            "__doc__": f"keras.{spec_name}(x): element-wise.",
            "__module__": __name__,
        },
    )
    return register(cls)


Negative = _unary("Negative", "ops.negative", lambda x: np.negative(x))
Absolute = _unary("Absolute", "ops.abs", lambda x: np.abs(x))
Square = _unary("Square", "ops.square", lambda x: np.square(x))
Sqrt = _unary("Sqrt", "ops.sqrt", lambda x: np.sqrt(x), float_valued=True)
Exp = _unary("Exp", "ops.exp", lambda x: np.exp(x), float_valued=True)
Log = _unary("Log", "ops.log", lambda x: np.log(x), float_valued=True)
Tanh = _unary("Tanh", "ops.tanh", lambda x: np.tanh(x), float_valued=True)
Sigmoid = _unary("Sigmoid", "ops.sigmoid", _sigmoid, float_valued=True, module="nn")
ConvertToTensor = _unary("ConvertToTensor", "ops.convert_to_tensor", lambda x: x)
Relu = _unary("Relu", "ops.relu", lambda x: np.maximum(x, 0).astype(x.dtype, copy=False), module="nn")


# ----------------------------------------------------------------------------- reductions
class _Reduction(Operation):
    """``ops.f(x, axis=None, keepdims=False)``: operation_utils.reduce_shape."""

    arguments = (
        Arg("axis", axis_list, None, "the axes reduced; null: all of them"),
        Arg("keepdims", A.truthy, False, "keep each reduced axis as a 1"),
    )
    function: ClassVar[str]

    def check_input(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)

    def _axes(self, rank: int) -> tuple[int, ...]:
        return tuple(range(rank)) if self.axis is None else tuple(canonical(a, rank) for a in self.axis)

    def _distinct_axes(self, rank: int) -> tuple[int, ...]:
        """The axes a call reduces: Keras's shape rule takes an axis listed twice, its call fails."""
        axes = self._axes(rank)
        if len(set(axes)) != len(axes):
            raise CallFailure(f"axis lists an axis twice: {list(self.axis or [])}")
        return axes

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        axes = self._axes(len(input_shape))
        if self.keepdims:
            return tuple(1 if k in axes else d for k, d in enumerate(input_shape))
        # as Keras's reduce_shape: each listed axis deleted, from the last; an axis listed twice
        # deletes the one after it too (the call then fails: see forward)
        shape = list(input_shape)
        for axis in sorted(axes, reverse=True):
            if axis >= len(shape):  # Keras's deletion runs past the end: it refuses
                raise ShapeError(
                    f"axis lists an axis twice, and no axis is left to remove: {list(self.axis)}"
                )
            del shape[axis]
        return tuple(shape)

    def forward(self, inputs: Any, weights: Mapping[str, Any]) -> Any:
        axes = self._distinct_axes(inputs.ndim)
        out = getattr(np, type(self).function)(inputs, axis=axes, keepdims=self.keepdims)
        return np.asarray(out).astype(self.output_dtype([inputs.dtype.name]), copy=False)

    def explain(self, input_shape: Shape) -> list[Step]:
        axes = self._axes(len(input_shape))
        kept = "each kept as 1 (keepdims)" if self.keepdims else "each removed"
        listed = ", ".join(str(a) for a in axes)
        return [
            Step(
                "shape",
                f"{show(input_shape)} reduced over axes {listed}, {kept}",
                list(self.compute_output_shape(input_shape)),
            )
        ]


class _ExtremeReduction(_Reduction):
    arguments = (
        *_Reduction.arguments,
        Arg("initial", A.optional(A.number), None, "a value every result is compared with"),
    )

    def forward(self, inputs: Any, weights: Mapping[str, Any]) -> Any:
        axes = self._distinct_axes(inputs.ndim)
        extra = {} if self.initial is None else {"initial": self.initial}
        return getattr(np, type(self).function)(inputs, axis=axes, keepdims=self.keepdims, **extra)


@register
class Mean(_Reduction):
    """keras.ops.mean(x, axis=None, keepdims=False)."""

    spec_name, function, float_valued = "ops.mean", "mean", True


@register
class AnyTrue(_Reduction):
    """keras.ops.any(x, axis=None, keepdims=False): whether any value is true (not zero)."""

    spec_name, function, boolean = "ops.any", "any", True

    @classmethod
    def type_name(cls) -> str:
        return "Any"  # Keras's class (typing's Any is taken here)


@register
class Sum(_Reduction):
    """keras.ops.sum(x, axis=None, keepdims=False)."""

    spec_name, function = "ops.sum", "sum"


@register
class Max(_ExtremeReduction):
    """keras.ops.max(x, axis=None, keepdims=False, initial=None)."""

    spec_name, function = "ops.max", "max"


@register
class Min(_ExtremeReduction):
    """keras.ops.min(x, axis=None, keepdims=False, initial=None)."""

    spec_name, function = "ops.min", "min"
