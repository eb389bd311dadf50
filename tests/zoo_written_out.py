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


def unet(size: int = 128, base: int = 64, classes: int = 2) -> dict[str, Any]:
    """The U-Net of specs/unet.yaml: four down levels (two 3x3 convolutions, a 2x2 pooling),
    a bottom, four up levels (a 2x2 stride-2 transposed convolution, the skip concatenated
    before it, two 3x3 convolutions), a 1x1 softmax convolution."""

    def conv(name: str, filters: int, **more: Any) -> dict[str, Any]:
        return {
            "Conv2D": {
                "name": name,
                "filters": filters,
                "kernel_size": 3,
                "padding": "same",
                "activation": "relu",
                **more,
            }
        }

    layers: list[dict[str, Any]] = []
    source = "image"
    for level, width in enumerate((1, 2, 4, 8), start=1):
        p, filters = f"down{level}", base * width
        layers += [
            conv(f"{p}_conv1", filters, inputs=source),
            conv(f"{p}_conv2", filters),
            {"MaxPooling2D": {"name": f"{p}_pool"}},
        ]
        source = f"{p}_pool"
    layers += [conv("bottom_conv1", base * 16, inputs=source), conv("bottom_conv2", base * 16)]
    source = "bottom_conv2"
    for level, width in zip((4, 3, 2, 1), (8, 4, 2, 1), strict=True):
        p, filters = f"up{level}", base * width
        upconv = {"name": f"{p}_upconv", "filters": filters, "kernel_size": 2, "strides": 2, "inputs": source}
        layers += [
            {"Conv2DTranspose": upconv},
            {"Concatenate": {"name": f"{p}_concat", "inputs": [f"down{level}_conv2", f"{p}_upconv"]}},
            conv(f"{p}_conv1", filters),
            conv(f"{p}_conv2", filters),
        ]
        source = f"{p}_conv2"
    layers.append(
        {"Conv2D": {"name": "segmentation", "filters": classes, "kernel_size": 1, "activation": "softmax"}}
    )
    return {"name": "unet", "inputs": {"image": [size, size, 1]}, "layers": layers}


def gpt_mini(
    vocabulary: int = 5000, seq: int = 64, size: int = 128, heads: int = 4, depth: int = 4
) -> dict[str, Any]:
    """The decoder of specs/gpt_mini.yaml: pre-norm blocks of causal self-attention and a
    4x feed-forward, each added back to its input."""
    ids = {"shape": [seq], "dtype": "int32"}
    layers: list[dict[str, Any]] = [
        {
            "Embedding": {
                "name": "token_embedding",
                "input_dim": vocabulary,
                "output_dim": size,
                "inputs": "token_ids",
            }
        },
        {
            "Embedding": {
                "name": "position_embedding",
                "input_dim": seq,
                "output_dim": size,
                "inputs": "position_ids",
            }
        },
        {"Add": {"name": "embeddings", "inputs": ["token_embedding", "position_embedding"]}},
    ]
    source = "embeddings"
    for i in range(1, depth + 1):
        p = f"block{i}"
        attention = {"name": f"{p}_attention", "num_heads": heads, "key_dim": size // heads}
        layers += [
            {"LayerNormalization": {"name": f"{p}_attention_norm", "inputs": source}},
            {
                "MultiHeadAttention": {
                    **attention,
                    "inputs": [f"{p}_attention_norm"] * 2,
                    "call": {"use_causal_mask": True},
                }
            },
            {"Add": {"name": f"{p}_attention_add", "inputs": [source, f"{p}_attention"]}},
            {"LayerNormalization": {"name": f"{p}_ffn_norm"}},
            {"Dense": {"name": f"{p}_ffn_inner", "units": 4 * size, "activation": "gelu"}},
            {"Dense": {"name": f"{p}_ffn_outer", "units": size}},
            {"Add": {"name": f"{p}_ffn_add", "inputs": [f"{p}_attention_add", f"{p}_ffn_outer"]}},
        ]
        source = f"{p}_ffn_add"
    layers += [
        {"LayerNormalization": {"name": "final_norm"}},
        {"Dense": {"name": "logits", "units": vocabulary}},
    ]
    return {"name": "gpt_mini", "inputs": {"token_ids": ids, "position_ids": ids}, "layers": layers}


def seq2seq_lstm(source: int = 8000, target: int = 6000, size: int = 256) -> dict[str, Any]:
    """specs/seq2seq_lstm.yaml with its variables' values: the encoder's final states (its
    outputs 1 and 2) start the decoder."""
    ids = {"shape": [None], "dtype": "int32"}
    decoder = {"name": "decoder", "units": size, "return_sequences": True, "inputs": "target_embedding"}
    return {
        "name": "seq2seq_lstm",
        "inputs": {"source": ids, "target": ids},
        "layers": [
            {
                "Embedding": {
                    "name": "source_embedding",
                    "input_dim": source,
                    "output_dim": size,
                    "inputs": "source",
                }
            },
            {"LSTM": {"name": "encoder", "units": size, "return_state": True}},
            {
                "Embedding": {
                    "name": "target_embedding",
                    "input_dim": target,
                    "output_dim": size,
                    "inputs": "target",
                }
            },
            {"LSTM": {**decoder, "call": {"initial_state": ["encoder.1", "encoder.2"]}}},
            {"Dense": {"name": "next_token", "units": target, "activation": "softmax"}},
        ],
    }


# specs/ file -> its written-out form
WRITTEN_OUT: dict[str, Callable[[], dict[str, Any]]] = {
    "bert_base.yaml": bert_base,
    "unet.yaml": unet,
    "gpt_mini.yaml": gpt_mini,
    "seq2seq_lstm.yaml": seq2seq_lstm,
}
