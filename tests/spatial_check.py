"""Helpers shared by the convolution and pooling tests (tests/test_layers_{convolutional,pooling,...}.py)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from layer_check import assert_same_as_keras as _assert_same_as_keras
from layer_check import shapecalc_call as shapecalc_call

Shape = tuple[int | None, ...]
Case = tuple[str, dict[str, Any], list[Shape]]


# (the oracle resets Keras's names without a gc.collect(), so comparisons stay cheap)
assert_same_as_keras = _assert_same_as_keras


def case_id(case: Case) -> str:
    return f"{case[0]}-{case[1]}-{case[2]}"


def batch_shape(spatial: tuple[int | None, ...], channels: int | None, data_format: str | None) -> Shape:
    if data_format == "channels_first":
        return (None, channels, *spatial)
    return (None, *spatial, channels)


def per_axis(value: Any, rank: int, mixed: list[int]) -> Any:
    """``"mixed"`` stands for a list with different values per axis, cut to the rank."""
    return mixed[:rank] if value == "mixed" else value


def rarely(draw: st.DrawFn) -> bool:
    """True about one time in ten, so most drawn layers are valid and a few probe a refusal."""
    return draw(st.integers(0, 9)) == 9


def tuple_arg(draw: st.DrawFn, rank: int, low: int, high: int, bad: tuple[Any, ...]) -> Any:
    """An int or a list of ``rank`` ints in [low, high]; rarely a bad value (0, wrong length, ...)."""
    if rarely(draw):
        return draw(st.sampled_from(bad))
    values = st.integers(low, high)
    return draw(values | st.lists(values, min_size=rank, max_size=rank))
