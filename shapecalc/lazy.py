"""Modules loaded when first used.

The static path (shapes, counts, costs, lint) starts without NumPy and the kernels: only a
run needs them. A layer module names them at its top as it would import them,
``np = lazy("numpy")``, ``conv_kernels = lazy("..kernels.conv", __package__)``, and the import
happens the first time a kernel touches one of their attributes.
"""

from __future__ import annotations

import importlib
import types
from typing import Any


class _LazyModule(types.ModuleType):
    """Stands for a module until one of its attributes is read; then imports it and takes on
    its namespace, so later reads are plain attribute lookups."""

    def __init__(self, name: str, package: str | None) -> None:
        super().__init__(name)
        self._package = package

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self.__name__, self._package)
        self.__dict__.update(module.__dict__)
        return getattr(module, attribute)


def lazy(name: str, package: str | None = None) -> Any:
    """The module ``name`` (relative to ``package``, as in a relative import), loaded on first use."""
    return _LazyModule(name, package)
