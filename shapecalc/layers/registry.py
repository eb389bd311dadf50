"""Layer type name -> declaration. Families register their classes with ``@register``."""

from __future__ import annotations

from typing import TypeVar

from .args import did_you_mean
from .base import Layer

_REGISTRY: dict[str, type[Layer]] = {}
_ALIASES: dict[str, type[Layer]] = {}

L = TypeVar("L", bound=type[Layer])


def register(cls: L) -> L:
    name = cls.type_name()
    if name in _REGISTRY:
        raise RuntimeError(f"layer type {name} registered twice")
    _REGISTRY[name] = cls
    return cls


def register_alias(alias: str, cls: type[Layer]) -> None:
    """Another name Keras exports for the same class (Convolution2D for Conv2D): layers made
    through it are still named and summarised as the class."""
    if alias in _REGISTRY or alias in _ALIASES:
        raise RuntimeError(f"layer type {alias} registered twice")
    _ALIASES[alias] = cls


def lookup(name: str) -> type[Layer] | None:
    return _REGISTRY.get(name) or _ALIASES.get(name)


def aliases() -> dict[str, str]:
    return {alias: cls.type_name() for alias, cls in sorted(_ALIASES.items())}


def suggestion(name: str) -> str:
    return did_you_mean(name, [*_REGISTRY, *_ALIASES])


def all_layer_types() -> dict[str, type[Layer]]:
    return dict(sorted(_REGISTRY.items()))
