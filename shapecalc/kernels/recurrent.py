"""The time loop shared by the recurrent layers (RNN, SimpleRNN, GRU, LSTM, ConvLSTM).

A cell is split in two, so the input transformation of every time step is one large
operation before the loop and only the recurrent part runs step by step:

* ``project(x, weights)``: the input part for any leading axes, time-major ``(T, B, ...)`` at once;
* ``step(projected, states, weights) -> (output, new_states)``: one step, vectorised over the batch;
* ``zero_states(projected_step)``: Keras's initial states (zeros), sized from one projected step;
* ``loop_weights(weights)``: the weights as ``project`` and ``step`` take them, made once per
  call (an LSTM reorders and scales its gate columns, see :func:`sigmoid_gates_first`).

Every projected step must be one contiguous block, in C order (B, G) or, where the cell keeps
its steps feature-major (SimpleRNN, GRU and LSTM cells: see feature_major_matmul), in F order;
the states follow the projected steps' order. A cell may also run the plain loop (no mask)
itself, over all the steps at once: ``run_steps(projected, states, weights, return_sequences)``,
None where it does not (the LSTM's, lstm_steps; the SimpleRNN's, simple_steps).

A Keras mask over the steps (:class:`StepMask`) takes a loop of its own; without one the loop
is the plain one, unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import CallFailure
from . import fails_as_keras
from .activations import activation

Array = np.ndarray


class SteppedCell(Protocol):
    def project(self, x: Array, weights: Mapping[str, Array]) -> Array: ...

    def step(
        self, projected: Array, states: Sequence[Array], weights: Mapping[str, Array]
    ) -> tuple[Array, list[Array]]: ...

    def zero_states(self, projected: Array) -> list[Array]: ...

    def loop_weights(self, weights: Mapping[str, Array]) -> Mapping[str, Array]: ...


def sub_weights(weights: Mapping[str, Array], prefix: str) -> dict[str, Array]:
    """A sub-layer's weights under their own relative paths (``lstm_cell/kernel`` -> ``kernel``)."""
    head = prefix + "/"
    return {path[len(head) :]: value for path, value in weights.items() if path.startswith(head)}


@dataclass(frozen=True)
class StepMask:
    """A Keras mask over the time steps, as the numpy backend's rnn applies it.

    A masked step keeps the previous states and outputs the previous output, read from the
    states (``output_state``: the first state, the last cell's first in a stack), or zeros with
    ``zero_output`` (zero_output_for_mask, also when only the last output is returned).
    ``unroll`` takes the other path: the output is the previous step's output (zeros before the
    first step) whatever zero_output says, and the mask is tiled over each output and state.
    """

    mask: Array  # Keras's mask argument: (B, T) or (B, T, ...)
    zero_output: bool = False
    unroll: bool = False
    output_state: int = 0


