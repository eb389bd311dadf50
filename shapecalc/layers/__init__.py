"""Layer declarations, one module per family; importing this package registers them all."""

from . import (  # noqa: F401 - importing a family registers its layers
    activations,
    adaptive_pooling,
    attention,
    attention_dot,
    augmentation,
    augmentation_color,
    conv_lstm,
    convolutional,
    core,
    core_extra,
    depthwise_separable,
    einsum,
    input_layer,
    merging,
    normalization,
    pooling,
    preprocessing,
    preprocessing_extra,
    recurrent,
    registry,
    regularization,
    reshaping,
    rnn_wrappers,
    spectrogram,
)
from .aliases import register_keras_aliases
from .base import Arg, Layer, Weight
from .factory import create_layer

register_keras_aliases()

__all__ = ["Arg", "Layer", "Weight", "create_layer", "registry"]
