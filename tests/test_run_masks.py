"""--run with Keras's implicit masks (Embedding mask_zero, Masking), compared with Keras.

Every spec runs through ``shapecalc summary --run`` with Keras's weights and inputs, and every
layer's output must equal what Keras computes (run_check). The inputs hold masked positions
everywhere the masks can matter: leading, inner and trailing padding, and a batch item whose
steps are all masked. Where Keras itself fails at run time because of a mask, shapecalc's run
must report the failure.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from oracle import make_layer
from run_check import assert_run_matches_keras, keras_reference

from shapecalc.layers import create_layer, registry
from shapecalc.layers.factory import Namer

# (B, T) token ids, 0 = padding: leading and trailing padding, padding inside, all padding, none
IDS = np.array(
    [
        [0, 0, 3, 4, 9, 0],
        [5, 1, 0, 2, 7, 0],
        [0, 0, 0, 0, 0, 0],
        [1, 2, 3, 4, 5, 6],
    ],
    dtype="int32",
)
# a second id sequence, masked elsewhere, for merges and attention
OTHER_IDS = np.array(
    [
        [4, 0, 0, 2, 0, 1],
        [0, 0, 0, 0, 0, 0],
        [3, 3, 0, 1, 2, 0],
        [0, 6, 7, 8, 0, 0],
    ],
    dtype="int32",
)


def _floats(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Random floats whose all-zero steps Masking masks: as IDS == 0 along axis 1."""
    x = np.random.default_rng(seed).standard_normal(shape).astype("float32")
    steps = np.resize(IDS, shape[:2]) if shape[1] <= IDS.shape[1] else np.ones(shape[:2], int)
    x[steps == 0] = 0.0
    return x


def check(tmp_path: Path, text: str, inputs: dict[str, np.ndarray]) -> dict[str, Any]:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return assert_run_matches_keras(path, yaml.safe_load(text), inputs, tmp_path)


def check_keras_fails(tmp_path: Path, text: str, inputs: dict[str, np.ndarray]) -> None:
    """Keras cannot run the spec on these inputs because of a mask; the run must say so."""
    with pytest.raises(Exception):  # noqa: B017 - whatever Keras raises
        keras_reference(yaml.safe_load(text), inputs)
    report = check(tmp_path, text, inputs)
    assert any("call fails" in layer.get("run_note", "") for layer in report["layers"]), report


def ids_spec(*layers: str, length: int | None = 6) -> str:
    lines = "\n".join(f"  - {layer}" for layer in layers)
    return f"input: [{'null' if length is None else length}]\nlayers:\n{lines}\n"


EMBED = "Embedding: {input_dim: 10, output_dim: 3, mask_zero: true}"


# ----------------------------------------------------------------------------- recurrent layers
RNN_VARIANTS = [
    "return_sequences: true",
    "return_sequences: false",
    "go_backwards: true",
    "go_backwards: true, return_sequences: true",
    "zero_output_for_mask: true",
    "zero_output_for_mask: true, return_sequences: true",
    "unroll: true, return_sequences: true",
    "unroll: true, go_backwards: true, zero_output_for_mask: true",
    "return_state: true",
    "return_state: true, return_sequences: true, go_backwards: true",
]


@pytest.mark.parametrize("variant", RNN_VARIANTS)
@pytest.mark.parametrize("kind", ["SimpleRNN", "GRU", "LSTM"])
def test_recurrent_layer_holds_its_state_over_masked_steps(kind: str, variant: str, tmp_path: Path) -> None:
    check(tmp_path, ids_spec(EMBED, f"{kind}: {{units: 2, {variant}}}"), {"input_layer": IDS})


