"""Embedding (core family) against Keras: output shape, weights, LoRA, and every refusal."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_check import assert_same_as_keras

E = {"input_dim": 10, "output_dim": 4}

SHAPES = [(None, 3), (None, None), (2, 7), (None,), (), (4,), (None, 5, 6), (2, None, 5, 6), (None, 0)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dims", [(10, 4), (1, 1), (1000, 64), (3, 17)])
def test_embedding_shapes(dims: tuple[int, int], shape: tuple) -> None:
    assert_same_as_keras("Embedding", {"input_dim": dims[0], "output_dim": dims[1]}, [shape])


@pytest.mark.parametrize(
    "extra",
    [
        {"lora_rank": 2},
        {"lora_rank": 1, "lora_alpha": 8},
        {"lora_rank": 4, "lora_alpha": "anything"},
        {"lora_rank": 0},
        {"lora_rank": None},
        {"lora_rank": True},
        {"lora_rank": False},
        {"lora_rank": 0.0},
        {"lora_rank": ""},
        {"lora_rank": []},
        {"lora_rank": -1},
        {"lora_rank": 2.0},
        {"lora_rank": "2"},
        {"lora_rank": [2]},
        {"lora_rank": 2, "embeddings_constraint": "non_neg"},
        {"lora_rank": 0, "embeddings_constraint": "non_neg"},
        {"lora_rank": 2, "trainable": False},
        {"lora_rank": 2, "dtype": "float16"},
        {"lora_rank": 3, "dtype": "mixed_float16"},
        {"lora_rank": 2, "dtype": "bfloat16"},
        {"lora_rank": 2, "embeddings_regularizer": "l2"},
        {"trainable": False},
        {"dtype": "float64"},
        {"mask_zero": True},
        {"mask_zero": "yes"},
        {"mask_zero": [1]},
        {"input_length": 3},
        {"input_length": "ignored"},
        {"embeddings_initializer": "glorot_uniform"},
        {"embeddings_initializer": "GlorotNormal"},
        {"embeddings_initializer": "zzz"},
        {"embeddings_initializer": {"class_name": "RandomNormal", "config": {"stddev": 0.1}}},
        {"embeddings_regularizer": "l1"},
        {"embeddings_regularizer": "l3"},
        {"embeddings_constraint": "max_norm"},
        {"embeddings_constraint": "maxnorm"},
        {"quantization_config": None},
        {"weights": None},
        {"weights": [[1, 2, 3, 4]] * 10},
        {"weights": [[[1, 2, 3, 4]] * 10]},
        {"weights": 5},
        {"name": "emb"},
        {"activity_regularizer": "l2"},
        {"input_shape": [3]},
        {"output_dims": 4},
        {"units": 4},
    ],
)
def test_embedding_arguments(extra: dict[str, Any]) -> None:
    assert_same_as_keras("Embedding", {**E, **extra}, [(None, 3)])


@pytest.mark.parametrize(
    "args",
    [
        {"input_dim": 0, "output_dim": 4},
        {"input_dim": -3, "output_dim": 4},
        {"input_dim": 2.0, "output_dim": 4},
        {"input_dim": True, "output_dim": 4},
        {"input_dim": "10", "output_dim": 4},
        {"input_dim": None, "output_dim": 4},
        {"input_dim": [10], "output_dim": 4},
        {"input_dim": 10, "output_dim": 0},
        {"input_dim": 10, "output_dim": -1},
        {"input_dim": 10, "output_dim": 4.5},
        {"input_dim": 10, "output_dim": False},
        {"input_dim": 10},
        {"output_dim": 4},
        {},
    ],
)
def test_embedding_dims_refused(args: dict[str, Any]) -> None:
    assert_same_as_keras("Embedding", args, [(None, 3)])


@settings(max_examples=120, deadline=None, derandomize=True)
@given(
    input_dim=st.sampled_from([1, 2, 5, 50, 0, -1, True, 2.5, None]),
    output_dim=st.sampled_from([1, 3, 8, 0, -2, False, 1.0]),
    lora_rank=st.sampled_from([None, 0, 1, 2, 5, -1, True, 1.5]),
    constraint=st.sampled_from([None, "non_neg", "unit_norm"]),
    trainable=st.booleans(),
    dtype=st.sampled_from([None, "float32", "float16", "mixed_bfloat16"]),
    shape=st.lists(st.sampled_from([None, 1, 2, 7]), min_size=0, max_size=4).map(tuple),
)
def test_embedding_property(
    input_dim: Any,
    output_dim: Any,
    lora_rank: Any,
    constraint: Any,
    trainable: bool,
    dtype: Any,
    shape: tuple,
) -> None:
    args: dict[str, Any] = {"input_dim": input_dim, "output_dim": output_dim, "trainable": trainable}
    for key, value in (("lora_rank", lora_rank), ("embeddings_constraint", constraint), ("dtype", dtype)):
        if value is not None:
            args[key] = value
    assert_same_as_keras("Embedding", args, [shape])


def test_embedding_hand_derived() -> None:
    # 1000 x 64 table: 64,000 params; LoRA rank 8 adds 1000*8 + 8*64 = 8,512 trainable, freezes the table.
    facts = assert_same_as_keras("Embedding", {"input_dim": 1000, "output_dim": 64}, [(None, 10)])
    assert (facts.output, facts.trainable, facts.non_trainable) == ((None, 10, 64), 64_000, 0)
    facts = assert_same_as_keras(
        "Embedding", {"input_dim": 1000, "output_dim": 64, "lora_rank": 8}, [(None, 10)]
    )
    assert (facts.trainable, facts.non_trainable) == (8_512, 64_000)
