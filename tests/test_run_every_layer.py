"""--run over every layer type with a kernel: Keras's weights and inputs in, Keras's outputs out.

Every registered layer type (aliases aside) that has a kernel has a table here: the arguments
that change its computation, each with a few choices, and input shapes and data it accepts.
Each type gets a few seeded draws of argument combinations; each draw becomes a small spec
(the layer on its input, sometimes after a Dense or Conv2D so that it does not read the raw
input, sometimes followed by a layer its mask affects; several inputs in a functional graph for
merges and attention). run_check builds the spec in Keras, exports Keras's weights, runs
``shapecalc summary --run --weights --input --save-outputs`` and compares every layer's output
and run shape with Keras's. Draws Keras refuses are skipped, but every type needs an accepted one.
Types that cannot be a model layer of their own are run inside the wrapper that takes them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from oracle import Refusal, keras_model_facts
from run_check import assert_run_matches_keras
from typer.testing import CliRunner

from shapecalc.cli import app
from shapecalc.layers import registry

Entry = dict[str, Any]
Shape = list[int | None]
OMIT = object()  # a choice that leaves the argument at Keras's default
DRAWS = 5  # seeded draws per layer type
BATCH = 2


@dataclass(frozen=True)
class Table:
    """How to draw one layer type.

    ``args``: argument -> choices (a key starting with "*" draws a dict of several arguments
    that go together; a drawn "_shapes" entry overrides ``shapes``). ``shapes``: input shapes
    without the batch axis, or, for ``multi`` tables, tuples of shapes (one per input tensor).
    ``data``: "normal", "image" (0..255 floats) or "ids" (ints below ``bound``, zeros included),
    or a function of (args, batch shape, rng). ``pre``: layers that may feed it instead of the
    raw input ("Dense" and "Conv2D" keep the shape). ``post``: layers that may follow it.
    ``wrap``: puts the drawn entry inside the wrapper that runs it (cells; Equalization)."""

    args: dict[str, list[Any]] = field(default_factory=dict)
    shapes: list[Any] = field(default_factory=lambda: [[4, 3]])
    data: str | Callable[[dict[str, Any], tuple[int, ...], np.random.Generator], np.ndarray] = "normal"
    bound: int = 10
    dtype: str = "float32"
    pre: tuple[str, ...] = ("", "Dense")
    post: tuple[Entry | None, ...] = (None,)
    multi: bool = False
    wrap: Callable[[random.Random, Entry], Entry] | None = None
    draws: int = DRAWS


# ----------------------------------------------------------------------------- argument choices
def conv(rank: int, transpose: bool = False, causal: bool = False) -> dict[str, list[Any]]:
    args: dict[str, list[Any]] = {
        "filters": [2, 4],
        "kernel_size": [1, 2, 3, [2, 3, 1][:rank]],
        "strides": [OMIT, OMIT, 2, [1, 2, 2][:rank]],
        "padding": ["valid", "same", *(["causal"] if causal else [])],
        "data_format": [OMIT, OMIT, "channels_first"],
        "use_bias": [True, False],
        "activation": [None, "relu", "tanh"],
    }
    if transpose:
        args["output_padding"] = [OMIT, OMIT, 1]
    else:
        args["dilation_rate"] = [OMIT, OMIT, 2]
        args["groups"] = [OMIT, OMIT, 2]
    return args


def pool(rank: int) -> dict[str, list[Any]]:
    return {
        "pool_size": [2, 3, [1, 2, 3][:rank]],
        "strides": [OMIT, 1, 2],
        "padding": ["valid", "same"],
        "data_format": [OMIT, "channels_first"],
    }


def depthwise(separable: bool) -> dict[str, list[Any]]:
    args: dict[str, list[Any]] = {
        "kernel_size": [1, 2, 3],
        "depth_multiplier": [1, 2],
        "strides": [OMIT, 2],
        "padding": ["valid", "same"],
        "dilation_rate": [OMIT, OMIT, 2],
        "data_format": [OMIT, "channels_first"],
        "use_bias": [True, False],
        "activation": [None, "relu"],
    }
    if separable:
        args["filters"] = [2, 3]
    return args


FORMAT = {"data_format": [OMIT, "channels_first"]}
SPATIAL = {1: [[6, 3], [7, 2]], 2: [[6, 5, 3], [5, 7, 2]], 3: [[4, 5, 4, 2], [5, 4, 3, 3]]}
IMAGES = [[9, 10, 3], [6, 7, 3]]
RNN_ARGS = {
    "units": [2, 3],
    "return_sequences": [False, True],
    "return_state": [False, False, True],
    "go_backwards": [False, True],
    "use_bias": [True, False],
    "unroll": [False, False, True],
}
SEQUENCES = [[5, 3], [None, 2], [4, 1]]
CONV_LSTM = {
    "filters": [2, 3],
    "kernel_size": [1, 2, 3],
    "strides": [OMIT, OMIT, 2],
    "padding": ["valid", "same"],
    "dilation_rate": [OMIT, OMIT, 2],
    "data_format": [OMIT, OMIT, "channels_first"],
    "return_sequences": [False, True],
    "return_state": [False, False, True],
    "go_backwards": [False, True],
}
CELLS = {
    "SimpleRNNCell": {"units": [2, 3], "use_bias": [True, False], "activation": [OMIT, "relu"]},
    "GRUCell": {"units": [2, 3], "reset_after": [True, False], "use_bias": [True, False]},
    "LSTMCell": {"units": [2, 3], "unit_forget_bias": [True, False], "use_bias": [True, False]},
}
RNN_WRAP_ARGS = {"return_sequences": [False, True], "go_backwards": [False, True], "unroll": [False, True]}


def _draw_args(r: random.Random, choices: dict[str, list[Any]]) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for name, options in choices.items():
        value = r.choice(options)
        if value is OMIT:
            continue
        if name.startswith("*"):
            args.update(value)
        else:
            args[name] = value
    return args


def _cell(r: random.Random) -> Entry:
    kind = r.choice(sorted(CELLS))
    return {kind: _draw_args(r, CELLS[kind])}


def in_rnn(r: random.Random, entry: Entry) -> Entry:
    return {"RNN": {"cell": entry, **_draw_args(r, RNN_WRAP_ARGS)}}


def in_steps(r: random.Random, entry: Entry) -> Entry:
    return {"TimeDistributed": {"layer": entry}}


def masked_steps(args: dict[str, Any], shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Every third step (and the whole last batch item) equal to the mask value."""
    x = rng.standard_normal(shape).astype("float32")
    x[:, ::3] = args.get("mask_value", 0.0)
    x[-1] = args.get("mask_value", 0.0)
    return x


