"""Layer-level differential check: one layer, given input shapes, shapecalc against Keras."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oracle import LayerFacts, Refusal, Shape, keras_layer_facts

from shapecalc.errors import ArgError, ShapeError
from shapecalc.layers import Layer, create_layer
from shapecalc.layers.base import Built, OutputShape, Weight
from shapecalc.layers.explaining import Step
from shapecalc.layers.factory import Namer


@dataclass
class Called:
    """A layer after its first call, with what that call built (the record an analysis keeps)."""

    layer: Layer
    built: Built

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def weights(self) -> list[Weight]:
        return self.layer.variables(self.built.weights)

    def count_params(self) -> tuple[int, int]:
        return self.layer.count_params(self.built.weights)

    def again(self, input_shape: Any) -> OutputShape:
        """A later call of the same (shared) layer."""
        return self.layer.infer(input_shape, self.built)[0]

    def explain(self, input_shape: Any) -> list[Step]:
        return self.layer.explain(input_shape)


def call_layer(layer: Layer, input_shape: Any) -> tuple[Called, OutputShape]:
    """The layer's first call on ``input_shape`` (a list of shapes for a ``takes_list`` layer)."""
    out, built = layer.infer(input_shape)
    return Called(layer, built), out


def shapecalc_call(type_name: str, args: dict[str, Any], shape: Any) -> tuple[Called, OutputShape]:
    return call_layer(create_layer(type_name, args, Namer()), shape)


def shapecalc_layer_facts(
    type_name: str, args: dict[str, Any], input_shapes: list[Shape]
) -> LayerFacts | Refusal:
    try:
        layer = create_layer(type_name, args, Namer())
        called, out = call_layer(layer, list(input_shapes) if layer.takes_list else input_shapes[0])
    except (ArgError, ShapeError) as err:
        return Refusal(err.message)
    trainable, non_trainable = called.count_params()
    return LayerFacts(
        output=out,
        trainable=trainable,
        non_trainable=non_trainable,
        weights={f"{layer.name}/{w.path}": w.shape for w in called.weights},
    )


def assert_same_as_keras(
    type_name: str,
    args: dict[str, Any],
    input_shapes: list[Shape],
    dtypes: list[str] | None = None,
) -> LayerFacts | Refusal:
    """Keras and shapecalc agree: both refuse, or same output shapes, counts and weight shapes."""
    from shapecalc.layers import registry

    cls = registry.lookup(type_name)
    as_list = bool(cls and cls.takes_list)
    want = keras_layer_facts(type_name, args, input_shapes, dtypes, as_list=as_list)
    got = shapecalc_layer_facts(type_name, args, input_shapes)
    context = f"{type_name}({args}) on {input_shapes}"
    if isinstance(want, Refusal):
        assert isinstance(got, Refusal), f"Keras refuses {context} ({want.message}) but shapecalc gives {got}"
        return want
    assert not isinstance(got, Refusal), f"shapecalc refuses {context} ({got.message}) but Keras gives {want}"
    assert got.output == want.output, f"{context}: output {got.output} != Keras {want.output}"
    assert (got.trainable, got.non_trainable) == (want.trainable, want.non_trainable), (
        f"{context}: params {(got.trainable, got.non_trainable)} "
        f"!= Keras {(want.trainable, want.non_trainable)}"
    )
    assert got.weights == want.weights, f"{context}: weights {got.weights} != Keras {want.weights}"
    return want
