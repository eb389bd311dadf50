"""``shapecalc diff``: what changed between two versions of a spec."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ..errors import SpecError
from .common import SetOption, app, fail, model_figures, read_spec_file


class DiffFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"


@app.command("diff")
def diff_command(
    before: Annotated[
        Path, typer.Argument(help="The first version of the spec.", metavar="A", show_default=False)
    ],
    after: Annotated[Path, typer.Argument(help="The second version.", metavar="B", show_default=False)],
    output_format: Annotated[
        DiffFormat,
        typer.Option("--format", "-f", help="text; markdown: tables for a pull-request comment; json."),
    ] = DiffFormat.text,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when anything changed (as git diff --exit-code).")
    ] = False,
    unknown_size: Annotated[
        int | None,
        typer.Option(
            "--unknown-size", min=1, help="Size of unknown input dims, for MACs.", show_default=False
        ),
    ] = None,
    settings: SetOption = None,
) -> None:
    """What changed from spec A to spec B: layers (matched by name, then by position) whose
    type, output shape, parameters or MACs changed, layers added and removed, and every total.

    Example, in a pull request: `git show main:model.yaml > old.yaml` then
    `shapecalc diff old.yaml model.yaml --format markdown`
    """
    from ..api import analyze_spec
    from ..diff import diff as model_diff
    from ..render import diff_report, markdown
    from ..render.json_report import dumps

    sides = []
    for path in (before, after):
        model_spec = read_spec_file(path, settings)
        try:
            analysis = analyze_spec(model_spec)
        except SpecError as err:
            fail(err)
        sides.append((analysis, model_figures(analysis, None, unknown_size, as_json=False)))
    changes = model_diff(sides[0], sides[1])
    if output_format is DiffFormat.markdown:
        sys.stdout.write(markdown.diff(changes, str(before), str(after)))
    elif output_format is DiffFormat.json:
        sys.stdout.write(dumps(diff_report.as_dict(changes)) + "\n")
    else:
        sys.stdout.write(diff_report.text(changes))
    if exit_code and changes.changes:
        raise typer.Exit(1)
