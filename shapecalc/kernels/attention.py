"""Attention building blocks as Keras computes them (numpy backend), float32 throughout.

Keras's multi-head layers take one of two routes at inference, and they differ where a whole
row is masked out, so both are kept:

* the fused route (``ops.dot_product_attention``: projected query of rank 4 and dropout rate 0):
  logits are scaled AFTER the query-key product, masked positions get -0.7 * 3.38953e38, and a
  fully masked row becomes a uniform distribution;
* the einsum route (anything else): the query is scaled BEFORE the product, masked positions
  get -1e9 (Keras's Softmax layer) and are zeroed after the softmax, so a fully masked row
  attends to nothing (output 0 before the output projection).
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import CallFailure
from . import fails_as_keras
from .activations import softmax_layer_masked
from .conv_lanes import BLAS, run_lanes

Array = np.ndarray

FUSED_NEGATIVE = np.float32(3.38953e38 * -0.7)  # numpy backend's dot_product_attention fill
# Scores below this many values are computed on one thread: handing items to lanes costs more.
LANE_MIN_SCORES = 64 * 1024


def call_tensors(inputs: Sequence[Any], most: int) -> tuple[Array, Array, Array, list[Any]]:
    """(query, value, key, the rest padded with None to 4) of a call on 2 to ``most`` tensors;
    the key defaults to the value."""
    if not 2 <= len(inputs) <= most:
        raise CallFailure(f"expected 2 to {most} tensors (query, value, key, masks), got {len(inputs)}")
    query, value = (np.asarray(t, dtype=np.float32) for t in inputs[:2])
    key = np.asarray(inputs[2], dtype=np.float32) if len(inputs) > 2 else value
    return query, value, key, [*inputs[3:], *[None] * (7 - max(len(inputs), 3))]


def apply_scores(
    scores: Array,
    value: Array,
    value_mask: Array | None = None,
    query_mask: Array | None = None,
    causal: bool = False,
) -> tuple[Array, Array]:
    """Attention/AdditiveAttention: softmax over the value positions, then the weighted sum of
    the values; returns it and the softmax's weights (Keras's attention scores). The masks are
    the query's and value's Keras masks, and with ``causal`` Keras's (1, Tq, Tv) lower triangle:
    a masked position's score drops by 1e9 (a fully masked row stays a distribution), a masked
    query step gives 0."""
    keep = None
    if value_mask is not None:
        keep = np.asarray(value_mask).astype(bool)
        if keep.ndim == 2:
            keep = np.expand_dims(keep, -2)  # (B, Tv) -> (B, 1, Tv)
    if causal:
        triangle = np.tril(np.ones((1, scores.shape[-2], scores.shape[-1]), bool))
        keep = triangle if keep is None else keep & triangle
    if keep is not None:
        scores = np.where(np.logical_not(keep), scores - np.float32(1e9), scores)
    weights = softmax(scores, -1)
    out = np.matmul(weights, value).astype(np.float32, copy=False)
    if query_mask is not None:
        out = np.where(np.expand_dims(query_mask, -1), out, np.float32(0.0))
    return out, weights


def softmax(x: Array, axes: int | tuple[int, ...]) -> Array:
    """Softmax over one or several axes, in float32."""
    x = x.astype(np.float32, copy=False)
    shifted = np.exp(x - np.max(x, axis=axes, keepdims=True))
    return (shifted / np.sum(shifted, axis=axes, keepdims=True)).astype(np.float32, copy=False)


def as_bool(mask: Array) -> Array:
    """ops.cast(mask, "bool"): any nonzero value is True."""
    return np.asarray(mask).astype(bool)


def expand_mask(mask: Array, target_rank: int, axis: int) -> Array:
    """Keras's mask expansion: insert size-1 axes at ``axis`` until the mask has the target rank
    (np.expand_dims refuses an axis out of range, as Keras's call does)."""
    for _ in range(target_rank - mask.ndim):
        mask = np.expand_dims(mask, axis)
    return mask


def softmax_layer(x: Array, axes: tuple[int, ...], mask: Array | None) -> Array:
    """keras.layers.Softmax(axis=axes)(x, mask=mask)."""

    def over_axes(values: Array) -> Array:
        if not axes:
            raise CallFailure("the softmax over the attention axes needs an axis: attention_axes is empty")
        return softmax(values, axes)

    if mask is None:
        return over_axes(x).astype(np.float32, copy=False)
    names = ("the attention mask", "the attention scores")
    return softmax_layer_masked(x, mask, over_axes, names).astype(np.float32, copy=False)


def fused_attention(query: Array, key: Array, value: Array, mask: Array | None, scale: float) -> Array:
    """ops.dot_product_attention on (B, T, N, H) / (B, S, N, H) tensors -> (B, T, N, H)."""
    for name, tensor in (("query", query), ("key", key), ("value", value)):
        if tensor.ndim != 4:
            raise CallFailure(
                f"dot-product attention needs projected tensors of rank 4 (batch, positions, heads, "
                f"size): the {name} has shape {tensor.shape}"
            )
    logits = np.einsum("btnh,bsnh->bnts", query, key, optimize=True).astype(np.float32) * np.float32(scale)
    if mask is not None:
        logits = np.where(np.asarray(mask, dtype=bool), logits, FUSED_NEGATIVE)
    probs = softmax(logits, -1)
    return np.einsum("bnts,bsnh->btnh", probs, value, optimize=True).astype(np.float32, copy=False)


def sliding_window_mask(query_length: int, value_length: int, window: int) -> Array:
    """(1, T, S): |t - s| < window, the symmetric band Keras builds for sliding_window."""
    rows = np.arange(query_length)[:, None]
    cols = np.arange(value_length)[None, :]
    return (np.abs(rows - cols) < window)[None]


def attention_equations(rank: int, axes: tuple[int, ...]) -> tuple[str, str, int]:
    """MultiHeadAttention's (score equation for (key, query), combine equation, scores rank) for
    projected tensors of ``rank`` attending over ``axes``.

    Every axis that is neither attended over nor the channel axis (batch, other positions, heads)
    is carried through; the scores are laid out as (carried, query axes, key axes). Axes are
    indexed as Keras does: np.delete normalises negative ones, but the layout indexes the letter
    strings with them directly.
    """
    letters = string.ascii_lowercase
    if rank + len(axes) > len(letters):
        raise CallFailure("the input has too many axes: the attention equations run out of letters a-z")
    removed = {a % rank for a in (*axes, rank - 1)}
    carried = [i for i in range(rank) if i not in removed]
    target = letters[:rank]
    source = ""
    extra = rank
    for i in range(rank):
        if i in carried or i == rank - 1:
            source += target[i]
        else:
            source += letters[extra]
            extra += 1
    product = "".join([target[i] for i in carried] + [target[i] for i in axes] + [source[i] for i in axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


def call_mask(
    query: Array,
    value: Array,
    masks: Sequence[Any],
    sliding_window: int | None,
    cast_alone: bool,
    causal: bool = False,
) -> Array | None:
    """The attention mask Keras builds from (query_mask, value_mask, key_mask, attention_mask) and
    sliding_window: query_mask (B, T) -> (B, T, 1), value/key masks (B, S) -> (B, 1, S), the band
    (1, T, S) over the raw inputs' axis 1, and the attention mask, combined with logical and.

    An attention mask with nothing to combine is cast to bool only when ``cast_alone``
    (MultiHeadAttention); GroupQueryAttention passes it on as it is.
    """
    query_mask, value_mask, key_mask, attention_mask = masks
    parts: list[Array] = []
    if query_mask is not None:
        parts.append(np.expand_dims(as_bool(query_mask), -1))
    for mask in (value_mask, key_mask):
        if mask is not None:
            parts.append(np.expand_dims(as_bool(mask), -2))
    if causal:
        # Keras's _compute_causal_mask: (1, T, S), position t attends to positions <= t
        parts.append(np.tril(np.ones((1, query.shape[1], value.shape[1]), bool)))
    if sliding_window is not None:
        parts.append(sliding_window_mask(query.shape[1], value.shape[1], sliding_window))
    if attention_mask is not None:
        if not parts and not cast_alone:
            return np.asarray(attention_mask)
        parts.insert(0, as_bool(attention_mask))
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part
    return combined


def attend(
    query: Array,
    key: Array,
    value: Array,
    mask: Array | None,
    scale: float,
    fused: bool,
    equations: tuple[str, str],
    softmax_axes: tuple[int, ...],
    expand_axis: int,
) -> tuple[Array, Array | None]:
    """Scaled dot-product attention of projected tensors, by Keras's fused or einsum route: the
    output, and the scores (the softmax's probabilities; None by the fused route).

    ``equations`` are (scores from (key, query), combine (scores, value)); ``expand_axis`` is
    where the mask gets its missing axes.
    """
    if fused:
        if mask is not None:
            mask = as_bool(expand_mask(np.asarray(mask), 4, expand_axis))
        return fused_attention(query, key, value, mask, scale), None
    score_eq, combine_eq = equations
    scaled = (query * np.float32(scale)).astype(np.float32, copy=False)  # scaled before the product
    if mask is None and equations == OVER_AXIS_1 and softmax_axes == (3,) and _heads_fit(scaled, key, value):
        return heads_attention(scaled, key, value)
    with fails_as_keras(
        f"the attention scores' einsum {score_eq} cannot take key {key.shape} and query {scaled.shape}"
    ):
        scores = np.einsum(score_eq, key, scaled, optimize=True).astype(np.float32, copy=False)
    if mask is not None:
        mask = expand_mask(np.asarray(mask), scores.ndim, expand_axis)
    probs = softmax_layer(scores, softmax_axes, mask)
    return np.einsum(combine_eq, probs, value, optimize=True).astype(np.float32, copy=False), probs


# MultiHeadAttention's equations for (batch, positions, heads, size) projections attending over
# the positions (its default): scores (B, N, T, S) from key and query, outputs (B, T, N, H)
OVER_AXIS_1 = ("aecd,abcd->acbe", "acbe,aecd->abcd")


def _heads_fit(query: Array, key: Array, value: Array) -> bool:
    """The einsums of OVER_AXIS_1 take these tensors (else they go to the einsum, which says why)."""
    if not query.ndim == key.ndim == value.ndim == 4:
        return False
    (b, _, n, h), (kb, s, kn, kh), (vb, vs, vn, _) = query.shape, key.shape, value.shape
    return b == kb == vb and n == kn == vn and h == kh and s == vs


def heads_attention(query: Array, key: Array, value: Array) -> tuple[Array, Array]:
    """The einsum route of OVER_AXIS_1 without masks: per batch item and head, scores = q k^T,
    softmax over the key positions, outputs = probs v; (outputs, probs).

    The per-head matrices are strided views of the (B, T, N, H) tensors that BLAS reads as
    they are, and the batch items are split over the lanes: each item's scores (N x T x S) are
    made, normalised and multiplied while in its core's cache: 8.4 ms instead of 19.3 for
    BERT-base's shapes (8 x 128 positions, 12 heads of 64) on 2 cores. The products and sums are
    the einsums' (BLAS's, equal to the last bit on those shapes), the softmax ``softmax``'s.
    """
    batch, length, heads, _ = query.shape
    out = np.empty((batch, length, heads, value.shape[-1]), np.float32)
    probs = np.empty((batch, heads, length, key.shape[1]), np.float32)
    q_heads = query.transpose(0, 2, 1, 3)  # (B, N, T, H)
    k_heads = key.transpose(0, 2, 3, 1)  # (B, N, H, S)
    v_heads = value.transpose(0, 2, 1, 3)  # (B, N, S, Hv)
    out_heads = out.transpose(0, 2, 1, 3)  # (B, N, T, Hv): written in place
    blocks = [(1, slice(b, b + 1), slice(None)) for b in range(batch)]

    def lane(my_blocks: Iterator[tuple[int, slice, slice]]) -> None:
        for _, items, _ in my_blocks:
            scores = probs[items]
            np.matmul(q_heads[items], k_heads[items], out=scores)
            scores -= np.max(scores, axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= np.sum(scores, axis=-1, keepdims=True)
            np.matmul(scores, v_heads[items], out=out_heads[items])

    run_lanes(blocks, lane, BLAS.lanes() if probs.size >= LANE_MIN_SCORES else 1)
    return out, probs
