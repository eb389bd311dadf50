"""``shapecalc lint``: every problem of every spec in a tree, for CI."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

from ..errors import EXIT_SPEC, EXIT_USAGE
from .common import app


class LintFormat(str, Enum):
    text = "text"
    github = "github"
    json = "json"
    sarif = "sarif"


@app.command()
def lint(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Spec files, and folders searched for *.yaml, *.yml, *.json; - reads a spec from stdin.",
            metavar="PATH...",
            show_default=False,
        ),
    ],
    output_format: Annotated[
        LintFormat,
        typer.Option(
            "--format",
            "-f",
            help="text: FILE:LINE:COL: error: MESSAGE; github: workflow annotations; json; sarif (2.1.0).",
        ),
    ] = LintFormat.text,
    ignore: Annotated[
        str | None,
        typer.Option(
            "--ignore",
            metavar="CODES",
            help="Warning codes not to report, e.g. W101,W103.",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on warnings too.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Say which files were skipped as not specs.")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Processes to check many files with. Default: the cores.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check every spec in PATHs and report every problem, for CI.

    Errors are shapecalc's refusals (E001-E006) and broken expectations of a spec's expect:
    (E007, E008); warnings (W101-W106) point at what Keras builds but is probably not meant: an
    unused layer or input, a dropout rate of 0, an activation applied twice, a bias cancelled by
    BatchNormalization, a shape that fits only because a size is unknown. A spec turns warnings
    off with lint: {ignore: [W103]}. Files that are clearly not specs (no top-level layers, input
    or inputs: a CI workflow, a config file) are skipped; --verbose names them.

    Exit status: 0 no errors (no warnings either with --strict); 1 errors (or warnings with
    --strict); 2 the command line is wrong.

    Examples:

    * `shapecalc lint specs/`
    * `shapecalc lint specs/ --format github`
    * `shapecalc lint specs/ --format sarif > shapecalc.sarif`
    """
    from ..lint import formats as lint_formats
    from ..lint.runner import LintUsageError, lint_paths

    ignored = frozenset(code.strip() for code in (ignore or "").split(",") if code.strip())
    try:
        report = lint_paths(paths, ignored, jobs)
    except LintUsageError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    problems = report.problems
    writers = {
        LintFormat.text: lint_formats.text,
        LintFormat.github: lint_formats.github,
        LintFormat.json: lint_formats.as_json,
        LintFormat.sarif: lint_formats.sarif,
    }
    sys.stdout.write(writers[output_format](problems))
    if verbose:
        for result in report.files:
            if result.skipped:
                typer.echo(f"{result.path}: skipped, {result.skipped}", err=True)
    errors = sum(1 for p in problems if p.severity == "error")
    if output_format is LintFormat.text:
        warned = len(problems) - errors
        typer.echo(f"{report.checked} spec(s) checked: {errors} error(s), {warned} warning(s)", err=True)
    if errors or (strict and problems):
        raise typer.Exit(EXIT_SPEC)
