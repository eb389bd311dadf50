"""ConvLSTM1D/2D/3D: an LSTM whose input and recurrent transformations are convolutions.

After keras/src/layers/rnn/conv_lstm.py. Input (B, T, *spatial, C) (or (B, T, C, *spatial) with
channels_first); each time step is convolved like ConvND with 4*filters output channels.
Weights (in ``conv_lstm_cell``): kernel (*k, C, 4f), recurrent_kernel (*k, f, 4f), bias (4f,).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ..errors import ArgError, ShapeError
from ..lazy import lazy
from . import args as A
from .base import (
    REQUIRED,
    Arg,
    Layer,
    OutputShape,
    Shape,
    Sizes,
    Weight,
    fmt_shape,
    known_product,
    require_rank,
)
from .convolutional import (
    channel_axis,
    check_strides_dilation,
    conv_output_length,
    padded_elements,
    spatial_axes,
    with_channels,
)
from .explaining import Step, conv_step, recurrent, spatial_names
from .recurrent import RNN, RNN_FLAGS
from .recurrent_args import check_forget_bias_initializer, rate, seed
from .registry import register

np = lazy("numpy")
conv_kernels = lazy("..kernels.conv", __package__)
recurrent_kernels = lazy("..kernels.recurrent", __package__)


def _filters(value: Any) -> int:
    # Keras does not check filters: 0 gives empty weights, a negative count fails at build
    if not A.is_int(value) or value < 0:
        raise ArgError(f"expected an integer >= 0, got {A.describe(value)}")
    return value


def _conv_lstm_arguments(rank: int) -> tuple[Arg, ...]:
    return (
        Arg("filters", _filters, REQUIRED, "output channels (each gate has this many)"),
        Arg("kernel_size", A.int_tuple(rank), REQUIRED, f"window size: an integer or {rank} integers"),
        Arg("strides", A.int_tuple(rank), (1,) * rank),
        Arg("padding", A.padding("valid", "same"), "valid", "valid or same (case-insensitive)"),
        Arg("data_format", A.data_format, "channels_last"),
        Arg("dilation_rate", A.int_tuple(rank), (1,) * rank),
        Arg("activation", A.activation, "tanh"),
        Arg("recurrent_activation", A.activation, "sigmoid"),
        Arg("use_bias", A.truthy, True),
        Arg("kernel_initializer", A.initializer, "glorot_uniform"),
        Arg("recurrent_initializer", A.initializer, "orthogonal"),
        Arg("bias_initializer", A.initializer, "zeros"),
        Arg("unit_forget_bias", A.truthy, True),
        Arg("kernel_regularizer", A.regularizer, None),
        Arg("recurrent_regularizer", A.regularizer, None),
        Arg("bias_regularizer", A.regularizer, None),
        Arg("kernel_constraint", A.constraint, None),
        Arg("recurrent_constraint", A.constraint, None),
        Arg("bias_constraint", A.constraint, None),
        Arg("dropout", rate, 0.0),
        Arg("recurrent_dropout", rate, 0.0),
        Arg("seed", seed, None),
    )


class _ConvLSTMCell(Layer):
    """One step of ConvLSTM (not a Keras layer type of its own); built by its ConvLSTM layer."""

    rank: int
    filters: int
    kernel_size: tuple[int, ...]
    strides: tuple[int, ...]
    dilation_rate: tuple[int, ...]
    padding: str
    data_format: str
    use_bias: bool

    arguments = (Arg("rank", A.positive_int, REQUIRED), *_conv_lstm_arguments(3))

    # Keras sets state_size = -1 and lets ConvLSTM compute the shapes itself
    state_size = -1
    output_size = None

    def configure(self) -> None:
        check_forget_bias_initializer(self)

    def spatial_rules(self, step: Shape) -> list[tuple[int, int | None, str]]:
        rules = []
        for i, axis in enumerate(spatial_axes(self.rank, self.data_format)):
            out, formula = conv_output_length(
                step[axis], self.kernel_size[i], self.strides[i], self.dilation_rate[i], self.padding
            )
            rules.append((axis, out, formula))
        return rules

    def explain(self, step: Shape) -> list[Step]:
        """Each step is convolved: its spatial axes as a convolution's, its channels become filters."""
        names = spatial_names(self.rank)
        steps = [
            conv_step(
                names[i],
                step[axis],
                self.kernel_size[i],
                self.strides[i],
                self.dilation_rate[i],
                self.padding,
            )
            for i, axis in enumerate(spatial_axes(self.rank, self.data_format))
        ]
        return [*steps, Step("channels", "filters", self.filters)]

    def build(self, step: Shape) -> list[Weight]:
        spatial = [step[axis] for axis in spatial_axes(self.rank, self.data_format)]
        if None in spatial:
            raise ShapeError(f"ConvLSTM needs known spatial sizes, got {fmt_shape(step)} for each step")
        channels = step[channel_axis(self.data_format)]
        if channels is None:
            raise ShapeError(f"the channel axis must be known to build weights, got {fmt_shape(step)}")
        width = 4 * self.filters
        weights = [
            self.weight("kernel", (*self.kernel_size, channels, width), self.kernel_initializer),
            self.weight(
                "recurrent_kernel", (*self.kernel_size, self.filters, width), self.recurrent_initializer
            ),
        ]
        if self.use_bias:
            weights.append(self.weight("bias", (width,), self.bias_initializer))
        return weights

    def step_output(self, step: Shape) -> Shape:
        spatial = [out for _, out, _ in self.spatial_rules(step)]
        return with_channels(step, spatial, self.filters, self.data_format)

    def step_macs(self, step: Shape) -> int | None:
        """One step for one example: the input convolution (kernel taps x C x 4 filters per
        output position) and the recurrent one on the state (taps x filters x 4 filters)."""
        positions = known_product(out for _, out, _ in self.spatial_rules(step))
        channels = step[channel_axis(self.data_format)]
        taps, width = math.prod(self.kernel_size), 4 * self.filters
        if positions is None or channels is None:
            return None
        return positions * taps * (channels + self.filters) * width

    # ------------------------------------------------------------- kernel, on channels_last arrays
    def project(self, x: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        """The input convolution of every time step at once (steps folded into the batch axis)."""
        batch, steps = x.shape[:2]
        folded = x.reshape(batch * steps, *x.shape[2:])
        z = conv_kernels.conv(folded, weights["kernel"], self.strides, self.padding, self.dilation_rate)
        if self.use_bias:
            z += weights["bias"]
        return z.reshape(batch, steps, *z.shape[1:])

    def zero_states(self, projected: np.ndarray) -> list[np.ndarray]:
        shape = (*projected.shape[:-1], self.filters)
        return [np.zeros(shape, projected.dtype), np.zeros(shape, projected.dtype)]

    def loop_weights(self, weights: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        return weights

    def step(
        self, projected: np.ndarray, states: Sequence[np.ndarray], weights: Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        h_prev, c_prev = states
        # the recurrent convolution: always 'same' padding, stride 1, no dilation
        ones = (1,) * self.rank
        recurrent = conv_kernels.conv(h_prev, weights["recurrent_kernel"], ones, "same", ones)
        recurrent += projected
        h, c_new = recurrent_kernels.lstm_update(
            recurrent, c_prev, self.recurrent_activation, self.activation
        )
        return h, [h, c_new]


class _ConvLSTM(RNN):
    # unlike LSTM, ConvLSTM does not pass the flag to its cell
    trainable_flag_reaches_weights = False
    rank: ClassVar[int]
    cell: _ConvLSTMCell

    def configure(self) -> None:
        check_strides_dilation(self.strides, self.dilation_rate)
        values = {a.name: getattr(self, a.name) for a in _conv_lstm_arguments(self.rank)}
        self.cell = _ConvLSTMCell(rank=self.rank, **values, name="conv_lstm_cell", dtype=self.dtype)

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, rank=self.rank + 3)

    def compute_output_shape(self, input_shape: Shape, initial_state: Any = None) -> OutputShape:
        step = (input_shape[0], *input_shape[2:])
        state = self.cell.step_output(step)
        out: Shape = (state[0], input_shape[1], *state[1:]) if self.return_sequences else state
        if self.return_state:
            return [out, state, state]
        return out

    def run_work_elements(self, input_shapes: Sizes, output_shapes: Sizes) -> int:
        # the recurrent layer's, and the input convolution of every step at once on the input
        # padded for its windows (a dilation_rate far wider than the input pads far more)
        shape = input_shapes[0]
        folded = (shape[0] * shape[1], *shape[2:])
        out = self.cell.step_output(folded)
        axes = spatial_axes(self.rank, self.data_format)
        windows = (self.kernel_size, self.strides, self.dilation_rate, self.padding)
        padded = padded_elements(folded, out, axes, *windows)
        return super().run_work_elements(input_shapes, output_shapes) + 2 * padded

    def explain(self, input_shape: Shape) -> list[Step]:
        step = (input_shape[0], *input_shape[2:])
        output = self.compute_output_shape(input_shape)
        return recurrent(
            input_shape, output, bool(self.return_sequences), bool(self.return_state), self.cell.explain(step)
        )

    def forward(
        self,
        inputs: np.ndarray,
        weights: Mapping[str, np.ndarray],
        mask: Any = None,
        initial_state: list[np.ndarray] | None = None,
    ) -> Any:
        """With a Keras mask, as RNN. Keras's numpy backend broadcasts the (B, 1) step flag
        against the (B, *S, filters) output from the right, as NumPy does here: it fails unless
        the batch is 1 or happens to fit the last axes (then it masks the wrong places).
        Unrolled, it tiles the flag over each output instead, which works."""
        first = self.data_format == "channels_first"
        if first:
            # (B, T, C, *S) -> (B, T, *S, C); the cell computes channels_last
            inputs = np.moveaxis(inputs, 2, -1)
            if initial_state is not None:
                initial_state = [np.moveaxis(s, 1, -1) for s in initial_state]
        steps = None
        if mask is not None:
            steps = recurrent_kernels.StepMask(mask, bool(self.zero_output_for_mask), bool(self.unroll))
        output, states = recurrent_kernels.run_over_time(
            self.cell,
            recurrent_kernels.sub_weights(weights, self.cell.name),
            inputs,
            bool(self.go_backwards),
            bool(self.return_sequences),
            steps,
            initial_state,
        )
        if first:
            output = np.moveaxis(output, -1, 2 if self.return_sequences else 1)
            states = [np.moveaxis(s, -1, 1) for s in states]
        return [output, *states] if self.return_state else output


@register
class ConvLSTM1D(_ConvLSTM):
    rank = 1
    arguments = (*_conv_lstm_arguments(1), *RNN_FLAGS)


@register
class ConvLSTM2D(_ConvLSTM):
    rank = 2
    arguments = (*_conv_lstm_arguments(2), *RNN_FLAGS)


@register
class ConvLSTM3D(_ConvLSTM):
    rank = 3
    arguments = (*_conv_lstm_arguments(3), *RNN_FLAGS)