def run_over_time(
    cell: SteppedCell,
    weights: Mapping[str, Array],
    sequences: Array,
    go_backwards: bool,
    return_sequences: bool,
    mask: StepMask | None = None,
    initial_states: list[Array] | None = None,
) -> tuple[Array, list[Array]]:
    """Keras's RNN loop from zero states, or from ``initial_states`` (Keras's initial_state, one
    (batch, size) array per state): (last output or all outputs, final states).

    With ``go_backwards`` the steps run from the last input to the first, and the returned
    sequence stays in that processing order (Keras's rnn flips the scan's outputs back again).
    """
    if sequences.shape[1] == 0:
        raise CallFailure("a recurrent layer needs at least one time step to produce an output")
    # time-major before projecting: the input is usually narrower than its projection (4 gates),
    # and each step then reads one contiguous block
    time_major = np.swapaxes(sequences, 0, 1)
    if go_backwards:
        time_major = time_major[::-1]
    # each step's block is contiguous, in the memory order the cell chose (see feature_major_matmul)
    weights = cell.loop_weights(weights)
    # (not copied to be contiguous: a cell's product reads the steps as they are, an LSTM's
    # sequence output feature-major, step by step, without a transposing copy)
    projected = cell.project(time_major, weights)
    states = cell.zero_states(projected[0])
    if initial_states is not None:
        if [s.shape for s in states] != [np.shape(s) for s in initial_states]:
            want = ", ".join(str(s.shape) for s in states)
            given = ", ".join(str(np.shape(s)) for s in initial_states)
            raise CallFailure(f"initial_state must be {len(states)} states of shapes {want}, got {given}")
        for state, given_state in zip(states, initial_states, strict=True):
            state[...] = given_state  # in the memory order the cell chose for its states
    if mask is not None:
        return _masked_loop(cell, weights, projected, states, mask, go_backwards, return_sequences)
    run_steps = getattr(cell, "run_steps", None)
    ran = None if run_steps is None else run_steps(projected, states, weights, return_sequences)
    if ran is not None:
        return ran
    outputs: list[Array] = []
    output = projected[0]
    for t in range(projected.shape[0]):
        output, states = cell.step(projected[t], states, weights)
        if return_sequences:
            outputs.append(output)
    if return_sequences:
        return _sequence(outputs), states
    return output, states


def _masked_loop(
    cell: SteppedCell,
    weights: Mapping[str, Array],
    projected: Array,
    states: list[Array],
    mask: StepMask,
    go_backwards: bool,
    return_sequences: bool,
) -> tuple[Array, list[Array]]:
    """run_over_time's loop with a mask (``projected`` is time-major, in processing order)."""
    steps = np.asarray(mask.mask).astype(bool)
    if steps.ndim == 2:
        steps = steps[..., np.newaxis]  # (B, T, 1): one flag per step
    steps = np.swapaxes(steps, 0, 1)
    if go_backwards:
        steps = steps[::-1]
    outputs: list[Array] = []
    previous: Array | None = None
    for t in range(projected.shape[0]):
        output, new_states = cell.step(projected[t], states, weights)
        if mask.unroll:
            kept = _tiled(steps[t], output)
            output = np.where(kept, output, np.zeros_like(output) if previous is None else previous)
            states = [np.where(_tiled(steps[t], s), n, s) for s, n in zip(states, new_states, strict=True)]
        else:
            # a step counts as masked when every flag of it is off; the (B, 1) flags broadcast
            # against each output and state from the right, which fails for most image states
            skipped = np.all(~steps[t], axis=-1, keepdims=True)
            held = np.zeros_like(output) if mask.zero_output else states[mask.output_state]
            with fails_as_keras(f"the step flags {skipped.shape} do not broadcast against the step output"):
                output = np.where(skipped, held, output)
                states = [np.where(skipped, s, n) for s, n in zip(states, new_states, strict=True)]
        previous = output
        if return_sequences:
            outputs.append(output)
    assert previous is not None
    return (_sequence(outputs) if return_sequences else previous), states


def _sequence(outputs: list[Array]) -> Array:
    """The step outputs as (B, T, ...), stored time-major: a recurrent layer reading the sequence
    next takes it time-major without a copy, and other layers accept any strides."""
    return np.swapaxes(np.stack(outputs), 0, 1)


def _tiled(flags: Array, like: Array) -> Array:
    """The unrolled rnn's mask for one step: trailing axes added, then tiled over ``like``'s
    non-batch axes (so a (B, 1) flag covers the whole output; wider flags do not fit)."""
    for _ in range(like.ndim - flags.ndim):
        flags = flags[..., np.newaxis]
    return np.tile(flags, (1, *like.shape[1:]))


