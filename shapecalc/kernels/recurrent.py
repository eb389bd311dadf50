"""The time loop shared by the recurrent layers (RNN, SimpleRNN, GRU, LSTM, ConvLSTM).

A cell is split in two, so the input transformation of every time step is one large
operation before the loop and only the recurrent part runs step by step:

* ``project(x, weights)``: the input part for any leading axes, ``(B, T, ...)`` at once;
* ``step(projected, states, weights) -> (output, new_states)``: one step, vectorised over the batch;
* ``zero_states(projected_step)``: Keras's initial states (zeros), sized from one projected step.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from .activations import activation

Array = np.ndarray


class SteppedCell(Protocol):
    def project(self, x: Array, weights: Mapping[str, Array]) -> Array: ...

    def step(
        self, projected: Array, states: Sequence[Array], weights: Mapping[str, Array]
    ) -> tuple[Array, list[Array]]: ...

    def zero_states(self, projected: Array) -> list[Array]: ...


def sub_weights(weights: Mapping[str, Array], prefix: str) -> dict[str, Array]:
    """A sub-layer's weights under their own relative paths (``lstm_cell/kernel`` -> ``kernel``)."""
    head = prefix + "/"
    return {path[len(head) :]: value for path, value in weights.items() if path.startswith(head)}


def run_over_time(
    cell: SteppedCell,
    weights: Mapping[str, Array],
    sequences: Array,
    go_backwards: bool,
    return_sequences: bool,
) -> tuple[Array, list[Array]]:
    """Keras's RNN loop from zero states: (last output or all outputs, final states).

    With ``go_backwards`` the steps run from the last input to the first, and the returned
    sequence stays in that processing order (Keras's rnn flips the scan's outputs back again).
    """
    if sequences.shape[1] == 0:
        raise ValueError("a recurrent layer needs at least one time step to produce an output")
    # time-major before projecting: the input is usually narrower than its projection (4 gates),
    # and each step then reads one contiguous block
    time_major = np.swapaxes(sequences, 0, 1)
    if go_backwards:
        time_major = time_major[::-1]
    projected = np.ascontiguousarray(cell.project(np.ascontiguousarray(time_major), weights))
    states = cell.zero_states(projected[0])
    outputs: list[Array] = []
    output = projected[0]
    for t in range(projected.shape[0]):
        output, states = cell.step(projected[t], states, weights)
        if return_sequences:
            outputs.append(output)
    if return_sequences:
        return np.stack(outputs, axis=1), states
    return output, states


def lstm_update(
    z: Array, c_prev: Array, recurrent_activation: object, cell_activation: object
) -> tuple[Array, Array]:
    """Keras's LSTM state update from the gate pre-activations ``z`` = [i, f, c, o] on the last
    axis (summed input and recurrent parts, bias included): returns (h, c). ``z`` is consumed.

    With Keras's default activations (sigmoid gates, tanh) all four gates take one tanh over
    the whole of ``z``, sigmoid(x) being (1 + tanh(x / 2)) / 2: whole-array passes use NumPy's
    SIMD loops (column slices do not), and for small batches these passes cost as much as the
    step's matrix product.
    """
    units = z.shape[-1] // 4
    if recurrent_activation == "sigmoid" and cell_activation == "tanh":
        scale, shift = _sigmoid_tanh_affine(units, z.dtype)
        z *= scale
        np.tanh(z, out=z)
        z *= scale
        z += shift
        i, f, c, o = _gate_columns(z, units)
        c_new = f * c_prev
        c *= i
        c_new += c
        h = np.tanh(c_new)
        h *= o
        return h, c_new
    i, f, c, o = _gate_columns(z, units)
    gate, act = activation(recurrent_activation), activation(cell_activation)
    c_new = gate(f) * c_prev + gate(i) * act(c)
    return gate(o) * act(c_new), c_new


def _gate_columns(z: Array, units: int) -> list[Array]:
    return [z[..., k * units : (k + 1) * units] for k in range(4)]


@functools.cache
def _sigmoid_tanh_affine(units: int, dtype: np.dtype) -> tuple[Array, Array]:
    """Per-column (scale, shift) for [i, f, c, o]: 1/2 and 1/2 on the sigmoid gates, 1 and 0
    on the tanh candidate. Shared read-only arrays."""
    scale = np.full(4 * units, 0.5, dtype)
    shift = np.full(4 * units, 0.5, dtype)
    scale[2 * units : 3 * units], shift[2 * units : 3 * units] = 1.0, 0.0
    scale.flags.writeable = shift.flags.writeable = False
    return scale, shift
