"""Kernels of CategoryEncoding, Discretization, MelSpectrogram, STFTSpectrogram, ReversibleEmbedding
and SpectralNormalization against Keras (numpy backend), plus the STFT initializer's kernels.

The spectrograms meet the default tolerances (rtol 1e-4, atol 1e-5), no loosening needed:
STFTSpectrogram's convolution matches Keras's bit for bit, and MelSpectrogram (numpy.fft here,
scipy.signal.stft in Keras) differs by at most ~2e-6 relative (measured on these cases).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from kernel_check import assert_kernel_matches_keras, keras_run
from oracle import keras

from shapecalc.errors import CallFailure
from shapecalc.kernels import spectral
from shapecalc.layers import create_layer, registry
from shapecalc.layers.factory import Namer

LAYERS = [
    "CategoryEncoding",
    "Discretization",
    "MelSpectrogram",
    "STFTSpectrogram",
    "ReversibleEmbedding",
    "SpectralNormalization",
]


def ids(shape: tuple[int, ...], bound: int, dtype: str = "int32", seed: int = 3, low: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(low, bound, shape).astype(dtype)


def signal(shape: tuple[int, ...], seed: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_every_layer_has_a_kernel() -> None:
    assert all(registry.lookup(name).has_kernel() for name in LAYERS)


def test_integer_input_bounds() -> None:
    namer = Namer()
    assert create_layer("CategoryEncoding", {"num_tokens": 7}, namer).integer_input_bound() == 7
    reversible = create_layer("ReversibleEmbedding", {"input_dim": 11, "output_dim": 2}, namer)
    assert reversible.integer_input_bound() == 11
    wrapped = create_layer(
        "SpectralNormalization", {"layer": {"Embedding": {"input_dim": 5, "output_dim": 2}}}, namer
    )
    assert wrapped.integer_input_bound() == 5


# ----------------------------------------------------------------------------- CategoryEncoding
@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count", "binary"])
@pytest.mark.parametrize(
    "shape", [(5,), (3, 1), (3, 4), (2, 3, 3), (2, 3, 1), (2, 4, 3), (1, 1), (2, 2, 2, 2)]
)
def test_category_encoding(mode: str, shape: tuple[int, ...]) -> None:
    # (2, 4, 3): Keras's multi_hot and count reduce axis 1, not the last (its real shape is not
    # its symbolic one); the kernel follows the computation.
    assert_kernel_matches_keras("CategoryEncoding", {"num_tokens": 6, "output_mode": mode}, [ids(shape, 6)])


@pytest.mark.parametrize("dtype", ["int64", "uint8", "int16"])
@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_category_encoding_dtypes_and_negative_ids(dtype: str, mode: str) -> None:
    # Negative ids (where the dtype has them) encode as all-zero rows.
    x = ids((3, 5), 4, dtype, low=0 if dtype == "uint8" else -2)
    assert_kernel_matches_keras("CategoryEncoding", {"num_tokens": 4, "output_mode": mode}, [x])


def test_category_encoding_counts_repeats() -> None:
    x = np.array([[1, 1, 1, 0], [3, 2, 3, 3]], dtype="int32")
    out = assert_kernel_matches_keras("CategoryEncoding", {"num_tokens": 5, "output_mode": "count"}, [x])[0]
    np.testing.assert_array_equal(out, [[1, 3, 0, 0, 0], [0, 0, 1, 3, 0]])  # by hand


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_category_encoding_scalar(mode: str) -> None:
    assert_kernel_matches_keras("CategoryEncoding", {"num_tokens": 3, "output_mode": mode}, [np.array(2)])


def test_category_encoding_refuses_ids_out_of_range() -> None:
    layer = create_layer("CategoryEncoding", {"num_tokens": 3}, Namer())
    with pytest.raises(CallFailure, match="must be < 3"):
        layer.forward(np.array([[0, 3]]), {})


# ----------------------------------------------------------------------------- Discretization
BOUNDARIES = [[0.0, 1.0, 2.0], [-0.5, 0.1, 0.3, 7.25], [0.1], [], [2.0, 1.0, -1.0]]


@pytest.mark.parametrize("boundaries", BOUNDARIES)
@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("shape", [(7,), (3, 4), (3, 1), (2, 3, 2)])
def test_discretization(boundaries: list[float], mode: str, shape: tuple[int, ...]) -> None:
    x = np.random.default_rng(5).uniform(-1.5, 8.0, shape).astype("float32")
    # values equal to boundaries go to the bin above them (np.digitize, right=False)
    x.flat[: min(len(boundaries), x.size)] = boundaries[: x.size]
    assert_kernel_matches_keras("Discretization", {"bin_boundaries": boundaries, "output_mode": mode}, [x])


def test_discretization_boundary_side_by_hand() -> None:
    # Keras converts inputs to float32 first; float32(0.1) > 0.1 (float64 boundary) -> bin 2.
    x = np.array([[-1.0, 0.0, 0.05, 0.1, 0.5, 1.0, 3.0]], dtype="float64")
    out = assert_kernel_matches_keras("Discretization", {"bin_boundaries": [0.0, 0.1, 1.0]}, [x])[0]
    np.testing.assert_array_equal(out, [[0, 1, 1, 2, 2, 3, 3]])
    assert out.dtype == np.int32


def test_discretization_integer_input() -> None:
    # Integers are not cast to float32 by Keras: 2**24 + 1 stays above the boundary 2**24 + 0.5.
    x = ids((4, 3), 10, "int64")
    x[0, 0] = 2**24 + 1
    for mode in ("int", "multi_hot"):
        assert_kernel_matches_keras(
            "Discretization", {"bin_boundaries": [2, 5, 5.5, 2**24 + 0.5], "output_mode": mode}, [x]
        )


def test_discretization_without_adapt_refuses() -> None:
    layer = create_layer("Discretization", {"num_bins": 4}, Namer())
    with pytest.raises(CallFailure, match="adapt"):
        layer.forward(np.zeros((2, 3), "float32"), {})


# ----------------------------------------------------------------------------- MelSpectrogram
MEL_BASE = {"fft_length": 64, "sequence_stride": 16, "num_mel_bins": 12, "sampling_rate": 8000}


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"sequence_stride": 7},
        {"sequence_length": 48},  # window centred in the fft frame
        {"sequence_length": 33},  # odd padding split: 15 before, 16 after
        {"fft_length": 63, "sequence_length": 40},  # odd fft: center pads 31 on each side
        {"window": "hamming"},
        {"window": None},
        {"window": [float(v) for v in np.linspace(0.1, 1.0, 64)]},
        {"power_to_db": False},
        {"power_to_db": False, "mag_exp": 1.0},
        {"mag_exp": 1.5, "ref_power": 2.0},
        {"ref_power": -3.0, "min_power": 1e-3},
        {"top_db": 10.0},  # clips against the maximum over the whole batch
        {"min_freq": 300.0, "max_freq": 3000.0},
        {"min_freq": 0.0, "num_mel_bins": 30},  # more mel bins than spectrogram bins: empty filters
        {"sampling_rate": 22050, "max_freq": 11025},
        {"sampling_rate": 16001},  # max_freq = int(16001 / 2)
    ],
)
def test_mel_spectrogram(extra: dict[str, Any]) -> None:
    assert_kernel_matches_keras("MelSpectrogram", {**MEL_BASE, **extra}, [signal((2, 200))])


@pytest.mark.parametrize("shape", [(150,), (3, 127), (1, 160), (2, 64, 3), (2, 20)])
def test_mel_spectrogram_shapes(shape: tuple[int, ...]) -> None:
    # (2, 64, 3): Keras transforms the last axis (3 samples; reflect padding repeats them).
    # (1, 160): 160 + 1 is not a multiple of 16, but (2, 20) with stride 7: frames = 20 // 7 + 1 = 3.
    args = {**MEL_BASE, "sequence_stride": 7} if shape == (2, 20) else MEL_BASE
    assert_kernel_matches_keras("MelSpectrogram", args, [signal(shape)])


def test_mel_spectrogram_defaults() -> None:
    assert_kernel_matches_keras("MelSpectrogram", {}, [signal((1, 4096))])


def test_mel_matrix_by_hand() -> None:
    # 2 mel bins over 5 spectrogram bins (0, 1000, ..., 4000 Hz), edges equally spaced in mel
    # from 0 Hz to 4000 Hz; bin 0 (DC) is always zeroed.
    matrix = spectral.mel_weight_matrix(2, 5, 8000, 0.0, 4000.0)
    mel = 1127.0 * np.log(1.0 + np.array([0.0, 1000.0, 2000.0, 3000.0, 4000.0]) / 700.0)
    edges = np.linspace(0.0, mel[-1], 4)
    rising = (mel[1:, None] - edges[None, :2]) / (edges[1:3] - edges[:2])
    falling = (edges[None, 2:] - mel[1:, None]) / (edges[2:] - edges[1:3])
    expected = np.vstack([np.zeros((1, 2)), np.maximum(0.0, np.minimum(rising, falling))])
    np.testing.assert_allclose(matrix, expected, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- STFTSpectrogram
@pytest.mark.parametrize("mode", ["log", "magnitude", "psd", "real", "imag", "angle", "stft"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("expand_dims", [False, True])
def test_stft_spectrogram_modes(mode: str, data_format: str, expand_dims: bool) -> None:
    args = {"mode": mode, "frame_length": 16, "data_format": data_format, "expand_dims": expand_dims}
    shape = (2, 50, 3) if data_format == "channels_last" else (2, 3, 50)
    assert_kernel_matches_keras("STFTSpectrogram", args, [signal(shape)])


@pytest.mark.parametrize(
    "extra",
    [
        {"frame_step": 5},
        {"frame_step": 16},
        {"frame_step": 1, "frame_length": 8},
        {"padding": "same"},
        {"padding": "same", "frame_step": 3},
        {"fft_length": 40},
        {"frame_length": 12},  # fft_length 16
        {"window": None, "scaling": None},
        {"window": "hamming", "periodic": True, "scaling": "spectrum"},
        {"frame_length": 1, "frame_step": 1, "mode": "magnitude"},
    ],
)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_stft_spectrogram_arguments(extra: dict[str, Any], data_format: str) -> None:
    args = {"frame_length": 16, "data_format": data_format, **extra}
    shape = (2, 41, 2) if data_format == "channels_last" else (2, 2, 41)
    assert_kernel_matches_keras("STFTSpectrogram", args, [signal(shape)])


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_stft_spectrogram_converts_the_input_to_float32(dtype: str) -> None:
    x = signal((1, 30, 1)).astype(dtype)
    assert_kernel_matches_keras("STFTSpectrogram", {"frame_length": 8}, [x])


def test_stft_spectrogram_refuses_integer_input() -> None:
    # Keras's __call__ leaves integers alone and call() raises a TypeError.
    x = ids((1, 30, 1), 5)
    with pytest.raises(TypeError):
        keras_run("STFTSpectrogram", {"frame_length": 8}, [x], as_list=False)
    layer = create_layer("STFTSpectrogram", {"frame_length": 8}, Namer())
    layer.infer(x.shape)
    with pytest.raises(CallFailure, match="float input"):
        layer.forward(x, {"real_kernel": np.zeros((8, 1, 5)), "imag_kernel": np.zeros((8, 1, 5))})


@pytest.mark.parametrize(
    "window, periodic, scaling",
    [
        ("hann", False, "density"),
        ("hann", True, "density"),
        ("hann_periodic", False, "spectrum"),
        ("hamming", False, None),
        ("blackman", True, "spectrum"),
        ("boxcar", False, "density"),
        (None, False, "density"),
        ([0.5, 1.0, -0.25, 2.0, 0.0, 1.0, 0.3], False, "spectrum"),
    ],
)
@pytest.mark.parametrize("side", ["real", "imag"])
@pytest.mark.parametrize("shape", [(7, 1, 5), (16, 1, 9), (1, 1, 1)])
def test_stft_initializer_kernels(
    window: Any, periodic: bool, scaling: str | None, side: str, shape: tuple[int, int, int]
) -> None:
    if isinstance(window, list) and len(window) != shape[0]:
        window = window[: shape[0]] + [1.0] * (shape[0] - len(window))
    want = np.asarray(keras.initializers.STFT(side, window, scaling, periodic)(shape))
    got = spectral.stft_kernel(side, window, scaling, periodic, shape)
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- ReversibleEmbedding
@pytest.mark.parametrize(
    "args",
    [
        {"input_dim": 9, "output_dim": 4},
        {"input_dim": 9, "output_dim": 4, "tie_weights": False},
        {"input_dim": 9, "output_dim": 3, "mask_zero": True, "logit_soft_cap": 5.0},
        {"input_dim": 6, "output_dim": 5, "lora_rank": 2},
        {"input_dim": 1, "output_dim": 2, "reverse_dtype": "float32"},
    ],
)
@pytest.mark.parametrize("shape", [(4,), (2, 5), (2, 3, 2)])
def test_reversible_embedding(args: dict[str, Any], shape: tuple[int, ...]) -> None:
    assert_kernel_matches_keras("ReversibleEmbedding", args, [ids(shape, args["input_dim"])])


# ----------------------------------------------------------------------------- SpectralNormalization
@pytest.mark.parametrize(
    "inner, x",
    [
        ({"Dense": {"units": 3}}, signal((2, 5))),
        ({"Dense": {"units": 4, "activation": "relu", "use_bias": False}}, signal((2, 3, 5))),
        ({"Conv1D": {"filters": 2, "kernel_size": 3, "strides": 2}}, signal((2, 9, 3))),
        ({"Conv2D": {"filters": 3, "kernel_size": 2, "padding": "same"}}, signal((1, 5, 4, 2))),
        ({"Conv2DTranspose": {"filters": 2, "kernel_size": 3, "strides": 2}}, signal((1, 3, 3, 2))),
        ({"EinsumDense": {"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "c"}}, signal((3, 6))),
        # Keras casts the output to the input's dtype: integer ids give truncated integer vectors.
        ({"Embedding": {"input_dim": 7, "output_dim": 3}}, ids((2, 4), 7)),
        ({"Embedding": {"input_dim": 7, "output_dim": 3}}, ids((2, 4), 7).astype("float32")),
    ],
)
@pytest.mark.parametrize("power_iterations", [1, 3])
def test_spectral_normalization_uses_the_stored_kernel(
    inner: dict[str, Any], x: np.ndarray, power_iterations: int
) -> None:
    args = {"layer": inner, "power_iterations": power_iterations}
    assert_kernel_matches_keras("SpectralNormalization", args, [x])
