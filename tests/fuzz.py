"""Hostile specs: seeded mutations of valid ones, run through every command that reads a spec.

A case starts from a spec (one of ``specs/``, an example of docs/spec-format.md, a random
Sequential or functional spec of random_specs.py, or a draw of one layer type's table in
test_run_every_layer.py), changes one value or key (sometimes two, now and then the whole
document) as a hostile user would, and runs the result through ``summary`` (text at a random
terminal width, ``--format json``, ``--run``), ``lint``, ``explain``, ``plot``, ``export`` and
``diff`` (against the spec before), in this process; a case in ten also gives a layer on the
command line to ``explain -i`` and arguments to ``solve``. Every command must end with exit 0,
1, 2 or 3, its message for 1 and 2 located in the spec (``FILE:LINE:COL: error:``, or ``FILE:
error:`` for the whole spec), no traceback, no internal error, no warning, within
:data:`SECONDS`.

``python tests/fuzz.py --cases 20000`` runs a long campaign and reports every finding;
test_fuzz.py runs a small one in the suite (SHAPECALC_FUZZ=N for more).
"""

from __future__ import annotations

import copy
import functools
import json
import math
import random
import re
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
# A command that takes longer is a finding: seconds of this process's CPU, so that a machine
# busy with other work does not make one; a command still running after three times as long
# on the clock is stopped (a hang uses no CPU).
SECONDS = 20.0
MAX_MEMORY = "256M"  # --run: larger runs are refused (exit 2), as a user's limit would refuse them
EXIT_STATUSES = {0, 1, 2, 3}
# Messages of exit 2 that are not about the spec, and so point at no place in it.
UNLOCATED = ("error: the terminal is",)
WIDTHS = ["1", "12", "20", "40", "80", "200"]

HUGE = [2**31, 2**32 + 1, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, 10**400]
FLOATS = [0.5, 2.5, -0.5, 1e-9, 1e300, -0.0, 3.0]
STRINGS = [
    "",
    "x",
    "relu",
    "same",
    "valid",
    "causal",
    "channels_first",
    "glorot_uniform",
    "identity",
    "orthogonal",
    "input_layer",
    "None",
    "null",
    "nan",
    "1e999",
    "-1",
    "3",
    "$nope",
    "$(1/0)",
    "$(2**64)",
    "$(10**400)",
    "$(",
    "${x}",
    "Dense",
    "a.0",
    "a.99",
    "\x00",
    "ä\u200b😀",
    "a" * 300,
]
KEY_NAMES = ["name", "inputs", "units", "layer", "layers", "input", "outputs", "shape", "call", "repeat", "x"]


# ----------------------------------------------------------------------------- where specs come from
@functools.cache
def spec_files() -> list[Path]:
    return sorted((ROOT / "specs").glob("*.yaml"))


@functools.cache
def doc_examples() -> list[Any]:
    """The spec blocks of docs/spec-format.md that are whole specs (mappings)."""
    text = (ROOT / "docs" / "spec-format.md").read_text()
    found = []
    for block in re.findall(r"^```(?:yaml|json)\n(.*?)^```", text, flags=re.M | re.S):
        try:
            data = yaml.safe_load(block)
        except yaml.YAMLError:
            continue
        if isinstance(data, dict) and ({"layers", "input", "inputs"} & set(data)):
            found.append(data)
    return found


@functools.cache
def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _layer_draw(r: random.Random) -> Any:
    import test_run_every_layer  # Keras's import, once: its tables of every layer type's arguments

    while True:
        name = r.choice(sorted(test_run_every_layer.TABLES))
        try:
            spec, _ = test_run_every_layer.draw(name, r.randrange(1000))
        except (TypeError, ValueError):  # the draw's own data does not fit the shapes drawn
            continue
        return copy.deepcopy(spec)  # its lists are the table's own: mutations must not reach them


def _random_sequential(r: random.Random) -> Any:
    import random_specs

    return random_specs.sequential_spec(r.randrange(10**6))


def _random_functional(r: random.Random) -> Any:
    import random_specs

    return random_specs.functional_spec(r.randrange(10**6))


SOURCES: list[tuple[str, float, Callable[[random.Random], Any]]] = [
    ("specs/", 0.2, lambda r: copy.deepcopy(_load(r.choice(spec_files())))),
    ("docs", 0.15, lambda r: copy.deepcopy(r.choice(doc_examples()))),
    ("sequential", 0.2, _random_sequential),
    ("functional", 0.15, _random_functional),
    ("layer", 0.3, _layer_draw),
]