def feature_major_matmul(x: Array, matrix: Array) -> Array:
    """``x @ matrix`` for ``x`` (..., B, F): each (B, G) matrix of the result is stored in F order,
    as (G, B), so that a recurrent step's gates (column blocks) are contiguous rows of memory.

    NumPy's elementwise loops run several times faster on contiguous blocks than on the strided
    column slices of a C-ordered (B, G), and BLAS computes the step's product h @ U as
    U^T h^T with the long side first: an LSTM(128) step at batch 64 takes about 20% less time.
    (One product over all the steps, stored (G, T, B), takes 0.3 ms less for 50 steps of 64 x 64
    features into 512 gate values, but each step's block is then strided: adding it to the
    step's product takes 8 us longer, 0.4 ms over the 50 steps.)
    """
    physical = np.empty((*x.shape[:-2], matrix.shape[-1], x.shape[-2]), np.result_type(x, matrix))
    out = np.swapaxes(physical, -1, -2)
    np.matmul(x, matrix, out=out)
    return out


def lstm_update(
    z: Array, c_prev: Array, recurrent_activation: object, cell_activation: object
) -> tuple[Array, Array]:
    """Keras's LSTM state update from the gate pre-activations ``z`` = [i, f, c, o] on the last
    axis (summed input and recurrent parts, bias included): returns (h, c). ``z`` is consumed.

    With Keras's default activations (sigmoid gates, tanh) the gates are computed in place with
    tanh alone, sigmoid(x) being (1 + tanh(x / 2)) / 2: gate by gate where each gate is one
    contiguous block (feature-major steps), else in passes over the whole of ``z`` (NumPy's SIMD
    loops need contiguous memory, which a column slice of a C-ordered ``z`` is not). For small
    batches these passes cost as much as the step's matrix product.
    """
    units = z.shape[-1] // 4
    i, f, c, o = _gate_columns(z, units)
    if recurrent_activation != "sigmoid" or cell_activation != "tanh":
        gate, act = activation(recurrent_activation), activation(cell_activation)
        c_new = gate(f) * c_prev + gate(i) * act(c)
        return gate(o) * act(c_new), c_new
    if z.ndim == 2 and z.flags.f_contiguous:
        for gates in (z[:, : 2 * units], o):  # i and f are adjacent
            gates *= 0.5
            np.tanh(gates, out=gates)
            gates += 1.0
            gates *= 0.5
        np.tanh(c, out=c)
    else:
        scale, shift = _sigmoid_tanh_affine(units, z.dtype)
        z *= scale
        np.tanh(z, out=z)
        z *= scale
        z += shift
    return _new_states(i, f, c, o, c_prev)


def lstm_update_sigmoid_gates_first(z: Array, c_prev: Array) -> tuple[Array, Array]:
    """:func:`lstm_update` with Keras's default activations on gate pre-activations laid out by
    :func:`sigmoid_gates_first`: [i/2, f/2, o/2, c]. The three sigmoid gates are one block,
    sigmoid(x) = (1 + tanh(x / 2)) / 2 taken over all three at once: the same values as
    :func:`lstm_update` in 12 NumPy calls per step instead of 17."""
    units = z.shape[-1] // 4
    gates, c = z[..., : 3 * units], z[..., 3 * units :]
    np.tanh(gates, out=gates)
    gates += 1.0
    gates *= 0.5
    i, f, o = (gates[..., k * units : (k + 1) * units] for k in range(3))
    np.tanh(c, out=c)
    return _new_states(i, f, c, o, c_prev)


def _new_states(i: Array, f: Array, candidate: Array, o: Array, c_prev: Array) -> tuple[Array, Array]:
    """(h, c) from the activated gates: c = f c_prev + i candidate, h = o tanh(c); the
    candidate is consumed."""
    c_new = f * c_prev
    candidate *= i
    c_new += candidate
    h = np.tanh(c_new)
    h *= o
    return h, c_new


