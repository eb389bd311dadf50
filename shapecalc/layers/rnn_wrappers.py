"""Wrappers of the recurrent family: Bidirectional and TimeDistributed (keras/src/layers/rnn/)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..arithmetic import Field
from ..errors import ArgError, CallFailure, ShapeError
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
    known_sum,
    require_rank,
)
from .explaining import Step, show
from .recurrent import RNN
from .registry import register

np = lazy("numpy")
recurrent_kernels = lazy("..kernels.recurrent", __package__)


def clone_layer(layer: Layer, **changes: Any) -> Layer:
    """A separate, unbuilt copy of a layer, as Keras's get_config / from_config round trip makes.

    Nested layers (an RNN's cell) are copied too, keeping their names, as the serialised config does.
    """

    def copy_value(value: Any) -> Any:
        if isinstance(value, Layer):
            return clone_layer(value)
        if isinstance(value, list):
            return [copy_value(v) for v in value]
        return value

    values = {arg.name: copy_value(getattr(layer, arg.name)) for arg in type(layer).all_arguments()}
    values.update(changes)
    return type(layer)(**values)


def _remove_prefix(name: str, prefix: str) -> str:
    return name[len(prefix) :] if name.startswith(prefix) else name


_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def initial_weights(value: Any) -> Any:
    """Keras splits a truthy ``weights`` in halves (``weights[: len // 2]``): it must be sliceable."""
    if value and not isinstance(value, (list, str)):
        raise ArgError(f"weights must be a list (split between the two layers), got {A.describe(value)}")
    return value


@register
class Bidirectional(Layer):
    """Two copies of a recurrent layer, one reading the sequence backwards, merged by ``merge_mode``.

    The copies are named ``forward_<name>`` and ``backward_<name>``; a given ``backward_layer`` is used
    as it is. Output shapes come from the forward layer alone, as Keras computes them.
    """

    # the flag stays on the wrapper; the copies keep the inner layer's own
    trainable_flag_reaches_weights = False
    supports_masking = True

    arguments = (
        Arg(
            "layer",
            A.anything,
            REQUIRED,
            "the recurrent layer (LSTM, GRU, SimpleRNN, RNN)",
            nested_layer=True,
        ),
        Arg(
            "merge_mode", A.one_of(*_MERGE_MODES), "concat", "concat doubles the last axis; null: two outputs"
        ),
        Arg("weights", initial_weights, None, "initial weights (ignored for shapes)"),
        Arg(
            "backward_layer", A.anything, None, "a recurrent layer with go_backwards: true", nested_layer=True
        ),
    )
    # the first half of the states starts the forward layer, the second half the backward one
    call_arguments = (Arg("initial_state", A.anything, None, "a list of state tensors", tensors=True),)
    layer: Layer
    backward_layer: Layer | None
    merge_mode: str | None

    def configure(self) -> None:
        if not isinstance(self.layer, Layer):
            raise ArgError(f"layer must be a layer, got {A.describe(self.layer)}", argument="layer")
        if type(self.layer).argument("go_backwards") is None:
            # Keras re-creates the layer from its config plus go_backwards, which only RNNs accept
            raise ArgError(
                f"Bidirectional needs a recurrent layer (one with go_backwards); "
                f"{self.layer.type_name()} is not one",
                argument="layer",
            )
        name = self.layer.name
        self.forward_layer = clone_layer(self.layer, name="forward_" + _remove_prefix(name, "forward_"))
        if self.backward_layer is None:
            self.backward = clone_layer(
                self.layer, name="backward_" + _remove_prefix(name, "backward_"), go_backwards=True
            )
        else:
            self.backward = self.backward_layer
        forward, backward = self.forward_layer, self.backward
        if not hasattr(backward, "go_backwards"):
            raise ArgError(
                "backward_layer must be a recurrent layer with go_backwards; "
                f"{backward.type_name()} is not one",
                argument="backward_layer",
            )
        if forward.go_backwards == backward.go_backwards:
            raise ArgError(
                "the forward and backward layers must differ in go_backwards, got "
                f"{A.describe(forward.go_backwards)} for both",
                argument="backward_layer" if self.backward_layer is not None else "layer",
            )
        for attribute in ("stateful", "return_sequences", "return_state"):
            ahead, behind = getattr(forward, attribute), getattr(backward, attribute)
            if ahead != behind:
                raise ArgError(
                    f"the forward and backward layers must have the same {attribute}, got "
                    f"{A.describe(ahead)} and {A.describe(behind)}",
                    argument="backward_layer",
                )
        self.return_state = self.layer.return_state
        # as Keras: the two layers output zeros on masked steps when they return sequences, so the
        # merged sequence is zero there (the last output of each stays their last unmasked one)
        for inner in (forward, backward):
            if hasattr(inner, "zero_output_for_mask"):
                inner.zero_output_for_mask = inner.return_sequences

    def check_input(self, input_shape: Shape) -> None:
        # Keras takes the wrapped layer's InputSpec
        self.layer.check_input(input_shape)

    def build(self, input_shape: Shape) -> list[Weight]:
        return build_sublayer(self.forward_layer, input_shape) + build_sublayer(self.backward, input_shape)

    def check_later_call(self, input_shape: Shape, built: Built) -> None:
        # the two layers keep the weights of the first call
        self.check_input(input_shape)

    def compute_output_shape(self, input_shape: Shape, initial_state: Any = None) -> OutputShape:
        if self.return_state and self.forward_layer.stateful:
            # Keras's call sets the output masks with compute_mask, which for the states of
            # stateful layers multiplies a generator: TypeError, mask or not
            raise ShapeError(
                "Keras's Bidirectional cannot be called with stateful layers that return their "
                "states (its compute_mask fails: TypeError); drop stateful or return_state"
            )
        out = self.forward_layer.compute_output_shape(input_shape)
        states: list[Shape] = []
        if self.return_state:
            assert isinstance(out, list)
            out, states = out[0], out[1:]
        assert isinstance(out, tuple)
        if self.merge_mode == "concat":
            outputs = [(*out[:-1], None if out[-1] is None else 2 * out[-1])]
        elif self.merge_mode is None:
            outputs = [out, out]
        else:
            outputs = [out]
        if len(outputs) == 1 and not self.return_state:
            return outputs[0]
        # backward states take the forward layer's shapes, as Keras's compute_output_shape has them
        return [*outputs, *states, *states]

    def explain(self, input_shape: Shape) -> list[Step]:
        """One direction's working (the backward layer's is the same), then the merge."""
        steps = self.forward_layer.explain(input_shape)
        one = self.forward_layer.compute_output_shape(input_shape)
        units = (one[0] if isinstance(one, list) else one)[-1]
        if self.merge_mode == "concat":
            merged = None if units is None else 2 * units
            return [
                *steps,
                Step(
                    "features",
                    f"merge_mode concat: 2 * {show(units)}, the two directions side by side",
                    merged,
                ),
            ]
        if self.merge_mode is None:
            return [*steps, Step("outputs", "merge_mode None: the two directions' outputs, unmerged", 2)]
        return [
            *steps,
            Step("features", f"merge_mode {self.merge_mode}: one direction's size, the two combined", units),
        ]

    def macs(self, input_shape: Shape, output_shape: OutputShape) -> int | None:
        # both directions over the whole sequence; merging them multiplies nothing it sums
        counts = [
            inner.macs(input_shape, inner.compute_output_shape(input_shape))
            for inner in (self.forward_layer, self.backward)
        ]
        return known_sum(counts)

    def run_work_elements(self, input_shapes: Sizes, output_shapes: Sizes) -> int:
        # one direction's loop at a time; both directions' outputs beside the merged ones
        loop = self.forward_layer.run_work_elements(input_shapes, output_shapes[:1])
        return loop + 2 * sum(math.prod(shape) for shape in output_shapes)

    def forward(
        self,
        inputs: np.ndarray,
        weights: Mapping[str, np.ndarray],
        mask: Any = None,
        initial_state: list[np.ndarray] | None = None,
    ) -> Any:
        forward, backward = self.forward_layer, self.backward
        given = {} if mask is None else {"mask": mask}  # both layers get the input's Keras mask
        ahead_states = behind_states = None
        if initial_state is not None:  # Keras: the first half to the forward layer
            half = len(initial_state) // 2
            ahead_states, behind_states = initial_state[:half], initial_state[half:]
        ahead = forward.forward(
            inputs, recurrent_kernels.sub_weights(weights, forward.name), **given, initial_state=ahead_states
        )
        behind = backward.forward(
            inputs,
            recurrent_kernels.sub_weights(weights, backward.name),
            **given,
            initial_state=behind_states,
        )
        states: list[np.ndarray] = []
        if self.return_state:
            # forward states first, then backward ones
            states = [*ahead[1:], *behind[1:]]
            ahead, behind = ahead[0], behind[0]
        if forward.return_sequences:
            # the backward sequence comes in processing order; Keras turns it back to input order,
            # whichever of the two layers has go_backwards
            behind = behind[:, ::-1]
        if self.merge_mode == "concat":
            outputs = [np.concatenate([ahead, behind], axis=-1)]
        elif self.merge_mode == "sum":
            outputs = [ahead + behind]
        elif self.merge_mode == "ave":
            outputs = [(ahead + behind) / 2]
        elif self.merge_mode == "mul":
            outputs = [ahead * behind]
        else:
            outputs = [ahead, behind]
        if len(outputs) == 1 and not self.return_state:
            return outputs[0]
        return [*outputs, *states]

    def compute_mask(self, inputs: np.ndarray, mask: Any) -> Any:
        """Sequences keep the input's mask (both of them, without merge_mode); last outputs and
        states have none."""
        if isinstance(mask, list):
            mask = mask[0] if mask else None
        if not self.forward_layer.return_sequences:
            return None
        return [mask, mask] if self.merge_mode is None else mask


@register
class TimeDistributed(Layer):
    """Applies ``layer`` to every time step: the inner layer sees (B, *input[2:])."""

    # the flag stays on the wrapper; the inner layer keeps its own
    trainable_flag_reaches_weights = False
    # the input's mask passes on unchanged, whatever the inner layer does with masks
    supports_masking = True

    arguments = (
        Arg("layer", A.anything, REQUIRED, "the layer applied to each time step", nested_layer=True),
    )
    layer: Layer

    def configure(self) -> None:
        if not isinstance(self.layer, Layer):
            raise ArgError(f"layer must be a layer, got {A.describe(self.layer)}", argument="layer")

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, min_rank=3)

    def _step_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], *input_shape[2:])

    def _check_step(self, step: Shape) -> None:
        if self.layer.takes_list:
            raise ShapeError(f"{self.layer.type_name()} takes a list of inputs; TimeDistributed gives it one")
        # Keras's Wrapper builds the inner layer directly, skipping its InputSpec. For recurrent layers
        # shapecalc does the same (their build and shape rule are Keras's); for other layers it applies
        # their input checks, whose absence in Keras only yields errors further on or odd shapes.
        if not isinstance(self.layer, (RNN, Bidirectional)):
            self.layer.check_input(step)

    def check_later_call(self, input_shape: Shape, built: Built) -> None:
        # the inner layer keeps the weights of the first call
        self.check_input(input_shape)
        self._check_step(self._step_shape(input_shape))

    def build(self, input_shape: Shape) -> list[Weight]:
        step = self._step_shape(input_shape)
        self._check_step(step)
        try:
            return build_sublayer(self.layer, step)
        except (IndexError, TypeError, ValueError) as err:
            if isinstance(err, (ArgError, ShapeError)):
                raise
            raise ShapeError(self._unfit(input_shape)) from None

    def _unfit(self, input_shape: Shape) -> str:
        step = fmt_shape(self._step_shape(input_shape))
        return f"{self.layer.type_name()} cannot take each step's shape {step}"

    def compute_output_shape(self, input_shape: Shape) -> OutputShape:
        try:
            out = self.layer.compute_output_shape(self._step_shape(input_shape))
        except (IndexError, TypeError, ValueError) as err:
            if isinstance(err, (ArgError, ShapeError)):
                raise
            raise ShapeError(self._unfit(input_shape)) from None
        if isinstance(out, list):
            raise ShapeError(
                f"TimeDistributed needs a layer with one output; {self.layer.type_name()} gives {len(out)}"
            )
        return (out[0], input_shape[1], *out[1:])

    def explain(self, input_shape: Shape) -> list[Step]:
        step = self._step_shape(input_shape)
        inner = [s._replace(axis=f"each step's {s.axis}") for s in self.layer.explain(step)]
        lead = Step(
            "steps",
            f"kept: {self.layer.type_name()} runs on each step's {fmt_shape(step)} alone",
            input_shape[1],
        )
        return [lead, *inner]

    def macs(self, input_shape: Shape, output_shape: OutputShape) -> int | None:
        step = self._step_shape(input_shape)
        return known_product([input_shape[1], self.layer.macs(step, self.layer.compute_output_shape(step))])

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        # each step's output sees its own step only; within it, what the inner layer sees
        field = fields[0]
        step = self._step_shape(input_shape)
        inner_field = Field(field.windows[1:], tuple(a - 1 for a in field.spatial if a > 0))
        inner = self.layer.receptive_field([inner_field], step, self.layer.compute_output_shape(step))
        if inner is None:
            return None
        return Field((field.windows[0], *inner.windows), tuple(a + 1 for a in inner.spatial))

    def run_work_elements(self, input_shapes: Sizes, output_shapes: Sizes) -> int:
        # the inner layer runs once on the steps folded into the batch, then the output is unfolded
        (batch, steps, *step), (_, _, *out) = input_shapes[0], output_shapes[0]
        folded = self.layer.run_work_elements([(batch * steps, *step)], [(batch * steps, *out)])
        return folded + 2 * math.prod(output_shapes[0])

    def integer_input_bound(self) -> int | None:
        # TimeDistributed(Embedding) is fed the same ids as the Embedding
        return self.layer.integer_input_bound()

    def forward(
        self, inputs: np.ndarray, weights: Mapping[str, np.ndarray], mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Keras calls the layer once per time step; with the steps folded into the batch axis
        (B*T, ...) one call computes the same numbers. A layer that takes a mask gets step t's
        slice of the Keras mask, (B, ...), so it runs step by step then."""
        if mask is not None:
            if np.ndim(mask) < 2 or np.shape(mask)[:2] != inputs.shape[:2]:
                raise CallFailure(
                    f"the mask {np.shape(mask)} must start with the inputs' batch and time sizes "
                    f"{inputs.shape[:2]}"
                )
            if self.layer.takes_mask():
                inner = recurrent_kernels.sub_weights(weights, self.layer.name)
                outs = [
                    self.layer.forward(inputs[:, t], inner, mask=mask[:, t]) for t in range(inputs.shape[1])
                ]
                return np.stack(outs, axis=1)
        batch, steps = inputs.shape[:2]
        folded = inputs.reshape(batch * steps, *inputs.shape[2:])
        out = self.layer.forward(folded, recurrent_kernels.sub_weights(weights, self.layer.name))
        return out.reshape(batch, steps, *out.shape[1:])
