"""The attention layers' kernels against Keras.

MultiHeadAttention and GroupQueryAttention are checked on both of Keras's routes (the fused
dot-product route, taken for rank-3 inputs with dropout 0, which ignores attention_axes, and the
einsum route otherwise), with value/key/attention masks given as extra positional tensors
(including rows masked out completely, where the two routes differ), sliding windows, gates,
output shapes and attention axes. Attention and AdditiveAttention: both score modes, scales,
keys, and inputs of other ranks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kernel_check
import numpy as np
import pytest
import yaml
from kernel_check import assert_kernel_matches_keras
from oracle import keras, make_layer
from run_check import assert_run_matches_keras

from shapecalc.errors import CallFailure
from shapecalc.layers import create_layer, registry
from shapecalc.layers.factory import Namer

GQA = "GroupQueryAttention"  # the name keras.layers exports


def rand(*shape: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def bits(*shape: int, seed: int = 3, p: float = 0.7) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) < p).astype("float32")


def test_attention_layers_have_kernels() -> None:
    names = ["MultiHeadAttention", GQA, "Attention", "AdditiveAttention"]
    assert all(registry.lookup(name).has_kernel() for name in names)


# ----------------------------------------------------------------------------- MultiHeadAttention
MHA_ARGS: list[dict[str, Any]] = [
    {"num_heads": 1, "key_dim": 1},
    {"num_heads": 2, "key_dim": 3},
    {"num_heads": 3, "key_dim": 2, "value_dim": 5},
    {"num_heads": 2, "key_dim": 3, "use_bias": False},
    {"num_heads": 2, "key_dim": 3, "output_shape": 7},
    {"num_heads": 2, "key_dim": 3, "output_shape": [2, 3]},  # a two-axis output projection
    {"num_heads": 2, "key_dim": 3, "use_gate": True},
    {"num_heads": 2, "key_dim": 3, "use_gate": True, "use_bias": False, "value_dim": 2},
    {"num_heads": 2, "key_dim": 4, "sliding_window": 1},
    {"num_heads": 2, "key_dim": 4, "sliding_window": 2},
    {"num_heads": 2, "key_dim": 4, "sliding_window": 10},
    {"num_heads": 2, "key_dim": 3, "attention_axes": [1]},
    {"num_heads": 2, "key_dim": 3, "kernel_initializer": "zeros", "seed": 4},
]


@pytest.mark.parametrize("dropout", [0.0, 0.25])  # 0: fused route; > 0: einsum route (identity)
@pytest.mark.parametrize("args", MHA_ARGS)
def test_mha_rank3(args: dict[str, Any], dropout: float) -> None:
    assert_kernel_matches_keras(
        "MultiHeadAttention", {**args, "dropout": dropout}, [rand(2, 4, 5), rand(2, 6, 5, seed=2)]
    )


@pytest.mark.parametrize("dropout", [0.0, 0.5])
@pytest.mark.parametrize(
    "inputs",
    [
        [rand(2, 4, 5), rand(2, 4, 5)],  # self-attention shapes
        [rand(3, 1, 2), rand(3, 5, 4)],  # one query position; query and value sizes differ
        [rand(2, 4, 5), rand(2, 6, 3), rand(2, 6, 7)],  # a key of its own size
        [rand(1, 3, 2), rand(1, 1, 2), rand(1, 1, 1)],
    ],
)
def test_mha_query_value_key(inputs: list[np.ndarray], dropout: float) -> None:
    args = {"num_heads": 2, "key_dim": 3, "value_dim": 2, "dropout": dropout}
    assert_kernel_matches_keras("MultiHeadAttention", args, inputs)


@pytest.mark.parametrize("dropout", [0.0, 0.1])
@pytest.mark.parametrize(
    ("axes", "query", "value"),
    [
        (None, (2, 3, 4, 5), (2, 3, 2, 5)),  # default: axes 1 and 2, a joint softmax over both
        ([2], (2, 3, 4, 5), (2, 3, 6, 5)),  # axis 1 is carried like the batch
        ([1], (2, 3, 4, 5), (2, 5, 4, 5)),
        ([-2], (2, 3, 4, 5), (2, 3, 6, 5)),  # -2 counts back from the heads axis: axis 2
        ([1, 2], (2, 3, 4, 5), (2, 2, 3, 5)),
        ([2, 1], (2, 3, 4, 5), (2, 2, 3, 5)),  # the order of the axes orders the scores
        ([3], (2, 3, 4, 5), (2, 3, 4, 5)),  # over the heads
        ([0], (2, 3, 4), (2, 3, 4)),  # over the batch (the fused route ignores the axes)
        ([-1], (2, 3, 4), (2, 3, 4)),  # -1 counts back from the heads axis: over the heads
        ([-1], (2, 3, 4), (2, 5, 4)),  # ... which needs equal query and value lengths (einsum route)
        (None, (2, 2, 3, 2, 3), (2, 2, 2, 4, 3)),
        ([1, 3], (2, 2, 3, 2, 3), (2, 4, 3, 1, 3)),
        (None, (2, 3), (2, 3)),  # rank 2: no attention axis at all, the softmax gets none
    ],
)
def test_mha_attention_axes(
    axes: Any, query: tuple[int, ...], value: tuple[int, ...], dropout: float
) -> None:
    args = {"num_heads": 2, "key_dim": 2, "attention_axes": axes, "dropout": dropout}
    inputs = [rand(*query), rand(*value, seed=2)]
    if len(query) == 2 or (query != value and axes == [-1] and dropout > 0):
        _both_refuse("MultiHeadAttention", args, inputs)
        return
    assert_kernel_matches_keras("MultiHeadAttention", args, inputs)


@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_mha_output_shape_on_rank4(dropout: float) -> None:
    args = {"num_heads": 2, "key_dim": 2, "output_shape": [3, 2], "use_gate": True, "dropout": dropout}
    assert_kernel_matches_keras("MultiHeadAttention", args, [rand(2, 3, 4, 5), rand(2, 3, 2, 5)])


def _mask_inputs(kind: str, b: int = 2, t: int = 4, s: int = 6) -> list[Any]:
    """[query, value, key, query_mask, value_mask, key_mask, attention_mask] up to what ``kind`` needs."""
    q, v, k = rand(b, t, 5), rand(b, s, 5, seed=2), rand(b, s, 3, seed=4)
    if kind == "query_mask":  # Keras ignores it: the output equals the unmasked one
        return [q, v, k, bits(b, t, p=0.4)]
    if kind == "value_mask":
        return [q, v, k, bits(b, t), bits(b, s, seed=5)]
    if kind == "key_mask":
        return [q, v, k, bits(b, t), bits(b, s, seed=5), bits(b, s, seed=6)]
    if kind == "attention_mask":
        return [
            q,
            v,
            k,
            bits(b, t),
            np.ones((b, s), "float32"),
            np.ones((b, s), "float32"),
            bits(b, t, s, seed=7),
        ]
    if kind == "attention_mask_2d":  # (T, S): broadcast over the batch
        return [q, v, k, bits(b, t), bits(b, s, seed=5), bits(b, s, seed=6), bits(t, s, seed=7)]
    if kind == "bool_masks":
        masks = [bits(b, t) > 0, bits(b, s, seed=5) > 0, bits(b, s, seed=6) > 0, bits(b, t, s, seed=7) > 0]
        return [q, v, k, *masks]
    if kind == "float_masks":  # nonzero values attend, whatever their size
        return [
            q,
            v,
            k,
            rand(b, t),
            rand(b, s, seed=5) * bits(b, s),
            rand(b, s, seed=6),
            rand(b, t, s, seed=8),
        ]
    if kind == "masked_rows":  # every position of some rows masked: fused -> uniform, einsum -> 0
        att = bits(b, t, s, seed=7)
        att[0, 1] = 0
        att[1, :] = 0
        value_mask = np.ones((b, s), "float32")
        return [q, v, k, np.ones((b, t), "float32"), value_mask, value_mask, att]
    raise AssertionError(kind)


MASK_KINDS = [
    "query_mask",
    "value_mask",
    "key_mask",
    "attention_mask",
    "attention_mask_2d",
    "bool_masks",
    "float_masks",
    "masked_rows",
]


@pytest.mark.parametrize("dropout", [0.0, 0.2])
@pytest.mark.parametrize("kind", MASK_KINDS)
def test_mha_masks(kind: str, dropout: float) -> None:
    args = {"num_heads": 2, "key_dim": 3, "dropout": dropout}
    assert_kernel_matches_keras("MultiHeadAttention", args, _mask_inputs(kind))


@pytest.mark.parametrize("dropout", [0.0, 0.2])
@pytest.mark.parametrize("kind", ["value_mask", "attention_mask", "masked_rows"])
def test_mha_masks_with_sliding_window_and_gate(kind: str, dropout: float) -> None:
    args = {"num_heads": 2, "key_dim": 3, "dropout": dropout, "sliding_window": 2, "use_gate": True}
    assert_kernel_matches_keras("MultiHeadAttention", args, _mask_inputs(kind))


def test_mha_query_mask_is_ignored() -> None:
    inputs = _mask_inputs("query_mask")
    args = {"num_heads": 2, "key_dim": 3}
    masked = assert_kernel_matches_keras("MultiHeadAttention", args, inputs)[0]
    np.testing.assert_allclose(masked, assert_kernel_matches_keras("MultiHeadAttention", args, inputs[:3])[0])


def test_mha_fully_masked_rows_differ_by_route() -> None:
    # A hand check of the two routes: with every position masked, the einsum route's attention
    # output is 0 (only the output bias remains); the fused route averages the values.
    inputs = _mask_inputs("masked_rows")
    args = {"num_heads": 1, "key_dim": 2, "output_shape": 3}
    fused = assert_kernel_matches_keras("MultiHeadAttention", args, inputs)[0]
    einsum = assert_kernel_matches_keras("MultiHeadAttention", {**args, "dropout": 0.5}, inputs)[0]
    np.testing.assert_allclose(einsum[1], np.broadcast_to(einsum[1, 0], einsum[1].shape))
    assert not np.allclose(fused[1], einsum[1])
    np.testing.assert_allclose(fused[0, 0], einsum[0, 0], rtol=1e-4, atol=1e-5)


def _both_refuse(type_name: str, args: dict[str, Any], inputs: list[np.ndarray]) -> None:
    """Keras's call fails on these inputs (numpy's einsum or softmax): so does the kernel."""
    with pytest.raises(Exception):  # noqa: B017 - Keras's own error types vary
        kernel_check.keras_run(type_name, args, inputs, as_list=True)
    layer = create_layer(type_name, args, Namer())
    _, built = layer.infer([x.shape for x in inputs])
    weights = {w.path: rand(*w.shape) for w in built.weights}
    with pytest.raises(CallFailure):
        layer.forward(inputs, weights)


# ----------------------------------------------------------------------------- GroupQueryAttention
GQA_ARGS: list[dict[str, Any]] = [
    {"head_dim": 3, "num_query_heads": 2, "num_key_value_heads": 2},
    {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2},
    {"head_dim": 2, "num_query_heads": 6, "num_key_value_heads": 3},
    {"head_dim": 2, "num_query_heads": 3, "num_key_value_heads": 1},
    {"head_dim": 1, "num_query_heads": 1, "num_key_value_heads": 1},
    {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2, "use_bias": False},
    {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2, "use_gate": True},
    {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2, "sliding_window": 2},
    {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2, "sliding_window": 1, "use_gate": True},
]


@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("args", GQA_ARGS)
def test_gqa(args: dict[str, Any], dropout: float) -> None:
    assert_kernel_matches_keras(GQA, {**args, "dropout": dropout}, [rand(2, 4, 5), rand(2, 6, 5, seed=2)])


@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize(
    "inputs",
    [
        [rand(2, 4, 5), rand(2, 4, 5)],
        [rand(1, 1, 3), rand(1, 5, 3)],
        [rand(2, 4, 5), rand(2, 6, 5), rand(2, 6, 2)],  # the key has its own size
    ],
)
def test_gqa_query_value_key(inputs: list[np.ndarray], dropout: float) -> None:
    args = {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2, "dropout": dropout}
    assert_kernel_matches_keras(GQA, args, inputs)


@pytest.mark.parametrize("dropout", [0.0, 0.2])
@pytest.mark.parametrize("kind", MASK_KINDS)
def test_gqa_masks(kind: str, dropout: float) -> None:
    # GroupQueryAttention uses the query_mask too (the 4th tensor), unlike MultiHeadAttention.
    args = {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2, "dropout": dropout}
    assert_kernel_matches_keras(GQA, args, _mask_inputs(kind))


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_gqa_attention_mask_alone_thresholds_by_route(dropout: float) -> None:
    # Given alone, the attention mask reaches the fused route cast to bool (0.3 attends) but the
    # einsum route's Softmax thresholds it at 0.5 (0.3 does not).
    q, v = rand(2, 4, 5), rand(2, 6, 5, seed=2)
    att = np.where(bits(2, 4, 6, seed=7) > 0, 0.3, 0.9).astype("float32")
    args = {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1, "dropout": dropout}
    # Keras's __call__ fills a None positional mask from the tensor's own mask and then sees it
    # twice, so the attention mask goes by keyword here, and the comparison is made by hand.
    keras.backend.clear_session(free_memory=False)
    keras_layer = make_layer(GQA, args)
    keras_layer(q, v)
    weights = kernel_check._randomize(keras_layer, np.random.default_rng(0))
    want = np.asarray(keras_layer(q, v, attention_mask=att, training=False))
    layer = create_layer(GQA, args, Namer())
    layer.infer([q.shape, v.shape])
    got = layer.forward([q, v, v, None, None, None, att], weights)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    unmasked = layer.forward([q, v], weights)
    assert np.allclose(got, unmasked) == (dropout == 0.0)  # fused: every position attends


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_gqa_sliding_window_and_masks(dropout: float) -> None:
    args = {
        "head_dim": 2,
        "num_query_heads": 4,
        "num_key_value_heads": 2,
        "dropout": dropout,
        "sliding_window": 3,
    }
    assert_kernel_matches_keras(GQA, args, _mask_inputs("masked_rows"))
    assert_kernel_matches_keras(GQA, args, _mask_inputs("key_mask"))


# ----------------------------------------------------------------------------- Attention, AdditiveAttention
DOT_ARGS: list[dict[str, Any]] = [
    {},
    {"use_scale": True},
    {"score_mode": "concat"},
    {"score_mode": "concat", "use_scale": True},
    {"dropout": 0.5, "seed": 3},
]


@pytest.mark.parametrize("args", DOT_ARGS)
@pytest.mark.parametrize(
    "shapes",
    [
        [(2, 4, 5), (2, 6, 5)],
        [(2, 4, 5), (2, 6, 3), (2, 6, 5)],  # key (the scores) and value (the output) apart
        [(1, 1, 2), (1, 1, 2)],
        [(2, 3, 4, 5), (2, 3, 6, 5)],  # extra leading axes are batch axes
        [(2, 4, 5), (2, 6, 5), (2, 6, 5)],
    ],
)
def test_attention(args: dict[str, Any], shapes: list[tuple[int, ...]]) -> None:
    inputs = [rand(*shape, seed=i + 1) for i, shape in enumerate(shapes)]
    assert_kernel_matches_keras("Attention", args, inputs)


ADDITIVE_ARGS: list[dict[str, Any]] = [
    {},
    {"use_scale": False},
    {"dropout": 0.3},
    {"score_mode": "concat"},  # passed on to Attention, but AdditiveAttention scores its own way
]


@pytest.mark.parametrize("args", ADDITIVE_ARGS)
@pytest.mark.parametrize(
    "shapes",
    [
        [(2, 4, 5), (2, 6, 5)],
        [(2, 4, 5), (2, 6, 3), (2, 6, 5)],
        [(1, 1, 2), (1, 3, 2)],
        [(2, 3, 4, 5), (2, 3, 6, 5)],
    ],
)
def test_additive_attention(args: dict[str, Any], shapes: list[tuple[int, ...]]) -> None:
    inputs = [rand(*shape, seed=i + 1) for i, shape in enumerate(shapes)]
    assert_kernel_matches_keras("AdditiveAttention", args, inputs)


def test_attention_hand_check() -> None:
    # One query against two keys with scores 0 and log 3: weights 1/4 and 3/4 of the values.
    q = np.array([[[1.0, 0.0]]], "float32")
    k = np.array([[[0.0, 5.0], [float(np.log(3.0)), 0.0]]], "float32")
    v = np.array([[[4.0], [8.0]]], "float32")
    out = assert_kernel_matches_keras("Attention", {}, [q, v, k])[0]
    np.testing.assert_allclose(out, [[[7.0]]], rtol=1e-6)


# ----------------------------------------------------------------------------- whole models
MODEL_SPEC = """
inputs:
  q: [4, 6]
  v: [5, 6]
  k: [5, 3]
  qm: [4]
  vm: [5]
  km: [5]
  am: [4, 5]