@pytest.mark.parametrize(
    "layers",
    [
        # stacked layers: the sequence keeps the mask, the last output drops it
        ["LSTM: {units: 3, return_sequences: true}", "GRU: {units: 2, go_backwards: true}"],
        ["GRU: {units: 3, return_sequences: true, reset_after: false}", "SimpleRNN: {units: 2}"],
        # a stack of cells: the held output is the last cell's first state
        ["RNN: {cell: [{SimpleRNNCell: {units: 2}}, {LSTMCell: {units: 3}}], return_sequences: true}"],
        ["RNN: {cell: [{LSTMCell: {units: 2}}, {GRUCell: {units: 3}}], zero_output_for_mask: true}"],
        ["RNN: {cell: {LSTMCell: {units: 2}}, return_sequences: true, go_backwards: true}"],
        # unrolled, Keras puts a one-cell stack's nesting back after each step
        ["RNN: {cell: [{LSTMCell: {units: 2}}], unroll: true, return_sequences: true}"],
        # the mask passes through layers that support masking, unchanged
        ["Dense: {units: 4}", "Dropout: {rate: 0.5}", "LayerNormalization: {}", "LSTM: {units: 2}"],
        ["BatchNormalization: {}", "ReLU: {}", "GaussianNoise: {stddev: 1.0}", "SimpleRNN: {units: 2}"],
        ["TimeDistributed: {layer: {Dense: {units: 3}}}", "SimpleRNN: {units: 2, return_sequences: true}"],
        # layers that do not support masking destroy it: the RNN then runs over every step
        ["Conv1D: {filters: 3, kernel_size: 1}", "LSTM: {units: 2}"],
        ["EinsumDense: {equation: '...a,ab->...b', output_shape: 3}", "GRU: {units: 2}"],
        ["ZeroPadding1D: {padding: 1}", "LSTM: {units: 2}"],
    ],
)
def test_masks_through_layer_chains(layers: list[str], tmp_path: Path) -> None:
    check(tmp_path, ids_spec(EMBED, *layers), {"input_layer": IDS})


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul", "null"])
@pytest.mark.parametrize("sequences", [True, False])
def test_bidirectional_outputs_zeros_on_masked_steps(
    merge_mode: str, sequences: bool, tmp_path: Path
) -> None:
    rnn = f"{{LSTM: {{units: 2, return_sequences: {str(sequences).lower()}}}}}"
    check(
        tmp_path,
        ids_spec(EMBED, f"Bidirectional: {{layer: {rnn}, merge_mode: {merge_mode}}}"),
        {"input_layer": IDS},
    )


@pytest.mark.parametrize(
    "layers",
    [
        ["Bidirectional: {layer: {GRU: {units: 2, return_sequences: true, return_state: true}}}"],
        ["Bidirectional: {layer: {SimpleRNN: {units: 2, return_state: true}}, merge_mode: null}"],
        [
            "Bidirectional: {layer: {LSTM: {units: 2, return_sequences: true}}, backward_layer: "
            "{GRU: {units: 2, go_backwards: true, return_sequences: true}}}",
            "Bidirectional: {layer: {SimpleRNN: {units: 2}}}",
        ],
    ],
)
def test_bidirectional_with_states_and_a_given_backward_layer(layers: list[str], tmp_path: Path) -> None:
    check(tmp_path, ids_spec(EMBED, *layers), {"input_layer": IDS})


def test_masking_on_float_steps_feeds_a_gru(tmp_path: Path) -> None:
    spec = (
        "input: [6, 3]\nlayers:\n  - Masking: {}\n"
        "  - GRU: {units: 2, return_sequences: true}\n  - GRU: {units: 2}\n"
    )
    check(tmp_path, spec, {"input_layer": _floats((4, 6, 3))})


def test_masking_with_another_mask_value(tmp_path: Path) -> None:
    x = _floats((4, 6, 2), seed=3)
    x[x == 0] = -1.0  # the padding value
    spec = (
        "input: [6, 2]\nlayers:\n  - Masking: {mask_value: -1.0}\n  - LSTM: {units: 2, go_backwards: true}\n"
    )
    check(tmp_path, spec, {"input_layer": x})


