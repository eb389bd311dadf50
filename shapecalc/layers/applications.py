"""The layers keras.applications defines for its own models and registers for saving: ConvNeXt's
``LayerScale`` and ``StochasticDepth``, InceptionResNetV2's ``CustomScaleLayer``.

None of them has a ``compute_output_shape``: Keras finds their output shape by tracing ``call``
symbolically, with every unknown size replaced by a placeholder number. The shape is then
the broadcast of the values the call combines, and an unknown size that must broadcast against
a known one other than 1 cannot be traced (Keras refuses it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ShapeError
from ..lazy import lazy
from . import args as A
from .base import REQUIRED, Arg, Layer, Shape, Weight, fmt_shape
from .explaining import Step, show
from .operations import broadcast_shapes
from .registry import register

np = lazy("numpy")


def _traced_broadcast(a: Shape, b: Shape) -> Shape:
    """broadcast_shapes as a traced call finds it: an unknown size never meets a known one above 1."""
    for i, j in zip(reversed(a), reversed(b), strict=False):
        if (i is None and j not in (None, 1)) or (j is None and i not in (None, 1)):
            raise ShapeError(
                f"Keras cannot trace this call: an unknown size meets a size of {i or j} in {fmt_shape(a)} "
                f"and {fmt_shape(b)} (its shape is found by running the call on placeholder sizes)"
            )
    return broadcast_shapes(a, b)


@register
class LayerScale(Layer):
    """keras.applications.convnext.LayerScale: x * gamma, gamma of shape (projection_dim,)."""

    keras_module = "keras.src.applications.convnext"

    arguments = (
        Arg("init_values", A.number, REQUIRED, "the initial value of every scale"),
        Arg("projection_dim", A.non_negative_int, REQUIRED, "how many scales: the input's last axis"),
    )

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return _traced_broadcast(tuple(input_shape), (self.projection_dim,))

    def check_input(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)

    def build(self, input_shape: Shape) -> list[Weight]:
        constant = {"class_name": "Constant", "config": {"value": self.init_values}}
        return [self.weight("variable", (self.projection_dim,), constant)]

    def forward(self, inputs: Any, weights: Mapping[str, Any]) -> Any:
        return inputs * weights["variable"]

    def explain(self, input_shape: Shape) -> list[Step]:
        output = self.compute_output_shape(input_shape)
        return [
            Step(
                "shape",
                f"{show(input_shape)} times the {self.projection_dim} scales, broadcast on the last axis",
                list(output),
            )
        ]


@register
class StochasticDepth(Layer):
    """keras.applications.convnext.StochasticDepth: drops a residual path in training only; at
    inference the input passes unchanged."""

    keras_module = "keras.src.applications.convnext"

    pointwise = True
    keeps_shape = "at inference the layer passes its input on"
    arguments = (Arg("drop_path_rate", A.anything, REQUIRED, "the probability of dropping the path"),)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def forward(self, inputs: Any, weights: Mapping[str, Any]) -> Any:
        return inputs


@register
class CustomScaleLayer(Layer):
    """keras.applications.inception_resnet_v2.CustomScaleLayer: inputs[0] + inputs[1] * scale."""

    keras_module = "keras.src.applications.inception_resnet_v2"

    takes_list = True
    list_inputs = "[shortcut, residual]"
    arguments = (Arg("scale", A.number, REQUIRED, "the factor on the residual branch"),)

    def check_input(self, input_shape: list[Shape]) -> None:
        if len(input_shape) < 2:
            raise ShapeError(f"takes two tensors, the shortcut and the residual, got {len(input_shape)}")
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        return _traced_broadcast(tuple(input_shape[0]), tuple(input_shape[1]))

    def forward(self, inputs: list[Any], weights: Mapping[str, Any]) -> Any:
        return (inputs[0] + inputs[1] * np.float32(self.scale)).astype(np.float32, copy=False)

    def explain(self, input_shape: list[Shape]) -> list[Step]:
        output = self.compute_output_shape(input_shape)
        first, second = input_shape[:2]
        return [
            Step(
                "shape",
                f"{show(first)} + {show(second)} * {self.scale}, broadcast on the right",
                list(output),
            )
        ]
