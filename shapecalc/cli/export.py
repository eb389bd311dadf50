"""``shapecalc export``: a spec written as code that builds the model."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ..errors import EXIT_USAGE, SpecError
from .common import SetOption, app, fail, read_spec_file


class Target(str, Enum):
    keras = "keras"


@app.command("export")
def export_command(
    spec: Annotated[Path, typer.Argument(help="The model spec.", metavar="SPEC", show_default=False)],
    to: Annotated[Target, typer.Option("--to", help="What to write: keras, a Python file.")] = Target.keras,
    output: Annotated[
        str, typer.Option("--output", "-o", metavar="FILE", help="The file to write (.py); - for stdout.")
    ] = "-",
    settings: SetOption = None,
) -> None:
    """Write SPEC as a Python file that builds the model with Keras: keras.Sequential for a
    Sequential spec, else the functional API, each layer with the spec's arguments and the
    name shapecalc gives it (blocks and repeats written out), so Keras's summary of the model
    is the one shapecalc prints. `build_model()` returns it; `model` is that model.

    Example: `shapecalc export specs/resnet50.yaml --to keras -o resnet50.py`
    """
    from ..api import analyze_spec
    from ..export import ExportRefused, keras_code

    model_spec = read_spec_file(spec, settings)
    try:
        analysis = analyze_spec(model_spec)
    except SpecError as err:
        fail(err)
    try:
        code = keras_code(analysis, spec.name)
    except ExportRefused as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if output == "-":
        sys.stdout.write(code)
        return
    try:
        Path(output).write_text(code, encoding="utf-8")
    except OSError as err:
        typer.echo(f"error: cannot write {output}: {err.strerror or err}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
