"""Argument parsers: a spec value in, a normalised value out, or ArgError with Keras's reason.

Each parser mirrors what Keras 3 accepts for that kind of argument (for example
``keras.src.utils.argument_validation.standardize_tuple`` for kernel sizes and strides).
Parsers that take options are factories: ``int_tuple(2, "strides")`` returns a parser.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import ArgError

Parser = Callable[[Any], Any]

# keras.activations.ALL_OBJECTS_DICT (Keras 3.15)
ACTIVATIONS = frozenset(
    [
        "celu",
        "elu",
        "exponential",
        "gelu",
        "glu",
        "hard_shrink",
        "hard_sigmoid",
        "hard_silu",
        "hard_swish",
        "hard_tanh",
        "leaky_relu",
        "linear",
        "log_sigmoid",
        "log_softmax",
        "mish",
        "relu",
        "relu6",
        "selu",
        "sigmoid",
        "silu",
        "soft_shrink",
        "softmax",
        "softplus",
        "softsign",
        "sparse_plus",
        "sparse_sigmoid",
        "sparsemax",
        "squareplus",
        "swish",
        "tanh",
        "tanh_shrink",
        "threshold",
    ]
)
# keras.initializers.ALL_OBJECTS_DICT
INITIALIZERS = frozenset(
    [
        "Constant",
        "GlorotNormal",
        "GlorotUniform",
        "HeNormal",
        "HeUniform",
        "Identity",
        "IdentityInitializer",
        "LecunNormal",
        "LecunUniform",
        "Ones",
        "Orthogonal",
        "OrthogonalInitializer",
        "RandomNormal",
        "RandomUniform",
        "STFT",
        "STFTInitializer",
        "TruncatedNormal",
        "VarianceScaling",
        "Zeros",
        "constant",
        "glorot_normal",
        "glorot_uniform",
        "he_normal",
        "he_uniform",
        "identity",
        "lecun_normal",
        "lecun_uniform",
        "normal",
        "one",
        "ones",
        "orthogonal",
        "random_normal",
        "random_uniform",
        "stft",
        "truncated_normal",
        "uniform",
        "variance_scaling",
        "zero",
        "zeros",
    ]
)
# keras.regularizers.ALL_OBJECTS_DICT, less the abstract base
REGULARIZERS = frozenset(
    [
        "L1",
        "L1L2",
        "L2",
        "OrthogonalRegularizer",
        "l1",
        "l1l2",
        "l2",
        "orthogonal_regularizer",
    ]
)
# keras.constraints.ALL_OBJECTS_DICT, less the abstract base
CONSTRAINTS = frozenset(
    [
        "MaxNorm",
        "MinMaxNorm",
        "NonNeg",
        "UnitNorm",
        "max_norm",
        "min_max_norm",
        "non_neg",
        "unit_norm",
    ]
)

# Bytes per element, for the summary's memory sizes.
DTYPE_SIZES = {
    "float16": 2,
    "bfloat16": 2,
    "float32": 4,
    "float64": 8,
    "int8": 1,
    "uint8": 1,
    "int16": 2,
    "uint16": 2,
    "int32": 4,
    "uint32": 4,
    "int64": 8,
    "uint64": 8,
    "bool": 1,
}
FLOAT_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64"})
MIXED_POLICIES = {"mixed_float16": "float32", "mixed_bfloat16": "float32"}


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    import difflib  # only a mistake needs it: not loaded on the way to a summary

    # Names a spec wrote as something else (name: $rate, a number) are no suggestion.
    names = [c for c in candidates if isinstance(c, str)]
    if not isinstance(word, str) or not names:
        return ""
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in names}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f" (did you mean '{close[0]}'?)" if close else ""


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def is_int(value: Any) -> bool:
    """An integer as Keras's isinstance(x, int) checks see it, booleans aside."""
    return isinstance(value, int) and not isinstance(value, bool)


# ----------------------------------------------------------------------------- scalars
def anything(value: Any) -> Any:
    return value


