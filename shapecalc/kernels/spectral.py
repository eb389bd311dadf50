"""Spectral kernels: windows, Keras's numpy-backend STFT, the mel filterbank, the STFT kernels.

Keras computes MelSpectrogram with ``keras.ops.stft`` (numpy backend: scipy.signal.stft on a
reflect-padded signal, which, after Keras undoes scipy's scaling, is the plain real FFT of each
windowed frame), and STFTSpectrogram as a strided 1-D convolution with cos/sin kernels (its
weights, built by the STFT initializer). scipy is not a runtime dependency of shapecalc, so the
few windows needed are computed here as scipy's general-cosine formula computes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import CallFailure, KernelUnavailable

Array = np.ndarray

# scipy.signal.get_window's parameterless cosine-sum windows (with scipy's aliases): coefficients
# a_k of w = sum_k a_k cos(k x), x running over [-pi, pi].
_COSINE_WINDOWS: dict[str, tuple[float, ...]] = {
    **dict.fromkeys(("hann", "han"), (0.5, 0.5)),
    **dict.fromkeys(("hamming", "hamm", "ham"), (0.54, 0.46)),
    **dict.fromkeys(("blackman", "black", "blk"), (0.42, 0.50, 0.08)),
    **dict.fromkeys(("boxcar", "box", "ones", "rect", "rectangular"), (1.0,)),
}
_MEL_BREAK_HZ = 700.0
_MEL_Q = 1127.0


def named_window(name: str, length: int, periodic: bool) -> Array:
    """scipy.signal.get_window(name, length, fftbins=periodic), float64.

    A name ending in _periodic or _symmetric overrides ``periodic``, as in scipy.
    """
    if name.endswith("_symmetric"):
        name, periodic = name[: -len("_symmetric")], False
    elif name.endswith("_periodic"):
        name, periodic = name[: -len("_periodic")], True
    coefficients = _COSINE_WINDOWS.get(name)
    if coefficients is None:
        known = ", ".join(sorted(_COSINE_WINDOWS))
        raise KernelUnavailable(f"window '{name}' has no NumPy version here (known: {known})")
    if length <= 1:
        return np.ones(max(length, 0))
    # A periodic window is the symmetric one of length + 1 without its last sample (scipy).
    size = length + 1 if periodic else length
    x = np.linspace(-np.pi, np.pi, size)
    w = np.zeros(size)
    for k, a in enumerate(coefficients):
        w += a * np.cos(k * x)
    return w[:length]


def window_values(window: Any, length: int, periodic: bool, dtype: Any = np.float32) -> Array | None:
    """A window given as a scipy name, a list of numbers, or None (no window)."""
    if window is None:
        return None
    if isinstance(window, str):
        values = named_window(window, length, periodic)
    else:
        try:
            values = np.asarray(window)
        except ValueError:  # a ragged list
            values = np.asarray(None)
    if values.dtype.kind not in "biuf":  # a mapping, strings: Keras's ops cannot make a tensor of it
        raise CallFailure(f"the window must be a list of numbers, got {window!r}")
    values = values.astype(dtype)
    if values.ndim != 1 or values.shape[0] != length:
        raise CallFailure(f"the window must have shape ({length},), got {values.shape}")
    return values


def frames(x: Array, length: int, step: int) -> Array:
    """Frames along the last axis: (..., T) -> (..., (T - length) // step + 1, length), a view."""
    count = (x.shape[-1] - length) // step + 1
    if count <= 0:
        return np.empty((*x.shape[:-1], 0, length), x.dtype)
    view = np.lib.stride_tricks.sliding_window_view(x, length, axis=-1)
    return view[..., : (count - 1) * step + 1 : step, :]


def stft(
    x: Array, sequence_length: int, sequence_stride: int, fft_length: int, window: Any, center: bool = True
) -> tuple[Array, Array]:
    """keras.ops.stft on the numpy backend: (real, imag), each (..., frames, fft_length // 2 + 1).

    Only "hann" and "hamming" (periodic), a list of numbers, or None are accepted as windows.
    """
    lengths = {
        "fft_length": fft_length,
        "sequence_length": sequence_length,
        "sequence_stride": sequence_stride,
    }
    for name, value in lengths.items():
        if not isinstance(value, int) or value < 1:  # false and 0: no frame, no FFT of no points
            raise CallFailure(f"{name} must be a positive integer to frame the signal, got {value!r}")
    fft_length, sequence_length, sequence_stride = int(fft_length), int(sequence_length), int(sequence_stride)
    if fft_length < sequence_length:
        raise CallFailure(f"fft_length ({fft_length}) must be >= sequence_length ({sequence_length})")
    if isinstance(window, str) and window not in ("hann", "hamming"):
        raise CallFailure(f'a window given by name must be "hann" or "hamming", got {window!r}')
    dtype = x.dtype
    if center:
        half = fft_length // 2
        x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(half, half)], mode="reflect")
    # The window is centred in a frame of fft_length samples, zeros around it.
    before = (fft_length - sequence_length) // 2
    win = window_values(window, sequence_length, periodic=True, dtype=dtype)
    if win is None:
        win = np.ones(fft_length, dtype)
    else:
        win = np.pad(win, (before, fft_length - sequence_length - before))
    spectrum = np.fft.rfft(frames(x, fft_length, sequence_stride) * win, n=fft_length, axis=-1)
    return spectrum.real.astype(dtype), spectrum.imag.astype(dtype)


