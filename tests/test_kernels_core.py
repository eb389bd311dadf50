"""Embedding's kernel against Keras: row gathering for every integer layout, float ids (truncated
by Keras's cast), negative ids, and the LoRA variant (whose scale Keras fixes at 1).

Dense has its own kernel tests elsewhere; only its registration is checked here."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from kernel_check import assert_kernel_matches_keras

from shapecalc.layers import create_layer, registry
from shapecalc.layers.factory import Namer


def ids(shape: tuple[int, ...], bound: int, dtype: str = "int32", seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, bound, shape).astype(dtype)


def test_core_layers_have_kernels() -> None:
    assert all(registry.lookup(name).has_kernel() for name in ["Dense", "Embedding"])


def test_integer_input_bound_is_the_vocabulary_size() -> None:
    assert create_layer("Embedding", {"input_dim": 17, "output_dim": 3}, Namer()).integer_input_bound() == 17


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "int16"])
@pytest.mark.parametrize("shape", [(3,), (2, 5), (2, 3, 4), (1, 1), (2, 2, 2, 2)])
def test_embedding_gathers_rows(shape: tuple[int, ...], dtype: str) -> None:
    assert_kernel_matches_keras("Embedding", {"input_dim": 10, "output_dim": 4}, [ids(shape, 10, dtype)])


@pytest.mark.filterwarnings("ignore:Argument `input_length` is deprecated")
@pytest.mark.parametrize(
    "args",
    [
        {"input_dim": 1, "output_dim": 1},
        {"input_dim": 50, "output_dim": 7, "mask_zero": True},  # the mask does not change the values
        {"input_dim": 5, "output_dim": 3, "embeddings_initializer": "zeros"},
        {"input_dim": 8, "output_dim": 2, "input_length": 4},
    ],
)
def test_embedding_arguments(args: dict[str, Any]) -> None:
    assert_kernel_matches_keras("Embedding", args, [ids((2, 4), args["input_dim"])])


def test_embedding_float_ids_are_truncated() -> None:
    # Keras casts non-integer inputs to int32, which truncates toward zero: 1.99 -> 1, -0.5 -> 0.
    x = np.array([[1.0, 1.5, 1.99, 2.0, -0.5, 0.0]], dtype="float32")
    out = assert_kernel_matches_keras("Embedding", {"input_dim": 4, "output_dim": 3}, [x])[0][0]
    np.testing.assert_array_equal(out[[1, 2]], out[[0, 0]])
    np.testing.assert_array_equal(out[4], out[5])
    assert not np.array_equal(out[2], out[3])


def test_embedding_negative_ids_count_from_the_end() -> None:
    # np.take (Keras's numpy backend) wraps negative indices: -1 is the last row.
    x = np.array([[-1, 3, -4, 0]], dtype="int32")
    out = assert_kernel_matches_keras("Embedding", {"input_dim": 4, "output_dim": 2}, [x])[0]
    np.testing.assert_array_equal(out[0, 0], out[0, 1])
    np.testing.assert_array_equal(out[0, 2], out[0, 3])


@pytest.mark.parametrize(
    "lora",
    [
        {"lora_rank": 1},
        {"lora_rank": 3},
        {"lora_rank": True},
        {"lora_rank": 4, "lora_alpha": 8},  # Keras's build resets alpha to the rank: scale 1, not 2
        {"lora_rank": 2, "lora_alpha": 0.5},
        {"lora_rank": 0, "lora_alpha": 16},  # rank 0 is no LoRA at all
    ],
)
def test_embedding_lora(lora: dict[str, Any]) -> None:
    args = {"input_dim": 9, "output_dim": 5, **lora}
    assert_kernel_matches_keras("Embedding", args, [ids((3, 4), 9)])


def test_embedding_lora_adds_the_low_rank_product() -> None:
    # Hand derivation, independent of Keras: row i is embeddings[i] + (A @ B)[i].
    layer = create_layer(
        "Embedding", {"input_dim": 3, "output_dim": 2, "lora_rank": 1, "lora_alpha": 5}, Namer()
    )
    layer.infer((1, 2))
    weights = {
        "embeddings": np.zeros((3, 2), "float32"),
        "lora_embeddings_a": np.array([[1.0], [2.0], [3.0]], "float32"),
        "lora_embeddings_b": np.array([[10.0, 100.0]], "float32"),
    }
    out = layer.forward(np.array([[2, 0]], dtype="int32"), weights)
    np.testing.assert_array_equal(out, [[[30.0, 300.0], [10.0, 100.0]]])
    assert out.dtype == np.float32
