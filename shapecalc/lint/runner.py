"""Lint spec files: every problem of every file, in one process (over several cores).

A file is read, its graph built and analysed with every problem recorded (a failing layer's
dependents are left out, independent branches still checked); a file without errors is then
checked for warnings and against its ``expect:``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .. import source
from ..analysis import analyze
from ..errors import SpecError
from ..expectations import check_expectations
from ..graph import build_graph
from ..keras_files import is_keras_model
from ..spec import read_spec
from .checks import warnings
from .problems import ERROR_CODES, WARNING_CODES, Problem, ignored_in

SPEC_SUFFIXES = (".yaml", ".yml", ".json", ".keras")
STDIN = "-"
# Below this many files, starting worker processes costs more than it saves.
_PARALLEL_FROM = 48


@dataclass
class FileResult:
    """One file: its problems, or why it was skipped as clearly not a spec."""

    path: str
    problems: list[Problem] = field(default_factory=list)
    skipped: str | None = None


@dataclass
class LintReport:
    files: list[FileResult]

    @property
    def problems(self) -> list[Problem]:
        return [p for f in self.files for p in f.problems]

    @property
    def checked(self) -> int:
        return sum(1 for f in self.files if f.skipped is None)


class LintUsageError(Exception):
    """A path or option lint cannot use (exit status 2)."""


def find_specs(paths: Iterable[str]) -> list[str]:
    """The files the paths name or (for a folder) hold with a YAML or JSON suffix; whether each
    is a spec at all is decided when it is read (see :data:`SPEC_KEYS`)."""
    found: list[str] = []
    for path in paths:
        if path == STDIN:
            found.append(STDIN)
        elif os.path.isdir(path):
            files = sorted(
                str(p) for p in Path(path).rglob("*") if p.suffix.lower() in SPEC_SUFFIXES and p.is_file()
            )
            found.extend(files)
        elif os.path.isfile(path):
            found.append(path)
        else:
            raise LintUsageError(f"{path}: no such file or folder")
    return found


def lint_paths(
    paths: Iterable[str], ignore: frozenset[str] = frozenset(), jobs: int | None = None
) -> LintReport:
    """Lint every spec the paths name or hold; ``ignore``: warning codes not to report."""
    targets = find_specs(paths)
    unknown = sorted(ignore - set(WARNING_CODES) - set(ERROR_CODES))
    if unknown:
        raise LintUsageError(f"--ignore: no rule {', '.join(unknown)}; the rules: {', '.join(WARNING_CODES)}")
    errors = sorted(ignore & set(ERROR_CODES))
    if errors:
        raise LintUsageError(f"--ignore: {', '.join(errors)} are errors; only warnings can be ignored")
    workers = jobs if jobs is not None else min(os.cpu_count() or 1, 8)
    if workers > 1 and len(targets) >= _PARALLEL_FROM and STDIN not in targets:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            chunk = max(1, len(targets) // (workers * 8))
            results = list(pool.map(_lint_target, targets, [ignore] * len(targets), chunksize=chunk))
    else:
        results = [_lint_target(target, ignore) for target in targets]
    return LintReport(results)


# A YAML or JSON file with none of these top-level keys is clearly not a spec (a CI workflow, a
# config file): lint skips it, so a folder or the files a pre-commit hook passes can hold others.
SPEC_KEYS = ("layers", "input", "inputs")
_SPEC_KEYS_TEXT = "layers, input or inputs"


def _lint_target(path: str, ignore: frozenset[str]) -> FileResult:
    result = FileResult(path)
    try:
        root = source.parse(sys.stdin.read(), "<stdin>") if path == STDIN else source.load(path)
    except SpecError as err:
        if path != STDIN and not _mentions_spec_keys(path):
            result.skipped = f"not a spec: unreadable, and no {_SPEC_KEYS_TEXT} in it"
        else:
            result.problems.append(Problem.of(err, path))
        return result
    is_spec = isinstance(root.value, dict) and any(key in root.value for key in SPEC_KEYS)
    is_spec = is_spec or is_keras_model(root)  # a model Keras saved: its layers are inside
    if not is_spec and path != STDIN:  # what comes on stdin is meant as a spec: say what it lacks
        result.skipped = f"not a spec: no top-level {_SPEC_KEYS_TEXT}"
        return result
    result.problems = sorted(
        (Problem.of(err, path) for err in lint_spec(root, ignore)),
        key=lambda p: (p.line or 0, p.column or 0, p.code),
    )
    return result


def _mentions_spec_keys(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(1 << 20)
    except OSError:
        return True
    return any(key in text for key in SPEC_KEYS)


def lint_spec(root: source.Node, ignore: frozenset[str] = frozenset()) -> list[SpecError]:
    """Every problem of one spec: its errors; without any, its warnings and expectations."""
    try:
        spec = read_spec(root)
    except SpecError as err:
        return [err]
    problems: list[SpecError] = []
    ignored = ignore | ignored_in(spec.lint, problems)
    try:
        analysis = analyze(build_graph(spec, problems), problems=problems)
        if not problems:
            problems += check_expectations(spec.expect, analysis)
            problems += warnings(analysis)
    except SpecError as err:  # a problem that leaves nothing to check further
        problems.append(err)
    return [p for p in problems if p.code not in ignored]
