"""The warnings of ``shapecalc lint``: a spec Keras builds, but that is probably not what its
author meant (codes in problems.WARNING_CODES). Each rule reads the analysed graph only."""

from __future__ import annotations

from collections.abc import Iterator

from ..analysis import Analysis, ConcreteSizes, analyze
from ..errors import SpecError
from ..graph import Call
from ..layers.activations import ELU, PReLU, ReLU, Softmax
from ..layers.activations import Activation as ActivationLayer
from ..layers.activations import LeakyReLU as LeakyReLULayer
from ..layers.base import Layer
from ..layers.convolutional import Conv
from ..layers.convolutional_transpose import ConvTranspose
from ..layers.core import Dense
from ..layers.depthwise_separable import DepthwiseConv, SeparableConv
from ..layers.input_layer import InputLayer
from ..layers.normalization import BatchNormalization

# A size no real input has, so a shape that fits only because a size is unknown shows.
PROBE_SIZE = 1009
_LINEAR = (None, "linear")
_ACTIVATION_LAYERS = (ActivationLayer, ReLU, LeakyReLULayer, ELU, Softmax, PReLU)
_AFFINE_LAYERS = (Dense, Conv, ConvTranspose, DepthwiseConv, SeparableConv)
_DROPOUTS = frozenset(
    {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout", "AlphaDropout"}
)


class Finding:
    """A warning at a call: its code, its message, the call."""

    __slots__ = ("call", "code", "message")

    def __init__(self, code: str, call: Call, message: str) -> None:
        self.code = code
        self.call = call
        self.message = message

    def as_error(self) -> SpecError:
        return SpecError(self.message, self.call.loc, self.code, self.call.alias or self.call.layer.name)


def warnings(analysis: Analysis) -> list[SpecError]:
    """Every warning of an analysis without errors, as located SpecErrors with W codes."""
    consumers = _consumers(analysis)
    found: list[Finding] = []
    for rule in (_unused, _dropout_zero, _activation_twice, _bias_before_batchnorm):
        found.extend(rule(analysis, consumers))
    return [f.as_error() for f in found] + _unknown_size_fits(analysis)


def _consumers(analysis: Analysis) -> dict[Call, list[Call]]:
    consumers: dict[Call, list[Call]] = {call: [] for call in analysis.graph.calls}
    for call in analysis.graph.calls:
        for ref in call.inputs:
            consumers[ref.call].append(call)
    return consumers


def _who(call: Call) -> str:
    return f"{call.alias or call.layer.name} ({call.layer.type_name()})"


def _unused(analysis: Analysis, consumers: dict[Call, list[Call]]) -> Iterator[Finding]:
    outputs = {ref.call for ref in analysis.graph.outputs}
    for call in analysis.graph.calls:
        if consumers[call] or call in outputs:
            continue
        if isinstance(call.layer, InputLayer):
            yield Finding(
                "W102",
                call,
                f"input '{call.layer.name}' is used by no layer (Keras keeps it as a model input)",
            )
        else:
            yield Finding(
                "W101",
                call,
                f"{_who(call)}: no layer uses its output and it is no model output, so Keras leaves "
                "it out of the model",
            )


def _dropout_zero(analysis: Analysis, consumers: dict[Call, list[Call]]) -> Iterator[Finding]:
    for call in analysis.graph.calls:
        if call.layer.type_name() in _DROPOUTS and not call.layer.rate:
            yield Finding(
                "W103", call, f"{_who(call)}: rate 0 drops nothing; remove the layer or give a rate"
            )


def _applied_activation(layer: Layer) -> str | None:
    """The activation a layer applies last, if it is one of the layers whose output is an
    activation of their own result (activation layers, and dense and convolutional layers)."""
    if isinstance(layer, ActivationLayer):
        return None if layer.activation in _LINEAR else str(layer.activation)
    if isinstance(layer, _ACTIVATION_LAYERS):
        return layer.type_name()
    if isinstance(layer, _AFFINE_LAYERS):
        activation = getattr(layer, "activation", None)
        return None if activation in _LINEAR else str(activation)
    return None


def _activation_twice(analysis: Analysis, consumers: dict[Call, list[Call]]) -> Iterator[Finding]:
    for call in analysis.graph.calls:
        if not isinstance(call.layer, _ACTIVATION_LAYERS) or _applied_activation(call.layer) is None:
            continue
        for ref in call.inputs:
            before = _applied_activation(ref.call.layer)
            if before is not None:
                yield Finding(
                    "W104",
                    call,
                    f"{_who(call)} applies an activation to the output of {_who(ref.call)}, which "
                    f"already applies {before}",
                )


def _bias_before_batchnorm(analysis: Analysis, consumers: dict[Call, list[Call]]) -> Iterator[Finding]:
    for call in analysis.graph.calls:
        layer = call.layer
        if not isinstance(layer, _AFFINE_LAYERS) or not getattr(layer, "use_bias", False):
            continue
        if getattr(layer, "activation", None) not in _LINEAR or len(consumers[call]) != 1:
            continue
        (after,) = consumers[call]
        if not isinstance(after.layer, BatchNormalization) or call not in analysis.shapes:
            continue
        rank = len(analysis.output_shapes(call)[0])
        channel = 1 if getattr(layer, "data_format", "channels_last") == "channels_first" else rank - 1
        if after.layer.axis % rank != channel:
            continue
        bias = next(w for w in analysis.weights_of(layer) if w.path == "bias")
        yield Finding(
            "W105",
            call,
            f"{_who(call)}: its bias is cancelled by {_who(after)}, which subtracts each channel's "
            f"mean; use_bias: false saves {bias.size:,} parameters",
        )


def _unknown_size_fits(analysis: Analysis) -> list[SpecError]:
    """Shapes that fit only because an input size is unknown: the same graph analysed with
    every unknown input size at :data:`PROBE_SIZE` refuses them."""
    unknown = any(
        None in analysis.output_shapes(call)[0][1:]
        for call in analysis.graph.inputs
        if call in analysis.shapes
    )
    if not unknown:
        return []
    problems: list[SpecError] = []
    analyze(analysis.graph, ConcreteSizes(unknown=PROBE_SIZE), problems)
    return [
        SpecError(
            f"fits only because an input size is unknown: with every unknown input size at "
            f"{PROBE_SIZE}, {err.message}",
            err.location,
            "W106",
            err.layer,
        )
        for err in problems
    ]