def test_time_distributed_rnn_gets_each_steps_mask(tmp_path: Path) -> None:
    # Masking on rank 4 gives a (B, T, S) mask: each step's (B, S) slice masks the inner LSTM
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5)).astype("float32")
    x[0, 0, :2] = 0
    x[0, 1, 3] = 0
    x[1, 2] = 0
    spec = (
        "input: [3, 4, 5]\nlayers:\n  - Masking: {}\n"
        "  - TimeDistributed: {layer: {LSTM: {units: 2, return_sequences: true}}}\n"
        "  - TimeDistributed: {layer: {Bidirectional: {layer: {SimpleRNN: {units: 2}}}}}\n"
    )
    check(tmp_path, spec, {"input_layer": x})


@pytest.mark.parametrize("batch", [1, 2])
def test_conv_lstm_with_a_step_mask(batch: int, tmp_path: Path) -> None:
    # TimeDistributed keeps Masking's (B, T) mask while it reshapes each step into an image.
    # Keras's numpy backend broadcasts the (B, 1) step flag against the (B, H, W, F) output
    # from the right: fine for one batch item, an error for two.
    spec = (
        "input: [6, 6]\nlayers:\n  - Masking: {}\n"
        "  - TimeDistributed: {layer: {Reshape: {target_shape: [2, 3, 1]}}}\n"
        "  - ConvLSTM2D: {filters: 2, kernel_size: 1, return_sequences: true}\n"
    )
    inputs = {"input_layer": _floats((batch, 6, 6), seed=2)}
    if batch == 1:
        check(tmp_path, spec, inputs)
    else:
        check_keras_fails(tmp_path, spec, inputs)


def test_unrolled_conv_lstm_tiles_the_step_mask(tmp_path: Path) -> None:
    spec = (
        "input: [6, 6]\nlayers:\n  - Masking: {}\n"
        "  - TimeDistributed: {layer: {Reshape: {target_shape: [2, 3, 1]}}}\n"
        "  - ConvLSTM2D: {filters: 2, kernel_size: 1, unroll: true, go_backwards: true}\n"
    )
    check(tmp_path, spec, {"input_layer": _floats((4, 6, 6), seed=4)})


def test_one_cell_stack_cannot_run_on_masked_steps(tmp_path: Path) -> None:
    check_keras_fails(
        tmp_path, ids_spec(EMBED, "RNN: {cell: [{SimpleRNNCell: {units: 2}}]}"), {"input_layer": IDS}
    )


# ----------------------------------------------------------------------------- other mask readers
@pytest.mark.parametrize(
    "layers",
    [
        ["GlobalAveragePooling1D: {}"],  # a mean over the unmasked steps; NaN for none
        ["GlobalAveragePooling1D: {keepdims: true}"],
        ["Dense: {units: 4, activation: relu}", "GlobalAveragePooling1D: {}", "Dense: {units: 2}"],
        ["GlobalMaxPooling1D: {}"],  # takes no mask
        ["Flatten: {}", "Dense: {units: 2}"],
        ["Reshape: {target_shape: [3, 6]}", "LSTM: {units: 2}"],  # the mask is destroyed
        ["Conv1D: {filters: 2, kernel_size: 2}", "GlobalAveragePooling1D: {}"],
        ["TimeDistributed: {layer: {Dense: {units: 2}}}", "GlobalAveragePooling1D: {}"],
    ],
)
def test_pooling_and_mask_destroying_layers(layers: list[str], tmp_path: Path) -> None:
    check(tmp_path, ids_spec(EMBED, *layers), {"input_layer": IDS})


def test_global_average_pooling_channels_first(tmp_path: Path) -> None:
    # the (B, T) mask is laid over the last axis with channels_first: T must equal that size
    spec = ids_spec(
        "Embedding: {input_dim: 10, output_dim: 6, mask_zero: true}",
        "GlobalAveragePooling1D: {data_format: channels_first}",
    )
    check(tmp_path, spec, {"input_layer": IDS})


