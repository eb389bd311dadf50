"""``shapecalc explain``: why each layer's output shape is what it is, with the numbers in."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from ..errors import EXIT_USAGE, Location, SpecError
from .common import SetOption, app, fail, model_figures, read_spec_file

if TYPE_CHECKING:
    from ..analysis import Analysis

# Layers given on the command line are read as the entries of a spec made of them, each entry
# from column 3 of its lines after a first line "layers:"; errors are moved back into them.
_ARGUMENT = "<layer>"


class ExplainFormat(str, Enum):
    text = "text"
    json = "json"


def _input_shape(text: str) -> list[int | None]:
    """'28,28,1' (or '28x28x1'; None or ? for an unknown size) -> [28, 28, 1]."""
    sizes: list[int | None] = []
    for part in text.replace("x", ",").split(","):
        part = part.strip()
        if part in ("None", "none", "null", "?"):
            sizes.append(None)
        elif part.isdigit():
            sizes.append(int(part))
        else:
            raise typer.BadParameter(
                f"expected sizes without the batch axis such as 28,28,1 (None for unknown), got {text!r}"
            )
    return sizes


@app.command("explain")
def explain_command(
    spec: Annotated[
        list[str],
        typer.Argument(
            help="A spec file; or, with --input, one or more layers written as in a spec.",
            metavar="SPEC | LAYER...",
            show_default=False,
        ),
    ],
    layer_names: Annotated[
        list[str] | None,
        typer.Option("--layer", "-l", help="Explain only this layer (repeatable).", show_default=False),
    ] = None,
    input_shape: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            metavar="SHAPE",
            help="The input shape without the batch axis (28,28,1), for layers given on the command line.",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        ExplainFormat, typer.Option("--format", "-f", help="text, or json: the same as data.")
    ] = ExplainFormat.text,
    settings: SetOption = None,
) -> None:
    """Why each layer's output shape is what it is: axis by axis, the formula with the numbers
    substituted (convolution arithmetic in the notation of Dumoulin and Visin's guide, with the
    padding Keras adds for `same`), then the layer's parameters as a sum of its weights, its
    multiply-accumulates and its receptive field.

    A spec: `shapecalc explain model.yaml --layer conv2d`

    One layer, no file: `shapecalc explain -i 28,28,1 "Conv2D: {filters: 16, kernel_size: 3, strides: 2}"`

    Layers in a chain: `shapecalc explain -i 28,28,1 "Conv2D: {filters: 8, kernel_size: 3}" MaxPooling2D`
    """
    from ..api import analyze_spec
    from ..explain import UnknownLayerName, explain_model
    from ..render import explain_report
    from ..render.json_report import dumps

    as_json = output_format is ExplainFormat.json
    if input_shape is None:
        if len(spec) > 1:
            _usage("give one spec file, or --input SHAPE before layers written on the command line")
        path = Path(spec[0])
        if not os.path.exists(path) and (":" in spec[0] or spec[0].isidentifier()):
            _usage(f"to explain {spec[0]!r} on its own, give its input shape: --input 28,28,1")
        name = str(path)
        model_spec = read_spec_file(path, settings, as_json)
        try:
            analysis = analyze_spec(model_spec)
        except SpecError as err:
            fail(err, as_json)
    else:
        # os.path: a layer written out can be longer than a file name may be
        if len(spec) == 1 and os.path.isfile(spec[0]):
            _usage("--input is for layers written on the command line; a spec file declares its own input")
        name = _ARGUMENT
        analysis = _analyze_layers(spec, _input_shape(input_shape), as_json)
    costs = model_figures(analysis, None, None, as_json)
    try:
        explained = explain_model(analysis, costs, layer_names or ())
    except UnknownLayerName as err:
        _usage(str(err))
    if as_json:
        sys.stdout.write(dumps(explain_report.as_dict(name, explained)) + "\n")
    else:
        sys.stdout.write(explain_report.text(explained))


def _analyze_layers(entries: list[str], shape: list[int | None], as_json: bool) -> Analysis:
    """The layers given as arguments, in a chain on an input of ``shape``; a problem is located
    in the argument it is in (``<layer>:LINE:COL`` counts lines and columns within it)."""
    from ..api import analyze_text

    # a bare type name stands for the layer with Keras's defaults: "Flatten" is "Flatten: {}"
    entries = [f"{e}: {{}}" if e.strip().isidentifier() else e for e in entries]
    text = "layers:\n" + "".join(f"- {entry.replace(chr(10), chr(10) + '  ')}\n" for entry in entries)
    text += f"input: {shape}\n".replace("None", "null")
    try:
        return analyze_text(text, _ARGUMENT)
    except SpecError as err:
        fail(_located_in_argument(err, entries), as_json)


def _located_in_argument(err: SpecError, entries: list[str]) -> SpecError:
    """The error's position within the argument it points into (entries start at column 3 of
    the spec made from them, after a first line of its own)."""
    where = err.location
    if where is None or where.file != _ARGUMENT:
        return err
    line = where.line - 1  # the spec's line 1 is "layers:"
    for number, entry in enumerate(entries, start=1):
        height = entry.count("\n") + 1
        if line <= height:
            label = _ARGUMENT if len(entries) == 1 else f"<layer {number}>"
            moved = Location(label, max(line, 1), max(where.col - 2, 1))
            return SpecError(err.message, moved, err.code, err.layer)
        line -= height
    return SpecError(err.message, None, err.code, err.layer)  # in the generated input line


def _usage(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)
