"""Multi-head attention: MultiHeadAttention, and what the multi-head layers share
(GroupedQueryAttention is in attention_grouped.py, Attention and AdditiveAttention in
attention_dot.py).

All four take several tensors. The spec gives them as a list; Keras calls MultiHeadAttention and
GroupedQueryAttention positionally, ``layer(query, value, key, query_mask, value_mask, key_mask,
attention_mask)``, so 2 to 7 tensors are accepted (the masks only matter at run time), and
Attention / AdditiveAttention on the list itself, of length 2 or 3.

The projections of the multi-head layers are EinsumDense sublayers (``query/kernel`` ...); their
shapes come from the einsum analysis in :mod:`.einsum`, with the equations Keras builds. Keras's
symbolic call never runs the attention einsums, so its checks are only those of ``build`` and
``compute_output_shape``; a later call of a built layer (a shared layer) is checked by
``compute_output_shape`` alone.

Kernels (inference; ``use_causal_mask`` and ``return_attention_scores`` given by ``call:``):
the extra tensors are applied as Keras applies them (MultiHeadAttention ignores its query_mask,
GroupQueryAttention does not). The Keras masks the query, value and key carry (Embedding
mask_zero, Masking) stand in for the mask tensors not given; the output takes the query's
mask. See
:mod:`shapecalc.kernels.attention` for Keras's two routes.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ArgError, ShapeError
from ..lazy import lazy
from . import args as A
from .attention_args import (
    attention_axes,
    attention_call_arguments,
    check_seed,
    copied_initializer,
    flag,
    keras_int,
    mha_output_shape,
    rate,
    seed,
    sliding_window,
)
from .base import (
    REQUIRED,
    Arg,
    Built,
    Dim,
    Layer,
    OutputShape,
    Shape,
    Sizes,
    Weight,
    fmt_shape,
    known_product,
    known_sum,
)
from .einsum import Equation, analyze, einsum_weights, parse_equation
from .explaining import Step, show
from .registry import register

np = lazy("numpy")
K = lazy("..kernels.attention", __package__)
einsum_kernels = lazy("..kernels.einsum", __package__)

MAX_CALL_TENSORS = 7  # query, value, key, query_mask, value_mask, key_mask, attention_mask


def project_with(weights: Mapping[str, Any], name: str, x: np.ndarray, eq: Equation, act: Any = None) -> Any:
    """The EinsumDense sublayer ``name`` (weights ``name/kernel``, ``name/bias``) applied to x."""
    return einsum_kernels.einsum_dense(
        x, eq.text, weights[f"{name}/kernel"], weights.get(f"{name}/bias"), act
    )


# ----------------------------------------------------------------------------- equations
def _letter(i: int) -> str:
    try:
        return string.ascii_lowercase[i]
    except IndexError:
        raise ShapeError(
            "the input has too many axes: the attention equations run out of letters a-z"
        ) from None


def projection(free: int, bound: int, out: int) -> tuple[Equation, str, int]:
    """Keras's _build_proj_equation: free axes kept, bound axes contracted, out axes created."""
    free_s = "".join(_letter(i) for i in range(free))
    bound_s = "".join(_letter(i + free) for i in range(bound))
    out_s = "".join(_letter(i + free + bound) for i in range(out))
    text = f"{free_s}{bound_s},{bound_s}{out_s}->{free_s}{out_s}"
    try:
        eq = parse_equation(text)
    except ArgError:
        raise ShapeError(f"the projection equation {text!r} is not valid for this input rank") from None
    return eq, out_s, len(free_s) + out


def _padded(rank: int, last: list[Any]) -> tuple[Dim, ...]:
    """[None, ..., *last] of length ``rank`` (or just ``last`` when it is longer)."""
    return (*([None] * (rank - len(last))), *last)


def need_tensors(shapes: Any) -> list[Shape]:
    if not isinstance(shapes, list) or not 2 <= len(shapes) <= MAX_CALL_TENSORS:
        count = len(shapes) if isinstance(shapes, list) else 1
        raise ShapeError(
            f"is called as (query, value[, key[, query_mask, value_mask, key_mask, attention_mask]]): "
            f"2 to {MAX_CALL_TENSORS} tensors, got {count}"
        )
    return [tuple(s) for s in shapes]


