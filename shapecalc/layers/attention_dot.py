"""Attention and AdditiveAttention, called on [query, value] or [query, value, key].

After keras/src/layers/attention/attention.py and additive_attention.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ShapeError
from ..lazy import lazy
from . import args as A
from .attention import BuiltOnce
from .attention_args import any_rate, attention_call_arguments, check_seed, flag, seed
from .base import Arg, Built, OutputShape, Shape, Weight, known_product, known_sum
from .einsum import require_sizes
from .explaining import Step, show
from .registry import register

np = lazy("numpy")
K = lazy("..kernels.attention", __package__)
kernels = lazy("..kernels", __package__)


def _two_or_three(shapes: Any) -> list[Shape]:
    if not isinstance(shapes, list) or not 2 <= len(shapes) <= 3:
        count = len(shapes) if isinstance(shapes, list) else 1
        raise ShapeError(
            f"is called on a list [query, value] or [query, value, key]: 2 or 3 tensors, got {count}"
        )
    return [tuple(s) for s in shapes]


class _DotAttention(BuiltOnce):
    call_arguments = attention_call_arguments("(*query[:-1], Tv)")

    def check_input(self, input_shape: Any) -> None:
        _two_or_three(input_shape)

    def macs(self, input_shape: list[Shape], output_shape: OutputShape) -> int | None:
        """The scores (each query position against each key position, over the features when
        the score multiplies them) and the scores' products with the values."""
        query, value = _two_or_three(input_shape)[:2]
        key = input_shape[2] if len(input_shape) > 2 else value
        if len(query) < 3 or len(key) < 3:
            return None  # no positions axis: the product would run over the batch
        pairs = known_product([*query[1:-1], key[-2]])
        scores = known_product([pairs, query[-1]]) if self.score_products() else 0
        values = known_product([pairs, value[-1]])
        return known_sum([scores, values])

    def score_products(self) -> bool:
        """Whether the scores sum products of query and key features (or of them and a weight)."""
        return True

    def check_later_call(self, input_shape: Any, built: Built) -> None:
        _two_or_three(input_shape)

    def configure(self) -> None:
        check_seed(self, self.dropout)

    def compute_output_shape(
        self, input_shape: list[Shape], use_causal_mask: bool = False, return_attention_scores: bool = False
    ) -> OutputShape:
        query, value = _two_or_three(input_shape)[:2]
        if not value:
            raise ShapeError("the value needs at least one axis: the output takes its last size")
        output = (*query[:-1], value[-1])
        if return_attention_scores:
            key = input_shape[2] if len(input_shape) > 2 else value
            if len(key) < 2:
                raise ShapeError(f"the scores read the key's positions (its axis -2): key {key} has none")
            return [output, (*query[:-1], key[-2])]  # Keras's compute_output_spec
        return output

    def attend(
        self, scores: np.ndarray, value: np.ndarray, mask: Any, causal: bool, return_scores: bool
    ) -> Any:
        """Keras's _apply_scores and call: the output, and the scores when asked for."""
        value_mask, query_mask = _query_value_masks(mask)
        # the shape rule reads only the value's last size; its positions must match the key's
        with kernels.fails_as_keras(f"the scores {scores.shape} cannot weigh the value {value.shape}"):
            out, weights = K.apply_scores(scores, value, value_mask, query_mask, causal)
        return [out, weights] if return_scores else out

    def explain(self, input_shape: list[Shape]) -> list[Step]:
        query, value = _two_or_three(input_shape)[:2]
        return [
            Step("positions", f"one output per query position: {show(query[1:-1])}", list(query[1:-1])),
            Step(
                "features",
                f"the value's last size: a weighted sum of its {show(value[1:-1])} vectors",
                value[-1],
            ),
        ]