# ----------------------------------------------------------------------------- mutations
Path_ = tuple[Any, ...]  # keys and indices from the document's root


def positions(doc: Any, at: Path_ = ()) -> Iterator[Path_]:
    """Every value's place in the document (mapping values and list items), depth first."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        yield (*at, key)
        yield from positions(value, (*at, key))


def _parent(doc: Any, at: Path_) -> Any:
    for key in at[:-1]:
        doc = doc[key]
    return doc


def _replacement(r: random.Random, old: Any) -> tuple[str, Any]:
    """A hostile value for ``old``: what it is, and the value."""
    kinds: list[tuple[str, Callable[[], Any]]] = [
        ("0", lambda: 0),
        ("-1", lambda: -1),
        ("a float", lambda: r.choice(FLOATS)),
        ("a huge integer", lambda: r.choice(HUGE) * r.choice([1, 1, 1, -1])),
        ("null", lambda: None),
        ("a boolean", lambda: r.choice([True, False])),
        ("a string", lambda: r.choice(STRINGS)),
        ("NaN", lambda: r.choice([math.nan, math.inf, -math.inf])),
        ("an empty list", lambda: []),
        ("a long list", lambda: [old if not isinstance(old, (dict, list)) else 1] * r.choice([5, 64, 1000])),
        ("an empty mapping", lambda: {}),
    ]
    if isinstance(old, int) and not isinstance(old, bool):
        kinds.append(("a neighbour", lambda: old + r.choice([-2, -1, 1, 2, old])))
    if isinstance(old, list) and old:
        kinds.append(("a list one shorter", lambda: old[:-1]))
        kinds.append(("a list one longer", lambda: [*old, old[-1]]))
    kind, make = r.choice(kinds)
    return kind, make()


def mutate(doc: Any, r: random.Random) -> tuple[Any, str]:
    """One value replaced, or one key deleted or renamed; what was done, in words."""
    places = list(positions(doc))
    if not places:
        return doc, "nothing to change"
    at = r.choice(places)
    parent = _parent(doc, at)
    key = at[-1]
    where = "/".join(str(k) for k in at)
    roll = r.random()
    if isinstance(parent, dict) and roll < 0.12:
        del parent[key]
        return doc, f"{where}: deleted"
    if isinstance(parent, dict) and roll < 0.22:
        new = r.choice(
            [key + "s", key[:-1], key.upper(), r.choice(KEY_NAMES), *(k for k in parent if k != key)]
        )
        if new != key:
            items = [(new if k == key else k, v) for k, v in parent.items() if k != new or k == key]
            parent.clear()
            parent.update(items)
            return doc, f"{where}: renamed to {new!r}"
    if isinstance(parent, list) and roll < 0.08:
        del parent[key]
        return doc, f"{where}: deleted"
    kind, value = _replacement(r, parent[key])
    parent[key] = value
    return doc, f"{where}: {kind} ({_short(value)})"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# ----------------------------------------------------------------------------- cases
@dataclass
class Case:
    seed: int
    source: str
    changes: list[str]
    doc: Any
    suffix: str  # ".yaml" or ".json"
    original: Any = None  # the spec before the changes

    def text(self, doc: Any = None) -> str:
        doc = self.doc if doc is None else doc
        if self.suffix == ".json":
            return json.dumps(doc, indent=1, ensure_ascii=False)
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def make_case(seed: int) -> Case:
    r = random.Random(f"fuzz/{seed}")
    names, weights, makers = zip(*SOURCES, strict=True)
    index = r.choices(range(len(SOURCES)), weights)[0]
    doc = makers[index](r)
    original = copy.deepcopy(doc)
    changes = []
    if r.random() < 0.01:
        doc = r.choice([None, 0, "layers", [], {}, [doc]])
        changes.append(f"the whole spec: {_short(doc)}")
    for _ in range(1 if r.random() < 0.85 else 2):
        doc, change = mutate(doc, r)
        changes.append(change)
    return Case(seed, names[index], changes, doc, ".json" if r.random() < 0.2 else ".yaml", original)


def commands(
    case: Case, path: Path, original: Path, r: random.Random
) -> list[tuple[list[str], dict[str, str]]]:
    """The command lines a case runs, each with its environment (``original``: the spec before
    the changes, for diff)."""
    spec = str(path)
    run_format = r.choice(["text", "json"])
    lines: list[tuple[list[str], dict[str, str]]] = [
        (
            [
                "summary",
                spec,
                *r.choice([[], [], ["--expand"], ["--flat"], ["--columns", "output_shape,macs"]]),
            ],
            {"COLUMNS": r.choice(WIDTHS)},
        ),
        (["summary", spec, "--format", "json"], {}),
        (
            [
                "summary",
                spec,
                "--run",
                "--format",
                run_format,
                "--max-memory",
                MAX_MEMORY,
                *r.choice([[], [], ["--batch", "2"], ["--unknown-size", "3"]]),
            ],
            {"COLUMNS": "120"},
        ),
        (["lint", spec, "--jobs", "1", "--format", r.choice(["text", "json", "github", "sarif"])], {}),
        (["explain", spec, *r.choice([[], ["--format", "json"]])], {}),
        (["plot", spec, "-o", "-", *r.choice([[], ["--expand"]])], {}),
        (["export", spec], {}),
        (["diff", str(original), spec, *r.choice([[], ["--format", "json"]])], {}),
    ]
    if r.random() < 0.1:
        lines.append((_explain_layer(case, r), {}))
    if r.random() < 0.1:
        lines.append((_solve(r), {}))
    return lines


def _explain_layer(case: Case, r: random.Random) -> list[str]:
    """``explain -i SHAPE LAYER``: a layer entry of the case written on the command line."""
    layers = case.doc.get("layers") if isinstance(case.doc, dict) else None
    entry = r.choice(layers) if isinstance(layers, list) and layers else {"Dense": {"units": 3}}
    shape = r.choice(["28,28,1", "10", "None,8", "0", "5,?", "x", "9223372036854775808,2"])
    text = yaml.safe_dump(entry, default_flow_style=True, width=10**6).strip()
    return ["explain", "-i", shape, text]


def _solve(r: random.Random) -> list[str]:
    sizes = ["0", "1", "-1", "7", "28", "1000000", str(2**63), str(10**30)]
    kind = r.choice(["Conv2D", "Conv1DTranspose", "MaxPooling2D", "conv2d", "Dense", "Nope", ""])
    line = ["solve", kind, "--input", r.choice(sizes), "--output", r.choice(sizes)]
    if r.random() < 0.5:
        line += ["--kernel", r.choice(sizes)]
    return line + r.choice([[], ["--format", "json"]])


# ----------------------------------------------------------------------------- running and judging
class CaseTimeout(BaseException):
    """Raised in a command that runs too long (a BaseException: the command cannot catch it)."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcome:
    args: list[str]
    exit_code: int | None
    stdout: str
    stderr: str
    seconds: float  # of CPU
    problem: str | None = None