def key_matches_value(value: Shape, key: Shape) -> None:
    if value[1:-1] != key[1:-1]:
        raise ShapeError(
            f"value {fmt_shape(value)} and key {fmt_shape(key)} must have the same axes except the last "
            f"(known and unknown sizes alike): {fmt_shape(value[1:-1])} vs {fmt_shape(key[1:-1])}"
        )


class BuiltOnce(Layer):
    """Keras checks a later call of these layers with compute_output_shape only."""

    takes_list = True
    list_inputs = "[query, value] (or [query, value, key])"
    supports_masking = True

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        """The output carries the query's Keras mask."""
        return mask[0] if mask else None

    def check_later_call(self, input_shape: Any, built: Built) -> None:
        need_tensors(input_shape)

    def run_work_elements(self, input_shapes: Sizes, output_shapes: Sizes) -> int:
        # the scores and their softmax (per item and head, query positions x value positions,
        # times the features for additive scores), and the projected query, key and value
        query, value = input_shapes[0], input_shapes[1]
        heads = getattr(self, "num_heads", None) or getattr(self, "num_query_heads", None) or 1
        scores = query[0] * heads * math.prod(query[1:-1]) * math.prod(value[1:-1]) * self.score_width(query)
        projections = sum(math.prod(shape) for shape in input_shapes[:3]) + math.prod(output_shapes[0])
        return 2 * scores + 2 * projections

    def score_width(self, query: tuple[int, ...]) -> int:
        """Values per (query position, value position) pair in the scores' computation."""
        return 1


COMMON_ARGUMENTS = (
    Arg("kernel_initializer", copied_initializer, "glorot_uniform"),
    Arg("bias_initializer", copied_initializer, "zeros"),
    Arg("kernel_regularizer", A.regularizer, None),
    Arg("bias_regularizer", A.regularizer, None),
    Arg("activity_regularizer", A.regularizer, None),
    Arg("kernel_constraint", A.constraint, None),
    Arg("bias_constraint", A.constraint, None),
    Arg("use_gate", flag, False, "adds a sigmoid gate projection of the query"),
    Arg("seed", seed, None),
)


def keras_masks(mask: Any) -> list[Any]:
    """The Keras masks of query, value and key (``mask``: one per input tensor, or None)."""
    return [*(mask or [])[:3], None, None, None][:3]


def with_keras_masks(masks: list[Any], mask: Any, count: int) -> list[Any]:
    """[query_mask, value_mask, key_mask, attention_mask]: each mask tensor not given is the Keras
    mask of its tensor, as Keras fills in its call; a key not given (the value stands in) has none."""
    query, value, key = keras_masks(mask)
    keras = (query, value, key if count >= 3 else None)
    filled = [given if given is not None else own for given, own in zip(masks[:3], keras, strict=True)]
    return [*filled, masks[3]]


