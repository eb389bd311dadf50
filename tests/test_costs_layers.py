"""MACs and receptive fields layer by layer, each against a derivation written beside it.

The convention (README, "What a model costs"): one MAC is one multiply-accumulate of a product
with a weight or between two activations, for one example (the batch axis excluded). Shapes
the derivations rest on are Keras's: every spec here is also checked by the shape tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from shapecalc.analysis import ConcreteSizes, analyze
from shapecalc.api import analyze_data, analyze_text
from shapecalc.costs import CallCosts, model_costs
from shapecalc.layers import Layer, registry


def costs_of(spec: dict[str, Any], sizes: ConcreteSizes | None = None) -> dict[str, CallCosts]:
    """Each model call's costs, by layer name (a Reuse call by its alias)."""
    analysis = analyze_data(spec)
    if sizes is not None:
        analysis = analyze(analysis.graph, sizes)
    costs = model_costs(analysis)
    return {call.alias or call.layer.name: costs.calls[call] for call in analysis.model_calls}


def one(type_name: str, args: dict[str, Any], shape: list[int | None], dtype: str | None = None) -> CallCosts:
    """The costs of one layer called on an input of ``shape`` (batch axis excluded)."""
    source: Any = shape if dtype is None else {"shape": shape, "dtype": dtype}
    spec = {"input": source, "layers": [{type_name: {"name": "it", **args}}]}
    return costs_of(spec)["it"]


def on_list(type_name: str, args: dict[str, Any], shapes: list[list[int | None]]) -> CallCosts:
    """The costs of one layer called on a list of inputs."""
    names = [f"x{i}" for i in range(len(shapes))]
    spec = {
        "inputs": dict(zip(names, shapes, strict=True)),
        "layers": [{type_name: {"name": "it", "inputs": names, **args}}],
    }
    return costs_of(spec)["it"]


# ----------------------------------------------------------------------------- MACs: dense family
def test_dense_macs() -> None:
    assert one("Dense", {"units": 7}, [20]).macs == 20 * 7  # each unit: 20 products
    assert one("Dense", {"units": 7}, [5, 20]).macs == 5 * 20 * 7  # at each of 5 positions
    # LoRA merges its factors into the kernel once per call, for the whole batch: not per example
    assert one("Dense", {"units": 7, "lora_rank": 2}, [20]).macs == 20 * 7
    assert one("SpectralNormalization", {"layer": {"Dense": {"units": 7}}}, [20]).macs == 20 * 7


def test_einsum_dense_macs() -> None:
    # product of every index's size, the batch's excluded
    assert one("EinsumDense", {"equation": "abc,cd->abd", "output_shape": [5, 8]}, [5, 16]).macs == 5 * 16 * 8
    assert one("EinsumDense", {"equation": "...b,bc->...c", "output_shape": 8}, [3, 4, 16]).macs == (
        3 * 4 * 16 * 8
    )
    assert one("EinsumDense", {"equation": "ab,bcd->acd", "output_shape": [4, 8]}, [16]).macs == 16 * 4 * 8


def test_embedding_is_a_lookup() -> None:
    assert one("Embedding", {"input_dim": 100, "output_dim": 8}, [12], "int32").macs == 0