layers:
  - EinsumDense:
      {name: ed, equation: "abc,cd->abd", output_shape: [4, 6], bias_axes: d, activation: relu, inputs: q}
  - MultiHeadAttention: {name: mha, num_heads: 2, key_dim: 3, inputs: [ed, v, k]}
  - MultiHeadAttention:
      name: masked
      num_heads: 2
      key_dim: 3
      dropout: 0.2
      use_gate: true
      inputs: [mha, v, k, qm, vm, km, am]
  - GroupQueryAttention:
      name: gqa
      head_dim: 2
      num_query_heads: 4
      num_key_value_heads: 2
      sliding_window: 2
      inputs: [masked, v, k, qm, vm]
  - Attention: {name: att, use_scale: true, score_mode: concat, inputs: [gqa, v]}
  - AdditiveAttention: {name: add, inputs: [att, v, k]}
outputs: [add]
"""


def test_attention_model_runs_as_keras(tmp_path: Path) -> None:
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(MODEL_SPEC)
    inputs = {"q": rand(2, 4, 6), "v": rand(2, 5, 6, seed=2), "k": rand(2, 5, 3, seed=3)}
    inputs |= {
        "qm": bits(2, 4),
        "vm": bits(2, 5, seed=4),
        "km": bits(2, 5, seed=5),
        "am": bits(2, 4, 5, seed=6),
    }
    report = assert_run_matches_keras(spec_path, yaml.safe_load(MODEL_SPEC), inputs, tmp_path)
    assert all(layer.get("note") is None for layer in report["layers"])


@pytest.mark.parametrize("lanes", [1, 2])
def test_mha_heads_on_the_lanes(lanes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Scores of 4 x 4 x 64 x 64 values: the per-head products and softmax run item by item on
    # the lanes (kernels/attention.py's heads_attention), here forced to one and to two lanes.
    from shapecalc.kernels import attention, conv_lanes

    assert attention.LANE_MIN_SCORES <= 4 * 4 * 64 * 64
    monkeypatch.setattr(conv_lanes.BLAS, "lanes", lambda: lanes)
    args = {"num_heads": 4, "key_dim": 16, "value_dim": 8, "dropout": 0.1}
    assert_kernel_matches_keras("MultiHeadAttention", args, [rand(4, 64, 32), rand(4, 64, 32, seed=2)])
