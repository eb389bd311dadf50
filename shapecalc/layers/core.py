"""Core layers: Dense, Embedding."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..arithmetic import Field
from ..errors import ArgError, CallFailure
from ..lazy import lazy
from . import args as A
from .base import (
    LORA_ARGUMENTS,
    REQUIRED,
    Arg,
    Layer,
    OutputShape,
    Shape,
    Weight,
    known_product,
    lora_factors,
    refuse_lora_with_kernel_constraint,
    require_known,
    require_rank,
    weight_arguments,
)
from .explaining import Step, show
from .registry import register

np = lazy("numpy")
kernels = lazy("..kernels", __package__)
activation_kernels = lazy("..kernels.activations", __package__)


@register
class Dense(Layer):
    """Last axis -> ``units``: kernel (C, units), bias (units,). Works on any rank >= 2."""

    supports_masking = True  # the input's Keras mask passes on unchanged

    arguments = (
        Arg("units", A.positive_int, doc="output size of the last axis"),
        Arg("activation", A.activation, None),
        Arg("use_bias", A.truthy, True),
        *weight_arguments(kernel="glorot_uniform", bias="zeros"),
        *LORA_ARGUMENTS,
        Arg("quantization_config", A.anything, None),
    )

    def configure(self) -> None:
        refuse_lora_with_kernel_constraint(self)

    def check_input(self, input_shape: Shape) -> None:
        require_rank(self, input_shape, min_rank=2)

    def build(self, input_shape: Shape) -> list[Weight]:
        channels = require_known(input_shape, -1, "the last axis")
        # LoRA freezes the kernel and trains a low-rank delta A @ B instead.
        weights = [self.weight("kernel", (channels, self.units), self.kernel_initializer, not self.lora_rank)]
        if self.use_bias:
            weights.append(self.weight("bias", (self.units,), self.bias_initializer))
        if self.lora_rank:
            weights += lora_factors("kernel", (channels, self.units), self.lora_rank)
        return weights

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape[:-1], self.units)

    def explain(self, input_shape: Shape) -> list[Step]:
        kept = "" if len(input_shape) <= 2 else f"; axes 1 to {len(input_shape) - 2} kept"
        return [
            Step(
                "features",
                "units",
                self.units,
                f"each of the {show(input_shape[-1])} in feeds every unit{kept}",
            )
        ]

    def macs(self, input_shape: Shape, output_shape: OutputShape) -> int | None:
        # every position of the leading axes: its C inputs times each of the units
        size = known_product(input_shape[1:])
        return None if size is None else size * self.units

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        # position by position over the leading axes; each unit reads the whole last axis
        return fields[0].mixing(-1)

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        kernel = weights["kernel"]
        if self.lora_rank:
            # Keras's build enables LoRA without passing lora_alpha on, so the scale is rank/rank = 1.
            kernel = kernels.lora_merged(kernel, weights["lora_kernel_a"], weights["lora_kernel_b"])
        y = kernels.matmul_last(inputs, kernel)
        bias = weights["bias"] if self.use_bias else None
        if activation_kernels.finish_in_place(y, bias, self.activation):
            return y
        if bias is not None:
            # in place into the product's fresh array, unless the bias widens its dtype
            y = np.add(y, bias, out=y) if np.result_type(y, bias) == y.dtype else y + bias
        return activation_kernels.activation(self.activation)(y)


def _lora_rank(value: Any) -> int | None:
    """Embedding enables LoRA when ``lora_rank`` is truthy; the rank then sizes two weights."""
    if not value:
        # Keras only tests `if self.lora_rank:`, so 0, false, 0.0 and "" all mean "no LoRA".
        return None
    if isinstance(value, bool):
        return 1  # true is the integer 1 to Keras's shape checks
    if not A.is_int(value) or value < 0:
        raise ArgError(f"expected a positive integer (or null for no LoRA), got {A.describe(value)}")
    return value


def _no_weights(value: Any) -> None:
    # Keras hands `weights` to set_weights, which needs arrays with a .shape: a spec cannot give one.
    if value is not None:
        raise ArgError(
            "initial embedding values need a NumPy array, which a spec cannot hold; Keras refuses "
            f"a plain list ('list' object has no attribute 'shape'), got {A.describe(value)}"
        )


@register
class Embedding(Layer):
    """Integer indices -> vectors: output input_shape + (output_dim,); embeddings (input_dim, output_dim).

    Any input rank is accepted (even rank 0), and the input dtype is not checked at build time.
    """

    arguments = (
        Arg("input_dim", A.positive_int, REQUIRED, "vocabulary size (largest index + 1)"),
        Arg("output_dim", A.positive_int, REQUIRED, "size of each embedding vector"),
        Arg("embeddings_initializer", A.initializer, "uniform"),
        Arg("embeddings_regularizer", A.regularizer, None),
        Arg("embeddings_constraint", A.constraint, None),
        Arg("mask_zero", A.anything, False, "only tested for truth by Keras"),
        Arg("weights", _no_weights, None),
        Arg("lora_rank", _lora_rank, None, "adds lora_embeddings_a/b and freezes embeddings"),
        # Keras overwrites lora_alpha with the rank when it enables LoRA at build; never validated.
        Arg("lora_alpha", A.anything, None),
        Arg("quantization_config", A.anything, None),
        Arg("input_length", A.anything, None, "deprecated and ignored by Keras 3"),
    )

    def configure(self) -> None:
        if self.lora_rank is not None and self.embeddings_constraint is not None:
            raise ArgError(
                "LoRA (lora_rank) cannot be used together with embeddings_constraint", argument="lora_rank"
            )
        # as Keras: a layer that makes no mask destroys any it is given
        self.supports_masking = bool(self.mask_zero)

    def compute_mask(self, inputs: np.ndarray, mask: Any) -> np.ndarray | None:
        """mask_zero: id 0 is padding (compared before the ids are cast to integers)."""
        return np.not_equal(inputs, 0) if self.mask_zero else None

    def build(self, input_shape: Shape) -> list[Weight]:
        shape = (self.input_dim, self.output_dim)
        if self.lora_rank is None:
            return [self.weight("embeddings", shape, self.embeddings_initializer)]
        # With LoRA the full matrix is frozen; the two low-rank factors train, always in float32.
        return [
            self.weight("embeddings", shape, self.embeddings_initializer, trainable=False),
            *lora_factors("embeddings", shape, self.lora_rank),
        ]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape, self.output_dim)

    def explain(self, input_shape: Shape) -> list[Step]:
        return [
            Step(
                f"axis {len(input_shape)}",
                "output_dim",
                self.output_dim,
                "each id becomes a vector, on a new last axis",
            )
        ]

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        # each vector reads the one id at its position: the ids' axes become the spatial axes
        windows = fields[0].windows
        return Field((*windows, None), tuple(range(len(windows))))

    def integer_input_bound(self) -> int:
        return self.input_dim

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        table = weights["embeddings"]
        if self.lora_rank is not None:
            # Keras's build calls enable_lora(rank) without lora_alpha, which resets alpha to the
            # rank: the LoRA scale alpha/rank is 1 whatever lora_alpha the constructor received.
            table = kernels.lora_merged(table, weights["lora_embeddings_a"], weights["lora_embeddings_b"])
        ids = np.asarray(inputs)
        if ids.dtype not in (np.int32, np.int64):
            ids = ids.astype(np.int32)  # as Keras: floats are truncated toward zero
        # np.take, as Keras's numpy backend: negative ids count from the end, too large ones raise.
        try:
            return np.take(table, ids, axis=0).astype(np.float32, copy=False)
        except IndexError as err:
            raise CallFailure(
                f"an id is out of the table's {len(table)} rows, as Keras's take finds: {err}"
            ) from None