# ----------------------------------------------------------------------------- MACs: convolutions
def test_convolution_macs() -> None:
    # output positions x kernel taps x input channels per group x filters
    conv1d = {"filters": 8, "kernel_size": 5}
    assert one("Conv1D", conv1d, [20, 3]).macs == (20 - 5 + 1) * 5 * 3 * 8
    assert one("Conv1D", {**conv1d, "padding": "causal"}, [20, 3]).macs == 20 * 5 * 3 * 8
    grouped = {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "same"}
    assert one("Conv2D", grouped, [10, 10, 6]).macs == 10 * 10 * 9 * (6 // 2) * 4
    dilated = {"filters": 4, "kernel_size": 3, "dilation_rate": 2}  # dilated kernel 5: 10 - 4 = 6
    assert one("Conv2D", dilated, [10, 10, 6]).macs == 6 * 6 * 9 * 6 * 4
    strided = {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}  # ceil(10 / 2) = 5
    assert one("Conv2D", strided, [10, 10, 6]).macs == 5 * 5 * 9 * 6 * 4
    first = {"filters": 4, "kernel_size": 3, "data_format": "channels_first"}  # (C=6, 10, 10)
    assert one("Conv2D", first, [6, 10, 10]).macs == 8 * 8 * 9 * 6 * 4
    assert one("Conv3D", {"filters": 2, "kernel_size": 2}, [4, 4, 4, 3]).macs == 3 * 3 * 3 * 8 * 3 * 2


def test_transposed_convolution_macs() -> None:
    # every input position spreads kernel taps x filters, for each input channel
    args = {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}
    assert one("Conv2DTranspose", args, [7, 7, 4]).macs == 7 * 7 * 9 * 4 * 3
    assert one("Conv1DTranspose", {"filters": 2, "kernel_size": 4}, [6, 5]).macs == 6 * 4 * 5 * 2


def test_depthwise_and_separable_macs() -> None:
    # valid 3x3 over 8x8: 6x6 outputs
    depthwise = one("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2}, [8, 8, 3])
    assert depthwise.macs == 6 * 6 * 9 * 3 * 2
    separable = one("SeparableConv2D", {"filters": 5, "kernel_size": 3, "depth_multiplier": 2}, [8, 8, 3])
    assert separable.macs == 6 * 6 * (9 * 3 * 2 + (3 * 2) * 5)  # depthwise, then 1x1 pointwise
    assert one("SeparableConv1D", {"filters": 5, "kernel_size": 3}, [8, 3]).macs == 6 * (3 * 3 + 3 * 5)
    assert one("DepthwiseConv1D", {"kernel_size": 3, "strides": 2}, [9, 4]).macs == 4 * 3 * 4


# ----------------------------------------------------------------------------- MACs: recurrent
def test_recurrent_macs() -> None:
    # per step: every gate's input product (F x u) and recurrent product (u x u); 10 steps
    steps, features, units = 10, 6, 4
    assert one("SimpleRNN", {"units": units}, [steps, features]).macs == steps * units * (features + units)
    gru = steps * 3 * units * (features + units)
    assert one("GRU", {"units": units}, [steps, features]).macs == gru
    assert one("GRU", {"units": units, "reset_after": False}, [steps, features]).macs == gru
    lstm = steps * 4 * units * (features + units)
    assert one("LSTM", {"units": units, "return_sequences": True}, [steps, features]).macs == lstm
    assert one("RNN", {"cell": {"LSTMCell": {"units": units}}}, [steps, features]).macs == lstm
    assert one("Bidirectional", {"layer": {"LSTM": {"units": units}}}, [steps, features]).macs == 2 * lstm
    # a stack: the second cell sees the first cell's 4 outputs at each step
    stack = {"cell": [{"SimpleRNNCell": {"units": 4}}, {"GRUCell": {"units": 3}}]}
    assert one("RNN", stack, [steps, features]).macs == steps * (4 * (6 + 4) + 3 * 3 * (4 + 3))


def test_recurrent_macs_need_the_number_of_steps() -> None:
    spec = {"input": [None, 6], "layers": [{"LSTM": {"name": "it", "units": 4}}]}
    assert costs_of(spec)["it"].macs is None
    assert costs_of(spec, ConcreteSizes(unknown=12))["it"].macs == 12 * 4 * 4 * (6 + 4)


def test_conv_lstm_macs() -> None:
    # each of 4 steps: at each of 8x8 positions ('same'), 3x3 taps of the input's 3 channels and
    # of the state's 2 filters, for 4 gates x 2 filters
    args = {"filters": 2, "kernel_size": 3, "padding": "same"}
    assert one("ConvLSTM2D", args, [4, 8, 8, 3]).macs == 4 * 8 * 8 * 9 * (3 + 2) * (4 * 2)


def test_time_distributed_macs() -> None:
    assert one("TimeDistributed", {"layer": {"Dense": {"units": 3}}}, [10, 6]).macs == 10 * 6 * 3
    conv = {"layer": {"Conv2D": {"filters": 2, "kernel_size": 3}}}
    assert one("TimeDistributed", conv, [5, 8, 8, 3]).macs == 5 * (6 * 6 * 9 * 3 * 2)


# ----------------------------------------------------------------------------- MACs: attention, Dot
def test_multi_head_attention_macs() -> None:
    heads, key_dim = 2, 4  # value_dim defaults to key_dim
    got = on_list("MultiHeadAttention", {"num_heads": heads, "key_dim": key_dim}, [[5, 16], [7, 12]])
    projections = 5 * 16 * heads * key_dim + 7 * 12 * heads * key_dim + 7 * 12 * heads * key_dim
    scores, weighted = heads * 5 * 7 * key_dim, heads * 5 * 7 * key_dim
    output = 5 * heads * key_dim * 16  # back to the query's last size
    assert got.macs == projections + scores + weighted + output

    args = {"num_heads": 2, "key_dim": 4, "value_dim": 3, "output_shape": [10], "use_gate": True}
    got = on_list("MultiHeadAttention", args, [[5, 16], [7, 12]])
    projections = 5 * 16 * 2 * 4 + 7 * 12 * 2 * 4 + 7 * 12 * 2 * 3 + 5 * 16 * 2 * 3  # q, k, v, gate
    assert got.macs == projections + 2 * 5 * 7 * 4 + 2 * 5 * 7 * 3 + 5 * 2 * 3 * 10


def test_multi_head_attention_axes_macs() -> None:
    # rank-4 inputs (3, 5, 16) and (3, 7, 16): projections (3, 5, 2, 4) and (3, 7, 2, 4)
    proj = 3 * 5 * 16 * 8 + 2 * (3 * 7 * 16 * 8) + 3 * 5 * 8 * 16  # q, k, v, output
    # by default every position axis is attended: (3*5) query positions x (3*7) key positions
    got = on_list("MultiHeadAttention", {"num_heads": 2, "key_dim": 4}, [[3, 5, 16], [3, 7, 16]])
    assert got.macs == proj + 2 * (3 * 5) * (3 * 7) * (4 + 4)
    # over axis 2 only: axis 1 is carried like the batch, 5 x 7 pairs for each of its 3 rows
    args = {"num_heads": 2, "key_dim": 4, "attention_axes": [2], "dropout": 0.1}
    got = on_list("MultiHeadAttention", args, [[3, 5, 16], [3, 7, 16]])
    assert got.macs == proj + 2 * 3 * 5 * 7 * (4 + 4)


def test_grouped_query_attention_macs() -> None:
    args = {"head_dim": 4, "num_query_heads": 4, "num_key_value_heads": 2}
    got = on_list("GroupQueryAttention", args, [[6, 16], [8, 16]])
    projections = 6 * 16 * 4 * 4 + 8 * 16 * 2 * 4 + 8 * 16 * 2 * 4  # query, key, value
    attention = 4 * 6 * 8 * 4 * 2  # scores and weighted values for every query head
    assert got.macs == projections + attention + 6 * 4 * 4 * 16


def test_dot_product_attention_macs() -> None:
    assert on_list("Attention", {}, [[5, 8], [7, 8]]).macs == 5 * 7 * 8 + 5 * 7 * 8  # scores, values
    assert on_list("Attention", {}, [[5, 8], [7, 3], [7, 8]]).macs == 5 * 7 * 8 + 5 * 7 * 3
    # concat scores sum tanh(q + k) without products: only the values' products count
    assert on_list("Attention", {"score_mode": "concat"}, [[5, 8], [7, 8]]).macs == 5 * 7 * 8
    # additive scores: the scale vector's dot product with tanh(q + k); none without the scale
    assert on_list("AdditiveAttention", {}, [[5, 8], [7, 8]]).macs == 5 * 7 * 8 + 5 * 7 * 8
    assert on_list("AdditiveAttention", {"use_scale": False}, [[5, 8], [7, 8]]).macs == 5 * 7 * 8


def test_dot_macs() -> None:
    assert on_list("Dot", {"axes": 1}, [[5], [5]]).macs == 5
    assert on_list("Dot", {"axes": [2, 1]}, [[3, 4], [4, 6]]).macs == 3 * 6 * 4


def test_spectrogram_macs() -> None:
    # frames floor((100 - 16) / 8) + 1 = 11; fft_length 16 -> 9 bins; 2 channels
    args = {"frame_length": 16, "frame_step": 8}
    assert one("STFTSpectrogram", args, [100, 2]).macs == 11 * 2 * 2 * 16 * 9  # real and imaginary
    assert one("STFTSpectrogram", {**args, "mode": "real"}, [100, 2]).macs == 11 * 2 * 1 * 16 * 9
    # frames (1000 + 32 + 1) // 32 = 32; 33 bins: a 64-sample DFT (2 parts) and the mel bank
    mel = {"fft_length": 64, "sequence_stride": 32, "num_mel_bins": 10}
    assert one("MelSpectrogram", mel, [1000]).macs == 32 * (2 * 64 * 33 + 33 * 10)


@pytest.mark.parametrize(
    ("type_name", "args", "shape"),
    [
        ("BatchNormalization", {}, [4, 4, 3]),
        ("LayerNormalization", {}, [4, 3]),
        ("GroupNormalization", {"groups": 1}, [4, 3]),
        ("Activation", {"activation": "softmax"}, [4, 3]),
        ("PReLU", {}, [4, 3]),
        ("MaxPooling2D", {}, [4, 4, 3]),
        ("AveragePooling2D", {"pool_size": 2}, [4, 4, 3]),
        ("GlobalAveragePooling2D", {}, [4, 4, 3]),
        ("Resizing", {"height": 8, "width": 8}, [4, 4, 3]),
        ("UpSampling2D", {"interpolation": "bilinear"}, [4, 4, 3]),
        ("Reshape", {"target_shape": [12]}, [4, 3]),
        ("Flatten", {}, [4, 3]),
        ("ZeroPadding2D", {}, [4, 4, 3]),
        ("Dropout", {"rate": 0.5}, [4, 3]),
        ("Rescaling", {"scale": 2.0}, [4, 3]),
        ("Normalization", {"mean": 0.0, "variance": 1.0}, [4, 3]),
    ],
)
def test_layers_without_products_count_zero(type_name: str, args: dict[str, Any], shape: list[int]) -> None:
    assert one(type_name, args, shape).macs == 0


def test_merges_count_zero() -> None:
    for merge in ("Add", "Multiply", "Concatenate", "Average", "Maximum"):
        assert on_list(merge, {}, [[4, 3], [4, 3]]).macs == 0


def test_which_layer_types_count_macs() -> None:
    """Every layer type that sums products declares its rule; a new one must be classified here."""
    counting = {name for name in registry.all_layer_types() if registry.lookup(name).macs is not Layer.macs}
    assert counting == {
        *(f"Conv{n}D" for n in (1, 2, 3)),
        *(f"Conv{n}DTranspose" for n in (1, 2, 3)),
        *(f"ConvLSTM{n}D" for n in (1, 2, 3)),
        *(f"{kind}{n}D" for kind in ("DepthwiseConv", "SeparableConv") for n in (1, 2)),
        "Dense",
        "EinsumDense",
        "SpectralNormalization",  # its wrapped layer's
        "SimpleRNN",
        "GRU",
        "LSTM",
        "RNN",  # over its cells
        "Bidirectional",
        "TimeDistributed",
        "MultiHeadAttention",
        "GroupQueryAttention",
        "Attention",
        "AdditiveAttention",
        "Dot",
        "STFTSpectrogram",
        "MelSpectrogram",
        "ops.matmul",
    }


def test_matmul_counts_one_product_per_output_value_and_inner_step() -> None:
    # (4, 6) @ (6, 5) per example: 4 * 5 outputs, each a sum of 6 products
    assert on_list("ops.matmul", {}, [[4, 6], [6, 5]]).macs == 4 * 5 * 6


def test_custom_layer_macs_are_declared_or_unknown() -> None:
    custom = (
        "custom_layers:\n  MyLayer:\n    arguments: {output_dim: required}\n"
        "    weights:\n      kernel: (input_shape[1], output_dim)\n"
        "    output_shape: (input_shape[0], output_dim)\n"
    )
    text = (
        custom
        + "    macs: input_shape[1] * output_dim\ninput: [784]\nlayers:\n  - MyLayer: {output_dim: 32}\n"
    )
    analysis = analyze_text(text)
    assert model_costs(analysis).total_macs == 784 * 32  # a (784, 32) matrix product
    undeclared = analyze_text(custom + "input: [784]\nlayers:\n  - MyLayer: {output_dim: 32}\n")
    assert model_costs(undeclared).total_macs is None  # unknown, not zero


# ----------------------------------------------------------------------------- receptive fields
def test_receptive_field_recurrence() -> None:
    # r_out = r_in + (k_eff - 1) * j_in, j_out = j_in * s; k_eff = (k - 1) * d + 1
    spec = {
        "input": [64, 3],
        "layers": [
            {"Conv1D": {"name": "c1", "filters": 4, "kernel_size": 3}},  # r 1 + 2*1 = 3, j 1
            {"MaxPooling1D": {"name": "p"}},  # r 3 + 1*1 = 4, j 2
            {"Conv1D": {"name": "c2", "filters": 4, "kernel_size": 3, "dilation_rate": 2}},  # 4 + 4*2 = 12
            {"Conv1D": {"name": "c3", "filters": 4, "kernel_size": 3, "strides": 2}},  # 12 + 2*2 = 16, j 4
        ],
    }
    got = costs_of(spec)
    assert [(got[n].receptive_field, got[n].effective_stride) for n in ("c1", "p", "c2", "c3")] == [
        ([3], [1]),
        ([4], [2]),
        ([12], [2]),
        ([16], [4]),
    ]


def test_receptive_field_per_axis_and_data_format() -> None:
    spec = {
        "input": [3, 32, 32],  # channels_first: (C, H, W)
        "layers": [
            {"Conv2D": {"name": "c", "filters": 4, "kernel_size": [3, 5], "data_format": "channels_first"}},
            {"ReLU": {"name": "r"}},
            {"Permute": {"name": "t", "dims": [1, 3, 2]}},  # (C, W, H)
        ],
    }
    got = costs_of(spec)
    assert got["c"].receptive_field == [3, 5]
    assert got["r"].receptive_field == [3, 5]  # elementwise: the conv's spatial axes kept
    assert got["t"].receptive_field == [5, 3]  # the axes swapped


def test_receptive_field_through_depthwise_separable_padding_cropping() -> None:
    spec = {
        "input": [32, 32, 3],
        "layers": [
            {"ZeroPadding2D": {"name": "pad", "padding": 1}},  # positions move, windows do not grow
            {"DepthwiseConv2D": {"name": "d", "kernel_size": 3, "strides": 2}},  # 3, j 2
            {"SeparableConv2D": {"name": "s", "filters": 4, "kernel_size": 3}},  # 3 + 2*2 = 7
            {"Cropping2D": {"name": "crop", "cropping": 1}},
            {"BatchNormalization": {"name": "bn"}},
            {"Dense": {"name": "dense", "units": 5}},  # position by position
        ],
    }
    got = costs_of(spec)
    assert got["pad"].receptive_field == [1, 1]
    assert (got["d"].receptive_field, got["d"].effective_stride) == ([3, 3], [2, 2])
    for name in ("s", "crop", "bn", "dense"):
        assert (got[name].receptive_field, got[name].effective_stride) == ([7, 7], [2, 2]), name


@pytest.mark.parametrize(
    ("layer", "why"),
    [
        ({"Flatten": {}}, "one axis holds every position"),
        ({"GlobalAveragePooling2D": {}}, "no spatial axis left"),
        ({"UpSampling2D": {}}, "outputs share an input position or not, by position"),
        ({"Conv2DTranspose": {"filters": 2, "kernel_size": 3, "strides": 2}}, "as up-sampling"),
        ({"Softmax": {"axis": 1}}, "normalised over a spatial axis"),
        ({"Reshape": {"target_shape": [-1, 4]}}, "axes regrouped"),
        ({"AdaptiveAveragePooling2D": {"output_size": 3}}, "windows of varying size"),
    ],
)
def test_undefined_receptive_fields(layer: dict[str, Any], why: str) -> None:
    spec = {"input": [12, 12, 4], "layers": [{"Conv2D": {"filters": 4, "kernel_size": 3}}, layer]}
    analysis = analyze_data(spec)
    last = analysis.model_calls[-1]
    assert model_costs(analysis).calls[last].receptive_field is None, why


def test_receptive_field_of_merges_and_sequences() -> None:
    spec = {
        "inputs": {"x": [16, 16, 3]},
        "layers": [
            {"Conv2D": {"name": "wide", "filters": 4, "kernel_size": 5, "padding": "same", "inputs": "x"}},
            {"Conv2D": {"name": "narrow", "filters": 4, "kernel_size": 1, "inputs": "x"}},
            {"Add": {"name": "sum", "inputs": ["wide", "narrow"]}},  # the largest: 5
            {"GlobalAveragePooling2D": {"name": "squeeze", "keepdims": True, "inputs": "sum"}},
            {"Multiply": {"name": "excite", "inputs": ["sum", "squeeze"]}},  # reads a global context
        ],
    }
    got = costs_of(spec)
    assert got["sum"].receptive_field == [5, 5]
    assert got["excite"].receptive_field is None
    tokens = {
        "input": {"shape": [20], "dtype": "int32"},
        "layers": [
            {"Embedding": {"name": "e", "input_dim": 50, "output_dim": 8}},  # one token per position
            {"Conv1D": {"name": "c", "filters": 4, "kernel_size": 5}},
            {"LSTM": {"name": "l", "units": 3, "return_sequences": True}},  # sees every step before
        ],
    }
    got = costs_of(tokens)
    assert (got["e"].receptive_field, got["c"].receptive_field, got["l"].receptive_field) == ([1], [5], None)


def test_receptive_field_inside_time_distributed_and_einsum() -> None:
    spec = {
        "input": [5, 16, 16, 3],
        "layers": [
            {"TimeDistributed": {"name": "td", "layer": {"Conv2D": {"filters": 2, "kernel_size": 3}}}}
        ],
    }
    assert costs_of(spec)["td"].receptive_field == [3, 3]  # each frame's own 3x3 window
    sequence = {
        "input": [20, 6],
        "layers": [
            {"Conv1D": {"name": "c", "filters": 8, "kernel_size": 3}},
            {"EinsumDense": {"name": "e", "equation": "abc,cd->abd", "output_shape": [18, 4]}},
        ],
    }
    assert costs_of(sequence)["e"].receptive_field == [3]  # the steps axis b is carried