@register
class Attention(_DotAttention):
    """Dot-product (Luong) attention: output (*query[:-1], value[-1]); scalar weights only.

    ``use_scale`` adds ``scale`` (); score_mode "concat" adds ``concat_score_weight`` ().
    """

    arguments = (
        Arg("use_scale", flag, False),
        Arg("score_mode", A.one_of("dot", "concat"), "dot"),
        Arg("dropout", any_rate, 0.0),
        Arg("seed", seed, None),
    )

    def build(self, input_shape: list[Shape]) -> list[Weight]:
        _two_or_three(input_shape)
        weights = []
        if self.use_scale:
            weights.append(self.weight("scale", (), "ones"))
        if self.score_mode == "concat":
            weights.append(self.weight("concat_score_weight", (), "ones"))
        return weights

    def score_width(self, query: tuple[int, ...]) -> int:
        return query[-1] if self.score_mode == "concat" else 1  # tanh(q + k) spans the features

    def score_products(self) -> bool:
        # concat sums tanh(q + k) over the features and scales the sum: no products are summed
        return self.score_mode == "dot"

    def forward(
        self,
        inputs: Sequence[np.ndarray],
        weights: Mapping[str, np.ndarray],
        mask: Any = None,
        use_causal_mask: bool = False,
        return_attention_scores: bool = False,
    ) -> Any:
        """Keras's call in inference mode; ``mask``: the Keras masks of [query, value(, key)]
        (the key's is not used)."""
        query, value, key, _ = K.call_tensors(inputs, 3)
        with kernels.fails_as_keras(f"the scores cannot pair query {query.shape} with key {key.shape}"):
            if self.score_mode == "dot":
                scores = np.matmul(query, np.swapaxes(key, -2, -1))
            else:
                summed = np.expand_dims(query, -2) + np.expand_dims(key, -3)
        if self.score_mode == "dot":
            if self.use_scale:
                scores = scores * weights["scale"]
        else:
            if self.use_scale:
                summed = weights["scale"] * summed  # the scale goes inside the tanh
            scores = weights["concat_score_weight"] * np.sum(np.tanh(summed), axis=-1)
        return self.attend(scores, value, mask, use_causal_mask, return_attention_scores)


@register
class AdditiveAttention(_DotAttention):
    """Additive (Bahdanau) attention: output (*query[:-1], value[-1]); ``scale`` (query[-1],).

    Keras passes score_mode and seed on to Attention, so they are accepted (and score_mode
    checked) although concat adds no weight here.
    """

    arguments = (
        Arg("use_scale", flag, True),
        Arg("dropout", any_rate, 0.0),
        Arg("score_mode", A.one_of("dot", "concat"), "dot"),
        Arg("seed", seed, None),
    )

    def build(self, input_shape: list[Shape]) -> list[Weight]:
        query = _two_or_three(input_shape)[0]
        if not query:
            raise ShapeError("the query needs at least one axis: the scale takes its last size")
        if not self.use_scale:
            return []
        size = require_sizes("scale", [query[-1]], "")
        return [self.weight("scale", size, "glorot_uniform")]

    def score_width(self, query: tuple[int, ...]) -> int:
        return query[-1]  # tanh(q + k) spans the features

    def score_products(self) -> bool:
        # the scale vector's dot product with tanh(q + k) over the features
        return bool(self.use_scale)

    def forward(
        self,
        inputs: Sequence[np.ndarray],
        weights: Mapping[str, np.ndarray],
        mask: Any = None,
        use_causal_mask: bool = False,
        return_attention_scores: bool = False,
    ) -> Any:
        query, value, key, _ = K.call_tensors(inputs, 3)
        with kernels.fails_as_keras(f"the scores cannot pair query {query.shape} with key {key.shape}"):
            terms = np.tanh(np.expand_dims(query, -2) + np.expand_dims(key, -3))
        if self.use_scale:
            terms = weights["scale"] * terms  # the scale goes outside the tanh here
        return self.attend(np.sum(terms, axis=-1), value, mask, use_causal_mask, return_attention_scores)


def _query_value_masks(mask: Any) -> tuple[Any, Any]:
    """(value mask, query mask) from the Keras masks of the inputs, as apply_scores takes them."""
    if not mask:
        return None, None
    return mask[1], mask[0]
