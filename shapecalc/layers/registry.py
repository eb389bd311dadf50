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
    if name in _REGISTRY or name in _ALIASES:
        raise RuntimeError(f"layer type {name} registered twice")
    _REGISTRY[name] = cls
    return cls


def register_alias(alias: str, cls: type[Layer]) -> None:
    """Another name Keras exports for the same class (Convolution2D for Conv2D): layers made
    through it are still named and summarised as the class."""
    if (alias in _REGISTRY and _REGISTRY[alias].exported) or alias in _ALIASES:
        raise RuntimeError(f"layer type {alias} registered twice")
    _ALIASES[alias] = cls


def registered(class_name: str) -> type[Layer]:
    """A registered class by its own name, exported or not."""
    return _REGISTRY[class_name]


def lookup(name: str) -> type[Layer] | None:
    """The class a spec names: an exported class name or one of its aliases."""
    cls = _REGISTRY.get(name)
    if cls is not None and cls.exported:
        return cls
    return _ALIASES.get(name)


def aliases() -> dict[str, str]:
    return {alias: cls.type_name() for alias, cls in sorted(_ALIASES.items())}


def suggestion(name: str) -> str:
    return did_you_mean(name, [*all_layer_types(), *_ALIASES])


def all_layer_types() -> dict[str, type[Layer]]:
    """Every spec-usable type name -> class (a class exported only under an alias, by that alias)."""
    types = {name: cls for name, cls in _REGISTRY.items() if cls.exported}
    types.update({alias: cls for alias, cls in _ALIASES.items() if not cls.exported})
    return dict(sorted(types.items()))
