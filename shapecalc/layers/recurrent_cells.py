"""Recurrent cells: SimpleRNNCell, GRUCell, LSTMCell (one time step each: the input projection
for all steps at once, then the recurrent step, see kernels/recurrent.py) and StackedRNNCells
(cells one after the other at each step). The RNN layers that run them over time are in
recurrent.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ..errors import ShapeError
from ..lazy import lazy
from . import args as A
from .base import (
    REQUIRED,
    Arg,
    Layer,
    Shape,
    Weight,
    build_sublayer,
    known_sum,
    require_known,
    weight_arguments,
)
from .explaining import Step, show
from .recurrent_args import (
    cell_list,
    check_forget_bias_initializer,
    rate,
    seed,
)
from .registry import register

np = lazy("numpy")
kernels = lazy("..kernels", __package__)
activation_kernels = lazy("..kernels.activations", __package__)
recurrent_kernels = lazy("..kernels.recurrent", __package__)

StateSize = int | list[Any]


def flatten_states(batch: int | None, state_size: list[Any]) -> list[Shape]:
    """One (B, s) per state, nested lists of sizes flattened as the output list is."""
    shapes: list[Shape] = []
    for size in state_size:
        if isinstance(size, list):
            shapes.extend((batch, s) for s in size)
        else:
            shapes.append((batch, size))
    return shapes


def flatten_sizes(state_size: Any) -> list[int]:
    if isinstance(state_size, list):
        return [s for size in state_size for s in flatten_sizes(size)]
    return [state_size]


# ----------------------------------------------------------------------------- cells
def _cell_arguments(gated: bool, extra: tuple[Arg, ...] = ()) -> tuple[Arg, ...]:
    gate = (Arg("recurrent_activation", A.activation, "sigmoid"),) if gated else ()
    return (
        Arg("units", A.positive_int, REQUIRED, "size of the output and of each state"),
        Arg("activation", A.activation, "tanh"),
        *gate,
        Arg("use_bias", A.truthy, True),
        *weight_arguments(kernel="glorot_uniform", recurrent="orthogonal", bias="zeros"),
        Arg("dropout", rate, 0.0),
        Arg("recurrent_dropout", rate, 0.0),
        Arg("seed", seed, None),
        *extra,
    )


class Cell(Layer):
    """One time step: kernel (F, gates*u), recurrent_kernel (u, gates*u), bias."""

    gates: ClassVar[int] = 1
    units: int
    use_bias: bool

    @property
    def state_size(self) -> StateSize:
        return self.units

    @property
    def output_size(self) -> int | None:
        return self.units

    def check_input(self, input_shape: Shape) -> None:
        # Keras: calling a cell on a tensor fails ("missing a required argument: 'states'")
        raise ShapeError(
            f"a {self.type_name()} is not called on a tensor by itself; wrap it: "
            f"RNN: {{cell: {{{self.type_name()}: ...}}}}"
        )

    def bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def build(self, input_shape: Shape) -> list[Weight]:
        features = require_known(input_shape, -1, "the feature axis")
        width = self.gates * self.units
        weights = [
            self.weight("kernel", (features, width), self.kernel_initializer),
            self.weight("recurrent_kernel", (self.units, width), self.recurrent_initializer),
        ]
        if self.use_bias:
            weights.append(self.weight("bias", self.bias_shape(), self.bias_initializer))
        return weights

    def step_macs(self, step: Shape) -> int | None:
        """One step for one example: every gate's input product (F x units) and recurrent
        product (units x units); the gates' elementwise products are not accumulated."""
        features = step[-1]
        return None if features is None else self.gates * self.units * (features + self.units)

    def explain(self, input_shape: Shape) -> list[Step]:
        """What one step makes of its (batch, features) input."""
        return [Step("features", "units", self.units, f"each step's {show(input_shape[-1])} features in")]

    # ------------------------------------------------------------- kernel (see kernels/recurrent.py)
    def input_bias(self, weights: Mapping[str, np.ndarray]) -> np.ndarray | None:
        return weights["bias"] if self.use_bias else None

    def project(self, x: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        """The input part of every gate, for all time steps at once: x @ kernel (+ input bias),
        every step's gates stored feature-major (see feature_major_matmul)."""
        z = recurrent_kernels.feature_major_matmul(x, weights["kernel"])
        bias = self.input_bias(weights)
        if bias is not None:
            z += bias  # z is a new array
        return z

    def recurrent_product(self, h: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """h @ matrix in h's memory order (feature-major in the loop): BLAS computes it as
        matrix^T h^T, and the gates after it run on contiguous blocks."""
        out = np.empty((matrix.shape[-1], h.shape[0]), np.result_type(h, matrix)).T
        return np.matmul(h, matrix, out=out if h.strides[0] < h.strides[-1] else None)

    def zero_states(self, projected: np.ndarray) -> list[np.ndarray]:
        count = len(self.state_size) if isinstance(self.state_size, list) else 1
        # in the projected step's memory order (feature-major)
        order = "F" if projected.strides[0] < projected.strides[-1] else "C"
        shape = (projected.shape[0], self.units)
        return [np.zeros(shape, projected.dtype, order=order) for _ in range(count)]

    def loop_weights(self, weights: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        return weights

    def step(
        self, projected: np.ndarray, states: Sequence[np.ndarray], weights: Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        raise NotImplementedError

    def forward(self, inputs: Any, weights: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """One time step, as Keras's ``cell(x, states)``: ``inputs`` is x (B, F) (zero states) or
        [x, *states]; returns [output, *new_states]."""
        x, *states = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        weights = self.loop_weights(weights)
        projected = self.project(x, weights)
        output, new_states = self.step(projected, states or self.zero_states(projected), weights)
        return [output, *new_states]


@register
class SimpleRNNCell(Cell):
    """h = activation(x @ kernel + bias + h_prev @ recurrent_kernel)."""

    arguments = _cell_arguments(gated=False)

    def step(
        self, projected: np.ndarray, states: Sequence[np.ndarray], weights: Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        z = self.recurrent_product(states[0], weights["recurrent_kernel"])
        z += projected
        h = activation_kernels.activation(self.activation)(z)
        return h, [h]

    def run_steps(
        self,
        projected: np.ndarray,
        states: Sequence[np.ndarray],
        weights: Mapping[str, np.ndarray],
        return_sequences: bool,
    ) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """The plain loop in one kernel (simple_steps) for a value-by-value activation on float32
        steps; None otherwise: the loop then calls step."""
        activate = activation_kernels.in_place(self.activation)
        if activate is None or projected.dtype != np.float32 or states[0].dtype != np.float32:
            return None
        recurrent = weights["recurrent_kernel"]
        return recurrent_kernels.simple_steps(projected, states[0], recurrent, activate, return_sequences)


@register
class GRUCell(Cell):
    """Gates z, r, h; reset_after (default) keeps separate input and recurrent biases: (2, 3u)."""

    gates = 3
    arguments = _cell_arguments(
        gated=True, extra=(Arg("reset_after", A.truthy, True), Arg("implementation", A.anything, 2))
    )

    def bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def input_bias(self, weights: Mapping[str, np.ndarray]) -> np.ndarray | None:
        if not self.use_bias:
            return None
        # reset_after: row 0 is the input bias, row 1 the recurrent bias
        return weights["bias"][0] if self.reset_after else weights["bias"]

    def step(
        self, projected: np.ndarray, states: Sequence[np.ndarray], weights: Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        u, h_prev, recurrent = self.units, states[0], weights["recurrent_kernel"]
        x_zr, x_h = projected[:, : 2 * u], projected[:, 2 * u :]
        if self.reset_after:
            inner = self.recurrent_product(h_prev, recurrent)
            if self.use_bias:
                inner += weights["bias"][1]
            inner_zr, inner_h = inner[:, : 2 * u], inner[:, 2 * u :]
        else:
            inner_zr = self.recurrent_product(h_prev, recurrent[:, : 2 * u])
        z, r = self._update_and_reset(x_zr + inner_zr)
        if self.reset_after:
            # the reset gate scales the recurrent projection (bias included)
            candidate = x_h + r * inner_h
        else:
            # the reset gate scales the previous state before its projection
            candidate = x_h + self.recurrent_product(r * h_prev, recurrent[:, 2 * u :])
        h = z * h_prev + (1 - z) * activation_kernels.activation(self.activation)(candidate)
        return h, [h]

    def _update_and_reset(self, pre_activations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The gates z and r from their pre-activations [z, r]: one call over both (a contiguous
        block, feature-major), unless the activation works along the axis (softmax), which
        Keras applies to each gate alone."""
        u = self.units
        if activation_kernels.in_place(self.recurrent_activation) is None:
            gate = activation_kernels.activation(self.recurrent_activation)
            return gate(pre_activations[:, :u]), gate(pre_activations[:, u:])
        gates = activation_kernels.activation(self.recurrent_activation)(pre_activations)
        return gates[:, :u], gates[:, u:]


@register
class LSTMCell(Cell):
    """Gates i, f, c, o; two states (h, c)."""

    gates = 4
    arguments = _cell_arguments(
        gated=True, extra=(Arg("unit_forget_bias", A.truthy, True), Arg("implementation", A.anything, 2))
    )

    def configure(self) -> None:
        check_forget_bias_initializer(self)

    @property
    def state_size(self) -> StateSize:
        return [self.units, self.units]

    def loop_weights(self, weights: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        """With Keras's default activations (float32), the gates reordered so that the three
        sigmoid gates are one block, and those halved (see sigmoid_gates_first)."""
        if (self.recurrent_activation, self.activation) != ("sigmoid", "tanh") or weights[
            "recurrent_kernel"
        ].dtype != np.float32:
            return weights
        return recurrent_kernels.sigmoid_gates_first(weights, self.units)

    def input_bias(self, weights: Mapping[str, np.ndarray]) -> np.ndarray | None:
        """Implementation 1 adds the bias to x @ kernel first (see step_bias)."""
        return weights["bias"] if self.use_bias and self.implementation == 1 else None

    def step_bias(self, weights: Mapping[str, np.ndarray]) -> np.ndarray | None:
        """The bias each step adds to its sum x @ kernel + h @ recurrent_kernel, as Keras's
        default implementation (2) adds it."""
        return weights["bias"] if self.use_bias and self.implementation != 1 else None

    def step(
        self, projected: np.ndarray, states: Sequence[np.ndarray], weights: Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        h_prev, c_prev = states
        z = self.recurrent_product(h_prev, weights["recurrent_kernel"])
        z += projected
        bias = self.step_bias(weights)
        if bias is not None:
            z += bias
        if recurrent_kernels.SIGMOID_GATES_FIRST in weights:
            h, c_new = recurrent_kernels.lstm_update_sigmoid_gates_first(z, c_prev)
        else:
            h, c_new = recurrent_kernels.lstm_update(z, c_prev, self.recurrent_activation, self.activation)
        return h, [h, c_new]

    def run_steps(
        self,
        projected: np.ndarray,
        states: Sequence[np.ndarray],
        weights: Mapping[str, np.ndarray],
        return_sequences: bool,
    ) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """The plain loop over all the steps in one kernel (lstm_steps) with loop weights; None
        without them (other activations): the loop then calls step."""
        if recurrent_kernels.SIGMOID_GATES_FIRST not in weights:
            return None
        return recurrent_kernels.lstm_steps(
            projected, states, weights["recurrent_kernel"], self.step_bias(weights), return_sequences
        )


@register
class StackedRNNCells(Layer):
    """Cells applied one after the other at each time step; each sees (B, previous output size)."""

    arguments = (Arg("cells", cell_list, REQUIRED, nested_layer=True),)
    cells: list[Layer]

    @property
    def state_size(self) -> StateSize:
        return [c.state_size for c in self.cells]

    @property
    def output_size(self) -> int | None:
        last = self.cells[-1]
        if getattr(last, "output_size", None) is not None:
            return last.output_size
        size = last.state_size
        return size[0] if isinstance(size, list) else size

    def check_input(self, input_shape: Shape) -> None:
        raise ShapeError("StackedRNNCells is not called on a tensor by itself; give it as an RNN's cell")

    def _cell_inputs(self, step: Shape) -> list[Shape]:
        """The step shape each cell sees: the first the input's, each next the previous output's."""
        shapes = [step]
        for cell in self.cells[:-1]:
            out = getattr(cell, "output_size", None)
            if out is None:
                out = cell.state_size[0] if isinstance(cell.state_size, list) else cell.state_size
            shapes.append((step[0], out))
        return shapes

    def build(self, input_shape: Shape) -> list[Weight]:
        weights: list[Weight] = []
        for cell, shape in zip(self.cells, self._cell_inputs(input_shape), strict=True):
            weights += build_sublayer(cell, shape)
        return weights

    def explain(self, input_shape: Shape) -> list[Step]:
        steps = []
        for cell, shape in zip(self.cells, self._cell_inputs(input_shape), strict=True):
            steps += [s._replace(axis=f"{cell.name} {s.axis}") for s in cell.explain(shape)]
        return steps

    def step_macs(self, step: Shape) -> int | None:
        shapes = self._cell_inputs(step)
        counts = [cell.step_macs(shape) for cell, shape in zip(self.cells, shapes, strict=True)]
        return known_sum(counts)

    # ------------------------------------------------------------- kernel (see kernels/recurrent.py)
    def _state_counts(self) -> list[int]:
        return [len(flatten_sizes(cell.state_size)) for cell in self.cells]

    def project(self, x: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        # only the first cell sees the sequence; the others see the previous cell's output per step
        first = steppable(self.cells[0])
        return first.project(x, recurrent_kernels.sub_weights(weights, first.name))

    def zero_states(self, projected: np.ndarray) -> list[np.ndarray]:
        return [s for cell in self.cells for s in steppable(cell).zero_states(projected)]

    def loop_weights(self, weights: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        """Each cell's loop weights, under its name."""
        prepared = dict(weights)
        for cell in self.cells:
            own = steppable(cell).loop_weights(recurrent_kernels.sub_weights(weights, cell.name))
            prepared.update({f"{cell.name}/{path}": value for path, value in own.items()})
        return prepared

    def step(
        self, projected: np.ndarray, states: Sequence[np.ndarray], weights: Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """The cells in turn; the states are the cells' states one after the other, flattened."""
        new_states: list[np.ndarray] = []
        output, start = projected, 0
        for k, (cell, count) in enumerate(zip(self.cells, self._state_counts(), strict=True)):
            cell_weights = recurrent_kernels.sub_weights(weights, cell.name)
            x = projected if k == 0 else steppable(cell).project(output, cell_weights)
            output, cell_states = steppable(cell).step(x, states[start : start + count], cell_weights)
            new_states += cell_states
            start += count
        return output, new_states

    def forward(self, inputs: Any, weights: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """One time step: ``inputs`` is x (B, F) or [x, *flattened states]; returns [output, *new_states]."""
        x, *states = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        weights = self.loop_weights(weights)
        projected = self.project(x, weights)
        output, new_states = self.step(projected, states or self.zero_states(projected), weights)
        return [output, *new_states]


def steppable(cell: Any) -> Any:
    """A cell the time loop can run; Keras cannot run a recurrent layer as a cell either."""
    if not hasattr(cell, "step"):
        # Keras's RNN would call the layer on one step (B, F) and fail on its rank
        raise ShapeError(
            f"{cell.type_name()} cannot be run as a cell: Keras calls it on a single step "
            "(batch, features), where it expects a sequence"
        )
    return cell
