"""Every error shapecalc raises, where it points, and the exit status each one earns.

Errors a user can cause carry what is wrong in words that need no knowledge of shapecalc's
code. Anything else that escapes is a bug in shapecalc: the command line reports it as an
internal error (:data:`EXIT_INTERNAL`), never as a problem with the spec or the model.
"""

from __future__ import annotations

from typing import NamedTuple

EXIT_OK = 0
EXIT_SPEC = 1  # the spec is invalid: cannot parse, unknown layer or argument, bad value, bad shapes
EXIT_USAGE = 2  # the command line is wrong, or a --run cannot start (files, memory limit)
EXIT_RUN_MISMATCH = 3  # --run found a layer whose real output disagrees with the prediction
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in shapecalc itself, not in the spec


class Location(NamedTuple):
    """A 1-based position in a spec file (a tuple: one is made for every value read)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


# What kind of problem a SpecError is: the codes `shapecalc lint` reports (and can select).
ERROR_CODES = {
    "E001": ("read", "the file cannot be read or parsed as YAML or JSON, or passes a size limit"),
    "E002": ("spec", "the spec's structure: top-level keys, inputs, entries, custom layers, expect:, lint:"),
    "E003": ("unknown-layer", "a layer type that is neither Keras's nor declared in the spec"),
    "E004": ("argument", "a layer argument Keras refuses: unknown, missing, or a bad value"),
    "E005": ("wiring", "how layers are connected: unknown or repeated names, inputs, outputs, Reuse"),
    "E006": ("shape", "a layer refuses the shapes it is called on, as Keras refuses them"),
    "E007": ("expectation", "a value pinned in the spec's expect: differs from the model's"),
    "E008": ("budget", "the model exceeds a max_ budget of the spec's expect:"),
}


class SpecError(Exception):
    """A problem with the spec, reported as ``FILE:LINE:COL: error: MESSAGE``; ``code`` says
    which kind (:data:`ERROR_CODES`), ``layer`` names the layer concerned, if one is."""

    def __init__(
        self,
        message: str,
        location: Location | None = None,
        code: str = "E002",
        layer: str | None = None,
        context: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.code = code
        self.layer = layer
        self.context = context  # the block instances it arose in, once named in the message

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}error: {self.message}"

    def within(self, context: str) -> SpecError:
        """The same problem, saying which block instance (and chain of them) it arose in."""
        if not context or self.context:
            return self
        return SpecError(f"{self.message} [{context}]", self.location, self.code, self.layer, context)


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
    """A layer cannot accept the shapes it is called on; the message states the rule.

    ``location`` is set where the rule itself is written in the spec (a custom layer's
    expression); otherwise the analysis locates the error at the call.
    """

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location


class ExpressionError(ValueError):
    """A problem with a shape expression; ``offset`` is the 0-based column inside its text."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class LocatedRefusal(Exception):
    """A command refuses what it was given; ``location`` points at the part of the spec that is
    the cause, when one is."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}error: {self.message}"


class RunRefused(LocatedRefusal):
    """A ``--run`` cannot start: a memory limit, an array too large to allocate, or an input or
    weight file that does not fit, located at the layer or input that is the cause."""


class CallFailure(Exception):
    """A layer's call fails on its inputs at run time, where Keras's call fails too, although
    the static shape rule (Keras's as well) accepts them: ``--run`` reports the layer."""


class KernelUnavailable(Exception):
    """shapecalc has no NumPy kernel for this layer with these arguments (Keras has one):
    ``--run`` checks the layer statically only and feeds data of the predicted shape on."""


class DisplayError(Exception):
    """The output cannot be shown as asked (a terminal too narrow for the summary table)."""
