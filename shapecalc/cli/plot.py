"""``shapecalc plot``: the model graph as Keras's plot_model draws it, as DOT, Mermaid, SVG or PNG."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ..errors import EXIT_USAGE, SpecError
from .common import SetOption, app, fail, read_spec_file, require_file

# what each output extension is written as; svg and png are drawn by Graphviz's dot program
FORMATS = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".svg": "svg", ".png": "png"}
INSTALL_GRAPHVIZ = (
    "apt install graphviz (Debian/Ubuntu), brew install graphviz (macOS) or conda install graphviz"
)


class Direction(str, Enum):
    TB = "TB"
    LR = "LR"


@app.command("plot")
def plot_command(
    spec: Annotated[
        Path,
        typer.Argument(
            help="The model spec: a .yaml/.yml or .json file.", metavar="SPEC", show_default=False
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help=(
                "Where to draw it; the extension picks the format: .dot (Graphviz source), .mmd "
                "(Mermaid), .svg or .png (drawn by Graphviz's dot). '-': DOT source on stdout."
            ),
            show_default=False,
        ),
    ],
    expand: Annotated[
        bool,
        typer.Option(
            "--expand",
            help=(
                "Open wrappers as Keras's expand_nested opens nested models: Bidirectional's two "
                "copies, TimeDistributed's layer, a recurrent layer's cell drawn in a dashed box "
                "headed by the wrapper's own, the arrows going to and from them."
            ),
        ),
    ] = False,
    direction: Annotated[
        Direction,
        typer.Option("--direction", help="TB: top to bottom, as Keras draws; LR: left to right."),
    ] = Direction.TB,
    settings: SetOption = None,
) -> None:
    """Draw SPEC's layer graph as Keras's plot_model(model, show_shapes=True,
    show_layer_names=True) draws it: a box per layer with its name, class, input and output
    shapes (and, here, its parameter count), an arrow per connection between two layers. A
    Sequential spec has no input box, as in Keras.

    --expand opens wrappers; --direction LR draws left to right.

    .dot and .mmd need nothing installed; a .mmd file pasted into a ```mermaid block renders on
    GitHub. .svg and .png run Graphviz's dot program.

    Exit status: 0 drawn; 1 the spec is invalid (the message says FILE:LINE:COL and why); 2 the
    command line is wrong (an unknown extension), Graphviz is missing or fails, or FILE cannot
    be written.

    Examples:

    * `shapecalc plot model.yaml -o model.svg`
    * `shapecalc plot model.yaml -o model.mmd --direction LR`
    * `shapecalc plot model.yaml -o - | dot -Tpdf -o model.pdf`
    """
    require_file(spec)
    kind = "dot" if output == "-" else FORMATS.get(Path(output).suffix.lower())
    if kind is None:
        typer.echo(
            f"error: cannot tell the format of {output}: give a file ending in "
            f"{', '.join(FORMATS)}, or '-' for DOT source on stdout",
            err=True,
        )
        raise typer.Exit(EXIT_USAGE)
    from ..api import analyze_spec
    from ..plot import model_plot

    model_spec = read_spec_file(spec, settings)
    try:
        analysis = analyze_spec(model_spec)
    except SpecError as err:
        fail(err)
    plot = model_plot(analysis, expand=expand)
    if kind == "mermaid":
        from ..render import mermaid

        _write(output, mermaid.render(plot, direction.value))
        return
    from ..render import dot

    source = dot.render(plot, direction.value)
    if output == "-":
        sys.stdout.write(source)
    elif kind == "dot":
        _write(output, source)
    else:
        _draw(source, kind, output)


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as err:
        typer.echo(f"error: cannot write {path}: {err.strerror or err}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _draw(source: str, kind: str, path: str) -> None:
    """Run Graphviz's dot on the source; without it, say what to install."""
    import shutil
    import subprocess

    program = shutil.which("dot")
    if program is None:
        typer.echo(
            f"error: drawing {kind.upper()} needs Graphviz's dot program, which is not on PATH: "
            f"{INSTALL_GRAPHVIZ}; or write a .dot or .mmd file, which needs nothing",
            err=True,
        )
        raise typer.Exit(EXIT_USAGE)
    # Keras's dpi: a sharp PNG (an SVG is sized in points, and scales)
    command = [program, f"-T{kind}", *(["-Gdpi=200"] if kind == "png" else []), "-o", path]
    done = subprocess.run(command, input=source.encode("utf-8"), capture_output=True, check=False)
    if done.returncode < 0:
        # Graphviz's orthogonal edge router (Keras's splines=ortho) aborts on some graphs, a
        # U-Net's among them (maze.c: chkSgraph): the same picture with straight-segment edges
        done = subprocess.run(
            [*command, "-Gsplines=polyline"], input=source.encode("utf-8"), capture_output=True, check=False
        )
        if done.returncode == 0:
            typer.echo(
                "note: Graphviz's orthogonal edge router failed on this graph (a Graphviz bug); "
                "drawn with polyline edges instead",
                err=True,
            )
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        typer.echo(f"error: Graphviz's dot failed on {path}: {why[-1] if why else done.returncode}", err=True)
        raise typer.Exit(EXIT_USAGE)
