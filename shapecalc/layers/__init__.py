"""Layer declarations, one module per family; importing this package registers them all."""

from . import (  # noqa: F401 - importing a family registers its layers
    activations,
    attention,
    convolutional,
    core,
    einsum,
    input_layer,
    merging,
    normalization,
    pooling,
    preprocessing,
    recurrent,
    regularization,
    reshaping,
    rnn_wrappers,
)
from . import registry
from .base import Arg, Layer, Weight
from .factory import create_layer

__all__ = ["Arg", "Layer", "Weight", "create_layer", "registry"]