def _hertz_to_mel(hertz: Array) -> Array:
    return _MEL_Q * np.log(1.0 + hertz / np.float32(_MEL_BREAK_HZ))


def mel_weight_matrix(
    num_mel_bins: int, num_spectrogram_bins: int, sampling_rate: float, lower_hz: float, upper_hz: float
) -> Array:
    """HTK triangular filters, peak 1: (num_spectrogram_bins, num_mel_bins), float32; bin 0 is zeroed.

    Computed in float32 as Keras computes it.
    """
    f32 = np.float32
    nyquist = f32(sampling_rate) / f32(2.0)
    linear = np.linspace(f32(0.0), nyquist, num_spectrogram_bins, dtype=f32)[1:]
    bins_mel = _hertz_to_mel(linear)[:, None]
    edges = np.linspace(
        _hertz_to_mel(f32(lower_hz)), _hertz_to_mel(f32(upper_hz)), num_mel_bins + 2, dtype=f32
    )
    lower, center, upper = edges[:-2][None, :], edges[1:-1][None, :], edges[2:][None, :]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    matrix = np.maximum(f32(0.0), np.minimum(rising, falling))
    return np.pad(matrix, [(1, 0), (0, 0)]).astype(f32)


def stft_kernel(side: str, window: Any, scaling: str | None, periodic: bool, shape: Sequence[int]) -> Array:
    """Keras's STFT initializer: the cos ("real") or sin ("imag") kernel (frame_length, 1, F).

    Frequencies run over F = fft_length // 2 + 1 bins of a DFT of length 2 * (F - 1); the window
    is scipy's, symmetric unless ``periodic``; density scaling divides by its L2 norm, spectrum
    scaling by its L1 norm.
    """
    frame_length, _, bins = (int(d) for d in shape)
    f32 = np.float32
    with np.errstate(invalid="ignore"):  # one bin (fft_length 1): 0 / 0, NaN as in Keras
        freq = np.arange(bins, dtype=f32)[None, None, :] / f32((bins - 1) * 2)
    time = np.arange(frame_length, dtype=f32)[:, None, None]
    phase = (f32(-2.0) * time * freq) * f32(np.pi)
    kernel = np.cos(phase) if side == "real" else np.sin(phase)
    win = window_values(window, frame_length, bool(periodic))
    if win is None:
        return kernel.astype(f32)
    win = win.reshape(frame_length, 1, 1)
    scale = f32(1.0)
    if scaling == "density":
        scale = np.sqrt(np.sum(np.square(win)))
    elif scaling == "spectrum":
        scale = np.sum(np.abs(win))
    return (kernel * win / scale).astype(f32)
