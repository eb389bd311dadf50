"""trainable: false, compared whole with Keras: which weights each layer's flag freezes.

Keras freezes the variables a layer creates and those of sublayers it hands the flag to
(LSTM to its cell); wrappers, attention layers and an RNN around a given cell keep the flag to
themselves, so their sublayers' weights stay trainable in the model's totals.
"""

from __future__ import annotations

import pytest
from model_check import assert_model_same_as_keras
from oracle import ModelFacts

SEQ = [5, 3]
CASES = [
    (SEQ, {"Dense": {"units": 2, "trainable": False}}),
    (SEQ, {"LSTM": {"units": 2, "trainable": False}}),
    (SEQ, {"GRU": {"units": 2, "trainable": False, "reset_after": False}}),
    (SEQ, {"SimpleRNN": {"units": 2, "trainable": False}}),
    (SEQ, {"RNN": {"cell": {"LSTMCell": {"units": 2}}, "trainable": False}}),
    (SEQ, {"RNN": {"cell": {"LSTMCell": {"units": 2, "trainable": False}}}}),
    (SEQ, {"TimeDistributed": {"layer": {"Dense": {"units": 2}}, "trainable": False}}),
    (SEQ, {"TimeDistributed": {"layer": {"Dense": {"units": 2, "trainable": False}}}}),
    (SEQ, {"Bidirectional": {"layer": {"LSTM": {"units": 2}}, "trainable": False}}),
    (SEQ, {"Bidirectional": {"layer": {"LSTM": {"units": 2, "trainable": False}}}}),
    (SEQ, {"EinsumDense": {"equation": "...a,ab->...b", "output_shape": 4, "trainable": False}}),
    (SEQ, {"SpectralNormalization": {"layer": {"Dense": {"units": 2}}, "trainable": False}}),
    ([5, 4], {"BatchNormalization": {"trainable": False}}),
    ([5, 3, 4], {"ConvLSTM1D": {"filters": 2, "kernel_size": 2, "trainable": False}}),
    ([6, 6, 3], {"Conv2D": {"filters": 2, "kernel_size": 3, "trainable": False, "lora_rank": 2}}),
]


@pytest.mark.parametrize(
    ("shape", "entry"), CASES, ids=lambda v: next(iter(v)) if isinstance(v, dict) else None
)
def test_frozen_layer_counts_match_keras(shape: list[int], entry: dict) -> None:
    facts = assert_model_same_as_keras({"input": shape, "layers": [entry, {"Dense": {"units": 1}}]})
    assert isinstance(facts, ModelFacts)


@pytest.mark.parametrize("layer", ["MultiHeadAttention", "GroupQueryAttention"])
def test_frozen_attention_keeps_its_sublayers_trainable(layer: str) -> None:
    args = (
        {"num_heads": 2, "key_dim": 4}
        if layer == "MultiHeadAttention"
        else {"num_query_heads": 2, "num_key_value_heads": 1, "head_dim": 4}
    )
    spec = {
        "inputs": {"q": [4, 8], "v": [4, 8]},
        "layers": [{layer: {**args, "trainable": False, "inputs": ["q", "v"]}}],
    }
    facts = assert_model_same_as_keras(spec)
    assert isinstance(facts, ModelFacts) and facts.non_trainable_params == 0