MERGE_SHAPES = [([4, 3], [4, 3]), ([4, 3], [4, 3], [4, 3]), ([3], [1]), ([2, 3], [1, 3])]
ATTENTION_SHAPES = [([3, 4], [5, 4]), ([3, 4], [5, 4], [5, 4]), ([None, 4], [None, 4])]
NORMALIZATION_CHOICES = [
    {},  # statistics from the weights (mean, variance, count)
    {"axis": None},
    {"axis": [1, 2]},
    {"axis": 1},
    {"mean": [1.0, 2.0, -1.0], "variance": [1.0, 4.0, 0.5]},
    {"mean": 0.5, "variance": 2.0},
]

TABLES: dict[str, Table] = {
    # ------------------------------------------------------------------------- core
    "Dense": Table(
        {
            "units": [1, 3],
            "activation": [None, "relu", "softmax"],
            "use_bias": [True, False],
            "lora_rank": [OMIT, OMIT, 2],
        },
        [[5], [3, 4], [2, 3, 4]],
    ),
    "EinsumDense": Table(
        {
            "*": [
                {"equation": "ab,bc->ac", "output_shape": 3, "bias_axes": "c"},
                {"equation": "abc,cd->abd", "output_shape": [None, 2]},
                {"equation": "abc,cde->abde", "output_shape": [None, 2, 3], "bias_axes": "de"},
                {"equation": "...b,bc->...c", "output_shape": 4, "bias_axes": "c"},
                {"equation": "abc,bcd->ad", "output_shape": 2},
            ],
            "activation": [None, "relu"],
            "lora_rank": [OMIT, OMIT, 2],
        },
        [[4, 3]],
        pre=("",),
    ),
    "Embedding": Table(
        {"input_dim": [10], "output_dim": [2, 3], "mask_zero": [False, True], "lora_rank": [OMIT, 2]},
        [[5], [None], [2, 3]],
        data="ids",
        dtype="int32",
        pre=("",),
        post=(None, {"LSTM": {"units": 2}}),
    ),
    "ReversibleEmbedding": Table(
        {
            "input_dim": [9],
            "output_dim": [3, 4],
            "tie_weights": [True, False],
            "mask_zero": [False, True],
            "logit_soft_cap": [OMIT, 5.0],
        },
        [[5], [2, 3]],
        data="ids",
        bound=9,
        dtype="int32",
        pre=("",),
    ),
    "Identity": Table({}, [[4, 3], [5]]),
    "Masking": Table(
        {"mask_value": [0.0, 1.5]},
        [[6, 3]],
        data=masked_steps,
        post=(None, {"SimpleRNN": {"units": 2}}, {"GRU": {"units": 2, "return_sequences": True}}),
    ),
    # ------------------------------------------------------------------------- activations
    "Activation": Table(
        {
            "activation": [
                "relu",
                "gelu",
                "softmax",
                "tanh",
                "sigmoid",
                "swish",
                "elu",
                "selu",
                "softplus",
                "softsign",
                "hard_sigmoid",
                "log_softmax",
                "linear",
                "leaky_relu",
                "relu6",
                "mish",
                "exponential",
                "hard_silu",
                "celu",
                "glu",
                "squareplus",
                "sparse_plus",
            ]
        },
        [[4, 6], [6]],
        draws=8,
    ),
    "ELU": Table({"alpha": [1.0, 0.5, 2.0]}),
    "LeakyReLU": Table({"negative_slope": [0.3, 0.1, 0.0, 2.0]}),
    "PReLU": Table({"shared_axes": [None, [1], [1, 2]]}, [[3, 4, 2], [4, 3]]),
    "ReLU": Table({"max_value": [None, 1.0, 6], "negative_slope": [0.0, 0.1], "threshold": [0.0, 0.5]}),
    "Softmax": Table({"axis": [-1, 1, [1, 2]]}, [[3, 4], [2, 3, 4]]),
    # ------------------------------------------------------------------------- regularization
    "ActivityRegularization": Table({"l1": [0.0, 0.01], "l2": [0.0, 0.1]}),
    "Dropout": Table({"rate": [0.0, 0.5], "noise_shape": [None, [None, 1, 3]]}),
    "AlphaDropout": Table({"rate": [0.0, 0.5]}),
    "GaussianDropout": Table({"rate": [0.0, 0.5]}),
    "GaussianNoise": Table({"stddev": [0.1, 1.0]}),
    "SpatialDropout1D": Table({"rate": [0.0, 0.5]}, SPATIAL[1]),
    "SpatialDropout2D": Table({"rate": [0.0, 0.5], **FORMAT}, SPATIAL[2]),
    "SpatialDropout3D": Table({"rate": [0.0, 0.5], **FORMAT}, SPATIAL[3]),
    # ------------------------------------------------------------------------- reshaping
    "Flatten": Table(FORMAT, [[3, 4, 2], [4, 3], [5]]),
    "Permute": Table({"dims": [[2, 1, 3], [3, 1, 2], [1, 3, 2]]}, [[2, 3, 4]]),
    "RepeatVector": Table({"n": [1, 3]}, [[4], [1]]),
    "Reshape": Table({"target_shape": [[12], [3, 4], [-1, 2], [2, -1, 3], [2, 2, 3]]}, [[4, 3]]),
    "Cropping1D": Table({"cropping": [1, [0, 2], [2, 1]]}, SPATIAL[1]),
    "Cropping2D": Table({"cropping": [1, [1, 2], [[1, 0], [0, 2]]], **FORMAT}, SPATIAL[2]),
    "Cropping3D": Table({"cropping": [1, [1, 0, 1], [[1, 0], [0, 1], [1, 1]]], **FORMAT}, SPATIAL[3]),
    "UpSampling1D": Table({"size": [2, 3]}, SPATIAL[1]),
    "UpSampling2D": Table(
        {"size": [2, [2, 3]], "interpolation": ["nearest", "bilinear", "bicubic", "lanczos3"], **FORMAT},
        SPATIAL[2],
    ),
    "UpSampling3D": Table({"size": [2, [1, 2, 3]], **FORMAT}, SPATIAL[3]),
    "ZeroPadding1D": Table({"padding": [1, [0, 2], [2, 1]]}, SPATIAL[1]),
    "ZeroPadding2D": Table({"padding": [1, [1, 2], [[1, 0], [0, 2]]], **FORMAT}, SPATIAL[2]),
    "ZeroPadding3D": Table({"padding": [1, [1, 0, 2], [[1, 0], [0, 1], [2, 1]]], **FORMAT}, SPATIAL[3]),
    # ------------------------------------------------------------------------- convolution
    "Conv1D": Table(conv(1, causal=True), SPATIAL[1], draws=8),
    "Conv2D": Table(conv(2), SPATIAL[2], pre=("", "Conv2D"), draws=8),
    "Conv3D": Table(conv(3), SPATIAL[3], draws=8),
    "Conv1DTranspose": Table(conv(1, transpose=True), SPATIAL[1], draws=8),
    "Conv2DTranspose": Table(conv(2, transpose=True), SPATIAL[2], pre=("", "Conv2D"), draws=8),
    "Conv3DTranspose": Table(conv(3, transpose=True), SPATIAL[3], draws=8),
    "DepthwiseConv1D": Table(depthwise(False), SPATIAL[1], draws=8),
    "DepthwiseConv2D": Table(depthwise(False), SPATIAL[2], pre=("", "Conv2D"), draws=8),
    "SeparableConv1D": Table(depthwise(True), SPATIAL[1], draws=8),
    "SeparableConv2D": Table(depthwise(True), SPATIAL[2], pre=("", "Conv2D"), draws=8),
    # ------------------------------------------------------------------------- pooling
    **{f"{kind}Pooling{n}D": Table(pool(n), SPATIAL[n]) for kind in ("Max", "Average") for n in (1, 2, 3)},
    **{
        f"Global{kind}Pooling{n}D": Table({"keepdims": [False, True], **FORMAT}, SPATIAL[n])
        for kind in ("Max", "Average")
        for n in (1, 2, 3)
    },
    **{
        f"Adaptive{kind}Pooling{n}D": Table({"output_size": [1, 2, 3, [3, 2, 1][:n]], **FORMAT}, SPATIAL[n])
        for kind in ("Max", "Average")
        for n in (1, 2, 3)
    },
    # ------------------------------------------------------------------------- normalization
    "BatchNormalization": Table(
        {"axis": [-1, 1], "center": [True, False], "scale": [True, False], "epsilon": [1e-3, 0.5]},
        [[4, 3], [3, 4, 2]],
    ),
    "LayerNormalization": Table(
        {"axis": [-1, [1, 2], 1], "center": [True, False], "scale": [True, False], "epsilon": [1e-3, 0.5]},
        [[4, 3], [3, 4, 2]],
    ),
    "GroupNormalization": Table(
        {"groups": [1, 2, 4, -1], "axis": [-1, 1], "center": [True, False], "scale": [True, False]},
        [[3, 4], [4, 2, 4]],
    ),
    "RMSNormalization": Table({"axis": [-1, [1, 2]], "epsilon": [1e-6, 0.5]}, [[4, 3], [3, 4, 2]]),
    "UnitNormalization": Table({"axis": [-1, 1, [1, 2]]}, [[4, 3], [3, 4, 2]]),
    "SpectralNormalization": Table(
        {
            "layer": [
                {"Dense": {"units": 3}},
                {"Dense": {"units": 2, "activation": "relu", "use_bias": False}},
                {"Conv1D": {"filters": 2, "kernel_size": 2}},
                {"EinsumDense": {"equation": "abc,cd->abd", "output_shape": [None, 2], "bias_axes": "d"}},
            ],
            "power_iterations": [1, 3],
        },
        [[4, 3]],
    ),
    # ------------------------------------------------------------------------- merging
    **{
        name: Table({}, MERGE_SHAPES, multi=True)
        for name in ("Add", "Multiply", "Average", "Maximum", "Minimum")
    },
    "Subtract": Table({}, MERGE_SHAPES[:1] + MERGE_SHAPES[2:], multi=True),
    "Concatenate": Table(
        {"axis": [-1, 1, 2]}, [([4, 3], [4, 2]), ([4, 3], [2, 3], [1, 3]), ([2, 3], [2, 3])], multi=True
    ),
    "Dot": Table(
        {
            "*": [
                {"axes": -1, "_shapes": ([3, 4], [5, 4])},
                {"axes": 1, "_shapes": ([3, 4], [3, 2])},
                {"axes": [2, 1], "_shapes": ([3, 4], [4, 2])},
                {"axes": [1, 2], "_shapes": ([3, 4], [2, 3])},
                {"axes": [2, 2], "_shapes": ([3, 4], [3, 4])},
                {"axes": 1, "_shapes": ([4], [4])},
            ],
            "normalize": [False, True],
        },
        multi=True,
        draws=8,
    ),
    # ------------------------------------------------------------------------- attention
    "Attention": Table(
        {"use_scale": [False, True], "score_mode": ["dot", "concat"], "dropout": [0.0, 0.3]},
        ATTENTION_SHAPES,
        multi=True,
    ),
    "AdditiveAttention": Table(
        {"use_scale": [False, True], "dropout": [0.0, 0.3]}, ATTENTION_SHAPES, multi=True
    ),
    "MultiHeadAttention": Table(
        {
            "num_heads": [1, 2],
            "key_dim": [2, 3],
            "value_dim": [None, 3],
            "output_shape": [None, None, 5, [2, 3]],
            "use_bias": [True, False],
            "dropout": [0.0, 0.0, 0.3],
            "use_gate": [OMIT, True],
            "attention_axes": [OMIT, OMIT, [1]],
        },
        ATTENTION_SHAPES,
        multi=True,
        draws=8,
    ),
    "GroupQueryAttention": Table(
        {
            "head_dim": [2, 3],
            "num_query_heads": [2, 4],
            "num_key_value_heads": [1, 2],
            "use_bias": [True, False],
            "dropout": [0.0, 0.0, 0.3],
            "use_gate": [OMIT, True],
        },
        ATTENTION_SHAPES,
        multi=True,
        draws=8,
    ),
    # ------------------------------------------------------------------------- recurrent
    "SimpleRNN": Table({**RNN_ARGS, "activation": [OMIT, "relu"]}, SEQUENCES, draws=8),
    "GRU": Table({**RNN_ARGS, "reset_after": [True, False]}, SEQUENCES, draws=8),
    "LSTM": Table({**RNN_ARGS, "unit_forget_bias": [True, False]}, SEQUENCES, draws=8),
    "ConvLSTM1D": Table(CONV_LSTM, [[3, 6, 2], [2, 5, 3]], pre=("",), draws=8),
    "ConvLSTM2D": Table(CONV_LSTM, [[3, 5, 5, 2], [2, 4, 6, 1]], pre=("",), draws=8),
    "ConvLSTM3D": Table(CONV_LSTM, [[2, 4, 3, 4, 2]], pre=("",), draws=8),
    "RNN": Table(
        {
            "cell": [_cell(random.Random(k)) for k in range(3)]
            + [[_cell(random.Random(k)), _cell(random.Random(k + 10))] for k in range(2)],
            **RNN_WRAP_ARGS,
            "return_state": [False, True],
        },
        SEQUENCES,
        draws=8,
    ),
    **{name: Table(CELLS[name], SEQUENCES, wrap=in_rnn) for name in CELLS},
    "StackedRNNCells": Table(
        {"cells": [[_cell(random.Random(k)), _cell(random.Random(k + 20))] for k in range(4)]},
        SEQUENCES,
        wrap=in_rnn,
    ),
    "Bidirectional": Table(
        {
            "layer": [
                {"LSTM": {"units": 2, "return_sequences": True}},
                {"GRU": {"units": 3, "reset_after": False}},
                {"SimpleRNN": {"units": 2, "return_state": True}},
                {"LSTM": {"units": 2, "return_sequences": True, "return_state": True}},
            ],
            "merge_mode": ["concat", "sum", "ave", "mul", None],
        },
        SEQUENCES,
        draws=8,
    ),
    "TimeDistributed": Table(
        {
            "layer": [
                {"Dense": {"units": 3}},
                {"Conv1D": {"filters": 2, "kernel_size": 2}},
                {"BatchNormalization": {}},
                {"MaxPooling1D": {"pool_size": 2}},
                {"Flatten": {}},
            ]
        },
        [[3, 4, 2], [2, 5, 3]],
        draws=8,
    ),
    # ------------------------------------------------------------------------- preprocessing
    "Normalization": Table({"*": NORMALIZATION_CHOICES, "invert": [False, True]}, [[2, 3]], draws=8),
    "Rescaling": Table(
        {"scale": [1 / 255, 2.0, [1.0, 2.0, 3.0]], "offset": [0.0, -1.0, [0.5, 0.0, 1.0]]},
        IMAGES,
        data="image",
    ),
    "Resizing": Table(
        {
            "height": [4, 6],
            "width": [3, 8],
            "interpolation": ["bilinear", "nearest", "bicubic", "lanczos3"],
            "*": [{}, {"crop_to_aspect_ratio": True}, {"pad_to_aspect_ratio": True, "fill_value": 2.0}],
            "antialias": [False, True],
            **FORMAT,
        },
        IMAGES,
        data="image",
        pre=("", "Conv2D"),
        draws=8,
    ),
    "CenterCrop": Table({"height": [2, 5, 8], "width": [3, 7, 12], **FORMAT}, IMAGES, data="image"),
    "CategoryEncoding": Table(
        {"num_tokens": [6, 8], "output_mode": ["one_hot", "multi_hot", "count"]},
        [[4], [3, 1], [1]],
        data="ids",
        bound=6,
        dtype="int32",
        pre=("",),
        draws=8,
    ),
    "Discretization": Table(
        {
            "bin_boundaries": [[0.0, 1.0, 2.0], [-0.5, 0.1, 0.3], [0.1]],
            "output_mode": ["int", "one_hot", "multi_hot", "count"],
        },
        [[4], [3, 1], [5]],
        draws=8,
    ),
    "MelSpectrogram": Table(
        {
            "fft_length": [32, 64],
            "sequence_stride": [16, 7],
            "num_mel_bins": [8, 12],
            "sampling_rate": [8000, 16000],
            "power_to_db": [True, False],
            "window": [OMIT, "hamming", None],
            "sequence_length": [OMIT, 30],
        },
        [[120], [96]],
    ),
    "STFTSpectrogram": Table(
        {
            "mode": ["log", "magnitude", "psd", "real", "imag", "angle", "stft"],
            "frame_length": [8, 16],
            "frame_step": [OMIT, 5],
            "padding": ["valid", "same"],
            "expand_dims": [False, True],
            "window": [OMIT, "hamming", None],
            **FORMAT,
        },
        [[40, 2], [2, 33]],
        draws=8,
    ),
    # ------------------------------------------------------------------------- image augmentation
    "AutoContrast": Table({"value_range": [[0, 255], [0, 1]], **FORMAT}, IMAGES, data="image"),
    "ContrastLimitedAdaptiveHistogramEqualization": Table(
        {"tile_grid_size": [[2, 2], [3, 2], [8, 8]], "clip_limit": [0.0, 2.0, 4.0], **FORMAT},
        IMAGES,
        data="image",
    ),
    # Keras cannot build a model around a direct call (test_layers_augmentation.py): over steps
    "Equalization": Table(
        {"bins": [OMIT, 16], **FORMAT},
        [[2, *shape] for shape in IMAGES],
        data="image",
        pre=("",),
        wrap=in_steps,
    ),
    "Solarization": Table(
        {"addition_factor": [0.0, 0.5], "threshold_factor": [0.0, 0.5], **FORMAT}, IMAGES, data="image"
    ),
    "RandomCrop": Table({"height": [4, 9], "width": [5, 3], **FORMAT}, IMAGES, data="image"),
}

