"""The command line: one module per command, registered on the typer app of common.py.

``main`` runs it: options are parsed, the library called, its output printed, the exit
status set; a bug in shapecalc is reported in one line as an internal error.
"""

from __future__ import annotations

import gc
import sys

import typer

from ..errors import EXIT_INTERNAL
from . import catalog, convert, diff, explain, export, lint, plot, schema, solve, summary  # noqa: F401 - importing a command registers it
from .common import app

__all__ = ["app", "main"]


def _commands_for(args: list[str]) -> list[typer.models.CommandInfo]:
    """Typer builds the parser of every registered command when it starts, a millisecond or two
    each: the command the line names alone (all of them for a bare --help or a misspelt
    command, whose message lists them)."""
    given = next((a for a in args if not a.startswith("-")), None)
    commands = app.registered_commands
    named = [c for c in commands if (c.name or c.callback.__name__.replace("_", "-")) == given]
    return named or commands


def main(argv: list[str] | None = None) -> None:
    """The ``shapecalc`` command. ``--debug`` is taken anywhere on the line, so it can follow
    the command whose failure it is meant to explain."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    # A command runs once and exits: Python's cycle collector would only rescan, again and
    # again, the many small objects a big spec is read into (none of them in cycles).
    gc.disable()
    every_command = app.registered_commands
    app.registered_commands = _commands_for(args)
    try:
        app(args, prog_name="shapecalc", standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise SystemExit(130) from None
    except Exception as err:
        if debug:
            import traceback

            traceback.print_exc()
        typer.echo(
            f"shapecalc: internal error ({type(err).__name__}: {err}); this is a bug in shapecalc, not in "
            "your spec: please report it with the spec and this line"
            + ("" if debug else " (--debug prints the traceback)"),
            err=True,
        )
        raise SystemExit(EXIT_INTERNAL) from None
    finally:
        app.registered_commands = every_command  # main may be called again in one process
