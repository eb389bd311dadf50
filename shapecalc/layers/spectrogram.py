"""Audio spectrogram layers: MelSpectrogram, STFTSpectrogram.

After keras/src/layers/preprocessing/mel_spectrogram.py and stft_spectrogram.py."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import ArgError, CallFailure, ShapeError
from ..lazy import lazy
from . import args as A
from .base import Arg, Dim, Layer, OutputShape, Shape, Sizes, Weight, fmt_shape, known_product, require_rank
from .explaining import Step, show
from .preprocessing_extra import _dim_arg
from .registry import register

np = lazy("numpy")
spectral_kernels = lazy("..kernels.spectral", __package__)
conv_kernels = lazy("..kernels.conv", __package__)


@register
class MelSpectrogram(Layer):
    """Audio (batch, samples) -> (batch, num_mel_bins, frames), frames = (samples + stride + 1) // stride.

    Keras reads axis 0 and 1 only: a rank-1 input (samples,) gives (num_mel_bins, frames), and
    axes after the second are dropped. No weights; the input dtype is not checked symbolically.
    """

    arguments = (
        Arg("fft_length", A.anything, 2048),
        Arg("sequence_stride", A.anything, 512, "hop between frames; sets the frame count"),
        Arg("sequence_length", A.anything, None, "window length; default fft_length"),
        Arg("window", A.anything, "hann"),
        Arg("sampling_rate", A.anything, 16000),
        Arg("num_mel_bins", A.anything, 128, "size of the mel axis"),
        Arg("min_freq", A.anything, 20.0),
        Arg("max_freq", A.anything, None, "default sampling_rate / 2"),
        Arg("power_to_db", A.anything, True),
        Arg("top_db", A.anything, 80.0),
        Arg("mag_exp", A.anything, 2.0),
        Arg("min_power", A.anything, 1e-10),
        Arg("ref_power", A.anything, 1.0),
    )

    def configure(self) -> None:
        length = self.sequence_length or self.fft_length
        try:
            too_short = self.fft_length < length
        except TypeError:
            raise ArgError(
                f"fft_length ({A.describe(self.fft_length)}) and sequence_length ({A.describe(length)}) "
                "must be comparable numbers",
                argument="fft_length",
            ) from None
        if too_short:
            raise ArgError(
                f"fft_length must be >= sequence_length, got fft_length={self.fft_length} and "
                f"sequence_length={length}",
                argument="fft_length",
            )
        if not self.max_freq:
            try:  # Keras computes the default max_freq = int(sampling_rate / 2) at construction
                int(self.sampling_rate / 2)
            except (TypeError, ValueError, OverflowError):
                raise ArgError(
                    f"sampling_rate must be a number (max_freq defaults to sampling_rate / 2), got "
                    f"{A.describe(self.sampling_rate)}",
                    argument="sampling_rate",
                ) from None
        self.mel_bins = _dim_arg(self.num_mel_bins, "num_mel_bins", "num_mel_bins")

    def frames(self, samples: Dim) -> Dim:
        if samples is None:
            return None
        stride = self.sequence_stride
        try:
            count = (samples + stride + 1) // stride
        except (TypeError, ZeroDivisionError):
            raise ShapeError(
                f"sequence_stride must be a positive integer to count frames, got {A.describe(stride)}"
            ) from None
        if isinstance(count, float):
            raise ShapeError(
                f"frames = ({samples} + {stride} + 1) // {stride} = {count} is not an integer "
                "(sequence_stride must be an integer)"
            )
        if count < 0:
            raise ShapeError(f"frames = ({samples} + {stride} + 1) // {stride} = {count} is negative")
        return count

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, min_rank=1)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) == 1:
            return (self.mel_bins, self.frames(input_shape[0]))
        return (input_shape[0], self.mel_bins, self.frames(input_shape[1]))

    def macs(self, input_shape: Shape, output_shape: OutputShape) -> int | None:
        """Each frame's discrete Fourier transform written as a matrix product (the window's
        samples x frequency bins, real and imaginary parts; Keras computes it with an FFT), then
        the mel filter bank's product (bins x mel bins). A rank-1 input is one signal."""
        frames = output_shape[-1]  # type: ignore[index]
        window = self.sequence_length or self.fft_length
        if frames is None or not all(A.is_int(v) for v in (window, self.fft_length, self.mel_bins)):
            return None
        bins = self.fft_length // 2 + 1
        return frames * (2 * window * bins + bins * self.mel_bins)

    def run_work_elements(self, input_shapes: Sizes, output_shapes: Sizes) -> int:
        """The signal padded by fft_length, its frames of fft_length samples, their spectrum
        (real, imaginary, magnitude) and the mel filter bank: with a long fft_length these, not
        the output, are the run's memory."""
        shape, frames = input_shapes[0], output_shapes[0][-1]
        if not all(A.is_int(v) for v in (self.fft_length, self.num_mel_bins)):
            return super().run_work_elements(input_shapes, output_shapes)
        signals, bins = math.prod(shape[:-1]), self.fft_length // 2 + 1
        padded = signals * (shape[-1] + self.fft_length)
        return padded + signals * frames * (self.fft_length + 3 * bins) + bins * self.num_mel_bins

    def explain(self, input_shape: Shape) -> list[Step]:
        samples = input_shape[0] if len(input_shape) == 1 else input_shape[1]
        stride = self.sequence_stride
        return [
            Step("mel bins", "num_mel_bins", self.mel_bins),
            Step("frames", f"floor(({show(samples)} + {stride} + 1) / {stride})", self.frames(samples)),
        ]

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        # Keras transforms the LAST axis (its shape rule reads axis 1). After reflect padding by
        # fft_length // 2 on both sides, frames = samples // stride + 1 for an even fft_length
        # ((samples - 1) // stride + 1 for an odd one), which differs from the shape rule's
        # (samples + stride + 1) // stride when stride divides samples + 1: --run reports Keras's
        # real shape then, e.g. 399 samples, stride 16 -> 25 frames, not 26.
        if self.mel_bins is None:  # the shape rule leaves the axis unknown; the filter bank cannot
            raise CallFailure("num_mel_bins is null: Keras's call cannot make a mel filter bank of no size")
        x = np.asarray(inputs).astype(np.float32, copy=False)
        real, imag = spectral_kernels.stft(
            x, self.sequence_length or self.fft_length, self.sequence_stride, self.fft_length, self.window
        )
        spec = np.power(np.sqrt(np.square(real) + np.square(imag)), np.float32(self.mag_exp))
        mel = spectral_kernels.mel_weight_matrix(
            self.num_mel_bins,
            spec.shape[-1],
            self.sampling_rate,
            self.min_freq,
            self.max_freq or int(self.sampling_rate / 2),
        )
        out = np.tensordot(spec, mel, axes=1)
        if self.power_to_db:
            out = self._decibels(out)
        return np.swapaxes(out, -1, -2).astype(np.float32, copy=False)

    def _decibels(self, power: np.ndarray) -> np.ndarray:
        floor = np.float32(self.min_power)
        db = np.float32(10.0) * np.log10(np.maximum(power, floor))
        db -= np.float32(10.0) * np.log10(np.maximum(np.abs(np.float32(self.ref_power)), floor))
        # top_db clips against the maximum of the whole tensor: over every batch item at once.
        return np.maximum(db, db.max() - np.float32(self.top_db))


