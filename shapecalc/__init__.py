"""shapecalc: Keras-exact output shapes, parameter counts and summaries from a model spec."""

__version__ = "0.1.0"