_runner = CliRunner()


def run_command(args: list[str], env: dict[str, str], limit: float = 3 * SECONDS) -> Outcome:
    """Run one command line in this process; ``problem`` says what is wrong with how it ended."""
    from shapecalc.cli import app

    started = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with time_limit(limit):
                result = _runner.invoke(app, args, env=env)
        except CaseTimeout:
            return Outcome(
                args, None, "", "", time.process_time() - started, f"still running after {limit:.0f} s"
            )
    seconds = time.process_time() - started
    outcome = Outcome(args, result.exit_code, result.stdout, result.stderr, seconds)
    error = result.exception
    if error is not None and not isinstance(error, SystemExit):
        trace = "".join(traceback.format_exception(*result.exc_info)) if result.exc_info else ""
        outcome.problem = f"internal error: {type(error).__name__}: {error}\n{trace}"
    elif caught:
        first = caught[0]
        where = f"{first.filename}:{first.lineno}"
        outcome.problem = (
            f"a warning reaches the terminal: {first.category.__name__}: {first.message} ({where})"
        )
    else:
        outcome.problem = judge(outcome)
    return outcome


def judge(outcome: Outcome) -> str | None:
    """What is wrong with how a command ended, if anything."""
    code, stderr, stdout = outcome.exit_code, outcome.stderr, outcome.stdout
    if code not in EXIT_STATUSES:
        return f"exit {code}"
    for text in (stderr, stdout):
        if "Traceback (most recent call last)" in text or "internal error" in text:
            return "a traceback or an internal error in the output"
    if outcome.seconds > SECONDS:
        return f"took {outcome.seconds:.1f} s of CPU"
    command, target = outcome.args[0], outcome.args[1]
    if command == "solve" or (command == "explain" and target == "-i"):
        # no spec file: a message is all there is to check (solve's exit 1 is "no answer")
        said = stderr.strip() or stdout.strip()
        return f"exit {code} without a message" if code in (1, 2) and not said else None
    if command == "lint" and code == 1:
        form = outcome.args[outcome.args.index("--format") + 1] if "--format" in outcome.args else "text"
        if form in ("json", "sarif"):
            return _not_json(stdout)
        if form == "text":  # every problem on its line, errors and warnings alike
            lines = [line for line in stdout.splitlines() if line.strip()]
            pattern = re.escape(target) + r"(:\d+:\d+)?: (error|warning): \S"
            stray = next((line for line in lines if not re.match(pattern, line)), None)
            return None if stray is None else f"a problem not located in the spec: {stray[:200]!r}"
        return None
    if command == "diff" and code in (1, 2):  # either spec may be the one refused
        problems = [_unlocated(path, stderr) for path in outcome.args[1:3]]
        return None if None in problems else problems[-1]
    if code in (1, 2):
        return _unlocated(target, stderr)
    if code == 0 and "json" in outcome.args:
        return _not_json(stdout)
    return None


