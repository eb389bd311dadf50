"""``shapecalc layers``: the supported layer types, and one type's arguments."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

from ..errors import EXIT_USAGE
from .common import app


class CatalogFormat(str, Enum):
    text = "text"
    json = "json"


@app.command()
def layers(
    name: Annotated[
        str | None, typer.Argument(help="A layer type, e.g. Conv2D: show its arguments.", show_default=False)
    ] = None,
    output_format: Annotated[
        CatalogFormat, typer.Option("--format", "-f", help="text: tables; json: one object on stdout.")
    ] = CatalogFormat.text,
) -> None:
    """List the supported Keras layer types, or one type's arguments and defaults."""
    import json  # not loaded by the other commands: start-up is measured

    import rich.console

    from ..layers import registry
    from ..render.catalog import catalog_data, print_catalog, print_layer

    console = rich.console.Console(highlight=False)
    if name is None:
        if output_format is CatalogFormat.json:
            sys.stdout.write(json.dumps(catalog_data(), indent=2) + "\n")
        else:
            print_catalog(console)
        return
    cls = registry.lookup(name)
    if cls is None:
        typer.echo(f"error: unknown layer type '{name}'{registry.suggestion(name)}", err=True)
        raise typer.Exit(EXIT_USAGE)
    if output_format is CatalogFormat.json:
        sys.stdout.write(json.dumps({name: catalog_data()[name]}, indent=2) + "\n")
    else:
        print_layer(console, cls)
