"""The run engine's memory estimate against the peak memory a run really takes.

    python benchmarks/memory.py [--only a,b,c,resnet50,mobilenet_v2,bert]

For each workload of speed.py, a child process plans the run as ``summary SPEC --run`` does
(the graph analysed at the workload's batch, the estimated peak of the schedule) and warms up:
every kernel module imported, NumPy's random generators used, BLAS's buffers filled by one
large product (whose arrays, mapped on their own, go back to the OS), the run's allocator
policy set. Then it resets the kernel's record of its peak resident memory (Linux's VmHWM,
through /proc/self/clear_refs), notes its resident memory (VmRSS: the baseline), runs the graph
as ``--run`` does (weights made by the initialisers just before each layer runs, activations
freed after their last use), and reads the peak again. The estimate is honest when the run's
own memory, the peak minus the baseline, is at most the estimate and the estimate at most
1.5 times it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import WORKLOADS, plan

MIB = 1024**2
HIGHEST_RATIO = 1.5


def status_bytes(field: str) -> int:
    """A memory figure of this process from /proc/self/status (reported in kB)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise SystemExit(f"/proc/self/status has no {field}: this script needs Linux")


def warm_up() -> None:
    """What any run loads once, whatever its model: every kernel module, NumPy's random
    generators, BLAS's buffers (a large product), and the run's allocator policy."""
    import numpy as np

    import shapecalc.kernels
    import shapecalc.run
    from shapecalc.run.allocator import keep_freed_memory

    for package in (shapecalc.kernels, shapecalc.run):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    square = np.random.default_rng(0).standard_normal((3072, 3072), dtype=np.float32)
    square @ square
    del square
    keep_freed_memory()


def child(name: str) -> None:
    """Plan, warm up, reset the peak, note the baseline, run, read the peak; one JSON line."""
    from shapecalc.run.engine import execute

    concrete, options, estimate = plan(WORKLOADS[name])
    warm_up()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # VmHWM := VmRSS
    baseline = status_bytes("VmRSS")
    outcomes = execute(concrete, {}, options)
    failed = [call.layer.name for call, outcome in outcomes.items() if outcome.ok is False or outcome.note]
    peak = status_bytes("VmHWM")
    print(json.dumps({"estimate": estimate.nbytes, "baseline": baseline, "peak": peak, "failed": failed}))


def measure(name: str) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", name], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{name}: the run failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(WORKLOADS), help="workloads to run, e.g. a,resnet50")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(options.child)
        return
    unknown = [name for name in options.only.split(",") if name not in WORKLOADS]
    if unknown:
        parser.error(f"no workload {', '.join(unknown)}; the workloads: {', '.join(WORKLOADS)}")
    header = (
        f"{'workload':40} {'estimate MiB':>13} {'baseline MiB':>13} {'peak MiB':>9} "
        f"{'run MiB':>8} {'estimate/run':>13}  bounds (1.00 to {HIGHEST_RATIO:.2f})"
    )
    print(header + "\n" + "-" * len(header))
    honest = True
    for name in options.only.split(","):
        got = measure(name)
        run = got["peak"] - got["baseline"]
        ratio = got["estimate"] / run if run > 0 else float("inf")
        holds = run <= got["estimate"] <= HIGHEST_RATIO * run
        honest &= holds
        note = "hold" if holds else "DO NOT HOLD"
        if got["failed"]:
            note += f"; calls that did not run as predicted: {', '.join(got['failed'])}"
        print(
            f"{WORKLOADS[name]['title']:40} {got['estimate'] / MIB:13.1f} {got['baseline'] / MIB:13.1f} "
            f"{got['peak'] / MIB:9.1f} {run / MIB:8.1f} {ratio:13.2f}  {note}"
        )
    raise SystemExit(0 if honest else 1)


if __name__ == "__main__":
    main()
