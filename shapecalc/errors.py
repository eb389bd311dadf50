"""Errors a user can cause, where they are, and the exit status each one earns."""

from __future__ import annotations

from typing import NamedTuple

EXIT_OK = 0
EXIT_SPEC = 1  # the spec is invalid: cannot parse, unknown layer or argument, bad value, bad shapes
EXIT_USAGE = 2  # the command line itself is wrong
EXIT_RUN_MISMATCH = 3  # --run found a layer whose real output disagrees with the prediction


class Location(NamedTuple):
    """A 1-based position in a spec file (a tuple: one is made for every value read)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class SpecError(Exception):
    """A problem with the spec, reported as ``FILE:LINE:COL: error: MESSAGE``."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}error: {self.message}"


class ArgError(ValueError):
    """A layer argument has a value Keras would refuse.

    Raised by argument parsers and layer constructors, which know nothing of files; the
    graph builder attaches the location of the offending argument (or of the layer entry).
    """

    def __init__(self, message: str, argument: str | None = None, at_key: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.argument = argument
        self.at_key = at_key  # point at the argument's name (unknown argument), not its value
        self.layer_name: str | None = None  # set once the layer has its name


class ShapeError(ValueError):
    """A layer cannot accept the shapes it is called on; the message states the rule."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
