"""Merging layers, called on a list of tensors: Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate (Dot is in merging_dot.py). None of them has weights.

The rules follow Keras's symbolic path (``build`` + ``compute_output_shape``), which is what a
model is built with; it is not always what ``call`` would do on real data:

* element-wise merges align the non-batch axes on the RIGHT and broadcast 1s (``call`` gets the
  same alignment by inserting the missing axes right after the batch axis), and a None on either
  side gives None;
* Concatenate compares every other axis, the batch axis included, and treats None as matching
  anything; the output copies the first input's other axes;
* Dot (merging_dot.py) contracts the two given axes and keeps the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import reduce
from typing import Any, TypeAlias

from ..arithmetic import Field, widest
from ..errors import ArgError, CallFailure, ShapeError
from ..lazy import lazy
from . import args as A
from .base import (
    Arg,
    Dim,
    Layer,
    OutputShape,
    RowMap,
    Shape,
    fmt_shape,
    fmt_shapes,
)
from .explaining import Step, show
from .registry import register

np = lazy("numpy")
parallel_kernels = lazy("..kernels.parallel", __package__)


def _fmt_list(shapes: list[Shape]) -> str:
    return "[" + fmt_shapes(shapes) + "]"


def _need_list(shapes: list[Shape], least: int = 1) -> None:
    if len(shapes) < least:
        raise ShapeError(f"needs a list of at least {least} input(s), got {len(shapes)}")


def axis_index(shape: Shape, axis: Any, what: str) -> int:
    """A Python index into a shape (negative counts from the end), or a ShapeError saying why not."""
    if not A.is_int(axis):
        raise ShapeError(f"{what} must be an integer to index the shape {fmt_shape(shape)}, got {axis}")
    if not -len(shape) <= axis < len(shape):
        raise ShapeError(f"{what} {axis} is out of range for the rank-{len(shape)} input {fmt_shape(shape)}")
    return axis % len(shape)


# ----------------------------------------------------------------------------- element-wise
def common_dtype(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Keras's promotion of mixed inputs: integers meet floats in the float type (not float64)."""
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) == 1:
        return list(arrays)
    floats = [d for d in dtypes if np.issubdtype(d, np.floating)]
    target = np.result_type(*floats) if floats else np.result_type(*dtypes)
    return [a.astype(target, copy=False) for a in arrays]


