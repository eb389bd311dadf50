"""Argument parsers of the attention family (attention.py, attention_dot.py), as Keras checks them."""

from __future__ import annotations

from typing import Any

from ..errors import ArgError
from . import args as A
from .base import Arg, Layer


def keras_int(least: int, what: str) -> Any:
    """``isinstance(x, int) and x >= least`` as Keras writes it: true and false count as 1 and 0."""

    def parse(value: Any) -> int:
        if not isinstance(value, int) or value < least:
            raise ArgError(f"expected {what}, got {A.describe(value)}")
        return int(value)

    return parse


def flag(value: Any) -> bool:
    """Flags Keras only tests for truth: any value, lists and mappings included."""
    return bool(value)


def seed(value: Any) -> Any:
    return value  # checked in configure: only a dropout rate > 0 makes Keras look at it


def rate(value: Any) -> float:
    """Keras's Dropout(rate): ``0 <= rate <= 1``, so a number (true/false count as 1/0)."""
    if not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ArgError(f"expected a dropout rate between 0 and 1, got {A.describe(value)}")
    return float(value)


def any_rate(value: Any) -> float:
    """Attention's dropout is only compared with 0: any number passes."""
    if not isinstance(value, (int, float)):
        raise ArgError(f"expected a number, got {A.describe(value)}")
    return A.as_float(value)


def sliding_window(value: Any) -> Any:
    if value is not None and (not isinstance(value, int) or value <= 0):
        raise ArgError(f"expected null or a positive integer, got {A.describe(value)}")
    return value


def mha_output_shape(value: Any) -> tuple[int, ...] | None:
    """A falsy value means "the query's last size"; else an int or a list of sizes >= 0."""
    if not value:
        return None
    if isinstance(value, int):
        items: list[Any] = [value]
    elif isinstance(value, (list, tuple, str, dict)):
        items = list(value)
    else:
        raise ArgError(f"expected an integer or a list of integers, got {A.describe(value)}")
    for item in items:
        # every item sizes the attention_output kernel, so it must be a known size
        if not isinstance(item, int) or item < 0:
            raise ArgError(
                f"every output size must be an integer >= 0, got {A.describe(item)} in {A.describe(value)}"
            )
    return tuple(int(i) for i in items)


def attention_axes(value: Any) -> tuple[Any, ...] | None:
    if value is None:
        return None
    if isinstance(value, int):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(value)
    if not value and isinstance(value, (str, dict)):
        return ()  # Keras keeps a falsy value and iterates it at build: no axis at all
    raise ArgError(f"expected an integer or a list of integers, got {A.describe(value)}")


def check_seed(layer: Layer, rate: float) -> None:
    if rate > 0 and layer.seed is not None and not isinstance(layer.seed, int):
        raise ArgError(f"the dropout seed must be an integer, got {A.describe(layer.seed)}", argument="seed")


def attention_call_arguments(scores: str) -> tuple[Arg, ...]:
    """The call arguments every Keras attention layer takes; ``scores``: the shape of the
    scores it returns, for the argument's doc."""
    return (
        Arg(
            "use_causal_mask", A.strict_bool, False, "each query position attends to itself and those before"
        ),
        Arg("return_attention_scores", A.strict_bool, False, f"also return the scores {scores}"),
    )


def copied_initializer(value: Any) -> Any:
    """MultiHeadAttention's and GroupedQueryAttention's initializers: Keras's build copies them
    to each projection (``initializer.__class__.from_config``), which a null one cannot give."""
    if value is None:
        raise ArgError(
            "null is refused: Keras's build copies the initializer to each projection, and null "
            "cannot be copied ('NoneType' has no attribute 'from_config'); name an initializer"
        )
    return A.initializer(value)
