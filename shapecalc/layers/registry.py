"""Layer type name -> declaration, each family module imported when one of its types is first
looked up: a spec of convolutions never loads the recurrent or attention layers. Families
register their classes with ``@register`` as they are imported; FAMILIES says where each
class is declared (a test keeps it equal to the classes the modules register)."""

from __future__ import annotations

import importlib
from typing import TypeVar

from .aliases import KERAS_ALIASES
from .args import did_you_mean
from .base import Layer

FAMILIES: dict[str, tuple[str, ...]] = {
    "activations": ("Activation", "ELU", "Identity", "LeakyReLU", "Masking", "PReLU", "ReLU", "Softmax"),
    "adaptive_pooling": (
        "AdaptiveAveragePooling1D",
        "AdaptiveAveragePooling2D",
        "AdaptiveAveragePooling3D",
        "AdaptiveMaxPooling1D",
        "AdaptiveMaxPooling2D",
        "AdaptiveMaxPooling3D",
    ),
    "applications": ("CustomScaleLayer", "LayerScale", "StochasticDepth"),
    "attention": ("MultiHeadAttention",),
    "attention_grouped": ("GroupedQueryAttention",),
    "attention_dot": ("AdditiveAttention", "Attention"),
    "augmentation": (
        "CutMix",
        "MaxNumBoundingBoxes",
        "MixUp",
        "RandomCrop",
        "RandomElasticTransform",
        "RandomErasing",
        "RandomFlip",
        "RandomPerspective",
        "RandomRotation",
        "RandomShear",
        "RandomTranslation",
        "RandomZoom",
    ),
    "augmentation_color": (
        "AugMix",
        "AutoContrast",
        "ContrastLimitedAdaptiveHistogramEqualization",
        "Equalization",
        "RandAugment",
        "RandomBrightness",
        "RandomColorDegeneration",
        "RandomColorJitter",
        "RandomContrast",
        "RandomGaussianBlur",
        "RandomGrayscale",
        "RandomHue",
        "RandomInvert",
        "RandomPosterization",
        "RandomSaturation",
        "RandomSharpness",
        "Solarization",
    ),
    "conv_lstm": ("ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"),
    "convolutional": ("Conv1D", "Conv2D", "Conv3D"),
    "convolutional_transpose": ("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"),
    "core": ("Dense", "Embedding"),
    "core_extra": ("ReversibleEmbedding", "SpectralNormalization"),
    "depthwise_separable": ("DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D"),
    "einsum": ("EinsumDense",),
    "input_layer": ("InputLayer",),
    "merging": ("Add", "Average", "Concatenate", "Maximum", "Minimum", "Multiply", "Subtract"),
    "merging_dot": ("Dot",),
    "normalization": ("BatchNormalization", "LayerNormalization", "RMSNormalization"),
    "normalization_extra": ("GroupNormalization", "UnitNormalization"),
    "operations": (
        "ops.abs",
        "ops.add",
        "ops.any",
        "ops.convert_to_tensor",
        "ops.divide",
        "ops.exp",
        "ops.log",
        "ops.logical_or",
        "ops.max",
        "ops.maximum",
        "ops.mean",
        "ops.min",
        "ops.minimum",
        "ops.multiply",
        "ops.negative",
        "ops.not_equal",
        "ops.power",
        "ops.relu",
        "ops.sigmoid",
        "ops.sqrt",
        "ops.square",
        "ops.subtract",
        "ops.sum",
        "ops.tanh",
        "ops.true_divide",
    ),
    "operations_shapes": (
        "ops.concatenate",
        "ops.expand_dims",
        "ops.matmul",
        "ops.ones_like",
        "ops.reshape",
        "ops.squeeze",
        "ops.transpose",
        "ops.zeros_like",
    ),
    "pooling": (
        "AveragePooling1D",
        "AveragePooling2D",
        "AveragePooling3D",
        "GlobalAveragePooling1D",
        "GlobalAveragePooling2D",
        "GlobalAveragePooling3D",
        "GlobalMaxPooling1D",
        "GlobalMaxPooling2D",
        "GlobalMaxPooling3D",
        "MaxPooling1D",
        "MaxPooling2D",
        "MaxPooling3D",
    ),
    "preprocessing": ("CenterCrop", "Normalization", "Rescaling", "Resizing"),
    "preprocessing_extra": ("CategoryEncoding", "Discretization"),
    "recurrent": ("GRU", "LSTM", "RNN", "SimpleRNN"),
    "recurrent_cells": ("GRUCell", "LSTMCell", "SimpleRNNCell", "StackedRNNCells"),
    "regularization": (
        "ActivityRegularization",
        "AlphaDropout",
        "Dropout",
        "GaussianDropout",
        "GaussianNoise",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "SpatialDropout3D",
    ),
    "reshaping": ("Flatten", "Permute", "RepeatVector", "Reshape"),
    "rnn_wrappers": ("Bidirectional", "TimeDistributed"),
    "spatial_resizing": (
        "Cropping1D",
        "Cropping2D",
        "Cropping3D",
        "UpSampling1D",
        "UpSampling2D",
        "UpSampling3D",
        "ZeroPadding1D",
        "ZeroPadding2D",
        "ZeroPadding3D",
    ),
    "spectrogram": ("MelSpectrogram", "STFTSpectrogram"),
}
_FAMILY_OF = {name: family for family, names in FAMILIES.items() for name in names}

_REGISTRY: dict[str, type[Layer]] = {}

L = TypeVar("L", bound=type[Layer])


def register(cls: L) -> L:
    name = cls.spec_type()
    if name in _REGISTRY or name in KERAS_ALIASES:
        raise RuntimeError(f"layer type {name} registered twice")
    _REGISTRY[name] = cls
    return cls


def registered(class_name: str) -> type[Layer] | None:
    """A class by its own name, exported or not; its family is imported if need be."""
    cls = _REGISTRY.get(class_name)
    if cls is None and class_name in _FAMILY_OF:
        importlib.import_module(f"{__package__}.{_FAMILY_OF[class_name]}")
        cls = _REGISTRY.get(class_name)
    return cls


def lookup(name: str) -> type[Layer] | None:
    """The class a spec names: an exported class name, or another name Keras exports for it
    (Convolution2D for Conv2D: layers made through it are still named as the class)."""
    if name in KERAS_ALIASES:
        return registered(KERAS_ALIASES[name])
    cls = registered(name)
    return cls if cls is not None and cls.exported else None


def operation(keras_class: str) -> type[Layer] | None:
    """The operation a functional model records under its Keras class name (``TrueDivide``)."""
    for family in ("operations", "operations_shapes"):
        importlib.import_module(f"{__package__}.{family}")
    return next((c for c in _REGISTRY.values() if c.is_operation and c.type_name() == keras_class), None)


def aliases() -> dict[str, str]:
    return dict(sorted(KERAS_ALIASES.items()))


def suggestion(name: str) -> str:
    return did_you_mean(name, [*all_layer_types(), *KERAS_ALIASES])


def all_layer_types() -> dict[str, type[Layer]]:
    """Every spec-usable type name -> class (a class exported only under an alias, by that
    alias); every family is imported."""
    for family in FAMILIES:
        importlib.import_module(f"{__package__}.{family}")
    types = {name: cls for name, cls in _REGISTRY.items() if cls.exported}
    for alias, target in KERAS_ALIASES.items():
        if not _REGISTRY[target].exported:
            types[alias] = _REGISTRY[target]
    return dict(sorted(types.items()))