# The random augmentations: identity at inference, with their arguments drawn all the same.
AUGMENTATIONS: dict[str, dict[str, list[Any]]] = {
    "RandomFlip": {"mode": ["horizontal", "vertical", "horizontal_and_vertical"]},
    "RandomRotation": {"factor": [0.2, [-0.5, 0.1]], "fill_mode": ["reflect", "constant"]},
    "RandomZoom": {"height_factor": [0.2, [-0.3, 0.2]], "width_factor": [None, 0.1]},
    "RandomTranslation": {"height_factor": [0.2], "width_factor": [0.1, [-0.2, 0.3]]},
    "RandomShear": {"x_factor": [0.0, 0.3], "y_factor": [0.0, 0.2]},
    "RandomPerspective": {"scale": [0.5, 1.0]},
    "RandomElasticTransform": {"factor": [1.0, 0.5], "scale": [1.0, 0.5]},
    "RandomErasing": {"fill_value": [None, 3.0]},
    "CutMix": {"factor": [1.0, 0.5]},
    "MixUp": {"alpha": [0.2, 1.0]},
    "MaxNumBoundingBoxes": {"max_number": [1, 3]},
    "RandomContrast": {"factor": [0.5, [0.1, 0.3]]},
    "RandomBrightness": {"factor": [0.5, [-0.2, 0.4]]},
    "RandomHue": {"factor": [0.5, 1.0]},
    "RandomSaturation": {"factor": [0.5, 1.0]},
    "RandomSharpness": {"factor": [0.5, 1.0]},
    "RandomGrayscale": {"factor": [0.5, 1.0]},
    "RandomInvert": {"factor": [0.5, 1.0]},
    "RandomPosterization": {"factor": [[1, 8], [2, 4]]},
    "RandomColorDegeneration": {"factor": [0.5, 1.0]},
    "RandomColorJitter": {
        "brightness_factor": [None, 0.2],
        "contrast_factor": [None, 0.3],
        "hue_factor": [None, 0.1],
    },
    "RandomGaussianBlur": {"kernel_size": [3, 5], "sigma": [1.0, 0.5]},
    "AugMix": {"num_chains": [1, 3]},
    "RandAugment": {"num_ops": [1, 3]},
}
NO_FORMAT = {"MaxNumBoundingBoxes", "RandomColorJitter", "CutMix", "MixUp"}
for _name, _args in AUGMENTATIONS.items():
    TABLES[_name] = Table(
        {**_args, **({} if _name in NO_FORMAT else FORMAT)}, IMAGES, data="image", pre=("", "Conv2D")
    )

