"""The time loop shared by the recurrent layers (RNN, SimpleRNN, GRU, LSTM, ConvLSTM).

A cell is split in two, so the input transformation of every time step is one large
operation before the loop and only the recurrent part runs step by step:

* ``project(x, weights)``: the input part for any leading axes, ``(B, T, ...)`` at once;
* ``step(projected, states, weights) -> (output, new_states)``: one step, vectorised over the batch;
* ``zero_states(projected_step)``: Keras's initial states (zeros), sized from one projected step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

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
    if go_backwards:
        sequences = sequences[:, ::-1]
    # time-major and contiguous, so each step reads one block of memory
    projected = np.ascontiguousarray(np.swapaxes(cell.project(sequences, weights), 0, 1))
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
