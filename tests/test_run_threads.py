"""--run's BLAS thread policy (shapecalc/run/threads.py): OpenBLAS's idle workers spin for
2**22 loop iterations instead of 2**28, set before NumPy loads OpenBLAS, which reads it once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SPECS = Path(__file__).resolve().parent.parent / "specs"


def python(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    result = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


CHECK = "import os, sys; import shapecalc.run; print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"


def test_the_spin_is_set_before_numpy_loads() -> None:
    assert python(CHECK) == "22"


def test_a_value_the_user_set_is_kept() -> None:
    assert python(CHECK, OPENBLAS_THREAD_TIMEOUT="10") == "10"


def test_after_numpy_it_is_left_alone() -> None:
    # OpenBLAS has read its settings already: setting one now would only mislead
    assert python("import numpy; " + CHECK.replace("import os, sys; ", "import os; ")) == "None"


def test_the_command_line_sets_it_before_the_run_imports_numpy() -> None:
    spec = SPECS / "dense_shrink.yaml"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "shapecalc", "summary", str(spec), "--run"],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line]
    assert modules.index("shapecalc.run.threads") < modules.index("numpy")
