"""GroupedQueryAttention: query heads sharing fewer key and value heads (see attention.py for
what the multi-head layers share)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ArgError, ShapeError
from ..lazy import lazy
from . import args as A
from .attention import (
    COMMON_ARGUMENTS,
    MAX_CALL_TENSORS,
    BuiltOnce,
    key_matches_value,
    need_tensors,
    project_with,
    with_keras_masks,
)
from .attention_args import attention_call_arguments, check_seed, flag, keras_int, rate, sliding_window
from .base import REQUIRED, Arg, Dim, OutputShape, Shape, Weight, fmt_shape, known_product, known_sum
from .einsum import Equation, einsum_weights, parse_equation
from .explaining import Step, show
from .registry import register

np = lazy("numpy")
K = lazy("..kernels.attention", __package__)

# ----------------------------------------------------------------------------- GroupedQueryAttention
_GQA_QUERY = parse_equation("bqm,muh->bquh")
_GQA_KEY = parse_equation("bkm,mvh->bkvh")
_GQA_OUTPUT = parse_equation("bquh,uhm->bqm")


@register
class GroupedQueryAttention(BuiltOnce):
    """Output = query shape. keras.layers exports this class as GroupQueryAttention only (an alias
    here, see aliases.py); Keras names and summarises it by the class name.

    Weights: query (D, Hq, h), key and value (D, Hkv, h), [gate (D, Hq, h)], attention_output
    (Hq, h, D); biases (Hq, h), (Hkv, h), (D,). The query's last size must equal the value's.
    """

    positional_call = True  # layer(query, value, key)

    # the weights belong to its EinsumDense sublayers
    trainable_flag_reaches_weights = False

    exported = False

    arguments = (
        Arg("head_dim", keras_int(1, "a positive integer"), REQUIRED),
        Arg("num_query_heads", keras_int(0, "an integer >= 0"), REQUIRED),
        Arg("num_key_value_heads", keras_int(1, "a positive integer"), REQUIRED),
        Arg("dropout", rate, 0.0),
        Arg("use_bias", flag, True),
        Arg("sliding_window", sliding_window, None),
        Arg("flash_attention", A.anything, None),
        *COMMON_ARGUMENTS,
    )
    call_arguments = attention_call_arguments("(batch, query heads, T, S)")

    def configure(self) -> None:
        if self.num_query_heads % self.num_key_value_heads:
            raise ArgError(
                f"num_query_heads ({self.num_query_heads}) must be divisible by num_key_value_heads "
                f"({self.num_key_value_heads})",
                argument="num_query_heads",
            )
        if self.flash_attention and self.dropout > 0:
            raise ArgError(
                "dropout is not supported with flash attention: set dropout to 0", argument="dropout"
            )
        check_seed(self, self.dropout)

    def check_input(self, input_shape: Any) -> None:
        need_tensors(input_shape)

    def build(self, input_shape: list[Shape]) -> list[Weight]:
        shapes = need_tensors(input_shape)
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) > 2 else value
        if not query:
            raise ShapeError("the query needs at least one axis")
        heads_q, heads_kv, size = self.num_query_heads, self.num_key_value_heads, self.head_dim
        bias_q, bias_kv = ("uh", "vh") if self.use_bias else (None, None)
        weights = self._dense("query", _GQA_QUERY, bias_q, query, (None, heads_q, size))
        weights += self._dense("key", _GQA_KEY, bias_kv, key, (None, heads_kv, size))
        if self.use_gate:
            weights += self._dense("gate", _GQA_QUERY, bias_q, query, (None, heads_q, size))
        weights += self._dense("value", _GQA_KEY, bias_kv, value, (None, heads_kv, size))
        weights += self._dense(
            "attention_output",
            _GQA_OUTPUT,
            "m" if self.use_bias else None,
            (None, None, heads_q, size),
            (None, query[-1]),
        )
        return weights

    def _dense(
        self, name: str, eq: Equation, bias: str | None, shape: Shape, out: tuple[Dim, ...]
    ) -> list[Weight]:
        return einsum_weights(
            self, f"{name}/", eq, bias, shape, out, self.kernel_initializer, self.bias_initializer
        )

    def forward(
        self,
        inputs: Sequence[np.ndarray],
        weights: Mapping[str, np.ndarray],
        mask: Any = None,
        use_causal_mask: bool = False,
        return_attention_scores: bool = False,
    ) -> Any:
        """Keras's call in inference mode. Extra tensors are the positional masks, all used here
        (query_mask included, unlike MultiHeadAttention), the query's, value's and key's Keras
        masks (``mask``) standing in for those not given; an attention_mask given alone stays as
        it is, so the einsum route (dropout > 0, or the scores returned) thresholds it at 0.5
        where the fused route takes any nonzero value."""
        query, value, key, masks = K.call_tensors(inputs, MAX_CALL_TENSORS)
        masks = with_keras_masks(masks, mask, len(inputs))
        mask = K.call_mask(query, value, masks, self.sliding_window, cast_alone=False, causal=use_causal_mask)
        gate = project_with(weights, "gate", query, _GQA_QUERY, "sigmoid") if self.use_gate else None
        q = project_with(weights, "query", query, _GQA_QUERY)
        # each key/value head serves num_query_heads / num_key_value_heads consecutive query heads
        repeats = self.num_query_heads // self.num_key_value_heads
        k = np.repeat(project_with(weights, "key", key, _GQA_KEY), repeats, axis=2)
        v = np.repeat(project_with(weights, "value", value, _GQA_KEY), repeats, axis=2)
        scale, equations = 1.0 / math.sqrt(float(self.head_dim)), ("bkuh,bquh->buqk", "buqk,bkuh->bquh")
        fused = self.dropout == 0 and q.ndim == 4 and not return_attention_scores
        out, scores = K.attend(q, k, v, mask, scale, fused, equations, (-1,), -3)
        if gate is not None:
            out = out * gate
        projected = project_with(weights, "attention_output", out, _GQA_OUTPUT)
        return [projected, scores] if return_attention_scores else projected

    def compute_output_shape(
        self, input_shape: list[Shape], use_causal_mask: bool = False, return_attention_scores: bool = False
    ) -> OutputShape:
        shapes = need_tensors(input_shape)
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) > 2 else value
        if return_attention_scores:
            # Keras's compute_output_spec: (batch, query heads, T, the key's (or value's) length)
            scores = (query[0], self.num_query_heads, query[1], key[1])
            return [self.compute_output_shape(input_shape), scores]
        if not query or not value:
            raise ShapeError("query and value need at least one axis")
        if query[-1] != value[-1]:
            raise ShapeError(
                f"the last size of query {fmt_shape(query)} and value {fmt_shape(value)} must be equal "
                f"(known and unknown alike): {query[-1]} vs {value[-1]}"
            )
        key_matches_value(value, key)
        return query

    def explain(self, input_shape: list[Shape]) -> list[Step]:
        shapes = need_tensors(input_shape)
        query, value = shapes[0], shapes[1]
        share = f"{self.num_query_heads} query heads share {self.num_key_value_heads} key and value heads"
        return [
            Step("positions", f"one output per query position: {show(query[1:-1])}", list(query[1:-1])),
            Step("heads", f"{share}, over the value's {show(value[1:-1])}", self.num_query_heads),
            Step("features", "the query's last size, projected back", query[-1]),
        ]

    def macs(self, input_shape: list[Shape], output_shape: OutputShape) -> int | None:
        """Projections of the query (num_query_heads) and of the key and value (each key and
        value head serving several query heads), the scores and their products with the values
        for every query head, the output projection."""
        shapes = need_tensors(input_shape)
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) > 2 else value
        heads_q, heads_kv, size = self.num_query_heads, self.num_key_value_heads, self.head_dim
        query_projection = known_product([*query[1:], heads_q, size])
        counts = [
            query_projection,
            query_projection if self.use_gate else 0,
            known_product([*key[1:], heads_kv, size]),
            known_product([*value[1:], heads_kv, size]),
            known_product([query[1], key[1], heads_q, 2 * size]),  # scores and values
            known_product([query[1], heads_q, size, query[-1]]),  # output projection
        ]
        return known_sum(counts)


# ----------------------------------------------------------------------------- Attention, AdditiveAttention
