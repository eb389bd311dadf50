"""The inverse shape question for one spatial axis: which arguments of a convolution, transposed
convolution or pooling layer turn an input length N into an output length M?

Every combination of padding, strides, dilation_rate, output_padding and window size is put to
the layer's own declaration (its argument parsers and ``configure`` checks, so a combination
Keras refuses is refused here for the same reason) and then to the length rule of
:mod:`shapecalc.arithmetic` that shape inference uses, so ``solve`` and ``summary`` cannot
disagree. Pure functions, no printing, no NumPy.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from .arithmetic import conv_rule, conv_transpose_rule, pool_rule
from .errors import ArgError, ShapeError
from .layers import registry
from .layers.base import Layer

# The types whose spatial axes follow one of the three rules (ConvLSTM's cell convolves each
# step with compute_conv_output_shape, keras/src/layers/rnn/conv_lstm.py).
SOLVABLE = (
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "ConvLSTM1D",
    "ConvLSTM2D",
    "ConvLSTM3D",
)

# The search space. Each type's declaration decides which points of it Keras accepts: causal
# padding only for Conv1D, dilation only where it cannot meet a stride > 1 (Conv, ConvTranspose,
# ConvLSTM), output_padding only below the stride.
PADDINGS = ("valid", "same", "causal")
STRIDES = range(1, 5)
DILATIONS = range(1, 5)
WINDOWS = range(1, 8)
# None is Keras's default (inferred); any accepted integer is < the stride, so none above the
# largest stride can be.
OUTPUT_PADDINGS: tuple[int | None, ...] = (None, *range(max(STRIDES)))


@dataclass(frozen=True)
class Combination:
    """One set of arguments and the length it makes of the input, with the rule's working."""

    padding: str
    strides: int
    dilation_rate: int | None  # None: the type has no dilation_rate
    window: int  # kernel_size, or pool_size for pooling
    output_padding: int | None
    output: int
    formula: str


@dataclass(frozen=True)
class Solution:
    """What solve found for ``type_name`` taking ``length`` to ``target``: every answer; without
    one, the combinations whose output is nearest below and nearest above the target."""

    type_name: str
    window_name: str  # "kernel_size" or "pool_size"
    has_dilation: bool
    transposed: bool
    paddings: tuple[str, ...]  # those the type accepts, of PADDINGS
    length: int
    target: int
    kernel: int | None
    answers: list[Combination]
    below: list[Combination]
    above: list[Combination]


def resolve(name: str) -> type[Layer]:
    """The class a type name (or a Keras alias of it) means; ValueError, in words, for an unknown
    type or one solve does not handle."""
    cls = registry.lookup(name)
    if cls is None:
        raise ValueError(f"unknown layer type '{name}'{registry.suggestion(name)}")
    if cls.type_name() not in SOLVABLE:
        raise ValueError(
            f"solve does not handle {cls.type_name()}: it has no sliding window over a spatial axis; "
            f"it handles {', '.join(SOLVABLE)} and their Keras aliases"
        )
    return cls


def _window_name(cls: type[Layer]) -> str:
    return "pool_size" if cls.argument("pool_size") is not None else "kernel_size"


def _transposed(cls: type[Layer]) -> bool:
    return cls.argument("output_padding") is not None


def _has_dilation(cls: type[Layer]) -> bool:
    return cls.argument("dilation_rate") is not None


def _windows(kernel: int | None) -> tuple[int, ...]:
    return tuple(WINDOWS) if kernel is None else (kernel,)


@functools.cache
def accepted(cls: type[Layer], windows: tuple[int, ...]) -> tuple[Layer, ...]:
    """Every point of the search space (with these window sizes) the type accepts, as layers
    made from scalar arguments; cached, as the answer does not depend on the lengths."""
    window_name = _window_name(cls)
    dilations: Iterable[int | None] = DILATIONS if _has_dilation(cls) else (None,)
    extras: Iterable[int | None] = OUTPUT_PADDINGS if _transposed(cls) else (None,)
    # filters only matters to the channel axis; 1 passes every check
    fixed = {"filters": 1} if cls.argument("filters") is not None else {}
    layers = []
    for padding, strides, dilation, window, extra in itertools.product(
        PADDINGS, STRIDES, dilations, windows, extras
    ):
        raw = {**fixed, window_name: window, "strides": strides, "padding": padding}
        if dilation is not None:
            raw["dilation_rate"] = dilation
        if extra is not None:
            raw["output_padding"] = extra
        try:
            layers.append(cls(**cls.parse_arguments(raw)))
        except ArgError:
            continue
    return tuple(layers)


def outcome(layer: Layer, length: int) -> Combination | None:
    """What ``layer`` (made by :func:`accepted`) makes of an axis of ``length``, by the rule
    shape inference applies; None where Keras refuses the length (valid padding emptying it)."""
    cls = type(layer)
    window = getattr(layer, _window_name(cls))[0]
    strides, padding = layer.strides[0], layer.padding  # type: ignore[attr-defined]
    dilation = layer.dilation_rate[0] if _has_dilation(cls) else None  # type: ignore[attr-defined]
    extra = layer.output_padding if _transposed(cls) else None  # type: ignore[attr-defined]
    extra = None if extra is None else extra[0]
    try:
        if _window_name(cls) == "pool_size":
            out, formula = pool_rule(length, window, strides, padding)
        elif _transposed(cls):
            out, formula = conv_transpose_rule(length, window, strides, dilation or 1, padding, extra)
        else:
            out, formula = conv_rule(length, window, strides, dilation or 1, padding)
    except ShapeError:
        return None
    assert out is not None  # a known length has a known result
    return Combination(padding, strides, dilation, window, extra, out, f"{formula} = {out}")


def combinations(cls: type[Layer], length: int, kernel: int | None = None) -> list[Combination]:
    """Every accepted combination and the output it gives for ``length``, in search order."""
    results = (outcome(layer, length) for layer in accepted(cls, _windows(kernel)))
    return [c for c in results if c is not None]


def solve(name: str, length: int, target: int, kernel: int | None = None) -> Solution:
    """Every combination taking ``length`` to ``target`` for the type ``name``; ValueError for a
    type solve does not handle or a length, target or kernel out of range."""
    cls = resolve(name)
    if length < 1:
        raise ValueError(f"the input length must be >= 1, got {length}")
    if target < 0:
        raise ValueError(f"the output length must be >= 0, got {target}")
    if kernel is not None and kernel < 1:
        raise ValueError(f"the {_window_name(cls)} must be >= 1, got {kernel}")
    found = combinations(cls, length, kernel)
    answers = [c for c in found if c.output == target]
    below: list[Combination] = []
    above: list[Combination] = []
    if not answers:
        lower = max((c.output for c in found if c.output < target), default=None)
        upper = min((c.output for c in found if c.output > target), default=None)
        below = [c for c in found if c.output == lower]
        above = [c for c in found if c.output == upper]
    return Solution(
        cls.type_name(),
        _window_name(cls),
        _has_dilation(cls),
        _transposed(cls),
        tuple(p for p in PADDINGS if any(layer.padding == p for layer in accepted(cls, _windows(kernel)))),
        length,
        target,
        kernel,
        answers,
        below,
        above,
    )