def test_softmax_with_a_sequence_mask_fails_in_keras(tmp_path: Path) -> None:
    # Keras's Softmax broadcasts the (B, T) mask against (B, T, F) from the right
    check_keras_fails(tmp_path, ids_spec(EMBED, "Softmax: {}"), {"input_layer": IDS})


def test_softmax_mask_broadcast_from_the_right(tmp_path: Path) -> None:
    # one batch item and T == F: Keras applies the mask along the last axis, and so must we
    spec = ids_spec("Embedding: {input_dim: 10, output_dim: 6, mask_zero: true}", "Softmax: {}")
    check(tmp_path, spec, {"input_layer": IDS[:1]})


def test_time_distributed_softmax_gets_each_steps_mask(tmp_path: Path) -> None:
    # step t's (B,) mask meets the (B, F) step from the right: it fits when B == F
    spec = ids_spec(
        "Embedding: {input_dim: 10, output_dim: 4, mask_zero: true}",
        "TimeDistributed: {layer: {Softmax: {}}}",
    )
    check(tmp_path, spec, {"input_layer": IDS})


def test_reversible_embedding_mask_is_attached_at_run_time(tmp_path: Path) -> None:
    # Keras's ReversibleEmbedding sets its mask in call only: the symbolic model records none,
    # and the layers below read the array's own mask at run time
    spec = ids_spec(
        "ReversibleEmbedding: {input_dim: 10, output_dim: 3, mask_zero: true}",
        "Dense: {units: 3}",
        "LSTM: {units: 2, return_sequences: true}",
        "GlobalAveragePooling1D: {}",
    )
    check(tmp_path, spec, {"input_layer": IDS})


# ----------------------------------------------------------------------------- merges
MERGE_SPEC = """
inputs: {{a: [6], b: [6], f: [6, 3]}}
layers:
  - Embedding: {{name: ea, input_dim: 10, output_dim: 3, mask_zero: true, inputs: a}}
  - Embedding: {{name: eb, input_dim: 10, output_dim: 3, mask_zero: true, inputs: b}}
  - Dense: {{name: plain, units: 3, inputs: f}}
  - {merge}: {{name: merged, inputs: {inputs}}}
  - {reader}
"""


@pytest.mark.parametrize(
    ("merge", "inputs"),
    [
        (merge, inputs)
        for merge in ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]
        for inputs in ["[ea, eb]", "[ea, plain]", "[plain, eb]", "[ea, eb, ea]"]
        if not (merge == "Subtract" and inputs.count(",") > 1)  # Subtract takes two tensors
    ],
)
def test_elementwise_merges_of_masked_and_unmasked_tensors(merge: str, inputs: str, tmp_path: Path) -> None:
    text = MERGE_SPEC.format(merge=merge, inputs=inputs, reader="LSTM: {units: 2, return_sequences: true}")
    check(tmp_path, text, {"a": IDS, "b": OTHER_IDS, "f": _floats((4, 6, 3))})


@pytest.mark.parametrize(
    ("args", "inputs"),
    [
        ("", "[ea, eb]"),
        ("", "[ea, plain]"),  # along the features an unmasked input makes every step kept
        ("axis: 1, ", "[ea, plain]"),  # along the steps the masks join
        ("axis: 1, ", "[ea, eb]"),
    ],
)
def test_concatenate_masks(args: str, inputs: str, tmp_path: Path) -> None:
    text = MERGE_SPEC.replace("{{name: merged", "{{" + args + "name: merged").format(
        merge="Concatenate", inputs=inputs, reader="GRU: {units: 2}"
    )
    check(tmp_path, text, {"a": IDS, "b": OTHER_IDS, "f": _floats((4, 6, 3))})


def test_dot_output_has_no_mask(tmp_path: Path) -> None:
    text = MERGE_SPEC.replace("{{name: merged", "{{axes: 2, name: merged").format(
        merge="Dot", inputs="[ea, eb]", reader="LSTM: {units: 2}"
    )
    check(tmp_path, text, {"a": IDS, "b": OTHER_IDS, "f": _floats((4, 6, 3))})