def strict_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ArgError(f"expected true or false, got {describe(value)}")
    return value


def truthy(value: Any) -> bool:
    """Flags Keras only tests for truth (use_bias, center, ...): any value is accepted, as there."""
    return bool(value)


def positive_int(value: Any) -> int:
    if not is_int(value) or value <= 0:
        raise ArgError(f"expected a positive integer, got {describe(value)}")
    return value


def non_negative_int(value: Any) -> int:
    if not is_int(value) or value < 0:
        raise ArgError(f"expected an integer >= 0, got {describe(value)}")
    return value


def integer(value: Any) -> int:
    if not is_int(value):
        raise ArgError(f"expected an integer, got {describe(value)}")
    return value


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgError(f"expected a number, got {describe(value)}")
    return as_float(value)


def as_float(value: float) -> float:
    """``float(value)``, an integer past a float's range (10**400) as the infinity of its sign:
    what Keras stores unconverted, and only compares or computes with in float32, where it is
    that infinity."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def fraction(value: Any) -> float:
    """A rate in [0, 1], as Dropout requires."""
    rate = number(value)
    if not 0 <= rate <= 1:
        raise ArgError(f"expected a number between 0 and 1, got {describe(value)}")
    return rate


def optional(parse: Parser) -> Parser:
    def parse_optional(value: Any) -> Any:
        return None if value is None else parse(value)

    return parse_optional


def one_of(*choices: Any, lower: bool = False) -> Parser:
    """A value from a fixed set; ``lower=True`` where Keras lowercases before checking."""

    def parse_choice(value: Any) -> Any:
        candidate = value.lower() if lower and isinstance(value, str) else value
        if candidate not in choices:
            listed = ", ".join(describe(c) for c in choices)
            hint = (
                did_you_mean(value, [c for c in choices if isinstance(c, str)])
                if isinstance(value, str)
                else ""
            )
            raise ArgError(f"expected one of {listed}, got {describe(value)}{hint}")
        return candidate

    return parse_choice


def layer_name(value: Any) -> str:
    if not isinstance(value, str) or "/" in value or not value:
        raise ArgError(f"a layer name must be a non-empty string without '/', got {describe(value)}")
    return value


def data_format(value: Any) -> str:
    """keras.backend.standardize_data_format: None -> channels_last; lowercased."""
    if value is None:
        return "channels_last"
    if not isinstance(value, str) or value.lower() not in ("channels_first", "channels_last"):
        raise ArgError(f"expected 'channels_first' or 'channels_last', got {describe(value)}")
    return value.lower()


def padding(*allowed: str) -> Parser:
    """keras standardize_padding: lowercased, then checked (conv layers)."""

    def parse_padding(value: Any) -> str:
        if not isinstance(value, str) or value.lower() not in allowed:
            raise ArgError(f"expected one of {', '.join(repr(a) for a in allowed)}, got {describe(value)}")
        return value.lower()

    return parse_padding


# ----------------------------------------------------------------------------- tuples
def int_tuple(n: int, allow_zero: bool = False) -> Parser:
    """keras standardize_tuple: an int repeated n times, or a list of exactly n ints."""

    def parse_tuple(value: Any) -> tuple[int, ...]:
        if is_int(value):
            values: tuple[Any, ...] = (value,) * n
        elif isinstance(value, (list, tuple)):
            values = tuple(value)
            if len(values) != n:
                raise ArgError(f"expected an integer or a list of {n} integers, got {describe(value)}")
            if not all(is_int(v) for v in values):
                raise ArgError(f"expected a list of {n} integers, got {describe(value)}")
        else:
            raise ArgError(f"expected an integer or a list of {n} integers, got {describe(value)}")
        bound = "an integer >= 0" if allow_zero else "a positive integer"
        if any(v < 0 or (v == 0 and not allow_zero) for v in values):
            raise ArgError(f"every value must be {bound}, got {describe(value)}")
        return values

    return parse_tuple


# ----------------------------------------------------------------------------- Keras identifiers
# the settings of initializers, regularizers and constraints that are numbers
_NUMERIC_SETTINGS = frozenset(
    {
        "mean",
        "stddev",
        "minval",
        "maxval",
        "gain",
        "scale",
        "value",
        "l1",
        "l2",
        "max_value",
        "min_value",
        "rate",
    }
)


def _identifier(kind: str, names: frozenset[str]) -> Parser:
    def parse_identifier(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            if value not in names:
                raise ArgError(f"unknown {kind} '{value}'" + did_you_mean(value, names))
            return value
        if isinstance(value, dict):
            class_name = value.get("class_name")
            if not isinstance(class_name, str) or class_name not in names:
                raise ArgError(
                    f"a {kind} given as a mapping needs class_name, one of Keras's {kind}s; "
                    f"got {describe(class_name)}"
                )
            config = value.get("config", {})
            if config is None:
                config = {}
            if not isinstance(config, dict):
                raise ArgError(f"{kind} config must be a mapping, got {describe(config)}")
            for key, setting in config.items():
                if key in _NUMERIC_SETTINGS and (
                    isinstance(setting, bool) or not isinstance(setting, (int, float))
                ):
                    # Keras keeps it, then fails to build the weight with it
                    raise ArgError(f"{kind} config: {key} must be a number, got {describe(setting)}")
                if key == "seed" and setting is not None and not is_int(setting):
                    raise ArgError(f"{kind} config: seed must be an integer or null, got {describe(setting)}")
            return value
        raise ArgError(f"expected a {kind} name or {{class_name, config}} mapping, got {describe(value)}")

    return parse_identifier


ORTHOGONAL_INITIALIZERS = frozenset({"orthogonal", "Orthogonal", "OrthogonalInitializer"})


def initializer_name(value: Any) -> Any:
    """The name of an initializer given by name or as a {class_name, config} mapping."""
    return value.get("class_name") if isinstance(value, dict) else value


_activation_identifier = _identifier("activation", ACTIVATIONS)


def activation(value: Any) -> Any:
    # Keras deserializes a mapping as a serialized object; {class_name: relu} names no class.
    if isinstance(value, dict):
        raise ArgError(f"an activation is given by name, e.g. relu; got {describe(value)}")
    return _activation_identifier(value)


initializer = _identifier("initializer", INITIALIZERS)
regularizer = _identifier("regularizer", REGULARIZERS)
constraint = _identifier("constraint", CONSTRAINTS)


def dtype_policy(value: Any) -> str | None:
    if value is None:
        return None
    # "int8" names a quantization mode in Keras's policies, not a dtype: Keras refuses it here.
    if (
        not isinstance(value, str)
        or value == "int8"
        or (value not in DTYPE_SIZES and value not in MIXED_POLICIES)
    ):
        raise ArgError(
            "expected a dtype policy such as float32, float16, bfloat16, mixed_float16, got "
            + describe(value)
            + (did_you_mean(value, [*DTYPE_SIZES, *MIXED_POLICIES]) if isinstance(value, str) else "")
        )
    return value


def variable_dtype(policy: str | None) -> str:
    """The dtype of a layer's variables under a dtype policy (mixed policies keep float32)."""
    if policy is None:
        return "float32"
    return MIXED_POLICIES.get(policy, policy)


def compute_dtype(policy: str | None) -> str:
    """The dtype a layer computes in under a dtype policy (mixed_float16 computes in float16)."""
    if policy is None:
        return "float32"
    return policy.removeprefix("mixed_")


def dtype_size(dtype: str) -> int:
    return DTYPE_SIZES[dtype]


def strict_positive_int(value: Any) -> int:
    """An integer > 0, booleans refused (UpSampling1D and RepeatVector check isinstance(x, int)
    and reject booleans explicitly)."""
    if not is_int(value) or value <= 0:
        raise ArgError(f"expected a positive integer, got {describe(value)}")
    return value
