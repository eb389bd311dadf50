"""Layer type name -> declaration. Families register their classes with ``@register``."""

from __future__ import annotations

from typing import TypeVar

from .args import did_you_mean
from .base import Layer

_REGISTRY: dict[str, type[Layer]] = {}

L = TypeVar("L", bound=type[Layer])


def register(cls: L) -> L:
    name = cls.type_name()
    if name in _REGISTRY:
        raise RuntimeError(f"layer type {name} registered twice")
    _REGISTRY[name] = cls
    return cls


def lookup(name: str) -> type[Layer] | None:
    return _REGISTRY.get(name)


def suggestion(name: str) -> str:
    return did_you_mean(name, _REGISTRY)


def all_layer_types() -> dict[str, type[Layer]]:
    return dict(sorted(_REGISTRY.items()))
