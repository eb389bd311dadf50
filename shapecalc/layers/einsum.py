"""EinsumDense, and the einsum-equation analysis the attention layers reuse for their projections.

Keras (``keras/src/layers/core/einsum_dense.py``) reads an equation in one of three forms and
derives the kernel, bias and output shapes from it. The rules below follow Keras's symbolic
path, including its quirks, because that is what a model is built with:

* the equation is matched from its START only: ``ab,bc->ac`` followed by anything that is not a
  letter (``ab,bc->ac...``, a trailing space) is read as ``ab,bc->ac``;
* ``...`` may open the input and the output (``...ab,bc->...ac``), or close them when the input
  spells at least two letters (``ab...,bc->ac...``); a literal ``0`` counts as ``...``;
* the output shape is the batch axis, then ``output_shape``, with axes the equation does not
  name ("elided" axes: input rank minus the number of input letters) inserted after the batch
  axis (leading ``...``: in REVERSE order, as Keras inserts each one at position 1) or appended;
  this happens even without ``...`` in the equation, and the batch axis fills the first output
  letter, so ``output_shape`` gives the sizes of the remaining output letters;
* a letter's size is looked up by position (Python indexing, so a negative position from a
  leading ``...`` counts from the end); a letter in both input and output must agree unless
  ``output_shape`` leaves it None; a kernel letter takes its size from the output first;
* ``bias_axes`` letters must be output letters; the bias spans the output from the first bias
  letter on, 1 where a letter is not a bias axis (plus a 1 per trailing elided axis).

Keras's call runs np.einsum on the equation as written, so at run time the elided axes of a
leading ``...`` keep their input order (Keras's static shape reverses them), and input axes the
equation does not name without ``...`` make the call fail: --run reports both, as Keras's own
run disagrees with its summary.

A later call of a built layer is checked only for the input rank (its InputSpec) and the shape
rule above; the kernel is not compared again (Keras's symbolic call does not run the einsum).
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..arithmetic import Field
from ..errors import ArgError, CallFailure, ShapeError
from ..lazy import lazy
from . import args as A
from .base import (
    REQUIRED,
    Arg,
    Built,
    Dim,
    Layer,
    OutputShape,
    Shape,
    Weight,
    fmt_shape,
    known_product,
    lora_factors,
    require_built_rank,
    weight_arguments,
)
from .explaining import Step
from .registry import register

np = lazy("numpy")
kernels = lazy("..kernels", __package__)
einsum_kernels = lazy("..kernels.einsum", __package__)

LETTERS = frozenset(string.ascii_letters)  # Keras's [a-zA-Z]: ASCII letters only


@dataclass(frozen=True)
class Equation:
    """``inputs,kernel->outputs`` with the ellipsis position: "none", "left" or "right"."""

    inputs: str
    kernel: str
    outputs: str
    ellipsis: str

    @property
    def text(self) -> str:
        """The equation without ``...`` (for the equations built here, which have none)."""
        return f"{self.inputs},{self.kernel}->{self.outputs}"


def _letters(text: str, start: int) -> int:
    """End of the run of ASCII letters starting at ``start``."""
    end = start
    while end < len(text) and text[end] in LETTERS:
        end += 1
    return end


def _match(text: str, left_zero: bool, right_zero: bool, min_first: int) -> Equation | None:
    """Match ``[0]X[0],Y->[0]Z[0]`` at the start of ``text`` (letters runs are maximal, and a
    shorter run can never be followed by the punctuation, so this is the regex's only match)."""
    pos = 0
    if left_zero:
        if not text.startswith("0"):
            return None
        pos = 1
    end = _letters(text, pos)
    first = text[pos:end]
    if len(first) < max(min_first, 1):
        return None
    pos = end
    if right_zero:
        if not text.startswith("0", pos):
            return None
        pos += 1
    if not text.startswith(",", pos):
        return None
    end = _letters(text, pos + 1)
    kernel = text[pos + 1 : end]
    if not kernel or not text.startswith("->", end):
        return None
    pos = end + 2
    if left_zero:
        if not text.startswith("0", pos):
            return None
        pos += 1
    end = _letters(text, pos)
    out = text[pos:end]
    if not out:
        return None
    if right_zero and not text.startswith("0", end):
        return None
    kind = "left" if left_zero else "right" if right_zero else "none"
    return Equation(first, kernel, out, kind)


def parse_equation(equation: Any) -> Equation:
    """Read an equation as Keras's three regexes do (anything after the match is ignored)."""
    if not isinstance(equation, str):
        raise ArgError(f"expected an einsum equation string such as 'ab,bc->ac', got {A.describe(equation)}")
    text = equation.replace("...", "0")
    found = _match(text, False, False, 1) or _match(text, True, False, 1) or _match(text, False, True, 2)
    if found is None:
        raise ArgError(
            f"invalid einsum equation {equation!r}: the forms are X,Y->Z, ...X,Y->...Z and X...,Y->Z... "
            "(X, Y, Z runs of letters a-z/A-Z; X at least two letters in the last form)"
        )
    return found


def _bias_axes(value: Any) -> Any:
    """Keras iterates bias_axes and tests membership: a string, or a list of strings, works."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = list(value)  # iterating a mapping gives its keys
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, str) for v in value):
            raise ArgError(f"expected a string of output letters such as 'de', got {A.describe(value)}")
        return tuple(value)
    raise ArgError(f"expected a string of output letters such as 'de', got {A.describe(value)}")


def check_equation(eq: Equation, bias_axes: Any) -> None:
    """The checks that do not depend on the input shape (Keras makes them at build)."""
    for letter in eq.outputs:
        if letter not in eq.inputs and letter not in eq.kernel:
            raise ArgError(
                f"output letter '{letter}' of '{eq.outputs}' is in neither the input '{eq.inputs}' "
                f"nor the kernel '{eq.kernel}'",
                argument="equation",
            )
    for letter in eq.kernel:
        if letter not in eq.inputs and letter not in eq.outputs:
            raise ArgError(
                f"kernel letter '{letter}' of '{eq.kernel}' is in neither the input '{eq.inputs}' "
                f"nor the output '{eq.outputs}': every kernel axis must get its size from one of them",
                argument="equation",
            )
    if bias_axes is None:
        return
    for axis in bias_axes:
        if axis not in eq.outputs:
            raise ArgError(
                f"bias axis '{axis}' is not a letter of the output '{eq.outputs}'", argument="bias_axes"
            )
    if len(bias_axes) == 0:
        raise ArgError(
            "bias_axes is empty: give the output letters that get a bias, or null", argument="bias_axes"
        )


def _at(dims: list[Dim] | Shape, index: int, letter: str, spec: str, what: str) -> Dim:
    try:
        return dims[index]
    except IndexError:
        raise ShapeError(
            f"letter '{letter}' of '{spec}' is at position {index} of the {what} {fmt_shape(dims)}, "
            f"which has only {len(dims)} axes"
        ) from None


def analyze(
    eq: Equation, bias_axes: Any, input_shape: Shape, partial_output: tuple[Dim, ...]
) -> tuple[list[Dim], list[Dim] | None, Shape]:
    """(kernel shape, bias shape or None, full output shape); sizes may be None (unknown)."""
    shape = tuple(input_shape)
    if not shape:
        raise ShapeError("EinsumDense needs an input with a batch axis (rank >= 1), got rank 0")
    rank, n_in = len(shape), len(eq.inputs)
    elided = rank - n_in
    left = eq.ellipsis == "left"
    out: list[Dim] = [shape[0], *partial_output]
    if elided > 0:
        if left:
            # Keras inserts input axes 1..elided-1 one by one at position 1: they end up reversed
            out[1:1] = list(reversed(shape[1:elided]))
        else:
            out.extend(shape[rank - elided :])
    in_pos = {c: (i - n_in if left else i) for i, c in enumerate(eq.inputs)}
    out_pos = {c: (i + elided if left else i) for i, c in enumerate(eq.outputs)}
    in_what, out_what = "input", "output built from output_shape"

    for c in eq.inputs:
        have = _at(shape, in_pos[c], c, eq.inputs, in_what)
        if c in out_pos:
            want = _at(out, out_pos[c], c, eq.outputs, out_what)
            if want is not None and want != have:
                raise ShapeError(
                    f"axis '{c}' is in both the input and the output: the input has {have} "
                    f"(input {fmt_shape(shape)}) but output_shape asks for {want}"
                )
    kernel: list[Dim] = []
    for c in eq.kernel:
        if c in out_pos:
            kernel.append(_at(out, out_pos[c], c, eq.outputs, out_what))
        else:
            kernel.append(_at(shape, in_pos[c], c, eq.inputs, in_what))
    bias: list[Dim] | None = None
    if bias_axes is not None:
        offset = elided if left else 0
        sizes = {c: _at(out, i + offset, c, eq.outputs, out_what) for i, c in enumerate(eq.outputs)}
        first = min(eq.outputs.find(axis) for axis in bias_axes)
        bias = [sizes[c] if c in bias_axes else 1 for c in eq.outputs[first:]]
        if not left:
            bias.extend([1] * max(elided, 0))
    return kernel, bias, tuple(out)


def einsum_macs(eq: Equation, input_shape: Shape, kernel: Sequence[Dim]) -> int | None:
    """Multiply-accumulates of ``input (*) kernel`` for one example: the product of every
    index's size, the batch's excluded. The input's axes give their indices' sizes (those the
    equation elides included); the kernel adds the sizes of the indices only it has."""
    own = [size for letter, size in zip(eq.kernel, kernel, strict=True) if letter not in eq.inputs]
    return known_product([*input_shape[1:], *own])


def output_sources(eq: Equation, rank: int, out_rank: int) -> list[int | None]:
    """For each output axis (batch included), the input axis it is carried from, or None for
    an axis that only the kernel has; axes the equation elides are carried as :func:`analyze`
    places them."""
    elided = rank - len(eq.inputs)
    left = eq.ellipsis == "left"
    letters = {c: (i + elided if left else i) for i, c in enumerate(eq.inputs)}
    sources: list[int | None] = [None] * out_rank
    for i, c in enumerate(eq.outputs):
        k = i + elided if left else i
        if k < out_rank:  # an output_shape shorter than the equation's output leaves letters out
            sources[k] = letters.get(c)
    if elided > 0:
        if left:
            sources[0] = 0
            sources[1:elided] = list(range(elided - 1, 0, -1))
        else:  # the elided axes end the output, as analyze() appends them
            sources[out_rank - elided :] = list(range(rank - elided, rank))
    return sources[:out_rank]


def require_sizes(path: str, shape: list[Dim], letters: str) -> tuple[int, ...]:
    """Variables need every size known (Keras: shapes must be fully defined)."""
    for i, dim in enumerate(shape):
        if dim is None:
            which = f" (letter '{letters[i]}')" if i < len(letters) else ""
            raise ShapeError(
                f"{path} would have shape {fmt_shape(shape)}: axis {i}{which} is unknown (None); "
                "a weight's shape must be fully known"
            )
    return tuple(int(d) for d in shape)  # type: ignore[arg-type]


def einsum_weights(
    layer: Layer,
    prefix: str,
    eq: Equation,
    bias_axes: Any,
    input_shape: Shape,
    partial_output: tuple[Dim, ...],
    kernel_initializer: Any,
    bias_initializer: Any,
) -> list[Weight]:
    """kernel (+ bias) of an EinsumDense called ``prefix`` (``query/``) built on ``input_shape``."""
    kernel, bias, _ = analyze(eq, bias_axes, input_shape, partial_output)
    weights = [
        layer.weight(
            prefix + "kernel", require_sizes(prefix + "kernel", kernel, eq.kernel), kernel_initializer
        )
    ]
    if bias is not None:
        weights.append(
            layer.weight(prefix + "bias", require_sizes(prefix + "bias", bias, ""), bias_initializer)
        )
    return weights


# ----------------------------------------------------------------------------- arguments
def output_dims(value: Any) -> tuple[Dim, ...]:
    """EinsumDense output_shape: an int, or a list whose items become output sizes (None allowed).

    Keras takes ``tuple(value)``, so a string is its characters and a mapping its keys; every
    item ends up in the output shape, which only takes integers >= 0 and None (true counts as 1).
    """
    if A.is_int(value) or isinstance(value, bool):
        items: list[Any] = [value]
    elif isinstance(value, (list, tuple, str, dict)):
        items = list(value)
    else:
        raise ArgError(f"expected an integer or a list of integers/null, got {A.describe(value)}")
    dims: list[Dim] = []
    for item in items:
        if item is None:
            dims.append(None)
        elif isinstance(item, bool) or (A.is_int(item) and item >= 0):
            dims.append(int(item))
        else:
            raise ArgError(
                f"every output size must be an integer >= 0 or null, got {A.describe(item)} "
                f"in {A.describe(value)}"
            )
    return tuple(dims)


def lora_rank(value: Any) -> int | None:
    """LoRA is on when lora_rank is truthy; the rank then sizes two weights (true counts as 1)."""
    if not value:
        return None
    if isinstance(value, bool):
        return 1
    if not A.is_int(value) or value < 0:
        raise ArgError(f"expected a positive integer (or null for no LoRA), got {A.describe(value)}")
    return value


@register
class EinsumDense(Layer):
    """A dense layer written as an einsum: kernel and bias shapes read off the equation."""

    arguments = (
        Arg("equation", A.anything, REQUIRED, "X,Y->Z, ...X,Y->...Z or X...,Y->Z..."),
        Arg("output_shape", output_dims, REQUIRED, "output sizes after the batch axis (null = from input)"),
        Arg("activation", A.activation, None),
        Arg("bias_axes", _bias_axes, None, "output letters that get a bias"),
        *weight_arguments(kernel="glorot_uniform", bias="zeros"),
        Arg("lora_rank", lora_rank, None, "adds lora_kernel_a/b and freezes the kernel"),
        Arg("lora_alpha", A.anything, None),
        Arg("gptq_unpacked_column_size", A.anything, None),
        Arg("quantization_config", A.anything, None),
    )

    def configure(self) -> None:
        try:
            self.parsed = parse_equation(self.equation)
        except ArgError as err:
            raise ArgError(err.message, argument="equation") from None
        check_equation(self.parsed, self.bias_axes)
        if self.lora_rank is not None and self.kernel_constraint is not None:
            raise ArgError(
                "LoRA (lora_rank) cannot be used together with kernel_constraint", argument="lora_rank"
            )

    def build(self, input_shape: Shape) -> list[Weight]:
        weights = einsum_weights(
            self,
            "",
            self.parsed,
            self.bias_axes,
            input_shape,
            self.output_shape,
            self.kernel_initializer,
            self.bias_initializer,
        )
        if self.lora_rank is None:
            return weights
        kernel = weights[0]
        # LoRA freezes the kernel and trains two float32 factors over its last axis.
        weights[0] = kernel._replace(trainable=False)
        return [*weights, *lora_factors("kernel", kernel.shape, self.lora_rank)]

    def check_later_call(self, input_shape: Shape, built: Built) -> None:
        # Keras checks the InputSpec (rank) and the shape rule, not the kernel.
        require_built_rank(built, input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return analyze(self.parsed, self.bias_axes, input_shape, self.output_shape)[2]

    def macs(self, input_shape: Shape, output_shape: OutputShape) -> int | None:
        kernel = analyze(self.parsed, self.bias_axes, input_shape, self.output_shape)[0]
        return einsum_macs(self.parsed, input_shape, kernel)

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        # an axis carried from the input keeps its window; one summed over or made by the
        # kernel mixes every position of the summed axes
        field = fields[0]
        sources = output_sources(self.parsed, len(input_shape), len(output_shape))[1:]
        windows = tuple(None if s is None else field.windows[s - 1] for s in sources)
        spatial = tuple(i for i, s in enumerate(sources) if s is not None and s - 1 in field.spatial)
        return Field(windows, spatial)

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        kernel = weights["kernel"]
        if self.lora_rank is not None:
            # Unlike Dense, EinsumDense's build passes lora_alpha on to enable_lora: the delta
            # is scaled by lora_alpha / lora_rank (alpha defaults to the rank, a scale of 1).
            alpha = self.lora_rank if self.lora_alpha is None else self.lora_alpha
            if not isinstance(alpha, (int, float)):
                raise CallFailure(f"lora_alpha must be a number to scale the LoRA delta, got {alpha!r}")
            lora_a, lora_b = weights["lora_kernel_a"], weights["lora_kernel_b"]
            kernel = kernels.lora_merged(kernel, lora_a, lora_b, alpha / self.lora_rank)
        # Keras runs the equation exactly as written (not the parsed form).
        return einsum_kernels.einsum_dense(
            inputs, self.equation, kernel, weights.get("bias"), self.activation
        )

    def explain(self, input_shape: Shape) -> list[Step]:
        output = self.compute_output_shape(input_shape)
        sources = output_sources(self.parsed, len(input_shape), len(output))
        equation = f"{self.equation}"
        return [
            Step(f"axis {k}", f"input axis {source} ({equation})", output[k])
            if source is not None
            else Step(f"axis {k}", f"output_shape, an axis of the kernel ({equation})", output[k])
            for k, source in enumerate(sources)
            if k > 0
        ]
