"""Recurrent layers: the generic RNN wrapper, and SimpleRNN, GRU, LSTM (an RNN around a cell it
makes itself, named ``<type>_cell``); the cells are in recurrent_cells.py.

The RNN rule, as Keras 3 has it (keras/src/layers/rnn/rnn.py): the cell is built on one time step,
``(B, *input[2:])``, and sizes its kernel from that shape's last axis; the output is
``(B, output_size)`` or ``(B, T, output_size)``, and ``return_state`` appends one ``(B, s)`` per
state size. Anything that has a state size can be a cell, recurrent layers included.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ..errors import CallFailure, ShapeError
from ..lazy import lazy
from . import args as A
from .base import (
    REQUIRED,
    Arg,
    Built,
    Layer,
    OutputShape,
    Shape,
    Sizes,
    Weight,
    build_sublayer,
    fmt_shape,
    known_product,
    require_rank,
)
from .explaining import Step, recurrent
from .recurrent_args import (
    cell_argument,
    flag,
    use_cudnn,
)
from .recurrent_cells import (
    Cell,
    GRUCell,
    LSTMCell,
    SimpleRNNCell,
    StackedRNNCells,
    flatten_sizes,
    flatten_states,
    steppable,
)
from .registry import register

np = lazy("numpy")
kernels = lazy("..kernels", __package__)
activation_kernels = lazy("..kernels.activations", __package__)
recurrent_kernels = lazy("..kernels.recurrent", __package__)


# ----------------------------------------------------------------------------- RNN
RNN_FLAGS = (
    Arg("return_sequences", flag, False, "true: output every step (B, T, u)"),
    Arg("return_state", flag, False, "true: also output the last states"),
    Arg("go_backwards", flag, False),
    Arg("stateful", flag, False, "needs a known batch size"),
    Arg("unroll", flag, False),
    Arg("zero_output_for_mask", flag, False),
)


@register
class RNN(Layer):
    """Runs ``cell`` over the time axis; a list of cells is stacked (StackedRNNCells)."""

    # Keras's RNN keeps the flag to itself: a given cell's weights stay trainable
    trainable_flag_reaches_weights = False
    supports_masking = True

    arguments = (Arg("cell", cell_argument, REQUIRED, nested_layer=True), *RNN_FLAGS)
    # initial_state: the states to start from, tensors of the graph (an encoder's final states);
    # Keras checks nothing about them until the layer runs
    call_arguments = (Arg("initial_state", A.anything, None, "a list of state tensors", tensors=True),)
    cell: Any

    @classmethod
    def wrap_nested_list(cls, argument: str, layers: list[Layer], auto_name: Callable[[str], str]) -> Any:
        """A list of cells becomes one StackedRNNCells, auto-named as Keras names it.

        For the graph builder: called with the nested layers of a list-valued ``cell``.
        """
        return StackedRNNCells(cells=cell_argument(layers), name=auto_name("StackedRNNCells"))

    def configure(self) -> None:
        if isinstance(self.cell, list):
            # without the graph builder's wrap_nested_list (no Namer here): Keras's first name
            self.cell = StackedRNNCells(cells=self.cell, name="stacked_rnn_cells")

    @property
    def state_size(self) -> list[Any]:
        # a recurrent layer has a state size (so it can serve as a cell) but no output_size
        size = self.cell.state_size
        return list(size) if isinstance(size, list) else [size]

    def check_input(self, input_shape: Shape) -> None:
        # no InputSpec; the shape rule reads the time axis, so rank 1 fails there
        require_rank(self, input_shape, min_rank=2)

    def _check_states_batch(self, input_shape: Shape) -> None:
        if self.stateful and input_shape[0] is None:
            raise ShapeError(
                f"stateful: true needs a known batch size to hold the states, got {fmt_shape(input_shape)}"
            )

    def build(self, input_shape: Shape) -> list[Weight]:
        self._check_states_batch(input_shape)
        step = (input_shape[0], *input_shape[2:])
        return build_sublayer(self.cell, step)

    def check_later_call(self, input_shape: Shape, built: Built) -> None:
        # the cell keeps the weights of the first call; Keras checks the rest when it runs
        self.check_input(input_shape)
        self._check_states_batch(input_shape)

    def _output_units(self) -> int:
        size = getattr(self.cell, "output_size", None)
        if size is None:
            size = self.state_size[0]
        if not isinstance(size, int):
            raise ShapeError(f"the cell's output size must be an integer, got {size}")
        if size < 0 or any(s < 0 for s in flatten_sizes(self.state_size)):
            # a ConvLSTM layer reports state size -1: it cannot serve as a plain RNN cell
            raise ShapeError(f"the cell {self.cell.type_name()} has no usable state size for RNN")
        return size

    def macs(self, input_shape: Shape, output_shape: OutputShape) -> int | None:
        """Every time step runs the cell once."""
        step_macs = getattr(self.cell, "step_macs", None)
        if step_macs is None:  # a layer given as the cell: Keras cannot run it
            return None
        return known_product([input_shape[1], step_macs((input_shape[0], *input_shape[2:]))])

    def compute_output_shape(self, input_shape: Shape, initial_state: Any = None) -> OutputShape:
        batch = input_shape[0]
        units = self._output_units()
        out: Shape = (batch, input_shape[1], units) if self.return_sequences else (batch, units)
        if self.return_state:
            return [out, *flatten_states(batch, self.state_size)]
        return out

    def run_work_elements(self, input_shapes: Sizes, output_shapes: Sizes) -> int:
        # every step's input projection at once (gates x a step's output), and with
        # return_sequences the list of step outputs beside their stacked copy
        steps = max(input_shapes[0][1], 1)
        sequence = math.prod(output_shapes[0])
        per_step = sequence // steps if self.return_sequences else sequence
        first = self.cell.cells[0] if isinstance(self.cell, StackedRNNCells) else self.cell
        gates = getattr(first, "gates", 4)
        return steps * per_step * gates + (sequence if self.return_sequences else 0) + 8 * per_step

    def forward(
        self,
        inputs: np.ndarray,
        weights: Mapping[str, np.ndarray],
        mask: Any = None,
        initial_state: list[np.ndarray] | None = None,
    ) -> Any:
        """From zero states (stateful layers start from zeros too), or ``initial_state``; a Keras
        mask holds the states over the masked steps (kernels.recurrent.StepMask)."""
        cell = steppable(self.cell)
        cells = cell.cells if isinstance(cell, StackedRNNCells) else [cell]
        if np.ndim(inputs) != 3 and any(isinstance(c, Cell) for c in cells):
            # Keras's shape rule reads the time axis only; a cell computes a step as a
            # (batch, features) matrix against (batch, units) states
            raise CallFailure(
                f"steps of shape {(inputs.shape[0], *inputs.shape[2:])} do not fit the cells' "
                "(batch, units) states: Keras's call fails on them (or, at batch 1, broadcasts "
                "them into outputs of another shape)"
            )
        lone = isinstance(cell, StackedRNNCells) and len(cell.cells) == 1
        # StackedRNNCells unwraps the state list of a single cell after a step. Unrolled with a
        # mask, Keras puts the nesting back each step; otherwise the next step hands an LSTMCell
        # one state ("list index out of range"), and a masked step cannot match the two nestings.
        if lone and mask is not None and not self.unroll:
            raise CallFailure(
                "Keras cannot run a one-cell stack on masked steps: the stack returns the cell's "
                "states unwrapped, which no longer match the nested states it started from "
                "(give the cell itself, not a list of one cell)"
            )
        if lone and mask is None and len(flatten_sizes(cell.cells[0].state_size)) > 1 and inputs.shape[1] > 1:
            raise CallFailure(
                f"Keras cannot run a one-cell stack whose cell has several states "
                f"({cell.cells[0].type_name()}) over more than one step: after the first step it "
                "passes the cell a single state (give the cell itself, not a list of one cell)"
            )
        steps = None
        if mask is not None:
            # the previous output is the first state; in a stack, the last cell's first state
            first = sum(cell._state_counts()[:-1]) if isinstance(cell, StackedRNNCells) else 0
            steps = recurrent_kernels.StepMask(
                mask, bool(self.zero_output_for_mask), bool(self.unroll), first
            )
        cell_weights = recurrent_kernels.sub_weights(weights, cell.name)
        output, states = recurrent_kernels.run_over_time(
            cell,
            cell_weights,
            inputs,
            bool(self.go_backwards),
            bool(self.return_sequences),
            steps,
            initial_state,
        )
        return [output, *states] if self.return_state else output

    def compute_mask(self, inputs: np.ndarray, mask: Any) -> Any:
        """The returned sequence keeps the input's mask; a last output and the states have none."""
        if isinstance(mask, list):
            mask = mask[0] if mask else None
        return mask if self.return_sequences else None

    def explain(self, input_shape: Shape) -> list[Step]:
        output = self.compute_output_shape(input_shape)
        step = (input_shape[0], *input_shape[2:])
        # a cell explains its step; another layer serving as the cell is described by its output size
        per_step = (self.cell.explain(step) if hasattr(self.cell, "step_macs") else []) or [
            Step("features", f"output size of the cell {self.cell.type_name()}", self._output_units())
        ]
        return recurrent(input_shape, output, bool(self.return_sequences), bool(self.return_state), per_step)


