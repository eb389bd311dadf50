"""``shapecalc convert``: a model Keras saved, written as a spec."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import EXIT_USAGE, SpecError
from .common import app, fail, require_file


@app.command("convert")
def convert_command(
    model: Annotated[
        Path,
        typer.Argument(
            help="A model Keras saved: model.to_json()'s file, or a .keras archive.",
            metavar="MODEL",
            show_default=False,
        ),
    ],
    output: Annotated[
        str, typer.Option("--output", "-o", metavar="SPEC", help="The spec to write (.yaml); - for stdout.")
    ] = "-",
) -> None:
    """Write a model Keras saved as a shapecalc spec: Sequential where the model is, each layer
    with the arguments that differ from Keras's defaults and the name Keras gave it, each input
    named only where it is not the entry before. The spec summarises as the model does.

    Example: `python -c "import keras; keras.applications.ResNet50(weights=None).save('r.keras')"`
    then `shapecalc convert r.keras -o resnet50.yaml`
    """
    from .. import source
    from ..convert import convert, to_yaml
    from ..keras_files import is_keras_model, spec_from_keras

    require_file(model)
    try:
        root = source.load(model)
        if not is_keras_model(root):
            typer.echo(
                f"{model}:1:1: error: this is not a model Keras saved (it has no Sequential or Functional "
                "class_name): convert reads what model.to_json() or model.save() wrote",
                err=True,
            )
            raise typer.Exit(EXIT_USAGE)
        text = to_yaml(convert(spec_from_keras(root, keep_unknown=True).plain()), model.name)
    except SpecError as err:
        fail(err)
    if output == "-":
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as err:
        typer.echo(f"error: cannot write {output}: {err.strerror or err}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
