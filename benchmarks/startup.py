"""Start-up and throughput of the static path, whole processes against their floors.

    python benchmarks/startup.py [--rounds N]

Three ratios, each of two commands timed as whole processes, alternating (A, B, A, B, ...) so
that a busy moment of a shared machine falls on both alike; medians of ``--rounds`` rounds:

1. ``shapecalc summary`` of the seed autoencoder against ``python -c "import typer, rich.table,
   yaml"`` (the libraries any such command loads): the target is at most 1.5.
2. ``shapecalc summary --format json`` of a 10,000-layer spec against a bare parse of the same
   file by PyYAML's C loader in a fresh interpreter: the target is at most 1.5.
3. ``shapecalc lint`` over 1,000 small specs against parsing them all with PyYAML's C loader
   in one process: the target is at most 3.

The specs are written into a temporary folder. shapecalc is run as installed (the ``shapecalc``
script next to this interpreter, else ``python -m shapecalc``).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED_SPEC = Path(__file__).resolve().parent.parent / "specs" / "upsampling_autoencoder.yaml"
TARGETS = {"seed summary": 1.5, "10,000-layer JSON": 1.5, "lint 1,000 specs": 3.0}


def shapecalc_command() -> list[str]:
    script = Path(sys.executable).parent / "shapecalc"
    if script.exists():
        return [str(script)]
    found = shutil.which("shapecalc")
    return [found] if found else [sys.executable, "-m", "shapecalc"]


def write_specs(folder: Path) -> tuple[Path, Path]:
    """A 10,000-layer Dense chain, and 1,000 small convolutional specs (3 to 10 layers)."""
    chain = folder / "chain.yaml"
    chain.write_text("input: [16]\nlayers:\n" + "  - Dense: {units: 16}\n" * 10_000)
    small = folder / "small"
    small.mkdir()
    rng = random.Random(0)
    for i in range(1000):
        convs = "".join(
            f"  - Conv2D: {{filters: {rng.choice([8, 16, 32])}, kernel_size: 3, padding: same, "
            "activation: relu}\n"
            for _ in range(rng.randint(3, 10))
        )
        text = f"name: m{i}\ninput: [32, 32, 3]\nlayers:\n{convs}  - GlobalAveragePooling2D: {{}}\n"
        (small / f"s{i:04}.yaml").write_text(text + "  - Dense: {units: 10}\n")
    return chain, small


def elapsed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr.decode()}")
    return seconds


def measure(a: list[str], b: list[str], rounds: int) -> tuple[float, float, float]:
    """Medians of A, of B, and of the per-round ratio A/B, after one round of warm-up."""
    elapsed(a), elapsed(b)
    times_a, times_b = [], []
    for _ in range(rounds):
        times_a.append(elapsed(a))
        times_b.append(elapsed(b))
    ratios = [x / y for x, y in zip(times_a, times_b, strict=True)]
    return statistics.median(times_a), statistics.median(times_b), statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=11)
    rounds = parser.parse_args().rounds
    shapecalc = shapecalc_command()
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        chain, small = write_specs(Path(tmp))
        parse_all = (
            "import glob, sys, yaml\n"
            "for p in sorted(glob.glob(sys.argv[1] + '/*.yaml')):\n"
            "    yaml.load(open(p), Loader=yaml.CSafeLoader)\n"
        )
        cases = {
            "seed summary": (
                [*shapecalc, "summary", str(SEED_SPEC)],
                [python, "-c", "import typer, rich.table, yaml"],
            ),
            "10,000-layer JSON": (
                [*shapecalc, "summary", str(chain), "--format", "json"],
                [python, "-c", f"import yaml; yaml.load(open({str(chain)!r}), Loader=yaml.CSafeLoader)"],
            ),
            "lint 1,000 specs": (
                [*shapecalc, "lint", str(small)],
                [python, "-c", parse_all, str(small)],
            ),
        }
        print(f"{'case':<20} {'shapecalc s':>12} {'floor s':>9} {'ratio':>7} {'target':>7}")
        for name, (a, b) in cases.items():
            time_a, time_b, ratio = measure(a, b, rounds)
            mark = "ok" if ratio <= TARGETS[name] else "over"
            print(f"{name:<20} {time_a:>12.3f} {time_b:>9.3f} {ratio:>7.2f} {TARGETS[name]:>6.1f}x {mark}")
    print(f"medians of {rounds} rounds; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
