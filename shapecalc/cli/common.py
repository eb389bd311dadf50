"""What the commands share: the typer app, failing on a spec's problems, the model's figures."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from .. import __version__
from ..errors import EXIT_SPEC, EXIT_USAGE, SpecError

if TYPE_CHECKING:
    from ..analysis import Analysis
    from ..costs import Costs
    from ..spec import ModelSpec

# The command modules import the library inside their commands: `shapecalc lint` does not load
# what `summary --run` needs, and start-up stays short.

app = typer.Typer(
    help=(
        "Keras-exact output shapes, parameter counts and model summaries from a YAML or JSON "
        "model spec, with what the model costs (MACs, memory, receptive fields), and no "
        "deep-learning framework installed.\n\n"
        "shapecalc summary model.yaml: the summary. shapecalc lint specs/: every problem of "
        "every spec, for CI. shapecalc diff old.yaml new.yaml: what a change did to the model. "
        "shapecalc explain model.yaml: the working behind every shape; shapecalc solve Conv2D "
        "--input 28 --output 14: the arguments that give a length; shapecalc plot model.yaml "
        "-o model.svg: the graph."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # docstring paragraphs reflow to the terminal's width
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shapecalc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    # main() takes --debug off the command line before typer parses it; declared here for --help
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="On an internal error, print the traceback too (also accepted after the command)."
        ),
    ] = False,
) -> None:
    """shapecalc reads a model spec written in Keras's layer vocabulary."""


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="NAME=VALUE",
        help="Give a variable of the spec's vars: another value, e.g. --set width=0.5 (repeatable).",
        show_default=False,
    ),
]


def overrides(values: list[str] | None) -> dict[str, str]:
    """--set NAME=VALUE options as a mapping; a malformed one is a usage error."""
    found: dict[str, str] = {}
    for value in values or ():
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            typer.echo(f"error: --set takes NAME=VALUE, got {value!r}", err=True)
            raise typer.Exit(EXIT_USAGE)
        found[name.strip()] = text
    return found


def read_spec_file(path: Path, settings: list[str] | None, as_json: bool = False) -> ModelSpec:
    """The spec at ``path`` with its --set variables, or the command's failure: a missing file
    or a --set naming no variable is a usage error, a bad spec a located one."""
    from ..api import read_file
    from ..variables import SetError

    require_file(path)
    try:
        return read_file(path, overrides(settings))
    except SetError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except SpecError as err:
        fail(err, as_json)


def require_file(path: Path) -> None:
    """A spec that does not exist is a usage error (exit 2), reported before anything is read.
    (os.path, not Path.exists: a name too long to look up is no file, not an OSError.)"""
    if not os.path.exists(path):
        typer.echo(f"{path}: error: no such file", err=True)
        raise typer.Exit(EXIT_USAGE)


def fail(err: SpecError, as_json: bool = False) -> NoReturn:
    fail_all([err], as_json)


def fail_all(errors: list[SpecError], as_json: bool) -> NoReturn:
    """Report the spec's problems on stderr (and as JSON on stdout for --format json); exit 1."""
    for err in errors:
        typer.echo(str(err), err=True)
    if as_json:
        from ..lint.problems import Problem
        from ..render.json_report import dumps

        problems = [Problem.of(err, err.location.file if err.location else "") for err in errors]
        sys.stdout.write(dumps({"problems": [p.as_dict() for p in problems]}) + "\n")
    raise typer.Exit(EXIT_SPEC)


def model_figures(analysis: Analysis, batch: int | None, unknown_size: int | None, as_json: bool) -> Costs:
    """The model's costs; with --unknown-size, of the same graph analysed at that size."""
    from ..analysis import ConcreteSizes, analyze
    from ..costs import model_costs

    if unknown_size is not None:
        try:
            analysis = analyze(analysis.graph, ConcreteSizes(unknown=unknown_size))
        except SpecError as err:
            refusal = f"with --unknown-size {unknown_size}, the spec no longer fits: {err.message}"
            typer.echo(str(SpecError(refusal, err.location)), err=True)
            raise typer.Exit(EXIT_USAGE) from None
    declared = [analysis.output_shapes(call)[0][0] for call in analysis.graph.inputs]
    fixed = next((b for b in declared if b is not None), None)
    try:
        return model_costs(analysis, batch or fixed or 1)
    except SpecError as err:
        fail(err, as_json)