def lstm_steps(
    projected: Array,
    states: Sequence[Array],
    recurrent_kernel: Array,
    bias: Array | None,
    return_sequences: bool,
) -> tuple[Array, list[Array]]:
    """An LSTM's plain loop (no mask) over every step of ``projected`` (time-major, each step
    feature-major) with loop weights by :func:`sigmoid_gates_first`, from ``states`` [h, c]:
    (the last h, or every h as (B, T, units); [h, c]). ``bias``: added to each step's sum
    (Keras's implementation 2), or None when the projection holds it.

    The operations of ``LSTMCell.step`` and :func:`lstm_update_sigmoid_gates_first`, in the same
    order (the same values to the bit), with the step's buffers made once and each h written
    straight into the sequence: 6% less time than a step call per step (50 steps, batch 64,
    128 units).
    """
    h, c = states
    units = h.shape[-1]
    z = np.empty_like(projected[0])  # the steps' memory order (feature-major)
    sigmoid_gates, candidate = z[:, : 3 * units], z[:, 3 * units :]
    i, f, o = (z[:, k * units : (k + 1) * units] for k in range(3))
    c_next = np.empty_like(c)
    # every h feature-major as well: the sequence stored (T, units, B)
    sequence = np.empty((projected.shape[0], units, h.shape[0]), z.dtype) if return_sequences else None
    h_buffers = (np.empty_like(h), np.empty_like(h))
    for t in range(projected.shape[0]):
        np.matmul(h, recurrent_kernel, out=z)
        z += projected[t]
        if bias is not None:
            z += bias
        np.tanh(sigmoid_gates, out=sigmoid_gates)
        sigmoid_gates += 1.0
        sigmoid_gates *= 0.5
        np.tanh(candidate, out=candidate)
        np.multiply(f, c, out=c_next)
        candidate *= i
        c_next += candidate
        h = h_buffers[t % 2] if sequence is None else sequence[t].T
        np.tanh(c_next, out=h)
        h *= o
        c, c_next = c_next, c
    output = h if sequence is None else np.transpose(sequence, (2, 0, 1))
    return output, [h, c]


def simple_steps(
    projected: Array,
    state: Array,
    recurrent_kernel: Array,
    activate: Callable[[Array], object],
    return_sequences: bool,
) -> tuple[Array, list[Array]]:
    """A SimpleRNN's plain loop (no mask): h = activation(h_prev @ recurrent_kernel + projected)
    at every step, each h computed in its own slot of the (feature-major) sequence, ``activate``
    applying the activation in place: the operations of ``SimpleRNNCell.step`` (the same values
    to the bit) without a call, an allocation and a copy per step."""
    units, batch = state.shape[-1], state.shape[0]
    sequence = np.empty((projected.shape[0], units, batch), state.dtype) if return_sequences else None
    h_buffers = (np.empty_like(state), np.empty_like(state))
    h = state
    for t in range(projected.shape[0]):
        h_next = h_buffers[t % 2] if sequence is None else sequence[t].T
        np.matmul(h, recurrent_kernel, out=h_next)
        h_next += projected[t]
        activate(h_next)
        h = h_next
    output = h if sequence is None else np.transpose(sequence, (2, 0, 1))
    return output, [h]


# The key that marks LSTM weights prepared by sigmoid_gates_first.
SIGMOID_GATES_FIRST = "sigmoid_gates_first"


def sigmoid_gates_first(weights: Mapping[str, Array], units: int) -> dict[str, Array]:
    """An LSTM's weights for :func:`lstm_update_sigmoid_gates_first`: the gate columns of the
    kernel, recurrent kernel and bias reordered from Keras's [i, f, c, o] to [i, f, o, c], and
    the sigmoid gates' halved. Halving is exact (a power of two), and so is every sum of halved
    products: the pre-activations come out as exactly half of Keras's, x / 2 for the sigmoid
    without a pass of its own."""
    order = np.r_[0 : 2 * units, 3 * units : 4 * units, 2 * units : 3 * units]
    prepared = dict(weights)
    for name in ("kernel", "recurrent_kernel", "bias"):
        if name in weights:
            columns = weights[name][..., order]
            columns[..., : 3 * units] *= 0.5
            prepared[name] = columns
    prepared[SIGMOID_GATES_FIRST] = np.True_
    return prepared


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
