"""``shapecalc summary``: the Keras-style summary, the cost columns, JSON, markdown, --run."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import EXIT_RUN_MISMATCH, EXIT_USAGE, DisplayError, RunRefused, SpecError
from .common import SetOption, app, fail, fail_all, model_figures, read_spec_file, require_file

if TYPE_CHECKING:
    from ..analysis import Analysis
    from ..render.nesting import Nesting
    from ..run.engine import RunOptions, RunReport


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


def _memory_size(text: str) -> int:
    """'8G', '512M', '1.5GiB', '2000000000' -> bytes."""
    from ..units import BINARY

    units = {"": 1, "B": 1, **BINARY}
    cleaned = text.strip().upper().removesuffix("IB").removesuffix("B")
    number, unit = (cleaned[:-1], cleaned[-1]) if cleaned and cleaned[-1] in units else (cleaned, "")
    try:
        value = float(number) * units[unit]
    except ValueError:
        raise typer.BadParameter(f"expected a size such as 8G or 512M, got {text!r}") from None
    if value <= 0:
        raise typer.BadParameter("must be positive")
    return int(value)


def _default_max_memory() -> str:
    """Three quarters of this machine's memory."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "8G"
    return f"{total * 3 // 4 // 1024**2}M"


def _input_files(values: list[str]) -> dict[str | None, Path]:
    files: dict[str | None, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        key = name if sep else None
        if key in files:
            raise typer.BadParameter(f"--input for {key or 'the input'} given twice")
        files[key] = Path(path if sep else value)
        if not os.path.isfile(files[key]):
            raise typer.BadParameter(f"no such file: {files[key]}")
    return files


@app.command()
def summary(
    spec: Annotated[
        Path,
        typer.Argument(
            help="The model spec: a .yaml/.yml or .json file.", metavar="SPEC", show_default=False
        ),
    ],
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            help="text: the Keras-style table; json: one object on stdout; markdown: for a pull request.",
        ),
    ] = OutputFormat.text,
    run: Annotated[
        bool,
        typer.Option("--run", help="Execute the graph with the bundled NumPy kernels and check every shape."),
    ] = False,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            metavar="KEYS",
            help=(
                "Columns of the table after the layer, comma-separated: output_shape, params, "
                "connected_to, trainable, macs, flops, activation_bytes, receptive_field, "
                "effective_stride. Each cost column adds its totals line."
            ),
            show_default=False,
        ),
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(
            "--batch",
            min=1,
            help="Batch size of --run, and of the batch totals (MACs, memory). Default: the spec's, else 1.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the random weights and inputs.")] = 0,
    weights: Annotated[
        Path | None,
        typer.Option(
            "--weights",
            exists=True,
            dir_okay=False,
            help=(
                "Weights: an .npz keyed by Keras paths (conv2d/kernel), or what Keras saved (a "
                ".keras, a .weights.h5; needs h5py). A .keras SPEC runs on its own weights."
            ),
        ),
    ] = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input", help="FILE.npy (one input) or NAME=FILE.npy (repeatable) instead of random data."
        ),
    ] = None,
    save_outputs: Annotated[
        Path | None,
        typer.Option(
            "--save-outputs",
            metavar="FILE.npz",
            help="Write every layer's output to this .npz (NAME, NAME.K).",
        ),
    ] = None,
    max_memory: Annotated[
        str,
        typer.Option(
            "--max-memory", metavar="SIZE", help="Refuse a run estimated to need more (e.g. 8G, 512M)."
        ),
    ] = _default_max_memory(),
    unknown_size: Annotated[
        int | None,
        typer.Option(
            "--unknown-size",
            min=1,
            help=(
                "Size given to unknown (null) input dims other than the batch: for --run (default 8) "
                "and for MACs and memory, which are unknown (?) without it."
            ),
            show_default=False,
        ),
    ] = None,
    expand: Annotated[
        bool,
        typer.Option(
            "--expand",
            help=(
                "List every layer of each block instance under the instance's row, prefixed "
                "with └ as Keras's expand_nested lists a nested model's."
            ),
        ),
    ] = False,
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth",
            min=0,
            metavar="N",
            help="With --expand (which it implies): open N levels of instances; deeper ones stay one row.",
            show_default=False,
        ),
    ] = None,
    flat: Annotated[
        bool,
        typer.Option(
            "--flat",
            help="Every layer a row, no instance rows: Keras's summary of the model written out flat.",
        ),
    ] = False,
    settings: SetOption = None,
    width: Annotated[
        int | None,
        typer.Option(
            "--width",
            min=20,
            help="Width of the table in characters, as on a terminal that wide (piped output too). "
            "Default: Keras's (88, or 108 with Connected to), narrower on a narrow terminal.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the summary Keras's model.summary() would print for SPEC.

    With --run, also execute it with shapecalc's NumPy kernels and check every layer's real
    output shape against the prediction.

    A spec written with blocks shows each top-level block instance as one row, as Keras shows
    a nested model: `conv2 (stage)`, the instance's outputs, the sum of its layers' parameters
    and (functional) the outside tensors it reads. --expand lists the instances' layers under
    them (--depth N: N levels of instances), --flat lists every layer as Keras's summary of
    the model written out does. The totals are the model's either way; markdown follows the
    same choice; JSON always lists every layer, with the instances it is in.

    --columns picks the table's columns, and each cost column adds its totals: MACs for one
    example and for the batch, memory (input, activations, parameters), the largest receptive
    field. An instance's row adds up its layers' parameters, MACs, FLOPs and activations, gives
    its outputs' receptive fields, and is trainable (Y) if any of its weights is.
    --format json always has every figure.

    Exit status: 0 all well; 1 the spec is invalid or breaks its expect: (the message says
    FILE:LINE:COL and why); 2 the command line is wrong (or the terminal is too narrow for
    Keras's table, or a --run input, weight file or memory limit refuses it, or an array NumPy
    cannot hold, at the layer that needs it); 3 --run found a layer whose real output
    disagrees with the prediction, or whose call fails as Keras's does; 70 a bug in shapecalc.

    Examples:

    * `shapecalc summary model.yaml`
    * `shapecalc summary model.yaml --format json`
    * `shapecalc summary model.yaml --columns output_shape,params,macs,receptive_field`
    * `shapecalc summary resnet50.yaml --expand --depth 1`
    * `shapecalc summary model.yaml --run --batch 8 --save-outputs outputs.npz`
    """
    from ..api import analyze_spec
    from ..render.json_report import dumps
    from ..render.json_report import report as report_json

    require_file(spec)
    run_only = [
        flag
        for flag, used in (("--weights", weights), ("--input", inputs), ("--save-outputs", save_outputs))
        if used
    ]
    if run_only and not run:
        typer.echo(f"error: {', '.join(run_only)} needs --run", err=True)
        raise typer.Exit(EXIT_USAGE)
    chosen = _column_keys(columns) if columns is not None else None
    nesting = _nesting(expand, depth, flat)
    as_json = output_format is OutputFormat.json
    wants_costs = output_format is not OutputFormat.text or (chosen is not None and _shows_costs(chosen))
    model_spec = read_spec_file(spec, settings, as_json)
    if model_spec.lint is not None:  # lint's own settings: refused here as lint refuses them
        from ..lint.problems import ignored_in

        settings_problems: list[SpecError] = []
        ignored_in(model_spec.lint, settings_problems)
        if settings_problems:
            fail_all(settings_problems, as_json)
    try:
        analysis = analyze_spec(model_spec)
    except SpecError as err:
        fail(err, as_json)
    costs = None
    if wants_costs or model_spec.expect is not None:
        costs = model_figures(analysis, batch, unknown_size, as_json)
    if model_spec.expect is not None:  # the checks loaded only for a spec that pins something
        from ..expectations import check_expectations

        broken = check_expectations(model_spec.expect, analysis, costs)
        if broken:
            fail_all(broken, as_json)
    report = None
    if run:
        # NumPy and the kernels: only a run loads them, so a static summary starts fast
        from ..run.engine import RunOptions

        options = RunOptions(
            batch=batch or 1,
            seed=seed,
            unknown_size=unknown_size or 8,
            max_memory=_memory_size(max_memory),
            # a model Keras saved runs on the weights it saved with it
            weights=weights or (spec if spec.suffix.lower() == ".keras" else None),
            inputs=_input_files(inputs or []),
            save_outputs=save_outputs,
        )
        report = _run(analysis, options, show_progress=output_format is OutputFormat.text)
    if output_format is OutputFormat.json:
        assert costs is not None
        data = report_json(analysis, costs)
        if report is not None:
            from ..render.run_report import add_run_fields

            add_run_fields(data, analysis, report)
        sys.stdout.write(dumps(data) + "\n")
    elif output_format is OutputFormat.markdown:
        from ..render import markdown

        assert costs is not None
        sys.stdout.write(markdown.summary(analysis, costs, nesting))
    else:
        from ..render.summary import print_summary

        try:
            print_summary(analysis, line_length=width, columns=chosen, costs=costs, nesting=nesting)
        except DisplayError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        if report is not None:
            import rich.console

            from ..render.run_report import print_run_report

            print_run_report(analysis, report, rich.console.Console(highlight=False))
    if report is not None and report.failures:
        raise typer.Exit(EXIT_RUN_MISMATCH)


def _nesting(expand: bool, depth: int | None, flat: bool) -> Nesting | None:
    """How block instances are shown: one row each by default, opened with --expand/--depth,
    not at all (every layer a row) with --flat."""
    from ..render.nesting import Nesting

    if flat and (expand or depth is not None):
        given = "--expand" if expand else "--depth"
        raise typer.BadParameter(f"lists every layer, no instance rows: drop {given}", param_hint="--flat")
    if flat:
        return None
    return Nesting(depth) if expand or depth is not None else Nesting(0)


def _column_keys(text: str) -> list[str]:
    from ..layers.args import did_you_mean
    from ..render.summary import COLUMNS

    keys = [key.strip() for key in text.split(",") if key.strip()]
    for key in keys:
        if key not in COLUMNS:
            raise typer.BadParameter(
                f"no column '{key}'{did_you_mean(key, COLUMNS)}; the columns: {', '.join(COLUMNS)}",
                param_hint="--columns",
            )
    if len(set(keys)) != len(keys) or not keys:
        raise typer.BadParameter("name each column once, at least one", param_hint="--columns")
    return keys


def _shows_costs(keys: list[str]) -> bool:
    from ..render.summary import COST_COLUMNS

    return bool(COST_COLUMNS & set(keys))


def _run(analysis: Analysis, options: RunOptions, show_progress: bool) -> RunReport:
    import rich.console
    import rich.progress

    from ..run.engine import run as run_model

    try:
        if not (show_progress and sys.stderr.isatty()):
            return run_model(analysis, options)
        with rich.progress.Progress(
            rich.progress.TextColumn("running {task.description}"),
            rich.progress.BarColumn(),
            rich.progress.MofNCompleteColumn(),
            transient=True,
            console=rich.console.Console(stderr=True),
        ) as bar:
            task = bar.add_task("", total=len(analysis.graph.calls))
            return run_model(analysis, options, lambda name: bar.update(task, advance=1, description=name))
    except RunRefused as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(EXIT_USAGE) from None
