"""Layer declarations, one module per family, each imported when one of its types is first
looked up (registry.py); ``registry.all_layer_types()`` imports them all."""

from . import registry
from .base import Arg, Layer, Weight
from .factory import create_layer

__all__ = ["Arg", "Layer", "Weight", "create_layer", "registry"]