# ----------------------------------------------------------------------------- MultiHeadAttention
@register
class MultiHeadAttention(BuiltOnce):
    """Output: the query shape, its last axis replaced by ``output_shape`` when given.

    Weights (EinsumDense sublayers): query (Dq, H, K), key (Dk, H, K), [gate (Dq, H, V)],
    value (Dv, H, V), attention_output (H, V, *out); biases (H, K) / (H, V) / out.
    """

    positional_call = True  # layer(query, value, key)

    # the weights belong to its EinsumDense sublayers
    trainable_flag_reaches_weights = False
    # Keras's call removes the Keras masks of its query, value and key tensors
    clears_input_masks = True

    arguments = (
        Arg("num_heads", keras_int(1, "a positive integer"), REQUIRED),
        Arg("key_dim", keras_int(1, "a positive integer"), REQUIRED, "size of each head for query and key"),
        Arg("value_dim", A.optional(keras_int(1, "a positive integer or null")), None, "default: key_dim"),
        Arg("dropout", rate, 0.0),
        Arg("use_bias", flag, True),
        Arg("output_shape", mha_output_shape, None, "default: the query's last size"),
        Arg("attention_axes", attention_axes, None, "default: every axis but batch, heads, features"),
        Arg("sliding_window", sliding_window, None),
        Arg("flash_attention", A.anything, None),
        *COMMON_ARGUMENTS,
    )
    call_arguments = attention_call_arguments("(batch, heads, T, T)")

    def configure(self) -> None:
        self.value_dim = self.value_dim or self.key_dim
        if self.flash_attention and self.dropout > 0:
            raise ArgError(
                "dropout is not supported with flash attention: set dropout to 0", argument="dropout"
            )
        check_seed(self, self.dropout)

    def check_input(self, input_shape: Any) -> None:
        shapes = need_tensors(input_shape)
        key_matches_value(shapes[1], shapes[2] if len(shapes) > 2 else shapes[1])

    def build(self, input_shape: list[Shape]) -> list[Weight]:
        shapes = need_tensors(input_shape)
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) > 2 else value
        key_matches_value(value, key)
        heads, kdim, vdim = self.num_heads, self.key_dim, self.value_dim
        weights: list[Weight] = []

        def project(name: str, shape: Shape, last: list[int]) -> tuple[Equation, str, int]:
            eq, bias, out_rank = projection(len(shape) - 1, 1, 2)
            weights.extend(self._dense(name, eq, bias, shape, _padded(out_rank - 1, last)))
            return eq, bias, out_rank

        q_eq, q_bias, q_rank = project("query", query, [heads, kdim])
        project("key", key, [heads, kdim])
        if self.use_gate:
            project("gate", query, [heads, vdim])
        _, _, rank = project("value", value, [heads, vdim])
        self._check_attention_axes(rank)

        out = list(self.output_shape) if self.output_shape else [query[-1]]
        o_eq, o_bias, o_rank = projection(len(query) - 1, 2, len(out))
        projected = list(
            analyze(q_eq, q_bias if self.use_bias else None, query, _padded(q_rank - 1, [heads, kdim]))[2]
        )
        projected[-1] = vdim
        weights.extend(
            self._dense("attention_output", o_eq, o_bias, tuple(projected), _padded(o_rank - 1, out))
        )
        return weights

    def _dense(self, name: str, eq: Equation, bias: str, shape: Shape, out: tuple[Dim, ...]) -> list[Weight]:
        return einsum_weights(
            self,
            f"{name}/",
            eq,
            bias if self.use_bias else None,
            shape,
            out,
            self.kernel_initializer,
            self.bias_initializer,
        )

    def _check_attention_axes(self, rank: int) -> None:
        """Keras normalises the axes against the projected value's rank and deletes them (with the
        last axis) from range(rank) with numpy, which refuses non-integers and out-of-range axes."""
        if self.attention_axes is None:
            axes = list(range(1, rank - 2))  # always in range, but may run out of letters
            _letter(rank + len(axes) - 1)
            return
        axes: list[int] = []
        for axis in self.attention_axes:
            if not isinstance(axis, (int, float)):
                raise ShapeError(f"attention_axes must be integers, got {A.describe(axis)}")
            axis = axis if axis >= 0 else (rank - 1) + axis
            if not isinstance(axis, int):
                raise ShapeError(f"attention_axes must be integers, got {A.describe(axis)}")
            if not -rank <= axis < rank:
                raise ShapeError(
                    f"attention axis {axis} (negative axes count back from {rank - 1}) is out of range "
                    f"for the projected value of rank {rank} (value axes + heads): -{rank} to {rank - 1}"
                )
            axes.append(axis)
        attended = {a % rank for a in axes} - {rank - 1}
        _letter(rank + len(attended) - 1)

    def forward(
        self,
        inputs: Sequence[np.ndarray],
        weights: Mapping[str, np.ndarray],
        mask: Any = None,
        use_causal_mask: bool = False,
        return_attention_scores: bool = False,
    ) -> Any:
        """Keras's call in inference mode.

        Extra tensors are Keras's positional masks. Keras's call overwrites ``query_mask`` with
        the query's own Keras mask, so a 4th tensor is ignored; value_mask, key_mask (nonzero =
        attend) and attention_mask (B, T, S) are applied as Keras applies them, the value's and
        key's Keras masks (``mask``) standing in for value_mask and key_mask when not given.
        ``use_causal_mask`` adds Keras's causal mask over the raw query and value's axis 1;
        ``return_attention_scores`` returns [output, scores] by Keras's einsum route.
        """
        query, value, key, masks = K.call_tensors(inputs, MAX_CALL_TENSORS)
        # the query mask is always the query's own Keras mask
        masks = [keras_masks(mask)[0], *with_keras_masks(masks, mask, len(inputs))[1:]]
        mask = K.call_mask(query, value, masks, self.sliding_window, cast_alone=True, causal=use_causal_mask)

        def project(name: str, x: np.ndarray, act: Any = None) -> np.ndarray:
            return project_with(weights, name, x, projection(x.ndim - 1, 1, 2)[0], act)

        gate = project("gate", query, "sigmoid") if self.use_gate else None
        q, k, v = project("query", query), project("key", key), project("value", value)
        rank = v.ndim
        axes = self._attended(rank)
        scores_eq, combine_eq, scores_rank = K.attention_equations(rank, axes)
        # Keras takes its einsum route, not the fused one, to return the scores
        fused = self._fused(q.ndim) and not return_attention_scores
        softmax_axes = tuple(range(scores_rank - len(axes), scores_rank))
        scale = 1.0 / math.sqrt(float(self.key_dim))
        equations = (scores_eq, combine_eq)
        out, scores = K.attend(q, k, v, mask, scale, fused, equations, softmax_axes, -len(axes) * 2 - 1)
        if gate is not None:
            out = out * gate
        n_out = len(self.output_shape) if self.output_shape else 1
        projected = project_with(weights, "attention_output", out, projection(query.ndim - 1, 2, n_out)[0])
        return [projected, scores] if return_attention_scores else projected

    def compute_output_shape(
        self, input_shape: list[Shape], use_causal_mask: bool = False, return_attention_scores: bool = False
    ) -> OutputShape:
        shapes = need_tensors(input_shape)
        query = shapes[0]
        key_matches_value(shapes[1], shapes[2] if len(shapes) > 2 else shapes[1])
        output = (*query[:-1], *self.output_shape) if self.output_shape else query
        if return_attention_scores:
            # Keras's compute_output_spec: (batch, heads, T, T), the query's length twice, even
            # where the value's differs (the scores Keras computes are (batch, heads, T, S))
            return [output, (query[0], self.num_heads, query[1], query[1])]
        return output

    def explain(self, input_shape: list[Shape]) -> list[Step]:
        shapes = need_tensors(input_shape)
        query, value = shapes[0], shapes[1]
        output = self.compute_output_shape(input_shape)
        positions = f"one output per query position: {show(query[1:-1])}"
        heads = (
            f"{self.num_heads} head(s) of key_dim {self.key_dim} attend over the value's {show(value[1:-1])}"
        )
        if self.output_shape:
            last = Step(
                "features", f"output_shape {show(list(self.output_shape))}", list(output[len(query) - 1 :])
            )
        else:
            last = Step("features", "the query's last size (no output_shape given)", query[-1])
        return [Step("positions", positions, list(query[1:-1])), Step("heads", heads, self.num_heads), last]

    def _attended(self, rank: int) -> tuple[int, ...]:
        """The attention axes of projected tensors of ``rank`` (..., heads, size), as Keras's call
        normalises them."""
        if self.attention_axes is None:
            return tuple(range(1, rank - 2))
        return tuple(int(a) if a >= 0 else int((rank - 1) + a) for a in self.attention_axes)

    def _fused(self, rank: int) -> bool:
        """Keras fuses (ignoring attention_axes: over axis 1) for rank-4 projections at rate 0."""
        return self.dropout == 0 and rank == 4

    def macs(self, input_shape: list[Shape], output_shape: OutputShape) -> int | None:
        """The query, key, value (and gate) projections, the scores (query x key over each head's
        key_dim) and their products with the values (over value_dim), the output projection."""
        shapes = need_tensors(input_shape)
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) > 2 else value
        heads, kdim, vdim = self.num_heads, self.key_dim, self.value_dim
        out = math.prod(self.output_shape) if self.output_shape else query[-1]
        q_proj, k_proj = (*query[:-1], heads, kdim), (*key[:-1], heads, kdim)
        rank = len(q_proj)
        axes = (1,) if self._fused(rank) else self._attended(rank)
        carried = [i for i in range(1, rank - 1) if i not in {a % rank for a in axes}]
        pairs = known_product(
            [*(q_proj[i] for i in carried), *(q_proj[a] for a in axes), *(k_proj[a] for a in axes)]
        )
        counts = [
            known_product([*query[1:], heads, kdim]),  # query projection
            known_product([*key[1:], heads, kdim]),  # key projection
            known_product([*value[1:], heads, vdim]),  # value projection
            known_product([*query[1:], heads, vdim]) if self.use_gate else 0,
            known_product([pairs, kdim + vdim]),  # scores, then their products with the values
            known_product([*query[1:-1], heads, vdim, out]),  # output projection
        ]
        return known_sum(counts)