class _CellRNN(RNN):
    """SimpleRNN, GRU, LSTM: an RNN over a cell made from the layer's own arguments."""

    # SimpleRNN, GRU and LSTM pass the flag to the cell they make
    trainable_flag_reaches_weights = True

    cell_class: ClassVar[type[Cell]]
    cell_name: ClassVar[str]

    def configure(self) -> None:
        values = {a.name: getattr(self, a.name) for a in self.cell_class.arguments}
        self.cell = self.cell_class(**values, name=self.cell_name, dtype=self.dtype, trainable=self.trainable)

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, rank=3)


@register
class SimpleRNN(_CellRNN):
    cell_class = SimpleRNNCell
    cell_name = "simple_rnn_cell"
    arguments = (*SimpleRNNCell.arguments, *RNN_FLAGS)


@register
class GRU(_CellRNN):
    cell_class = GRUCell
    cell_name = "gru_cell"
    arguments = (*GRUCell.arguments, *RNN_FLAGS, Arg("use_cudnn", use_cudnn, "auto"))


@register
class LSTM(_CellRNN):
    cell_class = LSTMCell
    cell_name = "lstm_cell"
    arguments = (*LSTMCell.arguments, *RNN_FLAGS, Arg("use_cudnn", use_cudnn, "auto"))
