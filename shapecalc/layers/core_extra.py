"""ReversibleEmbedding (keras/src/layers/core/) and the SpectralNormalization wrapper
(keras/src/layers/normalization/)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..arithmetic import Field
from ..errors import ArgError, ShapeError
from ..lazy import lazy
from . import args as A
from .base import REQUIRED, Arg, Built, Layer, OutputShape, Shape, Weight, fmt_shape, prefixed
from .core import Embedding
from .explaining import Step
from .registry import register

np = lazy("numpy")
recurrent_kernels = lazy("..kernels.recurrent", __package__)


@register
class ReversibleEmbedding(Embedding):
    """An Embedding that can also project back to the vocabulary (``reverse=True`` at call).

    Called forwards, as a spec calls it: output input_shape + (output_dim,). With
    ``tie_weights: false`` it owns a second matrix reverse_embeddings (output_dim, input_dim).
    The forward call is Embedding's (row gather, LoRA delta included), so its kernel and its
    integer_input_bound (input_dim) are inherited; reverse_embeddings only serves reverse=True.
    """

    arguments = (
        *Embedding.arguments[:2],
        Arg("tie_weights", A.truthy, True, "false adds reverse_embeddings (output_dim, input_dim)"),
        *Embedding.arguments[2:],
        Arg("reverse_dtype", A.anything, None),
        Arg("logit_soft_cap", A.anything, None),
    )

    def configure(self) -> None:
        super().configure()
        if self.lora_rank is not None and not self.tie_weights:
            # Keras enables LoRA inside Embedding.build, which locks the layer's variables before
            # ReversibleEmbedding adds reverse_embeddings: the build fails.
            raise ArgError(
                "LoRA (lora_rank) cannot be combined with tie_weights: false (Keras cannot add "
                "reverse_embeddings once LoRA is enabled)",
                argument="lora_rank",
            )

    def compute_mask(self, inputs: np.ndarray, mask: Any) -> None:
        # Keras's override: the mask is attached by the call itself (mask_set_in_call), so the
        # model built symbolically records none and a layer reading it sees it only at run time
        return None

    def mask_set_in_call(self, inputs: np.ndarray, mask: Any) -> np.ndarray | None:
        return super().compute_mask(inputs, mask)

    def build(self, input_shape: Shape) -> list[Weight]:
        weights = super().build(input_shape)
        if not self.tie_weights:
            shape = (self.output_dim, self.input_dim)
            weights.append(self.weight("reverse_embeddings", shape, self.embeddings_initializer))
        return weights


# Keras's recurrent cells have a kernel but no compute_output_shape: the wrapper cannot call them.
_CELLS = frozenset({"SimpleRNNCell", "LSTMCell", "GRUCell"})
# Keras skips the wrapped layer's InputSpec. Only Dense's shape rule then accepts more (rank 1);
# the convolutions' rules refuse a wrong rank themselves, so their check gives Keras's answer.
_UNCHECKED = frozenset({"Dense"})


def _power_iterations(value: Any) -> Any:
    # Keras only tests `power_iterations <= 0`.
    if value is None or isinstance(value, (str, list, dict)) or value <= 0:
        raise ArgError(f"expected a number > 0, got {A.describe(value)}")
    return value


@register
class SpectralNormalization(Layer):
    """Wraps a layer with a ``kernel`` (Dense, convolutions, EinsumDense) or ``embeddings``
    (Embedding) and normalises it by its spectral norm.

    Output: the wrapped layer's. Weights: the wrapped layer's, plus a non-trainable
    vector_u (1, last axis of the kernel). Keras builds the wrapped layer directly on the
    input shape, without its input checks (a Dense accepts a rank-1 input here).
    """

    # the wrapped layer keeps its own flag
    trainable_flag_reaches_weights = False

    arguments = (
        Arg("layer", A.anything, REQUIRED, "a layer with a kernel or embeddings", nested_layer=True),
        Arg("power_iterations", _power_iterations, 1),
    )
    layer: Layer

    def configure(self) -> None:
        if not isinstance(self.layer, Layer):
            raise ArgError(f"layer must be a layer, got {A.describe(self.layer)}", argument="layer")

    def check_later_call(self, input_shape: Shape, built: Built) -> None:
        # After the first build Keras sets InputSpec(min_ndim=1, axes={-1: first last axis}); the
        # wrapped layer keeps its weights, and its build and shape rule must still take the input.
        if not input_shape:
            raise ShapeError("expects input of rank >= 1, got rank 0: ()")
        first_last = built.input_shape[-1]
        if input_shape[-1] is not None and input_shape[-1] != first_last:
            raise ShapeError(f"was first called with last axis {first_last}; got {fmt_shape(input_shape)}")
        self._inner(input_shape)

    def _inner(self, input_shape: Shape) -> tuple[list[Weight], OutputShape]:
        """Keras calls the wrapped layer's build() and compute_output_shape() directly."""
        inner = self.layer
        if inner.type_name() in _CELLS:
            raise ShapeError(
                f"{inner.type_name()} has no compute_output_shape in Keras; wrap a layer, not a cell"
            )
        if inner.type_name() not in _UNCHECKED:
            inner.check_input(input_shape)
        weights = inner.build(input_shape)
        return weights, inner.compute_output_shape(input_shape)

    def build(self, input_shape: Shape) -> list[Weight]:
        if not input_shape:
            raise ShapeError("expects input of rank >= 1 (it reads the last axis), got rank 0: ()")
        inner_weights = self.layer.variables(self._inner(input_shape)[0])
        by_path = {w.path: w for w in inner_weights}
        kernel = by_path.get("kernel") or by_path.get("embeddings")
        if kernel is None:
            raise ShapeError(f"{self.layer.type_name()} has no 'kernel' nor 'embeddings' weight to normalise")
        vector_u = Weight("vector_u", (1, kernel.shape[-1]), False, "truncated_normal", kernel.dtype)
        return [vector_u, *prefixed(self.layer, inner_weights)]

    def compute_output_shape(self, input_shape: Shape) -> OutputShape:
        return self._inner(input_shape)[1]

    def explain(self, input_shape: Shape) -> list[Step]:
        """The wrapped layer's rule: normalising its kernel changes no shape."""
        return [
            s._replace(note=s.note or f"as {self.layer.type_name()}") for s in self.layer.explain(input_shape)
        ]

    # at inference the wrapped layer runs with its stored kernel: its costs are the wrapper's
    def macs(self, input_shape: Shape, output_shape: OutputShape) -> int | None:
        return self.layer.macs(input_shape, output_shape)

    def receptive_field(
        self, fields: list[Field], input_shape: Shape, output_shape: OutputShape
    ) -> Field | None:
        return self.layer.receptive_field(fields, input_shape, output_shape)

    def integer_input_bound(self) -> int | None:
        return self.layer.integer_input_bound()

    def forward(self, inputs: np.ndarray, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        # At training=False Keras neither updates vector_u nor normalises: the wrapped layer runs
        # with its stored kernel (normalised by the last training step). Keras's __call__ casts a
        # float input to the compute dtype (integers are left alone), and call() casts the output
        # to the input's dtype: integer ids through a wrapped Embedding give truncated integers.
        x = np.asarray(inputs)
        if x.dtype.kind == "f":
            x = x.astype(np.float32, copy=False)
        out = np.asarray(self.layer.forward(x, recurrent_kernels.sub_weights(weights, self.layer.name)))
        return out.astype(x.dtype, copy=False)
