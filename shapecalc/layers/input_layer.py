"""InputLayer: where a graph starts. Written ``- Input: {...}`` (keras.Input) or ``- InputLayer: {...}``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ArgError
from . import args as A
from .base import Arg, Layer, Shape
from .registry import register

# Input dtypes Keras's standardize_dtype accepts that matter for a spec.
INPUT_DTYPES = (
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
    "string",
)


def shape_without_batch(value: Any) -> tuple[int | None, ...]:
    """keras.backend.standardize_shape: a list of integers >= 0 or nulls."""
    if not isinstance(value, (list, tuple)):
        raise ArgError(f"expected a list of integers or nulls such as [28, 28, 1], got {A.describe(value)}")
    for dim in value:
        if dim is not None and (not A.is_int(dim) or dim < 0):
            raise ArgError(
                f"dimensions must be integers >= 0 or null, got {A.describe(dim)} in {A.describe(value)}"
            )
    return tuple(value)


@register
class InputLayer(Layer):
    """A model input of shape ``batch_shape`` (or ``(batch_size, *shape)``); no weights."""

    arguments = (
        Arg("shape", A.optional(shape_without_batch), None, "shape without the batch axis"),
        Arg("batch_size", A.optional(A.positive_int), None),
        Arg("dtype", A.optional(A.one_of(*INPUT_DTYPES)), None),
        Arg("sparse", A.optional(A.truthy), None),
        Arg("ragged", A.optional(A.truthy), None),
        Arg("batch_shape", A.optional(shape_without_batch), None, "shape with the batch axis"),
        Arg("optional", A.truthy, False),
    )
    # keras.layers.InputLayer.__init__ takes only ``name`` of the base arguments.
    excluded_base_arguments = frozenset(
        {"trainable", "autocast", "activity_regularizer", "input_shape", "input_dim"}
    )

    def configure(self) -> None:
        if self.shape is not None and self.batch_shape is not None:
            raise ArgError("give shape or batch_shape, not both", argument="batch_shape")
        if self.batch_size is not None and self.batch_shape is not None:
            raise ArgError("give batch_size or batch_shape, not both", argument="batch_size")
        if self.shape is None and self.batch_shape is None:
            raise ArgError("InputLayer needs a shape")
        if self.shape is not None:
            self.batch_shape = (self.batch_size, *self.shape)
        if self.sparse:
            raise ArgError(
                "sparse inputs are not supported by shapecalc (nor by Keras's numpy backend)", "sparse"
            )
        if self.ragged:
            raise ArgError("ragged inputs are supported by Keras only on TensorFlow", "ragged")
        self.trainable = True

    @property
    def input_dtype(self) -> str:
        return self.dtype or "float32"

    def output_dtype(self, input_dtypes: Sequence[str]) -> str:
        return self.input_dtype

    def compute_output_shape(self, input_shape: Any = None) -> Shape:
        return tuple(self.batch_shape)