# ----------------------------------------------------------------------------- STFTSpectrogram
# scipy.signal.get_window names that need no parameter (scipy 1.17), as Keras checks them;
# each may end in _periodic or _symmetric.
_WINDOW_NAMES = (
    "bart barthann bartlett bkh black blackharr blackman blackmanharris blk bman bmn bohman box "
    "boxcar brt brthan bth cosine exponential flat flattop flt halfcosine ham hamm hamming han hann "
    "lanczos nut nutl nuttall ones par parz parzen poisson rect rectangular sinc taylor taylorwin "
    "tri triang triangle tuk tukey"
)
_PARAMETRIC_WINDOW_NAMES = (
    "chebwin cheb dpss gaussian gauss gss kaiser ksr ggs kbd general_cosine general_gaussian "
    "general_gauss general_hamming kaiser_bessel_derived"
)
SCIPY_WINDOWS = frozenset(_WINDOW_NAMES.split())
SCIPY_PARAMETRIC_WINDOWS = frozenset(_PARAMETRIC_WINDOW_NAMES.split())
STFT_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


def _as_int(value: Any) -> Any:
    # Keras never type-checks these; a boolean behaves as 0 or 1 in all its arithmetic.
    return int(value) if isinstance(value, bool) else value


def _frame_length(value: Any) -> int:
    value = _as_int(value)
    if not A.is_int(value) or value < 1:
        raise ArgError(f"expected a positive integer (it sizes the kernels), got {A.describe(value)}")
    return value


def _frame_step(value: Any) -> Any:
    value = _as_int(value)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgError(f"expected a number, got {A.describe(value)}")
    return value


def _fft_length(value: Any) -> int | None:
    value = _as_int(value)
    if value is not None and not A.is_int(value):
        raise ArgError(f"expected an integer, got {A.describe(value)}")
    return value