# ----------------------------------------------------------------------------- keras.applications' own
TABLES["LayerScale"] = Table(
    {"init_values": [0.5, 1e-6, -2.0], "projection_dim": [3]}, [[4, 3], [2, 3], [3, 1]]
)
TABLES["StochasticDepth"] = Table({"drop_path_rate": [0.0, 0.5]}, [[4, 3], [2, 3, 4]])
TABLES["CustomScaleLayer"] = Table(
    {"scale": [0.17, 1.0, -0.5]}, [([4, 3], [4, 3]), ([2, 3, 4], [2, 3, 4]), ([4, 3], [4, 1])], multi=True
)

# Types that cannot be a model layer called on a tensor; each is run inside its wrapper (wrap=).
EXCLUDED = {
    "SimpleRNNCell": "a cell is called with (inputs, states), one step at a time: run inside RNN",
    "GRUCell": "a cell is called with (inputs, states), one step at a time: run inside RNN",
    "LSTMCell": "a cell is called with (inputs, states), one step at a time: run inside RNN",
    "StackedRNNCells": "a stack of cells is called with (inputs, states): run inside RNN",
}


def kernel_layer_types() -> set[str]:
    """Every spec-usable type with a kernel, one name per class (Keras's aliases left out)."""
    aliases = registry.aliases()
    types = registry.all_layer_types()
    # GroupQueryAttention is the only name keras.layers exports for its class: keep it.
    # keras.ops calls are nodes of functional models, not layers: tests/test_operations.py
    # checks them in random models against Keras (rows, summary text and --run outputs)
    return {
        name
        for name, cls in types.items()
        if (name not in aliases or cls.type_name() not in types) and cls.has_kernel() and not cls.is_operation
    }


