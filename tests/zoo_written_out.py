"""The zoo specs Keras has no model of its own for, written out layer by layer in the spec's
plain form (no blocks, no variables), for the oracle to build: what each spec's blocks and
repeats mean, derived here by hand. Nothing here imports shapecalc."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def bert_base(depth: int = 12, size: int = 768, seq: int = 128) -> dict[str, Any]:
    """BERT-base layer by layer, as the spec's blocks and repeat mean it."""
    ids = {"shape": [seq], "dtype": "int32"}
    layers: list[dict[str, Any]] = [
        {
            "Embedding": {
                "name": "token_embedding",
                "input_dim": 30522,
                "output_dim": size,
                "inputs": "token_ids",
            }
        },
        {
            "Embedding": {
                "name": "segment_embedding",
                "input_dim": 2,
                "output_dim": size,
                "inputs": "segment_ids",
            }
        },
        {
            "Embedding": {
                "name": "position_embedding",
                "input_dim": 512,
                "output_dim": size,
                "inputs": "position_ids",
            }
        },
        {
            "Add": {
                "name": "embeddings_add",
                "inputs": ["token_embedding", "segment_embedding", "position_embedding"],
            }
        },
        {"LayerNormalization": {"name": "embeddings_norm", "epsilon": 1e-12}},
        {"Dropout": {"name": "embeddings_dropout", "rate": 0.1}},
    ]
    source = "embeddings_dropout"
    for k in range(depth):
        p = f"transformer_layer_{k}"
        attention = {"name": f"{p}_attention", "num_heads": 12, "key_dim": size // 12, "dropout": 0.1}
        layers += [
            {"MultiHeadAttention": {**attention, "inputs": [source, source]}},
            {"Dropout": {"name": f"{p}_attention_dropout", "rate": 0.1}},
            {"Add": {"name": f"{p}_attention_add", "inputs": [source, f"{p}_attention_dropout"]}},
            {"LayerNormalization": {"name": f"{p}_attention_norm", "epsilon": 1e-12}},
            {"Dense": {"name": f"{p}_ffn_inner", "units": 3072, "activation": "gelu"}},
            {"Dense": {"name": f"{p}_ffn_outer", "units": size}},
            {"Dropout": {"name": f"{p}_ffn_dropout", "rate": 0.1}},
            {"Add": {"name": f"{p}_ffn_add", "inputs": [f"{p}_attention_norm", f"{p}_ffn_dropout"]}},
            {"LayerNormalization": {"name": f"{p}_ffn_norm", "epsilon": 1e-12}},
        ]
        source = f"{p}_ffn_norm"
    layers += [
        {"Cropping1D": {"name": "first_token", "cropping": [0, seq - 1]}},
        {"Flatten": {"name": "first_token_vector"}},
        {"Dense": {"name": "pooled_dense", "units": size, "activation": "tanh"}},
    ]
    return {
        "name": "bert_base",
        "inputs": {"token_ids": ids, "segment_ids": ids, "position_ids": ids},
        "layers": layers,
        "outputs": [source, "pooled_dense"],
    }


# specs/ file -> its written-out form
WRITTEN_OUT: dict[str, Callable[[], dict[str, Any]]] = {"bert_base.yaml": bert_base}
