"""The command line: parse options, call the library, print, and set the exit status."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import rich.console
import typer

from . import __version__
from .api import analyze_file
from .errors import EXIT_SPEC, EXIT_USAGE, SpecError
from .layers import registry
from .render.catalog import catalog_data, print_catalog, print_layer
from .render.json_report import dumps, report
from .render.summary import print_summary

app = typer.Typer(
    help=(
        "Keras-exact output shapes, parameter counts and model summaries from a YAML or JSON "
        "model spec, with no deep-learning framework installed."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shapecalc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """shapecalc reads a model spec written in Keras's layer vocabulary."""


def _fail(err: SpecError) -> None:
    typer.echo(str(err), err=True)
    raise typer.Exit(EXIT_SPEC)


@app.command()
def summary(
    spec: Annotated[
        Path,
        typer.Argument(help="The model spec: a .yaml/.yml or .json file.", metavar="SPEC", show_default=False),
    ],
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="text: the Keras-style table; json: one object on stdout."),
    ] = OutputFormat.text,
) -> None:
    """Print the summary Keras's model.summary() would print for SPEC.

    Exit status: 0 all well, 1 the spec is invalid (the message says FILE:LINE:COL and why),
    2 the command line is wrong.
    """
    if not spec.exists():
        typer.echo(f"{spec}: error: no such file", err=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        analysis = analyze_file(spec)
    except SpecError as err:
        _fail(err)
        return
    if output_format is OutputFormat.json:
        sys.stdout.write(dumps(report(analysis)) + "\n")
    else:
        print_summary(analysis)


@app.command()
def layers(
    name: Annotated[
        str | None, typer.Argument(help="A layer type, e.g. Conv2D: show its arguments.", show_default=False)
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text: tables; json: one object on stdout.")
    ] = OutputFormat.text,
) -> None:
    """List the supported Keras layer types, or one type's arguments and defaults."""
    console = rich.console.Console(highlight=False)
    if name is None:
        if output_format is OutputFormat.json:
            sys.stdout.write(json.dumps(catalog_data(), indent=2) + "\n")
        else:
            print_catalog(console)
        return
    cls = registry.lookup(name)
    if cls is None:
        typer.echo(f"error: unknown layer type '{name}'{registry.suggestion(name)}", err=True)
        raise typer.Exit(EXIT_USAGE)
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps({name: catalog_data()[name]}, indent=2) + "\n")
    else:
        print_layer(console, cls)


def main() -> None:
    app()
