"""The custom layers of specs/custom_layer.yaml written as a Keras user writes them.

These classes are the judge for the spec-declared layers: shapecalc reads the declaration in
the spec; Keras runs this code. Importing the module registers them with the oracle.
"""

from __future__ import annotations

from typing import Any

import keras
from oracle import EXTRA_LAYERS


class MyLayer(keras.layers.Layer):
    """The seed material's layer: a (input_shape[1], output_dim) kernel, output (batch, output_dim)."""

    def __init__(self, output_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.output_dim = output_dim

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[1], self.output_dim), initializer="uniform"
        )

    def call(self, x: Any) -> Any:
        return keras.ops.matmul(x, self.kernel)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (input_shape[0], self.output_dim)


class HalfGate(keras.layers.Layer):
    def __init__(self, use_scale: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.use_scale = use_scale

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        if input_shape[-1] % 2 != 0:
            raise ValueError("HalfGate needs an even number of features")
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")
        self.steps = self.add_weight(name="steps", shape=(), initializer="zeros", trainable=False)

    def call(self, x: Any) -> Any:
        half = x.shape[-1] // 2
        y = x * self.scale if self.use_scale else x
        return y[..., :half] * keras.ops.sigmoid(y[..., half:])

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (*input_shape[:-1], input_shape[-1] // 2)


EXTRA_LAYERS.update(MyLayer=MyLayer, HalfGate=HalfGate)