# ----------------------------------------------------------------------------- specs and data
def _data(table: Table, args: dict[str, Any], shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if callable(table.data):
        return table.data(args, shape, rng)
    if table.data == "ids":
        x = rng.integers(0, table.bound, shape)
        x[rng.random(shape) < 0.3] = 0
        return x.astype(table.dtype)
    if table.data == "image":
        return rng.uniform(0, 255, shape).astype(table.dtype)
    return rng.standard_normal(shape).astype(table.dtype)


def _concrete(shape: Shape) -> tuple[int, ...]:
    return (BATCH, *(5 if d is None else d for d in shape))


def _pre(kind: str, shape: Shape, name: str | None = None) -> Entry:
    named = {"name": name} if name else {}
    if kind == "Conv2D" and len(shape) == 3:
        return {"Conv2D": {"filters": shape[-1], "kernel_size": 3, "padding": "same", **named}}
    return {"Dense": {"units": shape[-1], **named}}  # keeps the shape on any rank


def draw(type_name: str, seed: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The spec and its inputs for one seeded draw of a type's table."""
    table = TABLES[type_name]
    r = random.Random(f"{type_name}/{seed}")
    args = _draw_args(r, table.args)
    entry: Entry = {type_name: args}
    if table.wrap is not None:
        entry = table.wrap(r, entry)
    shapes = args.pop("_shapes") if "_shapes" in args else r.choice(table.shapes)
    pre = r.choice(table.pre)
    rng = np.random.default_rng(seed)
    if not table.multi:
        layers = [_pre(pre, shapes)] if pre else []
        post = r.choice(table.post)
        layers += [entry] + ([post] if post else [])
        declared = {"shape": shapes, "dtype": table.dtype} if table.dtype != "float32" else shapes
        spec = {"input": declared, "layers": layers}
        return spec, {"input_layer": _data(table, args, _concrete(shapes), rng)}
    names = ["query", "value", "key"] if "Attention" in type_name else ["a", "b", "c"]
    names = names[: len(shapes)]
    spec_inputs = dict(zip(names, shapes, strict=True))
    layers = []
    refs = list(names)
    if pre:  # the first input goes through a Dense first
        ((pre_kind, pre_args),) = _pre(pre, shapes[0], "pre").items()
        layers.append({pre_kind: {**pre_args, "inputs": names[0]}})
        refs[0] = "pre"
    ((kind, inner),) = entry.items()
    layers.append({kind: {**inner, "inputs": refs}})
    spec = {"inputs": spec_inputs, "layers": layers}
    return spec, {name: _data(table, args, _concrete(s), rng) for name, s in zip(names, shapes, strict=True)}


# ----------------------------------------------------------------------------- the tests
def test_every_layer_type_with_a_kernel_has_a_table() -> None:
    types = kernel_layer_types()
    assert not types - set(TABLES), f"layer types without a table here: {sorted(types - set(TABLES))}"
    assert not set(TABLES) - types, f"tables for unknown types: {sorted(set(TABLES) - types)}"
    # an excluded type runs inside its wrapper
    assert all(TABLES[name].wrap is not None for name in EXCLUDED)


@pytest.mark.parametrize("type_name", sorted(TABLES))
def test_run_matches_keras(type_name: str, tmp_path: Path) -> None:
    accepted = 0
    failures, refusals = [], []
    for seed in range(TABLES[type_name].draws):
        spec, inputs = draw(type_name, seed)
        facts = keras_model_facts(spec)
        if isinstance(facts, Refusal):
            refusals.append((spec, facts.message))
            continue  # Keras refuses this combination; the static tests check shapecalc does too
        accepted += 1
        folder = tmp_path / f"draw{seed}"
        folder.mkdir()
        path = folder / "spec.yaml"
        text = yaml.safe_dump(spec, sort_keys=False)
        path.write_text(text)
        try:
            assert_run_matches_keras(path, spec, inputs, folder)
        except Exception as err:  # collect every draw's failure, not just the first
            failures.append(f"draw {seed}:\n{text}{type(err).__name__}: {err}")
    assert not failures, "\n\n".join(failures)
    if not accepted:
        spec, message = refusals[0]
        path = tmp_path / "refused.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        verdict = CliRunner().invoke(app, ["summary", str(path)]).exit_code
        raise AssertionError(
            f"Keras refused every draw of {type_name} (shapecalc's static summary exits {verdict} "
            f"on the first):\n{yaml.safe_dump(spec, sort_keys=False)}{message.splitlines()[0]}"
        )
