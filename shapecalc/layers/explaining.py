"""Explanations of output shapes: the working behind each axis, for people learning the rules.

A layer's ``explain`` hook returns :class:`Step` records: which axis, the formula with the
numbers substituted (in the notation of Dumoulin and Visin's convolution-arithmetic guide where
one applies), its result, and a note where Keras does something the formula does not show
(the padding ``same`` adds on each side). The helpers here name axes and build the steps that
several families share; the rules themselves stay in :mod:`shapecalc.arithmetic`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..arithmetic import Length, conv_rule, pool_rule, same_padding

Dim = int | None


class Step(NamedTuple):
    """One line of an explanation. ``result`` is the axis's length (None: unknown) or, for a
    step about the whole shape (``axis == "shape"``), the output shape as a list."""

    axis: str
    formula: str
    result: Any
    note: str = ""

    def __str__(self) -> str:
        line = f"{self.axis}: {self.formula} = {show(self.result)}"
        return f"{line} ({self.note})" if self.note else line


def show(value: Any) -> str:
    """A length or a shape as the explanations print it: None for an unknown size."""
    if isinstance(value, (list, tuple)):
        inner = ", ".join(show(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return "None" if value is None else str(value)


SPATIAL_NAMES = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def spatial_names(rank: int) -> tuple[str, ...]:
    """Names of ``rank`` spatial axes, as Keras's docstrings call them."""
    return SPATIAL_NAMES.get(rank, tuple(f"spatial axis {i + 1}" for i in range(rank)))


def unchanged(input_shape: Sequence[Dim], why: str) -> list[Step]:
    """The one-line explanation of a layer whose output has its input's shape."""
    return [Step("shape", f"{show(input_shape)}, unchanged: {why}", list(input_shape))]


def product(dims: Sequence[Dim]) -> tuple[str, Length]:
    """``7 * 7 * 64`` and its value (None where a factor is unknown)."""
    text = " * ".join(show(d) for d in dims) or "1"
    value = None if None in dims else math.prod(d for d in dims if d is not None)
    return text, value


def conv_step(axis: str, length: Length, kernel: int, stride: int, dilation: int, padding: str) -> Step:
    """One spatial axis of a convolution, with the padding ``same`` adds as Keras's backends do."""
    out, formula = conv_rule(length, kernel, stride, dilation, padding)
    return Step(axis, formula, out, _padding_note(length, out, kernel, stride, dilation, padding))


def pool_step(axis: str, length: Length, pool: int, stride: int, padding: str) -> Step:
    out, formula = pool_rule(length, pool, stride, padding)
    return Step(axis, formula, out, _padding_note(length, out, pool, stride, 1, padding))


def _padding_note(length: Length, out: Length, kernel: int, stride: int, dilation: int, padding: str) -> str:
    if padding == "causal":
        pad = dilation * (kernel - 1)
        return f"causal: {dilation}*({kernel}-1) = {pad} zeros before the sequence, none after"
    if padding != "same" or length is None or out is None:
        return ""
    before, after = same_padding(length, out, kernel, stride, dilation)
    if before == after == 0:
        return "same: Keras adds no padding here"
    return f"same: Keras pads {before} before and {after} after"


def list_of(output: Any) -> list[list[Dim]]:
    """A layer's output shape(s) as a list of shapes."""
    return [list(s) for s in output] if isinstance(output, list) else [list(output)]


def recurrent(
    input_shape: Sequence[Dim], output: Any, return_sequences: bool, return_state: bool, per_step: list[Step]
) -> list[Step]:
    """A layer run over the steps (axis 1) of its input: what one step gives (``per_step``),
    then the steps kept (return_sequences) or only the last one's output, then the states."""
    outputs = list_of(output)
    steps = input_shape[1]
    if return_sequences:
        lead = [Step("steps", "one output per step (return_sequences)", steps)]
    else:
        lead = [
            Step("shape", f"{show(steps)} steps read; only the last step's output is returned", outputs[0])
        ]
    states = []
    if return_state:
        shown = ", ".join(show(s) for s in outputs[1:])
        states = [Step("states", f"return_state: the last step's {len(outputs) - 1} states follow", shown)]
    return [*lead, *per_step, *states]