def _aligned(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Keras's call inserts the missing axes right after the batch axis, so the non-batch axes of
    inputs of different ranks align on the right (as the shape rule does) and batch meets batch."""
    rank = max(a.ndim for a in arrays)
    return common_dtype([a.reshape(a.shape[:1] + (1,) * (rank - a.ndim) + a.shape[1:]) for a in arrays])


def broadcast(a: Shape, b: Shape) -> Shape:
    """Keras Merge._compute_elemwise_op_output_shape: right-aligned, 1 broadcasts, None wins."""
    longer, shorter = (a, b) if len(a) >= len(b) else (b, a)
    if not shorter:
        return tuple(longer)
    lead = len(longer) - len(shorter)
    out: list[Dim] = list(longer[:lead])
    for i, j in zip(longer[lead:], shorter, strict=True):
        if i is None or j is None:
            out.append(None)
        elif i == 1 or j == 1:
            out.append(j if i == 1 else i)
        elif i != j:
            raise ShapeError(
                f"inputs have incompatible shapes: {fmt_shape(a)} and {fmt_shape(b)} (batch axis left out, "
                f"aligned on the right): {i} vs {j}; sizes must be equal, or one of them 1"
            )
        else:
            out.append(i)
    return tuple(out)


Mask: TypeAlias = "np.ndarray | None"


class _Merge(Layer):
    """Element-wise merge of any number of inputs (at least one)."""

    takes_list = True
    supports_masking = True
    exact_inputs: int | None = None

    @staticmethod
    def combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The binary operation folded left over the inputs (Keras applies it pairwise, in order)."""
        return np.add(a, b)

    def check_input(self, input_shape: list[Shape]) -> None:
        _need_list(input_shape)
        if self.exact_inputs is not None and len(input_shape) != self.exact_inputs:
            raise ShapeError(f"needs exactly {self.exact_inputs} inputs, got {len(input_shape)}")
        for shape in input_shape:
            if len(shape) == 0:
                raise ShapeError("cannot merge a rank-0 input (it has no batch axis)")
        batches = {s[0] for s in input_shape} - {None}
        if len(batches) > 1:
            raise ShapeError(f"inputs have different batch sizes: {_fmt_list(input_shape)}")
        self.compute_output_shape(input_shape)  # Keras's build already refuses incompatible shapes

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        out = tuple(input_shape[0][1:])
        for shape in input_shape[1:]:
            out = broadcast(out, tuple(shape[1:]))
        batches = {s[0] for s in input_shape} - {None}
        batch = next(iter(batches)) if len(batches) == 1 else None
        return (batch, *out)

    def forward(self, inputs: list[np.ndarray], weights: Mapping[str, np.ndarray]) -> np.ndarray:
        return reduce(self.combine, _aligned(inputs))

    def explain(self, input_shape: list[Shape]) -> list[Step]:
        """Each output axis from the inputs' sizes on it, aligned on the right as Keras aligns them."""
        output = self.compute_output_shape(input_shape)
        steps = []
        for k in range(1, len(output)):
            back = len(output) - k
            sizes = [s[len(s) - back] for s in input_shape if len(s) - back >= 1]
            known = {d for d in sizes if d is not None}
            listed = ", ".join(show(d) for d in sizes)
            if len(set(sizes)) == 1:
                steps.append(Step(f"axis {k}", f"equal in every input ({listed})", output[k]))
            elif known - {1} and 1 in known:
                steps.append(Step(f"axis {k}", f"max({listed})", output[k], "a size of 1 broadcasts"))
            else:
                steps.append(Step(f"axis {k}", listed, output[k], "an unknown size leaves it unknown"))
        return steps

    def receptive_field(
        self, fields: list[Field], input_shape: list[Shape], output_shape: OutputShape
    ) -> Field | None:
        return widest(fields, len(output_shape))

    def compute_mask(self, inputs: list[np.ndarray], mask: list[Mask]) -> Mask:
        """Keras's merges: the OR of the inputs' masks when every input has one, else none."""
        if any(m is None for m in mask):
            return None
        return reduce(np.logical_or, mask)


def _call_masks(inputs: list[np.ndarray], masks: list[Mask] | None) -> list[Mask]:
    """The masks Keras's merge call reads off its inputs: an input of lower rank is reshaped
    first (a new array, without the mask), so only the inputs of the highest rank keep theirs."""
    rank = max(a.ndim for a in inputs)
    masks = masks or [None] * len(inputs)
    return [m if a.ndim == rank else None for a, m in zip(inputs, masks, strict=True)]


def _spread(mask: np.ndarray, like: np.ndarray) -> np.ndarray:
    """A (B, T) mask over the whole input, as Keras's broadcast_to(expand_dims(mask, -1))."""
    return np.broadcast_to(np.expand_dims(mask, -1), like.shape)


@register
class Add(_Merge):
    """Sum of the inputs."""

    def takes_row_epilogues(self, input_shapes: list[Shape]) -> bool:
        # a residual connection's sum, computed by blocks of rows (not a broadcast, not one input)
        return len(input_shapes) > 1 and len(set(input_shapes)) == 1

    def forward(
        self, inputs: list[np.ndarray], weights: Mapping[str, np.ndarray], then: Sequence[RowMap] = ()
    ) -> np.ndarray:
        arrays = _aligned(inputs)
        if len({a.shape for a in arrays}) > 1:
            return reduce(self.combine, arrays)  # broadcasting: NumPy's own passes
        # a residual connection's sum: in chunks on all cores, folded left as Keras adds

        def add(*parts: np.ndarray) -> None:
            *summands, out = parts
            np.add(summands[0], summands[1], out=out)
            for summand in summands[2:]:
                out += summand
            for apply in then:  # the fused followers (run/fusion.py): rows of the sum, in cache
                apply(out)

        if len(arrays) == 1:
            return arrays[0]
        out = np.empty(arrays[0].shape, np.result_type(*arrays))
        if then:  # whole rows for the followers, blocks as large as the chunks
            return parallel_kernels.by_rows(add, out, *arrays, block_elements=parallel_kernels.CHUNK_ELEMENTS)
        return parallel_kernels.by_chunks(add, out, *arrays)


@register
class Subtract(_Merge):
    """inputs[0] - inputs[1]: exactly two inputs."""

    exact_inputs = 2

    @staticmethod
    def combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.subtract(a, b)


@register
class Multiply(_Merge):
    """Product of the inputs."""

    @staticmethod
    def combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.multiply(a, b)

    def forward(
        self, inputs: list[np.ndarray], weights: Mapping[str, np.ndarray], mask: list[Mask] | None = None
    ) -> np.ndarray:
        """A masked input counts as 1 where masked; when every input is masked, the positions that
        all masks exclude are 0 (Keras's call reads the masks itself)."""
        masks = _call_masks(inputs, mask)
        arrays = _aligned(inputs)
        if all(m is None for m in masks):
            return reduce(np.multiply, arrays)
        every = all(m is not None for m in masks)
        output: np.ndarray | None = None
        union: np.ndarray | None = None
        for x, m in zip(arrays, masks, strict=True):
            if m is not None:
                spread = _spread(m, x)
                x = np.where(spread, x, np.ones((), x.dtype))
                if every:
                    union = spread if union is None else union | spread
            output = x if output is None else output * x
        assert output is not None
        if union is not None:
            output = np.where(union, output, np.zeros((), output.dtype))
        return output


@register
class Average(_Merge):
    """Mean of the inputs."""

    def forward(self, inputs: list[np.ndarray], weights: Mapping[str, np.ndarray]) -> np.ndarray:
        # Keras divides the running sum by the Python int count (float32 stays float32).
        return reduce(np.add, _aligned(inputs)) / len(inputs)


@register
class Maximum(_Merge):
    """Element-wise maximum of the inputs."""

    @staticmethod
    def combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.maximum(a, b)

    def forward(
        self, inputs: list[np.ndarray], weights: Mapping[str, np.ndarray], mask: list[Mask] | None = None
    ) -> np.ndarray:
        return _masked_fold(self.combine, _aligned(inputs), _call_masks(inputs, mask))


@register
class Minimum(_Merge):
    """Element-wise minimum of the inputs."""

    @staticmethod
    def combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.minimum(a, b)

    forward = Maximum.forward


def _masked_fold(
    combine: Callable[[np.ndarray, np.ndarray], np.ndarray], arrays: list[np.ndarray], masks: list[Mask]
) -> np.ndarray:
    """Keras's Maximum/Minimum with masks: a masked position takes the other side's value, so it
    never wins; the running mask is the OR of the masks while every input so far has one."""
    output, union = arrays[0], None if masks[0] is None else _spread(masks[0], arrays[0])
    for x, m in zip(arrays[1:], masks[1:], strict=True):
        spread = None if m is None else _spread(m, x)
        if spread is not None:
            x = np.where(spread, x, output)
        if union is not None:
            output = np.where(union, output, x)
        union = union | spread if spread is not None and union is not None else None
        output = combine(output, x)
    return output


# ----------------------------------------------------------------------------- Concatenate
def _number_axis(value: Any) -> Any:
    # Keras stores axis as given; a bool is the int 0/1 and a float fails only when it indexes.
    if isinstance(value, bool):
        return int(value)
    if not isinstance(value, (int, float)):
        raise ArgError(f"expected an integer, got {A.describe(value)}")
    return value


@register
class Concatenate(_Merge):
    """Sizes along ``axis`` add up (None if any is None); every other axis must match (None matches)."""

    arguments = (Arg("axis", _number_axis, -1, "the axis whose sizes add up (batch axis is 0)"),)

    def check_input(self, input_shape: list[Shape]) -> None:
        _need_list(input_shape)
        axis = self.axis
        reduced: list[Shape] = []
        for shape in input_shape:
            if len(shape) == 0:
                raise ShapeError("cannot concatenate a rank-0 input")
            rest = list(shape)
            # Keras drops the axis only where rank > axis, so a too-large positive axis drops nothing.
            if len(shape) > axis:
                del rest[axis_index(shape, axis, "axis")]
            reduced.append(tuple(rest))
        if len(set(reduced)) == 1:
            return
        if len({len(r) for r in reduced}) != 1:
            raise ShapeError(
                f"inputs must have the same rank: got {_fmt_list(input_shape)} (concatenation axis {axis})"
            )
        for pos in range(len(reduced[0])):
            known = {r[pos] for r in reduced} - {None}
            if len(known) > 1:
                raise ShapeError(
                    f"inputs must match on every axis except the concatenation axis {axis}: "
                    f"got {_fmt_list(input_shape)}, sizes {sorted(known)} disagree"
                )

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        out = list(input_shape[0])
        for shape in input_shape[1:]:
            # Keras stops at the first None it sees, without looking at the remaining inputs.
            here = axis_index(tuple(out), self.axis, "axis")
            if out[here] is None:
                break
            there = axis_index(shape, self.axis, "axis")
            if shape[there] is None:
                out[here] = None
                break
            out[here] += shape[there]
        return tuple(out)

    def forward(self, inputs: list[np.ndarray], weights: Mapping[str, np.ndarray]) -> np.ndarray:
        # one input passes the shape rule whatever its axis; Keras's call then concatenates on it
        try:
            return np.concatenate(common_dtype(inputs), axis=int(self.axis))
        except (OverflowError, ValueError) as err:  # the axis past the rank, or past a C long
            raise CallFailure(
                f"cannot concatenate on axis {self.axis}, as Keras's call finds: {err}"
            ) from None

    def explain(self, input_shape: list[Shape]) -> list[Step]:
        output = self.compute_output_shape(input_shape)
        here = axis_index(output, self.axis, "axis")
        sizes = [s[axis_index(s, self.axis, "axis")] for s in input_shape]
        joined = Step(
            f"axis {here}", " + ".join(show(d) for d in sizes), output[here], "the inputs laid end to end"
        )
        others = [
            Step(
                f"axis {k}", f"equal in every input ({', '.join(show(s[k]) for s in input_shape)})", output[k]
            )
            for k in range(1, len(output))
            if k != here
        ]
        return [joined, *others]

    def compute_mask(self, inputs: list[np.ndarray], mask: list[Mask]) -> Mask:
        """Each input's mask spread over its whole shape (all True for an unmasked input),
        concatenated, then any() over the last axis: along the features, one masked and one
        unmasked input give an all-True mask; along the steps, the step masks join."""
        if all(m is None for m in mask):
            return None
        spread = []
        for x, m in zip(inputs, mask, strict=True):
            if m is None:
                spread.append(np.ones(x.shape, bool))
            elif m.ndim < x.ndim:
                spread.append(np.logical_or(np.expand_dims(m, -1), np.zeros(x.shape, bool)))
            else:
                spread.append(m)
        return np.any(np.concatenate(spread, axis=int(self.axis)), axis=-1)