def _not_json(text: str) -> str | None:
    try:
        json.loads(text)
    except ValueError as err:
        return f"--format json wrote no JSON: {err}"
    return None


def _unlocated(spec: str, stderr: str) -> str | None:
    """None if the first line of the message points into the spec (or is not about the spec)."""
    first = stderr.lstrip().split("\n", 1)[0]
    if re.match(re.escape(spec) + r"(:\d+:\d+)?: error: \S", first) or first.startswith(UNLOCATED):
        return None
    return f"a message not located in the spec: {first[:200]!r}"


@dataclass
class Finding:
    case: Case
    outcome: Outcome

    def report(self) -> str:
        return (
            f"seed {self.case.seed} ({self.case.source}; {'; '.join(self.case.changes)}): "
            f"shapecalc {' '.join(self.outcome.args[:1])} ... {' '.join(self.outcome.args[2:])} -> "
            f"{self.outcome.problem}\n--- spec ({self.case.suffix}) ---\n{self.case.text()[:3000]}"
        )


@dataclass
class Campaign:
    cases: int = 0
    commands: int = 0
    seconds: float = 0.0
    exits: dict[int | None, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def run_case(case: Case, folder: Path, campaign: Campaign) -> None:
    path, original = folder / f"spec{case.suffix}", folder / f"original{case.suffix}"
    try:
        path.write_text(case.text(), encoding="utf-8")
        original.write_text(case.text(case.original), encoding="utf-8")
    except (ValueError, UnicodeEncodeError):  # a value YAML cannot write (a lone surrogate)
        return
    r = random.Random(f"commands/{case.seed}")
    campaign.cases += 1
    for args, env in commands(case, path, original, r):
        outcome = run_command(args, env)
        campaign.commands += 1
        campaign.exits[outcome.exit_code] = campaign.exits.get(outcome.exit_code, 0) + 1
        if outcome.problem:
            campaign.findings.append(Finding(case, outcome))


def campaign(
    first: int, count: int, folder: Path, progress: Callable[[Campaign], None] | None = None
) -> Campaign:
    done = Campaign()
    started = time.perf_counter()
    for seed in range(first, first + count):
        run_case(make_case(seed), folder, done)
        done.seconds = time.perf_counter() - started
        if progress:
            progress(done)
    return done


def main(argv: list[str]) -> int:
    import argparse
    import os
    import tempfile

    os.environ.setdefault("KERAS_BACKEND", "numpy")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0, help="the first case's seed")
    parser.add_argument("--every", type=int, default=500, help="print progress every N cases")
    options = parser.parse_args(argv)

    reported = 0

    def progress(done: Campaign) -> None:
        nonlocal reported
        for finding in done.findings[reported:]:  # each as it is found, in one line
            outcome = finding.outcome
            print(
                f"finding: seed {finding.case.seed}: {outcome.args[0]}: {outcome.problem[:200]!r}", flush=True
            )
        reported = len(done.findings)
        if done.cases % options.every == 0:
            print(
                f"{done.cases} cases, {done.commands} commands, {len(done.findings)} findings, "
                f"{done.seconds:.0f} s",
                flush=True,
            )

    with tempfile.TemporaryDirectory() as folder:
        done = campaign(options.seed, options.cases, Path(folder), progress)
    print(f"{done.cases} mutated specs, {done.commands} commands in {done.seconds:.0f} s; exits {done.exits}")
    for finding in done.findings:
        print("\n" + finding.report())
    print(f"{len(done.findings)} finding(s)")
    return 1 if done.findings else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    raise SystemExit(main(sys.argv[1:]))