# ----------------------------------------------------------------------------- attention
ATTENTION_SPEC = """
inputs: {{q: [6], v: [6], m: [6]}}
layers:
  - Embedding: {{name: eq, input_dim: 10, output_dim: 4, mask_zero: true, inputs: q}}
  - Embedding: {{name: ev, input_dim: 10, output_dim: 4, mask_zero: true, inputs: v}}
  - Dense: {{name: plain, units: 4, inputs: eq}}
  - {layer}
  - LSTM: {{name: reader, units: 2, return_sequences: true}}
"""


@pytest.mark.parametrize(
    "layer",
    [
        "Attention: {inputs: [eq, ev]}",
        "Attention: {inputs: [eq, ev, plain], use_scale: true}",
        "Attention: {inputs: [plain, ev], score_mode: concat}",
        "Attention: {inputs: [ev, eq]}",
        "AdditiveAttention: {inputs: [eq, ev]}",
        "AdditiveAttention: {inputs: [eq, ev, ev], use_scale: false}",
        "MultiHeadAttention: {num_heads: 2, key_dim: 3, inputs: [eq, ev]}",
        "MultiHeadAttention: {num_heads: 2, key_dim: 3, inputs: [eq, ev, plain]}",
        "MultiHeadAttention: {num_heads: 1, key_dim: 2, inputs: [plain, ev, eq]}",
        "MultiHeadAttention: {num_heads: 2, key_dim: 2, dropout: 0.1, inputs: [eq, ev]}",  # einsum route
        "GroupQueryAttention: {head_dim: 2, num_query_heads: 2, num_key_value_heads: 1, inputs: [eq, ev]}",
        "GroupQueryAttention: {head_dim: 2, num_query_heads: 2, num_key_value_heads: 2, "
        "inputs: [eq, ev, plain]}",
        # mask tensors given positionally win over the Keras masks, except MultiHeadAttention's
        # query_mask, which its call always replaces with the query's own mask
        "MultiHeadAttention: {num_heads: 1, key_dim: 2, inputs: [eq, ev, ev, m, m]}",
        "MultiHeadAttention: {num_heads: 1, key_dim: 2, inputs: [eq, ev, ev, m, m, m]}",
        "GroupQueryAttention: {head_dim: 2, num_query_heads: 1, num_key_value_heads: 1, "
        "inputs: [eq, ev, ev, m]}",
        "GroupQueryAttention: {head_dim: 2, num_query_heads: 1, num_key_value_heads: 1, "
        "inputs: [eq, ev, ev, m, m]}",
    ],
)
def test_attention_uses_the_query_and_value_masks(layer: str, tmp_path: Path) -> None:
    given = np.array(
        [[1, 1, 0, 1, 1, 0], [0, 1, 1, 1, 1, 1], [1, 0, 1, 0, 1, 0], [1, 1, 1, 1, 0, 0]], "float32"
    )
    check(tmp_path, ATTENTION_SPEC.format(layer=layer), {"q": IDS, "v": OTHER_IDS, "m": given})


def test_a_shared_layer_called_on_masked_and_unmasked_tensors(tmp_path: Path) -> None:
    text = MERGE_SPEC.format(
        merge="Add", inputs="[ea, eb]", reader="LSTM: {name: shared, units: 2, inputs: ea}"
    )
    text += "  - Reuse: {layer: shared, inputs: plain, name: again}\n"
    text += "  - Reuse: {layer: shared, inputs: merged, name: third}\n"
    text += "outputs: [shared, again, third]\n"
    check(tmp_path, text, {"a": IDS, "b": OTHER_IDS, "f": _floats((4, 6, 3))})


