"""The declaration every layer type is written in.

A layer type is one small class, in the manner of Keras 3's own layers:

* ``arguments`` declares its keyword arguments (Keras names, defaults, value checks);
* ``configure`` normalises and cross-checks them, as Keras does in ``__init__``;
* ``build`` returns the weights the layer creates for an input shape, as Keras's ``build``;
* ``compute_output_shape`` is the pure shape rule.

Every hook is pure: a layer object holds its arguments only. What a call fixes (the input
shape a layer was first built for, the weights it made) is returned as a :class:`Built` record
that the analysis keeps, so the same graph can be analysed again at other sizes.

Shapes include the batch axis; ``None`` is an unknown size. A layer called on one tensor
receives one shape; a layer with ``takes_list = True`` (merges, attention) receives the list.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, TypeVar

from ..arithmetic import Field
from ..errors import ArgError, ShapeError
from . import args as A
from .explaining import Step, unchanged

Dim = int | None
Shape = tuple[Dim, ...]
# compute_output_shape returns one shape, or a list of shapes for a layer with several outputs
OutputShape = Shape | list[Shape]
# the shapes of a call's tensors with every size known (at run time)
Sizes = list[tuple[int, ...]]
# an in-place function of a block of rows (n, channels) of a float32 array (run/fusion.py)
RowMap = Callable[[Any], object]
_T = TypeVar("_T")


class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Arg:
    """One keyword argument: its Keras name, how a spec value becomes a Python value, its default.

    ``parse`` receives the plain value from the spec (never the default) and returns the
    normalised value, or raises :class:`ArgError`. As in a Python signature, an argument
    without a default is required. ``nested_layer`` marks an argument whose
    value is a layer written in the one-key form; the graph builder constructs it first.
    """

    name: str
    parse: Callable[[Any], Any] = A.anything
    default: Any = REQUIRED
    doc: str = ""
    nested_layer: bool = False
    tensors: bool = False  # a call argument whose value is tensors of the graph (initial_state)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


class Weight(NamedTuple):
    """A variable a layer creates; ``path`` is relative to the layer (``lstm_cell/kernel``).
    (A tuple: a model of 10,000 layers makes tens of thousands of them.)"""

    path: str
    shape: tuple[int, ...]
    trainable: bool = True
    initializer: Any = "zeros"
    dtype: str = "float32"

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * A.dtype_size(self.dtype)


class Built(NamedTuple):
    """What a layer's first call fixed, as Keras's ``build`` does once: the input shape(s) it was
    built for and the weights ``build`` made (before the layer's trainable flag is applied)."""

    input_shape: Any
    weights: tuple[Weight, ...]


def weight_arguments(**initializers: str) -> tuple[Arg, ...]:
    """The initializer, regularizer and constraint arguments of the named weights, in Keras's
    order: ``weight_arguments(kernel="glorot_uniform", bias="zeros")`` gives kernel_initializer,
    bias_initializer, kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint."""
    return (
        *(Arg(f"{name}_initializer", A.initializer, default) for name, default in initializers.items()),
        *(Arg(f"{name}_regularizer", A.regularizer, None) for name in initializers),
        *(Arg(f"{name}_constraint", A.constraint, None) for name in initializers),
    )


def lora_factors(name: str, shape: Sequence[int], rank: int) -> list[Weight]:
    """Keras's LoRA factors for the weight ``name`` of ``shape``: lora_{name}_a (*shape[:-1], rank)
    and lora_{name}_b (rank, shape[-1]), trainable, always float32 whatever the dtype policy."""
    return [
        Weight(f"lora_{name}_a", (*shape[:-1], rank), True, "he_uniform", "float32"),
        Weight(f"lora_{name}_b", (rank, shape[-1]), True, "zeros", "float32"),
    ]


# Dense's and Conv's LoRA arguments; Keras enables LoRA only for a truthy rank, so 0 means none.
LORA_ARGUMENTS: tuple[Arg, ...] = (
    Arg("lora_rank", A.optional(A.non_negative_int), None, "LoRA rank: adds two trainable low-rank factors"),
    Arg("lora_alpha", A.optional(A.number), None),
)


def refuse_lora_with_kernel_constraint(layer: Any) -> None:
    """Dense's and Conv's build refuse LoRA with a kernel constraint (it can never succeed)."""
    if layer.lora_rank and layer.kernel_constraint is not None:
        raise ArgError("LoRA (lora_rank) cannot be used with a kernel_constraint", argument="lora_rank")


# Arguments every Keras layer accepts (keras.layers.Layer.__init__).
BASE_ARGUMENTS: tuple[Arg, ...] = (
    Arg("name", A.layer_name, None, "layer name; default: snake_case of the type, numbered"),
    Arg("trainable", A.strict_bool, True, "false makes every weight non-trainable"),
    Arg("dtype", A.dtype_policy, None, "dtype policy: float32, float16, mixed_float16, ..."),
    Arg("autocast", A.anything, True),
    Arg("activity_regularizer", A.regularizer, None),
    Arg("input_shape", A.anything, None, "ignored when the model has an input, as in Keras"),
    Arg("input_dim", A.anything, None, "ignored when the model has an input, as in Keras"),
)


class Layer:
    """Base of every layer declaration. Subclasses set ``arguments`` and override the hooks."""

    arguments: ClassVar[tuple[Arg, ...]] = ()
    # What Keras takes at call time rather than construction (use_causal_mask, ...): given in a
    # spec's ``call:``, passed as keywords to compute_output_shape and forward.
    call_arguments: ClassVar[tuple[Arg, ...]] = ()
    # True for layers called on a list of tensors (merges, attention), and what the list holds.
    takes_list: ClassVar[bool] = False
    list_inputs: ClassVar[str] = "[a, b]"
    # Keras's call takes the list's tensors as positional arguments (MultiHeadAttention)
    positional_call: ClassVar[bool] = False
    # Arguments of Layer.__init__ that this type does not accept (Keras passes some explicitly).
    excluded_base_arguments: ClassVar[frozenset[str]] = frozenset()
    # False for a class keras.layers exports only under another name (see aliases.py).
    exported: ClassVar[bool] = True
    # Keras's trainable=False freezes the variables a layer creates, and those of sublayers it
    # passes the flag to (LSTM to its cell). Layers whose weights all live in sublayers that do
    # not get the flag (wrappers, attention, RNN around a given cell) set this to False.
    trainable_flag_reaches_weights: ClassVar[bool] = True
    # Keras's supports_masking for this type: its outputs get the masks compute_mask gives; a layer
    # without it destroys the Keras masks of its inputs. An instance may set it (Embedding: mask_zero).
    supports_masking: bool = False
    # MultiHeadAttention's call removes the Keras masks of its query, value and key tensors in
    # place, so layers that read those tensors' masks after it at run time find none.
    clears_input_masks: ClassVar[bool] = False
    # Why Keras cannot build a model that calls this layer directly (its call alone works), or None.
    model_call_refusal: ClassVar[str | None] = None
    # Each output value reads the input only at its own position (an elementwise layer at
    # inference): receptive fields pass through unchanged.
    pointwise: ClassVar[bool] = False
    # Keras gives the output an integer or boolean input's own dtype (its symbolic output
    # keeps it) rather than the compute dtype: Flatten, Reshape, Permute, Identity.
    keeps_input_dtype: ClassVar[bool] = False
    # A keras.ops call recorded as a node of a functional model, not a layer (operations.py).
    is_operation: ClassVar[bool] = False
    # Keras reads the layer's variables in its compute dtype under a mixed policy; layers that
    # create theirs with autocast=False (the normalizations) read them as they are
    autocast_variables: ClassVar[bool] = True
    # Why the output has the input's shape, for the default explanation (see explain).
    keeps_shape: ClassVar[str] = ""

    name: str
    trainable: bool
    dtype: str | None

    def __init__(self, **values: Any) -> None:
        """Set already-parsed argument values (see :meth:`parse_arguments`), the defaults of the
        others, then configure."""
        cls = type(self)
        defaults = _per_class(
            cls, "_defaults", lambda: {name: arg.default for name, arg in cls.arguments_by_name().items()}
        )
        self.__dict__.update(defaults)
        self.__dict__.update(values)
        self.configure()

    # ----------------------------------------------------------------- declaration
    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    @classmethod
    def spec_type(cls) -> str:
        """How a spec names the type: its class name (an operation, by its keras.ops function)."""
        return cls.type_name()

    @classmethod
    def all_arguments(cls) -> tuple[Arg, ...]:
        return tuple(cls.arguments_by_name().values())

    @classmethod
    def arguments_by_name(cls) -> dict[str, Arg]:
        """Own arguments, then the base ones it does not override."""

        def gather() -> dict[str, Arg]:
            own = {arg.name for arg in cls.arguments}
            base = [
                a for a in BASE_ARGUMENTS if a.name not in own and a.name not in cls.excluded_base_arguments
            ]
            return {arg.name: arg for arg in (*cls.arguments, *base)}

        return _per_class(cls, "_arguments_by_name", gather)

    @classmethod
    def argument(cls, name: str) -> Arg | None:
        return cls.arguments_by_name().get(name)

    @classmethod
    def parse_arguments(cls, raw: dict[str, Any]) -> dict[str, Any]:
        """Check and normalise spec values; unknown names and missing required ones are errors."""
        known = cls.arguments_by_name()
        for key in raw:
            if key not in known:
                raise ArgError(
                    f"unknown argument '{key}'" + A.did_you_mean(key, list(known)),
                    argument=key,
                    at_key=True,
                )
        try:
            parsed = {name: known[name].parse(value) for name, value in raw.items()}
            if all(name in raw for name in cls.required_arguments()):
                return parsed
        except ArgError:
            pass
        # a problem: the first one in declaration order, as Keras binds its arguments
        for name, arg in known.items():
            if name in raw:
                try:
                    arg.parse(raw[name])
                except ArgError as err:
                    raise ArgError(f"{name}: {err.message}", argument=name) from None
            elif arg.required:
                raise ArgError(f"{cls.type_name()} needs the argument '{name}'")
        raise AssertionError("unreachable: the fast path found a problem the ordered one did not")

    @classmethod
    def required_arguments(cls) -> tuple[str, ...]:
        return _per_class(
            cls,
            "_required_arguments",
            lambda: tuple(name for name, arg in cls.arguments_by_name().items() if arg.required),
        )

    @classmethod
    def nested_arguments(cls) -> tuple[Arg, ...]:
        """The arguments whose value is a layer (or a list of layers) in the one-key form."""
        return _per_class(
            cls,
            "_nested_arguments",
            lambda: tuple(arg for arg in cls.arguments_by_name().values() if arg.nested_layer),
        )

    # ----------------------------------------------------------------- hooks
    def configure(self) -> None:
        """Cross-argument normalisation and checks (Keras's ``__init__`` body)."""

    def check_input(self, input_shape: Any) -> None:
        """Refuse inputs Keras's InputSpec refuses, before build (rank, known axes)."""

    def build(self, input_shape: Any) -> list[Weight]:
        """The weights created for this input; raise :class:`ShapeError` where Keras refuses."""
        return []

    def compute_output_shape(self, input_shape: Any) -> OutputShape:
        raise NotImplementedError

    def explain(self, input_shape: Any) -> list[Step]:
        """The working behind the output shape, axis by axis, for people learning the rules (see
        layers/explaining.py). The default covers a layer whose output has its input's shape,
        in one line that says why (``keeps_shape``); a rule that changes the shape explains
        itself, so the default gives nothing for it."""
        output = self.compute_output_shape(input_shape)
        if self.takes_list or isinstance(output, list) or tuple(output) != tuple(input_shape):
            return []
        why = self.keeps_shape or ("each value maps to one value" if self.pointwise else "")
        return unchanged(input_shape, why or "the rule keeps every axis")

    def forward(self, inputs: Any, weights: Mapping[str, Any]) -> Any:
        """The layer's computation in inference mode, with NumPy arrays: Keras's numbers.

        ``inputs`` is one array, or a list for ``takes_list`` layers; ``weights`` maps each
        weight's relative path (as :meth:`build` names it) to its array. Returns an array, or
        a list of arrays where :meth:`compute_output_shape` returns a list.
        """
        raise NotImplementedError(f"{self.type_name()} has no NumPy kernel")

    @classmethod
    def has_kernel(cls) -> bool:
        return cls.forward is not Layer.forward

    # --run's fusion (run/fusion.py): a layer mapping each row of its channels-last input in
    # place runs inside the kernel that produces that input, on each block while it is in cache
    def takes_row_epilogues(self, input_shapes: list[Shape]) -> bool:
        """``forward`` on inputs of these shapes takes ``then``: in-place functions it applies to
        each finished block of output rows, (n, channels) float32 arrays, after its own work."""
        return False

    def fusable_after(self, input_shape: Shape) -> bool:
        """The call on an input of this shape is :meth:`row_epilogue`'s map of each row."""
        return False

    def row_epilogue(self, weights: Mapping[str, Any]) -> RowMap:
        """This layer's call as an in-place function of a block of rows of its input: the same
        operations in the same order as ``forward``, so the same numbers."""
        raise NotImplementedError(f"{self.type_name()} is not applied by rows")

    @classmethod
    def takes_mask(cls) -> bool:
        """Keras's call takes the inputs' Keras masks: ``forward`` then has a ``mask=None`` keyword,
        given (when some input carries a mask) the mask of the input, or the list of the masks of
        a ``takes_list`` layer's inputs; (batch, time...) boolean arrays, None where unmasked."""
        return _forward_takes_mask(cls.forward)

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        """Keras's compute_mask: the Keras mask(s) of the outputs (a list for several outputs), given
        the inputs and the previous mask (the mask given to forward, else the first input's, a
        list for a ``takes_list`` layer). Used only where ``supports_masking``; the default passes
        the previous mask on, as Keras's does."""
        return mask

    def mask_set_in_call(self, inputs: Any, mask: Any) -> Any:
        """Mask(s) Keras's call attaches to its outputs itself, at run time only (a symbolic call
        runs compute_mask alone), where they differ from compute_mask's; None: it attaches none."""
        return None

    def run_work_elements(self, input_shapes: Sizes, output_shapes: Sizes) -> int:
        """Values of the temporary arrays ``forward`` holds at once besides its inputs and outputs,
        for --run's memory estimate (shapes with every size known). By default as many as the
        outputs: most kernels evaluate an expression with one intermediate array."""
        return sum(math.prod(shape) for shape in output_shapes)

    def auto_named_sublayers(self, name_given: bool) -> tuple[str, ...]:
        """Types of the layers Keras's ``__init__`` creates unnamed inside this one, in order:
        each takes an auto-name, so later layers of that type are numbered after it."""
        return ()

    def integer_input_bound(self) -> int | None:
        """For layers fed integer ids (Embedding): random test inputs stay below this bound."""
        return None

    # ----------------------------------------------------------------- costs
    def macs(self, input_shape: Any, output_shape: OutputShape) -> int | None:
        """Multiply-accumulates of one call for one example (the batch axis excluded): the
        products, with a weight or between two activations, that a matrix product, einsum,
        convolution or dot product sums. None where a size it needs is unknown. Layers without
        such products (bias additions, normalizations, activations, pooling, resizing, merges,
        reshaping) keep the default, 0."""
        return 0

    def receptive_field(
        self, fields: list[Field], input_shape: Any, output_shape: OutputShape
    ) -> Field | None:
        """The field of the output (of every output), given those of the inputs: what each
        output position sees of the model's input, per axis (see :class:`Field`). None where no
        window describes it (the default: recurrent layers, attention, reshapes, ...). Called
        only when every input's field is defined: an undefined one leaves the output's so."""
        return fields[0] if self.pointwise else None

    def output_dtype(self, input_dtypes: Sequence[str]) -> str:
        """The dtype of the layer's outputs, as Keras's symbolic call gives it: the dtype
        policy's compute dtype, or a non-float input's own for :attr:`keeps_input_dtype`."""
        first = input_dtypes[0] if input_dtypes else "float32"
        if self.keeps_input_dtype and first not in A.FLOAT_DTYPES:
            return first
        return A.compute_dtype(self.dtype)

    # ----------------------------------------------------------------- calling
    def infer(
        self, input_shape: Any, built: Built | None = None, call: Mapping[str, Any] | None = None
    ) -> tuple[OutputShape, Built]:
        """One call of the layer on symbolic shapes: its output shape(s) and what its first call
        built. ``built`` is None for the first call, which checks, builds and applies the shape
        rule; a later call (a shared layer) is checked against it (:meth:`check_later_call`).
        ``call``: the call's arguments (:attr:`call_arguments`), given to the shape rule."""
        if built is None:
            self.check_input(input_shape)
            built = Built(input_shape, tuple(self.build(input_shape)))
        else:
            self.check_later_call(input_shape, built)
        return self.compute_output_shape(input_shape, **call) if call else self.compute_output_shape(
            input_shape
        ), built

    def check_later_call(self, input_shape: Any, built: Built) -> None:
        """A later call must fit the weights built by the first one, as Keras's InputSpec and
        matmul checks demand. Layers whose later calls Keras checks otherwise override this."""
        self.check_input(input_shape)
        weights = self.build(input_shape)
        if [(w.path, w.shape) for w in weights] != [(w.path, w.shape) for w in built.weights]:
            first = ", ".join(f"{w.path}{fmt_shape(w.shape)}" for w in built.weights)
            now = ", ".join(f"{w.path}{fmt_shape(w.shape)}" for w in weights)
            raise ShapeError(f"was built with weights {first}; this call would need {now}")

    def variables(self, weights: Sequence[Weight]) -> list[Weight]:
        """Built weights, each trainable as its variable is in Keras: what the model's totals
        count. A frozen layer (trainable: false) freezes the weights its flag reaches."""
        if self.trainable or not self.trainable_flag_reaches_weights:
            return list(weights)
        return [w._replace(trainable=False) for w in weights]

    def count_params(self, weights: Sequence[Weight]) -> tuple[int, int]:
        """(trainable, non-trainable) counts of the built ``weights`` as Keras's
        layer.trainable_weights gives them: a frozen layer has no trainable weights, whoever
        owns the variables."""
        variables = self.variables(weights)
        total = sum(w.size for w in variables)
        if not self.trainable:
            return 0, total
        trainable = sum(w.size for w in variables if w.trainable)
        return trainable, total - trainable

    # ----------------------------------------------------------------- helpers for subclasses
    @property
    def variable_dtype(self) -> str:
        return A.variable_dtype(self.dtype)

    def weight(
        self, path: str, shape: Sequence[int], initializer: Any = "zeros", trainable: bool = True
    ) -> Weight:
        """A weight of this layer, in its variable dtype. An initializer given as None falls back
        as Keras's add_weight falls back: glorot_uniform for a float weight, zeros otherwise."""
        dtype = self.variable_dtype
        if initializer is None:
            initializer = "glorot_uniform" if "float" in dtype else "zeros"
        if dtype == "float16" and A.initializer_name(initializer) in A.ORTHOGONAL_INITIALIZERS:
            # Keras computes the initial value when it builds: a QR decomposition, which NumPy's
            # (and JAX's) linear algebra refuses in float16
            raise ShapeError(
                f"{path}: Keras cannot build an orthogonal initial value in float16 (its QR "
                "decomposition is unsupported in float16); use a float32 or mixed_float16 policy"
            )
        return Weight(path, tuple(int(d) for d in shape), trainable, initializer, dtype)

    @property
    def label(self) -> str:
        """How messages name the layer, as Keras's summary does: ``conv2d_1 (Conv2D)``."""
        return f"{self.name} ({self.type_name()})"

    def __repr__(self) -> str:
        return f"{self.type_name()}(name={getattr(self, 'name', None)!r})"


def _per_class(cls: type, key: str, derive: Callable[[], _T]) -> _T:
    """A value derived from a layer class's declaration, once per class: kept on the class
    itself, never inherited (a subclass declares arguments of its own)."""
    value = cls.__dict__.get(key)
    if value is None:
        value = derive()
        setattr(cls, key, value)
    return value


def prefixed(owner: Layer, weights: list[Weight]) -> list[Weight]:
    """A sub-layer's weights as its parent lists them: ``<sub-layer name>/<path>``."""
    return [w._replace(path=f"{owner.name}/{w.path}") for w in weights]


def build_sublayer(layer: Layer, shape: Shape) -> list[Weight]:
    """Keras calls a sub-layer's build() directly (no InputSpec check), once: on the first call
    of its owner, which is the only call that builds (see :meth:`Layer.check_later_call`)."""
    return prefixed(layer, layer.variables(layer.build(shape)))


@functools.cache
def _forward_takes_mask(forward: Callable[..., Any]) -> bool:
    import inspect  # only a run asks: not loaded on the way to a summary

    return "mask" in inspect.signature(forward).parameters


def require_rank(layer: Layer, shape: Shape, rank: int | None = None, min_rank: int | None = None) -> None:
    """Keras InputSpec ndim / min_ndim checks, worded with the numbers."""
    if rank is not None and len(shape) != rank:
        raise ShapeError(
            f"expects input of rank {rank} (batch axis included), got rank {len(shape)}: {fmt_shape(shape)}"
        )
    if min_rank is not None and len(shape) < min_rank:
        raise ShapeError(
            f"expects input of rank >= {min_rank} (batch axis included), got rank {len(shape)}: "
            f"{fmt_shape(shape)}"
        )


def require_built_rank(built: Built, input_shape: Shape) -> None:
    """After build Keras pins InputSpec(ndim=rank of the first call): a later call must match."""
    rank = len(built.input_shape)
    if len(input_shape) != rank:
        raise ShapeError(
            f"was built for inputs of rank {rank}; this call has rank {len(input_shape)}: "
            f"{fmt_shape(input_shape)}"
        )


def known_sum(counts: Iterable[int | None]) -> int | None:
    """The sum of figures, None where one is unknown (a MAC count with an unknown term)."""
    result = 0
    for count in counts:
        if count is None:
            return None
        result += count
    return result


def known_product(dims: Iterable[Dim]) -> int | None:
    """The product of sizes, None where one is unknown (a MAC count over unknown sizes)."""
    total = 1
    for dim in dims:
        if dim is None:
            return None
        total *= dim
    return total


def require_known(shape: Shape, axis: int, what: str) -> int:
    """A dimension that sizes a weight must be known."""
    dim = shape[axis]
    if dim is None:
        raise ShapeError(
            f"{what} (axis {axis} of {fmt_shape(shape)}) must be known to build weights, got None"
        )
    return dim


def fmt_shape(shape: Sequence[Dim]) -> str:
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def fmt_shapes(shapes: Iterable[Sequence[Dim]]) -> str:
    """Several shapes, as a message or a table cell lists them: ``(None, 4), (None, 2)``."""
    return ", ".join(fmt_shape(s) for s in shapes)
