"""``shapecalc solve``: which arguments of a window layer take one spatial length to another."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

from ..errors import EXIT_USAGE
from .common import app


class SolveFormat(str, Enum):
    text = "text"
    json = "json"


@app.command("solve")
def solve_command(
    layer_type: Annotated[
        str,
        typer.Argument(
            help="A convolution, transposed convolution or pooling type (or a Keras alias), e.g. Conv2D.",
            metavar="LAYER_TYPE",
            show_default=False,
        ),
    ],
    length: Annotated[
        int, typer.Option("--input", "-i", help="The input length of one spatial axis.", show_default=False)
    ],
    target: Annotated[
        int, typer.Option("--output", "-o", help="The output length wanted.", show_default=False)
    ],
    kernel: Annotated[
        int | None,
        typer.Option("--kernel", "-k", help="Fix kernel_size (pool_size for pooling).", show_default=False),
    ] = None,
    output_format: Annotated[
        SolveFormat,
        typer.Option("--format", "-f", help="text: a table; json: a list of argument sets on stdout."),
    ] = SolveFormat.text,
) -> None:
    """Which padding, strides, dilation_rate, output_padding and kernel_size (pool_size) make
    LAYER_TYPE turn a spatial axis of length --input into one of length --output, by Keras's
    own rules: every combination Keras accepts, with strides and dilation_rate 1-4 and kernels
    1-7, each with its formula. Without any, exit 1 and show the nearest misses, below and above.

    Example, to halve a 28x28 image with a convolution: `shapecalc solve Conv2D --input 28 --output 14`
    """
    import rich.console

    from ..render import solve_report
    from ..solve import solve

    try:
        solution = solve(layer_type, length, target, kernel)
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if output_format is SolveFormat.json:
        sys.stdout.write(solve_report.dumps(solution) + "\n")
        if not solution.answers:
            solve_report.print_solution(rich.console.Console(stderr=True, highlight=False), solution)
    else:
        solve_report.print_solution(rich.console.Console(highlight=False), solution)
    if not solution.answers:
        raise typer.Exit(1)