TRANSFORMER = """
input: {{shape: [6], dtype: int32}}
layers:
  - Embedding: {{name: emb, input_dim: 10, output_dim: 4, mask_zero: true}}
  {pre}
  - MultiHeadAttention: {{name: mha, num_heads: 2, key_dim: 2, inputs: [{x}, {x}]}}
  - Add: {{name: residual, inputs: [{r}, mha]}}
  - LayerNormalization: {{name: norm}}
  - MultiHeadAttention: {{name: mha2, num_heads: 2, key_dim: 2, inputs: [norm, norm]}}
  - GlobalAveragePooling1D: {{name: pool, inputs: mha2}}
  - LSTM: {{name: reader, units: 2, inputs: norm}}
outputs: [pool, reader]
"""


@pytest.mark.parametrize(
    ("pre", "x", "r"),
    [
        ("", "emb", "emb"),
        ("- Dropout: {name: drop, rate: 0.1}", "drop", "drop"),
        # Dropout returns its input array itself, so the attention clears the mask of the
        # Embedding's output too: the residual from there is unmasked as well
        ("- Dropout: {name: drop, rate: 0.1}", "drop", "emb"),
    ],
)
def test_attention_clears_the_masks_of_its_inputs(pre: str, x: str, r: str, tmp_path: Path) -> None:
    # Keras's MultiHeadAttention removes the masks of its query and value arrays at run time, so
    # the residual Add sees one unmasked input and passes no mask on: the second attention runs
    # unmasked. The pooling and the LSTM read the mask the model recorded when it was built.
    check(tmp_path, TRANSFORMER.format(pre=pre, x=x, r=r), {"input_layer": IDS})


# ----------------------------------------------------------------------------- declarations
ARGUMENT_VALUES: dict[str, Any] = {
    "activation": "relu",
    "axes": 1,
    "cell": {"SimpleRNNCell": {"units": 2}},
    "cells": [{"SimpleRNNCell": {"units": 2}}],
    "dims": [1],
    "drop_path_rate": 0.1,
    "equation": "ab,bc->ac",
    "factor": 0.5,
    "filters": 2,
    "init_values": 0.5,
    "head_dim": 2,
    "height": 2,
    "height_factor": 0.1,
    "input_dim": 5,
    "kernel_size": 1,
    "key_dim": 2,
    "layer": {"LSTM": {"units": 2}},
    "max_number": 3,
    "n": 2,
    "num_heads": 1,
    "num_key_value_heads": 1,
    "num_query_heads": 1,
    "output_dim": 2,
    "output_shape": 2,
    "output_size": 2,
    "pool_size": 2,
    "projection_dim": 2,
    "rate": 0.1,
    "scale": 1.0,
    "stddev": 0.1,
    "target_shape": [-1],
    "units": 2,
    "width": 2,
    "width_factor": 0.1,
}
# layers Keras refuses to construct without an optional argument
EXTRA_ARGUMENTS = {
    "CategoryEncoding": {"num_tokens": 3},
    "Discretization": {"num_bins": 3},
    "RandomPosterization": {"factor": 2},
}


def _declared_cases() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for name, cls in registry.all_layer_types().items():
        if name == "InputLayer" or cls.is_operation:  # keras.ops calls: test_operations.py
            continue
        args = {a.name: ARGUMENT_VALUES[a.name] for a in cls.all_arguments() if a.required}
        args.update(EXTRA_ARGUMENTS.get(name, {}))
        cases.append((name, args))
        if cls.argument("mask_zero") is not None:
            cases.append((name, {**args, "mask_zero": True}))
    return cases


@pytest.mark.parametrize(("name", "args"), _declared_cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_mask_declarations_match_keras(name: str, args: dict[str, Any]) -> None:
    """Every layer type supports masking exactly where Keras's does, and takes the mask in
    forward where Keras's call takes one (a layer called on several tensors takes their masks
    as a list; Keras's merges and attention read them from the tensors)."""
    theirs = make_layer(name, args)
    ours = create_layer(name, args, Namer())
    assert bool(ours.supports_masking) == bool(theirs.supports_masking)
    if not ours.takes_list:
        assert ours.takes_mask() == ("mask" in inspect.signature(theirs.call).parameters)
