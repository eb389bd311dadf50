"""CategoryEncoding, Discretization, MelSpectrogram, STFTSpectrogram, ReversibleEmbedding and
SpectralNormalization against Keras (numpy backend): shapes, weights, refusals."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_check import assert_same_as_keras
from model_check import assert_model_same_as_keras

from shapecalc.layers import registry

check = assert_same_as_keras


ENCODING_SHAPES = [
    (),
    (None,),
    (1,),
    (7,),
    (None, 1),
    (None, 3),
    (None, None),
    (2, 3, 1),
    (2, 3, 5),
    (None, 0),
]


# ----------------------------------------------------------------------------- CategoryEncoding
@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count", "binary", "ONE_HOT", None])
@pytest.mark.parametrize("shape", ENCODING_SHAPES)
def test_category_encoding_modes(mode: Any, shape: tuple) -> None:
    check("CategoryEncoding", {"num_tokens": 4, "output_mode": mode}, [shape])


@pytest.mark.parametrize("num_tokens", [1, 9, True, False, 0, -2, 2.5, 3.0, "3", None, [3]])
def test_category_encoding_num_tokens(num_tokens: Any) -> None:
    for mode in ("one_hot", "count"):
        check("CategoryEncoding", {"num_tokens": num_tokens, "output_mode": mode}, [(None, 3)])


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"num_tokens": 3, "sparse": True},
        {"num_tokens": 3, "sparse": "yes"},
        {"num_tokens": 3, "dtype": "int32"},
        {"num_tokens": 3, "trainable": False, "name": "enc"},
        {"num_tokens": 3, "count_weights": 1},
    ],
)
def test_category_encoding_other_arguments(args: dict) -> None:
    check("CategoryEncoding", args, [(None, 3)])


def test_category_encoding_integer_input() -> None:
    check("CategoryEncoding", {"num_tokens": 5, "output_mode": "one_hot"}, [(None, 2)], ["int32"])


# ----------------------------------------------------------------------------- Discretization
BOUNDARIES = [[0.0, 1.0], [], [3, 1, 2], "ab", {"a": 1}, [[1, 2]], 5, 0]
DISCRETIZATION_SHAPES = [(), (None,), (1,), (None, 1), (None, 3), (None, 3, 5), (2, None, 1, 4)]


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("boundaries", BOUNDARIES)
def test_discretization_boundaries(mode: str, boundaries: Any) -> None:
    for shape in DISCRETIZATION_SHAPES:
        check("Discretization", {"bin_boundaries": boundaries, "output_mode": mode}, [shape])


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("num_bins", [4, 0, 1, True, 2.5, 2.0, -1, "3", [2]])
def test_discretization_num_bins_without_adapt(mode: str, num_bins: Any) -> None:
    # Keras needs adapt() before data, but its symbolic shape uses num_bins already.
    for shape in [(None, 3), (None, 1), (None,), (2, 3, 4)]:
        check("Discretization", {"num_bins": num_bins, "output_mode": mode}, [shape])


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"num_bins": None, "bin_boundaries": None},
        {"num_bins": 3, "bin_boundaries": [1.0]},
        {"num_bins": 0, "bin_boundaries": []},
        {"bin_boundaries": [1.0], "output_mode": "binary"},
        {"bin_boundaries": [1.0], "output_mode": "ONE_HOT"},
        {"bin_boundaries": [1.0], "sparse": True, "output_mode": "count"},
        {"bin_boundaries": [1.0], "sparse": 1},
        {"bin_boundaries": [1.0], "sparse": 0},
        {"bin_boundaries": [1.0], "epsilon": "anything"},
        {"bin_boundaries": [1.0], "dtype": "int32", "name": "disc"},
        {"bin_boundaries": [1.0], "trainable": False},
        {"bin_boundaries": [1.0], "autocast": False},
        {"bin_boundaries": [1.0], "input_shape": [3]},
        {"bin_boundaries": [1.0], "activity_regularizer": "l2"},
    ],
)
def test_discretization_arguments(args: dict) -> None:
    check("Discretization", args, [(None, 3)])


# ----------------------------------------------------------------------------- MelSpectrogram
MEL_SHAPES = [(), (None,), (16000,), (None, 16000), (None, None), (2, 100, 3), (4, 0), (3, 1000, None)]


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"sequence_stride": 160, "num_mel_bins": 80, "fft_length": 400},
        {"sequence_stride": 1, "num_mel_bins": 1},
        {"sequence_stride": 3, "sequence_length": 256, "fft_length": 512},
        {"sequence_stride": True, "num_mel_bins": True},
        {"num_mel_bins": 0},
        {"num_mel_bins": None},
        {"num_mel_bins": -2},
        {"num_mel_bins": 2.0},
        {"num_mel_bins": "8"},
        {"sequence_stride": 0},
        {"sequence_stride": -3},
        {"sequence_stride": -200},
        {"sequence_stride": 2.5},
        {"sequence_stride": "4"},
        {"sequence_stride": None},
    ],
)
def test_mel_spectrogram_shapes(args: dict) -> None:
    for shape in MEL_SHAPES:
        check("MelSpectrogram", args, [shape])


@pytest.mark.parametrize(
    "args",
    [
        {"fft_length": 256, "sequence_length": 512},
        {"fft_length": 512, "sequence_length": 512},
        {"fft_length": None},
        {"fft_length": "a"},
        {"fft_length": "a", "sequence_length": 3},
        {"fft_length": [4]},
        {"fft_length": 3.5, "sequence_length": 2},
        {"sequence_length": 0},
        {"sequence_length": 0, "fft_length": 0},
        {"sampling_rate": None},
        {"sampling_rate": None, "max_freq": 4000},
        {"sampling_rate": "x"},
        {"sampling_rate": 22050, "max_freq": 0},
        {"window": "foo", "min_freq": "x", "power_to_db": "maybe", "top_db": None, "mag_exp": 1.0},
        {"min_power": 1e-5, "ref_power": 2.0, "max_freq": 5},
        {"trainable": False, "dtype": "float16", "name": "mel"},
        {"sequence_strides": 4},
    ],
)
def test_mel_spectrogram_arguments(args: dict) -> None:
    check("MelSpectrogram", args, [(None, 1000)])


def test_mel_spectrogram_frames_by_hand() -> None:
    # frames = (16000 + 512 + 1) // 512 = 32, mel axis 128 (defaults)
    assert check("MelSpectrogram", {}, [(None, 16000)]).output == (None, 128, 32)


@pytest.mark.parametrize("dtype", ["int32", "bool", "string", "float16"])
def test_mel_spectrogram_input_dtype_unchecked(dtype: str) -> None:
    check("MelSpectrogram", {}, [(None, 100)], [dtype])


# ----------------------------------------------------------------------------- STFTSpectrogram
STFT_MODES = ["log", "magnitude", "psd", "real", "imag", "angle", "stft"]


@pytest.mark.parametrize("mode", STFT_MODES)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("expand_dims", [False, True])
def test_stft_modes_and_layouts(mode: str, data_format: str, expand_dims: bool) -> None:
    args = {"mode": mode, "frame_length": 16, "data_format": data_format, "expand_dims": expand_dims}
    for time, channels in [(100, 2), (None, 1), (16, 3), (15, 2), (100, None)]:
        shape = (None, time, channels) if data_format == "channels_last" else (None, channels, time)
        check("STFTSpectrogram", args, [shape])


def test_stft_defaults_by_hand() -> None:
    # frame 256, step 128, fft 256 -> 129 bins; floor((1000 - 256)/128) + 1 = 6 frames
    facts = check("STFTSpectrogram", {}, [(None, 1000, 1)])
    assert facts.output == (None, 6, 129)
    assert facts.weights == {
        "stft_spectrogram/real_kernel": (256, 1, 129),
        "stft_spectrogram/imag_kernel": (256, 1, 129),
    }


@pytest.mark.parametrize(
    "args",
    [
        {"frame_length": 8, "frame_step": 3, "fft_length": 12},
        {"frame_length": 8, "frame_step": 8, "fft_length": 8},
        {"frame_length": 8, "frame_step": 9},
        {"frame_length": 8, "frame_step": 0},
        {"frame_length": 8, "frame_step": True},
        {"frame_length": 8, "frame_step": 2.5},
        {"frame_length": 8, "frame_step": 2.5, "padding": "same"},
        {"frame_length": 8, "frame_step": "2"},
        {"frame_length": 8, "fft_length": 7},
        {"frame_length": 8, "fft_length": 16.0},
        {"frame_length": 8, "fft_length": True},
        {"frame_length": 5},
        {"frame_length": 3, "padding": "same"},
        {"frame_length": 2, "window": None},
        {"frame_length": 1},
        {"frame_length": 1, "frame_step": 1},
        {"frame_length": 1, "frame_step": 1, "fft_length": 1},
        {"frame_length": True, "frame_step": 1},
        {"frame_length": 0},
        {"frame_length": -4, "frame_step": 1},
        {"frame_length": 8.0},
        {"frame_length": "8"},
        {"frame_length": 8, "padding": "SAME"},
        {"frame_length": 8, "padding": "causal"},
        {"frame_length": 8, "mode": "LOG"},
        {"frame_length": 8, "scaling": None},
        {"frame_length": 8, "scaling": "spectrum"},
        {"frame_length": 8, "scaling": "x"},
        {"frame_length": 8, "data_format": "CHANNELS_FIRST"},
        {"frame_length": 8, "data_format": "nhwc"},
        {"frame_length": 8, "expand_dims": "x"},
        {"frame_length": 8, "trainable": False},
        {"frame_length": 8, "dtype": "float16"},
        {"frame_length": 8, "dtype": "mixed_float16"},
    ],
)
def test_stft_arguments(args: dict) -> None:
    for shape in [(None, 100, 2), (None, 5, 2), (None, 0, 2)]:
        check("STFTSpectrogram", args, [shape])


@pytest.mark.parametrize(
    "window",
    [
        None,
        "hann",
        "hamming",
        "boxcar",
        "tukey",
        "taylor",
        "exponential",
        "triang",
        "hann_periodic",
        "blackman_symmetric",
        "kaiser",
        "gaussian",
        "general_cosine",
        "kaiser_symmetric",
        "Hann",
        "foo",
        "_periodic",
        [1, 2, 3, 4, 5, 6, 7, 8],
        [1.5] * 8,
        [True] * 8,
        [1, 2, 3],
        [[1] * 8],
        3,
        {"a": 1},
        ["a"] * 8,
    ],
)
def test_stft_windows(window: Any) -> None:
    check("STFTSpectrogram", {"frame_length": 8, "window": window}, [(None, 100, 2)])


@pytest.mark.parametrize("periodic", [True, False, "x", 1, None])
@pytest.mark.parametrize("window", ["hann", None, [1] * 8])
def test_stft_periodic(periodic: Any, window: Any) -> None:
    check("STFTSpectrogram", {"frame_length": 8, "window": window, "periodic": periodic}, [(None, 100, 2)])


@pytest.mark.parametrize("shape", [(None, 100), (None, 100, 2, 1), (), (100, 2, 3), (None, None, None)])
def test_stft_ranks(shape: tuple) -> None:
    check("STFTSpectrogram", {"frame_length": 8}, [shape])


# ----------------------------------------------------------------------------- ReversibleEmbedding
@pytest.mark.parametrize(
    "args",
    [
        {"input_dim": 5, "output_dim": 3},
        {"input_dim": 5, "output_dim": 3, "tie_weights": False},
        {"input_dim": 5, "output_dim": 3, "tie_weights": 0},
        {"input_dim": 5, "output_dim": 3, "tie_weights": "no"},
        {"input_dim": 5, "output_dim": 3, "lora_rank": 2},
        {"input_dim": 5, "output_dim": 3, "lora_rank": 2, "lora_alpha": 4.0},
        {"input_dim": 5, "output_dim": 3, "lora_rank": 2, "tie_weights": False},
        {"input_dim": 5, "output_dim": 3, "lora_rank": 0, "tie_weights": False},
        {"input_dim": 5, "output_dim": 3, "lora_rank": 2, "embeddings_constraint": "non_neg"},
        {"input_dim": 5, "output_dim": 3, "reverse_dtype": "float16", "logit_soft_cap": 30.0},
        {"input_dim": 5, "output_dim": 3, "tie_weights": False, "dtype": "float16"},
        {"input_dim": 5, "output_dim": 3, "tie_weights": False, "trainable": False},
        {"input_dim": 5, "output_dim": 3, "mask_zero": True, "input_length": 4},
        {"input_dim": 5, "output_dim": 3, "embeddings_initializer": "nope"},
        {"input_dim": 0, "output_dim": 3},
        {"input_dim": 5, "output_dim": 2.0},
        {"input_dim": 5},
        {"input_dim": 5, "output_dim": 3, "tie_weight": False},
    ],
)
def test_reversible_embedding(args: dict) -> None:
    for shape in [(None, 4), (), (2, 3, 4), (None, None)]:
        check("ReversibleEmbedding", args, [shape])


# ----------------------------------------------------------------------------- SpectralNormalization
INNER_LAYERS: list[tuple[dict, list[tuple]]] = [
    ({"Dense": {"units": 4}}, [(None, 3), (5,), (None, 2, 3), (None, None), (), (None,)]),
    ({"Dense": {"units": 4, "lora_rank": 2}}, [(None, 3)]),
    ({"Dense": {"units": 4, "trainable": False, "use_bias": False}}, [(None, 3)]),
    ({"Dense": {"units": 4, "dtype": "float16"}}, [(None, 3)]),
    ({"Dense": {"units": 4, "dtype": "mixed_float16"}}, [(None, 3)]),
    ({"Conv1D": {"filters": 2, "kernel_size": 3}}, [(None, 8, 3), (None, 8), (None, 8, None), (None, 2, 3)]),
    ({"Conv2D": {"filters": 4, "kernel_size": 3}}, [(None, 8, 8, 3), (None, 8, 3), (None, 8, 8, 8, 3)]),
    ({"Conv2DTranspose": {"filters": 2, "kernel_size": 3}}, [(None, 8, 8, 3)]),
    ({"DepthwiseConv2D": {"kernel_size": 3, "depth_multiplier": 2}}, [(None, 8, 8, 3), (None, 8, 3)]),
    ({"SeparableConv2D": {"filters": 2, "kernel_size": 3}}, [(None, 8, 8, 3)]),
    ({"EinsumDense": {"equation": "ab,bc->ac", "output_shape": 5}}, [(None, 3), (None, 2, 3)]),
    ({"Embedding": {"input_dim": 5, "output_dim": 3}}, [(None, 4), (None,), ()]),
    ({"Embedding": {"input_dim": 5, "output_dim": 3, "lora_rank": 2}}, [(None, 4)]),
    ({"ReversibleEmbedding": {"input_dim": 5, "output_dim": 3, "tie_weights": False}}, [(None, 4)]),
    ({"SimpleRNN": {"units": 4}}, [(None, 5, 3)]),
    ({"LSTMCell": {"units": 4}}, [(None, 3)]),
    ({"BatchNormalization": {}}, [(None, 3)]),
    ({"PReLU": {}}, [(None, 3)]),
    ({"TimeDistributed": {"layer": {"Dense": {"units": 2}}}}, [(None, 4, 3)]),
    ({"ConvLSTM1D": {"filters": 2, "kernel_size": 3}}, [(None, 4, 8, 3)]),
]


@pytest.mark.parametrize(("inner", "shapes"), INNER_LAYERS)
def test_spectral_normalization_inner_layers(inner: dict, shapes: list[tuple]) -> None:
    for shape in shapes:
        check("SpectralNormalization", {"layer": inner}, [shape])


@pytest.mark.parametrize(
    "args",
    [
        {"power_iterations": 3},
        {"power_iterations": 0},
        {"power_iterations": -1},
        {"power_iterations": 1.5},
        {"power_iterations": True},
        {"power_iterations": False},
        {"power_iterations": None},
        {"power_iterations": "2"},
        {"trainable": False},
        {"name": "sn", "dtype": "float32"},
        {"layer": None},
        {"layer": {"Dense": {"units": 0}}},
    ],
)
def test_spectral_normalization_arguments(args: dict) -> None:
    check("SpectralNormalization", {"layer": {"Dense": {"units": 4}}, **args}, [(None, 3)])


def test_spectral_normalization_weights_by_hand() -> None:
    facts = check(
        "SpectralNormalization", {"layer": {"Conv2D": {"filters": 4, "kernel_size": 3}}}, [(None, 8, 8, 3)]
    )
    # kernel 3*3*3*4 = 108 + bias 4 trainable; vector_u (1, filters) non-trainable
    assert (facts.trainable, facts.non_trainable) == (112, 4)


def test_not_registered() -> None:
    # Need TensorFlow (ImportError in __init__), a list of layers, or run user/foreign code.
    for name in (
        "Hashing",
        "HashedCrossing",
        "IntegerLookup",
        "StringLookup",
        "TextVectorization",
        "Pipeline",
        "Lambda",
        "FlaxLayer",
        "JaxLayer",
        "TFSMLayer",
        "TorchModuleWrapper",
        "Layer",
        "Wrapper",
    ):
        assert registry.lookup(name) is None, name


# ----------------------------------------------------------------------------- properties
dims = st.one_of(st.none(), st.integers(0, 40))
small_shapes = st.lists(dims, min_size=0, max_size=4).map(tuple)


@st.composite
def preprocessing_cases(draw: st.DrawFn) -> tuple[str, dict, list[tuple]]:
    kind = draw(st.sampled_from(["CategoryEncoding", "Discretization", "MelSpectrogram", "STFTSpectrogram"]))
    if kind == "CategoryEncoding":
        args = {
            "num_tokens": draw(st.integers(-1, 12)),
            "output_mode": draw(st.sampled_from(["one_hot", "multi_hot", "count", "binary"])),
        }
        return kind, args, [draw(small_shapes)]
    if kind == "Discretization":
        mode = draw(st.sampled_from(["int", "one_hot", "multi_hot", "count"]))
        if draw(st.booleans()):
            args = {"bin_boundaries": draw(st.lists(st.floats(-5, 5), max_size=6)), "output_mode": mode}
        else:
            args = {"num_bins": draw(st.integers(-1, 8)), "output_mode": mode}
        return kind, args, [draw(small_shapes)]
    if kind == "MelSpectrogram":
        fft = draw(st.sampled_from([64, 128, 400, 2048]))
        args = {
            "fft_length": fft,
            "sequence_length": draw(st.sampled_from([None, 32, 64, 256, 1024])),
            "sequence_stride": draw(st.integers(-3, 600)),
            "num_mel_bins": draw(st.integers(-1, 160)),
        }
        shape = draw(st.lists(st.one_of(st.none(), st.integers(0, 20000)), min_size=0, max_size=3).map(tuple))
        return kind, args, [shape]
    frame = draw(st.integers(1, 24))
    args = {
        "frame_length": frame,
        "frame_step": draw(st.one_of(st.none(), st.integers(0, 26))),
        "fft_length": draw(st.one_of(st.none(), st.integers(frame - 2, 40))),
        "mode": draw(st.sampled_from(STFT_MODES)),
        "padding": draw(st.sampled_from(["valid", "same"])),
        "expand_dims": draw(st.booleans()),
        "data_format": draw(st.sampled_from(["channels_last", "channels_first"])),
        "window": draw(st.sampled_from(["hann", None, "hamming"])),
    }
    rank = draw(st.sampled_from([3, 3, 3, 2]))
    shape = (draw(dims), *[draw(st.one_of(st.none(), st.integers(0, 60))) for _ in range(rank - 1)])
    return kind, args, [shape]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(preprocessing_cases())
def test_preprocessing_property(case: tuple[str, dict, list[tuple]]) -> None:
    check(*case)


@st.composite
def wrapper_cases(draw: st.DrawFn) -> tuple[str, dict, list[tuple]]:
    inner_type = draw(st.sampled_from(["Dense", "Conv1D", "Embedding", "EinsumDense", "ReversibleEmbedding"]))
    if inner_type == "Dense":
        inner: dict = {"units": draw(st.integers(1, 6)), "use_bias": draw(st.booleans())}
    elif inner_type == "Conv1D":
        inner = {"filters": draw(st.integers(1, 4)), "kernel_size": draw(st.integers(1, 4))}
    elif inner_type == "EinsumDense":
        inner = {"equation": "ab,bc->ac", "output_shape": draw(st.integers(1, 5))}
    else:
        inner = {"input_dim": draw(st.integers(1, 9)), "output_dim": draw(st.integers(1, 5))}
        if inner_type == "ReversibleEmbedding":
            inner["tie_weights"] = draw(st.booleans())
    args = {"layer": {inner_type: inner}, "power_iterations": draw(st.integers(0, 3))}
    return "SpectralNormalization", args, [draw(small_shapes)]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(wrapper_cases())
def test_wrapper_property(case: tuple[str, dict, list[tuple]]) -> None:
    check(*case)


def test_parameter_grid_category_and_discretization() -> None:
    # A dense grid of valid combinations: every mode on every small shape.
    for tokens, mode, shape in itertools.product(
        [1, 2, 6], ["one_hot", "multi_hot", "count"], [(None, 1), (3, 1, 1), (None, 2, 2)]
    ):
        check("CategoryEncoding", {"num_tokens": tokens, "output_mode": mode}, [shape])
        check("Discretization", {"bin_boundaries": [0.5] * tokens, "output_mode": mode}, [shape])


# ----------------------------------------------------------------------------- whole models
MODELS = [
    {
        "name": "audio",
        "input": [16000],
        "layers": [
            {"MelSpectrogram": {"num_mel_bins": 64, "sequence_stride": 256}},
            {"SpectralNormalization": {"layer": {"Dense": {"units": 8}}}},
            {"Discretization": {"bin_boundaries": [0.0, 1.0], "output_mode": "one_hot"}},
        ],
    },
    {
        "name": "stft",
        "input": [100, 2],
        "layers": [
            {"STFTSpectrogram": {"frame_length": 16, "expand_dims": True}},
            {"CategoryEncoding": {"num_tokens": 3, "output_mode": "one_hot"}},
        ],
    },
    {
        "name": "embed",
        "input": [5],
        "layers": [
            {"ReversibleEmbedding": {"input_dim": 10, "output_dim": 4, "tie_weights": False}},
            {"SpectralNormalization": {"layer": {"Embedding": {"input_dim": 4, "output_dim": 3}}}},
        ],
    },
    # A shared wrapper: Keras fixes the last axis at the first call (InputSpec axes).
    {
        "name": "shared_dense",
        "inputs": {"a": [3], "b": [5]},
        "layers": [
            {"SpectralNormalization": {"name": "sn", "inputs": "a", "layer": {"Dense": {"units": 2}}}},
            {"Reuse": {"layer": "sn", "inputs": "b"}},
        ],
    },
    {
        "name": "shared_embedding",
        "inputs": {"a": [3, 4], "b": [3, 5]},
        "layers": [
            {
                "SpectralNormalization": {
                    "name": "sn",
                    "inputs": "a",
                    "layer": {"Embedding": {"input_dim": 4, "output_dim": 3}},
                }
            },
            {"Reuse": {"layer": "sn", "inputs": "b"}},
        ],
    },
    {
        "name": "shared_ok",
        "inputs": {"a": [3, 4], "b": [7, 4]},
        "layers": [
            {
                "SpectralNormalization": {
                    "name": "sn",
                    "inputs": "a",
                    "layer": {"Embedding": {"input_dim": 4, "output_dim": 3}},
                }
            },
            {"Reuse": {"layer": "sn", "inputs": "b"}},
        ],
    },
]


@pytest.mark.parametrize("spec", MODELS, ids=[m["name"] for m in MODELS])
def test_models(spec: dict) -> None:
    assert_model_same_as_keras(spec)