def _window_name(name: str) -> str:
    for suffix in ("_periodic", "_symmetric"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _window(value: Any) -> Any:
    if isinstance(value, str):
        base = _window_name(value)
        if base in SCIPY_PARAMETRIC_WINDOWS or base.replace(" ", "_") in SCIPY_PARAMETRIC_WINDOWS:
            raise ArgError(
                f"window '{base}' needs parameters, which Keras cannot pass (give the values as a list)"
            )
        if base not in SCIPY_WINDOWS:
            raise ArgError(f"unknown scipy window '{value}'" + A.did_you_mean(base, SCIPY_WINDOWS))
        return value
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, (int, float)) for v in value):
        raise ArgError(f"expected a scipy window name, null or a list of numbers, got {A.describe(value)}")
    return value


@register
class STFTSpectrogram(Layer):
    """Signal (batch, time, channels) -> spectrogram, as a strided 1-D convolution with STFT kernels.

    frames: conv length of time with kernel frame_length, stride frame_step (default
    frame_length // 2); frequency bins F = fft_length // 2 + 1 (twice that in mode stft).
    Output (batch, frames, F * channels), or with expand_dims (batch, frames, F, channels);
    channels_first moves channels (and F * channels) before frames. Trainable weights
    real_kernel (unless mode imag) and imag_kernel (unless mode real), each (frame_length, 1, F).
    """

    arguments = (
        Arg("mode", A.one_of(*STFT_MODES), "log"),
        Arg("frame_length", _frame_length, 256, "window length = kernel size"),
        Arg("frame_step", _frame_step, None, "stride; default frame_length // 2"),
        Arg("fft_length", _fft_length, None, "default: next power of two >= frame_length"),
        Arg("window", _window, "hann", "scipy window name, null, or frame_length numbers"),
        Arg("periodic", A.anything, False, "must be true or false with a named window"),
        Arg("scaling", A.one_of("density", "spectrum", None), "density"),
        Arg("padding", A.one_of("valid", "same"), "valid"),
        Arg("expand_dims", A.truthy, False, "keep frequency and channels as two axes"),
        Arg("data_format", A.data_format, "channels_last"),
    )

    def configure(self) -> None:
        if self.frame_step is not None and not 1 <= self.frame_step <= self.frame_length:
            raise ArgError(
                f"frame_step must be between 1 and frame_length ({self.frame_length}), got {self.frame_step}",
                argument="frame_step",
            )
        if self.fft_length is not None and self.fft_length < self.frame_length:
            raise ArgError(
                f"fft_length must be >= frame_length ({self.frame_length}), got {self.fft_length}",
                argument="fft_length",
            )
        if isinstance(self.window, list) and len(self.window) != self.frame_length:
            raise ArgError(
                f"a window given as numbers needs frame_length = {self.frame_length} of them, "
                f"got {len(self.window)}",
                argument="window",
            )
        if isinstance(self.window, str) and not isinstance(self.periodic, bool):
            raise ArgError(
                "with a named window, periodic must be true or false (scipy), got "
                + A.describe(self.periodic),
                argument="periodic",
            )
        self.stride = self.frame_step or self.frame_length // 2
        if self.stride == 0:
            raise ArgError(
                f"the default frame_step = frame_length // 2 = {self.frame_length} // 2 = 0; give frame_step",
                argument="frame_length",
            )
        self.fft_size = self.fft_length or 2 ** math.ceil(math.log2(self.frame_length))
        self.freq_bins = self.fft_size // 2 + 1

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, rank=3)

    def _channels(self, input_shape: Shape) -> int:
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        if channels is None:
            raise ShapeError(f"the channels axis of {fmt_shape(input_shape)} must be known")
        return channels

    def build(self, input_shape: Shape) -> list[Weight]:
        shape = (self.frame_length, 1, self.freq_bins)
        sides = [s for s in ("real", "imag") if self.mode != ("imag" if s == "real" else "real")]
        # The initializer in Keras's config form, so --run can make the cos/sin kernels
        # (kernels.spectral.stft_kernel) with this layer's window, scaling and periodic.
        return [
            self.weight(
                f"{side}_kernel",
                shape,
                {
                    "class_name": "STFT",
                    "config": {
                        "side": side,
                        "window": self.window,
                        "periodic": self.periodic,
                        "scaling": self.scaling,
                    },
                },
            )
            for side in sides
        ]

    def _frames(self, time: Dim) -> Dim:
        if time is None:
            return None
        # Keras: numpy floor of a true division, so a fractional frame_step works too.
        if self.padding == "valid":
            frames = math.floor((time - self.frame_length) / self.stride) + 1
            if frames <= 0:
                raise ShapeError(
                    f"valid padding needs time >= frame_length: floor(({time} - {self.frame_length})/"
                    f"{self.stride}) + 1 = {frames}"
                )
            return frames
        return math.floor((time - 1) / self.stride) + 1

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        channels = self._channels(input_shape)
        freq = self.freq_bins * (2 if self.mode == "stft" else 1)
        last = self.data_format == "channels_last"
        frames = self._frames(input_shape[1] if last else input_shape[2])
        batch = input_shape[0]
        if self.expand_dims:
            return (batch, frames, freq, channels) if last else (batch, channels, frames, freq)
        return (batch, frames, freq * channels) if last else (batch, freq * channels, frames)

    def macs(self, input_shape: Shape, output_shape: OutputShape) -> int | None:
        """The strided convolution of every channel with the real and imaginary STFT kernels
        (frame_length taps x frequency bins per frame; one kernel in modes real and imag)."""
        last = self.data_format == "channels_last"
        time = input_shape[1] if last else input_shape[2]
        channels = self._channels(input_shape)
        kernels = 1 if self.mode in ("real", "imag") else 2
        return known_product([self._frames(time), channels, kernels, self.frame_length, self.freq_bins])

    def explain(self, input_shape: Shape) -> list[Step]:
        time = input_shape[1] if self.data_format == "channels_last" else input_shape[2]
        if self.padding == "valid":
            frames = f"floor(({show(time)} - {self.frame_length}) / {self.stride}) + 1"
        else:
            frames = f"floor(({show(time)} - 1) / {self.stride}) + 1"
        steps = [
            Step(
                "frames",
                frames,
                self._frames(time),
                f"frame_length {self.frame_length}, {self.padding} padding",
            ),
            Step("bins", f"floor({self.fft_size} / 2) + 1", self.freq_bins, "fft_length"),
        ]
        output = self.compute_output_shape(input_shape)
        parts = "2 * bins (real and imaginary)" if self.mode == "stft" else f"bins ({self.mode})"
        if self.expand_dims:
            return [*steps, Step("shape", f"frames, {parts}, channels on their own axes", list(output))]
        return [
            *steps,
            Step(
                "features",
                f"{parts} * channels {self._channels(input_shape)}",
                output[-1 if self.data_format == "channels_last" else 1],
            ),
        ]

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        # Keras's __call__ casts float inputs to the compute dtype; integers reach call(), which refuses them.
        x = np.asarray(inputs)
        if x.dtype.kind != "f":
            raise CallFailure(f"STFTSpectrogram needs a float input, got {x.dtype}")
        x = x.astype(np.float32, copy=False)
        last = self.data_format == "channels_last"
        batch, channels, time = (x.shape[0], x.shape[2], x.shape[1]) if last else x.shape
        # Every channel is one signal: (B*C, T, 1) through the (frame_length, 1, F) kernels.
        signals = (np.swapaxes(x, 1, 2) if last else x).reshape(batch * channels, time, 1)

        def spectrum(side: str) -> np.ndarray:  # -> (B, C, F, frames), as Keras's _apply_conv
            kernel = weights[f"{side}_kernel"].astype(np.float32, copy=False)
            out = conv_kernels.conv(signals, kernel, (self.stride,), self.padding, (1,))
            return np.swapaxes(out, 1, 2).reshape(batch, channels, kernel.shape[-1], -1)

        if self.mode == "real":
            return self._arrange(spectrum("real"))
        if self.mode == "imag":
            return self._arrange(spectrum("imag"))
        real, imag = spectrum("real"), spectrum("imag")
        if self.mode == "angle":
            return self._arrange(np.arctan2(imag, real))
        if self.mode == "stft":
            return self._arrange(np.concatenate([real, imag], axis=2))
        power = np.square(real) + np.square(imag)
        if self.mode == "psd":
            # One-sided PSD: every bin but the first and the last counts twice.
            doubled = np.pad(power[:, :, 1:-1, :], [(0, 0), (0, 0), (1, 1), (0, 0)])
            return self._arrange(power + doubled)
        eps = np.asarray(1e-7, power.dtype)  # keras.backend.epsilon()
        magnitude = self._arrange(np.sqrt(np.maximum(power, eps)))
        if self.mode == "magnitude":
            return magnitude
        return np.log(np.maximum(magnitude, eps))

    def _arrange(self, out: np.ndarray) -> np.ndarray:
        """(B, C, F, frames) -> the layer's layout (Keras's _adjust_shapes)."""
        batch, channels, freq, frames = out.shape
        if self.data_format == "channels_last":
            if self.expand_dims:
                return out.transpose(0, 3, 2, 1)
            return out.reshape(batch, channels * freq, frames).transpose(0, 2, 1)
        if self.expand_dims:
            return out.transpose(0, 1, 3, 2)
        return out.reshape(batch, channels * freq, frames)
