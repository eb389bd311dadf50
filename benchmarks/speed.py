"""Speed of shapecalc's NumPy kernels against Keras 3 on JAX (jit-compiled), same architectures.

    python benchmarks/speed.py [--repeats N] [--only a,b,c,resnet50,mobilenet_v2,bert] [--no-keras]

Six workloads: three small ones written here (a, b, c) and three real architectures from the
zoo in specs/ (ResNet50 and MobileNetV2 at 224x224x3, a BERT-base encoder at sequence 128, each
at batch 8). shapecalc is timed as ``--run`` runs a spec: the graph analysed at the batch size,
then ``shapecalc.run.engine.execute``, every call's kernel in order with each output checked
against its prediction, in a process with --run's BLAS thread policy (shapecalc/run/threads.py,
set before NumPy is imported, as the command line sets it). The weights are initialised once
beforehand with the run engine's initialisers and given to every pass (initialisation
excluded). Keras runs in a subprocess with KERAS_BACKEND=jax (this process may already hold
another backend): the same spec written out as Keras code by ``shapecalc export`` and built,
fed the same input arrays, timed with ``predict_on_batch`` (XLA-compiled) after two warm-up
calls; it stays alive and answers one timed call per request. Both sides are measured in the
same run of this script, in alternating rounds (shapecalc, pause, Keras, pause, the matmul
floors), so that a busy moment of a shared machine falls on all of them alike; the table gives
the medians of ``--repeats`` rounds, and the fastest round of each side. For every convolution
and Dense layer it also gives its time over the time NumPy ``@`` takes for a matrix product of
the same multiply-adds, (batch * output positions) x (kernel taps * input channels / groups) x
filters (Winograd convolutions do fewer multiplies than that, so they can go below 1), and
their sum, the workload's matmul floor; the other layers are summed by type.

A workload whose layers lack a NumPy kernel is skipped, with the layer named.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

# isort: off
import shapecalc.run  # noqa: F401  (first: --run's BLAS thread policy, set before NumPy loads, as the command line sets it)
import numpy as np

# isort: on

SPECS = Path(__file__).resolve().parent.parent / "specs"
# Pause between the sides: idle BLAS / XLA worker threads spin for a while after a call
# (OpenBLAS's for 2**28 iterations by default, 2**22 under --run's policy), which would take a
# core from whatever runs next.
SETTLE_SECONDS = 0.2
CONV = {"kernel_size": 3, "padding": "same", "activation": "relu"}

WORKLOADS: dict[str, dict[str, Any]] = {
    "a": {
        "title": "a: 5-conv net 64x64x3, batch 64",
        "batch": 64,
        "spec": {
            "input": [64, 64, 3],
            "layers": [
                {"Conv2D": {"filters": 32, **CONV}},
                {"MaxPooling2D": {"pool_size": 2}},
                {"Conv2D": {"filters": 64, **CONV}},
                {"Conv2D": {"filters": 64, **CONV}},
                {"MaxPooling2D": {"pool_size": 2}},
                {"Conv2D": {"filters": 128, **CONV}},
                {"Conv2D": {"filters": 128, **CONV}},
                {"GlobalAveragePooling2D": {}},
                {"Dense": {"units": 10}},
            ],
        },
    },
    "b": {
        "title": "b: VGG blocks 64x64x3, batch 16",
        "batch": 16,
        "spec": {
            "input": [64, 64, 3],
            "layers": [
                {"Conv2D": {"filters": 64, **CONV}},
                {"Conv2D": {"filters": 64, **CONV}},
                {"MaxPooling2D": {"pool_size": 2}},
                {"Conv2D": {"filters": 128, **CONV}},
                {"Conv2D": {"filters": 128, **CONV}},
                {"MaxPooling2D": {"pool_size": 2}},
                {"Conv2D": {"filters": 256, **CONV}},
                {"Conv2D": {"filters": 256, **CONV}},
                {"MaxPooling2D": {"pool_size": 2}},
                {"Flatten": {}},
                {"Dense": {"units": 256, "activation": "relu"}},
                {"Dense": {"units": 10}},
            ],
        },
    },
    "c": {
        "title": "c: Embedding+2xLSTM 128, 50 tokens, batch 64",
        "batch": 64,
        "spec": {
            "input": {"shape": [50], "dtype": "int32"},
            "layers": [
                {"Embedding": {"input_dim": 1000, "output_dim": 64}},
                {"LSTM": {"units": 128, "return_sequences": True}},
                {"LSTM": {"units": 128}},
                {"Dense": {"units": 10}},
            ],
        },
    },
    "resnet50": {"title": "ResNet50 224x224x3, batch 8", "batch": 8, "spec": SPECS / "resnet50.yaml"},
    "mobilenet_v2": {
        "title": "MobileNetV2 224x224x3, batch 8",
        "batch": 8,
        "spec": SPECS / "mobilenet_v2.yaml",
    },
    "bert": {"title": "BERT-base encoder, seq 128, batch 8", "batch": 8, "spec": SPECS / "bert_base.yaml"},
}


def analysis_of(workload: dict[str, Any]) -> Any:
    """The workload's spec analysed (its batch is given to the run, not written in the spec)."""
    from shapecalc.api import analyze_data, analyze_file

    spec = workload["spec"]
    return analyze_file(spec) if isinstance(spec, Path) else analyze_data(spec, workload["title"])


def plan(workload: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(the graph analysed at the workload's batch, the run options, the estimated peak)."""
    from shapecalc.run.engine import RunOptions, plan

    options = RunOptions(batch=workload["batch"], max_memory=64 * 1024**3)
    concrete, _, peak = plan(analysis_of(workload), options)
    return concrete, options, peak


def input_arrays(concrete: Any, seed: int = 0) -> dict[str, np.ndarray]:
    """The same data on both sides, as --run makes it: valid ids for integer inputs (below the
    smallest input_dim that reads them), standard normal floats otherwise."""
    from shapecalc.run.engine import random_inputs

    return random_inputs(concrete, np.random.default_rng(seed))


# ------------------------------------------------------------------------------------ shapecalc
class PreparedWeights:
    """Every weight of the model initialised once, as --run's initialisers make them; the run
    engine reads them as it reads a weights file (a ``WeightSource``)."""

    def __init__(self, concrete: Any) -> None:
        from shapecalc.run.initializers import initialize

        rng = np.random.default_rng(0)
        self.arrays = {
            f"{layer.name}/{w.path}": initialize(w.initializer, w.shape, rng, "float32")
            for layer in concrete.layers
            for w in concrete.weights_of(layer)
        }

    def load(self, key: str, weight: Any) -> np.ndarray:
        return self.arrays[key]

    def close(self) -> None:
        pass


class ShapecalcModel:
    """The workload planned, with prepared weights and inputs; one call = one execute."""

    def __init__(self, workload: dict[str, Any]) -> None:
        self.concrete, self.options, _ = plan(workload)
        layers = [c.layer for c in self.concrete.model_calls if c.inputs]
        self.missing = [f"{layer.type_name()} ({layer.name})" for layer in layers if not layer.has_kernel()]
        self.weights = PreparedWeights(self.concrete)
        self.inputs = input_arrays(self.concrete)
        self.per_call: dict[Any, list[float]] = defaultdict(list)

    def __call__(self, record: bool = True) -> float:
        """Milliseconds of one pass; each call's time is kept when ``record``."""
        from shapecalc.run.engine import execute

        started = time.perf_counter()
        outcomes = execute(self.concrete, self.inputs, self.options, self.weights)
        ms = (time.perf_counter() - started) * 1000
        wrong = [call.layer.name for call, o in outcomes.items() if o.ok is False or o.note]
        if wrong:
            raise SystemExit(f"the run of {', '.join(wrong)} did not give the predicted shapes")
        if record:
            for call, outcome in outcomes.items():
                self.per_call[call].append(outcome.ms)
        return ms

    def products(self) -> dict[Any, tuple[int, int, int]]:
        """Each convolution's and Dense layer's equivalent matrix product (m, k, n)."""
        gemms = {}
        for call in self.concrete.model_calls:
            kind = call.layer.type_name()
            if kind == "Dense":
                (given,) = self.concrete.input_shapes(call)
                gemms[call] = (math.prod(given[:-1]), given[-1], call.layer.units)
            if kind.startswith("Conv") and "Transpose" not in kind and "LSTM" not in kind:
                (out,) = self.concrete.output_shapes(call)
                (given,) = self.concrete.input_shapes(call)
                m = math.prod(out[:-1])
                k = math.prod(call.layer.kernel_size) * given[-1] // call.layer.groups
                gemms[call] = (m, k, call.layer.filters)
        return gemms


class MatmulFloor:
    """numpy ``@`` of an (m, k) by a (k, n) float32 matrix; one call = its milliseconds."""

    def __init__(self, m: int, k: int, n: int) -> None:
        rng = np.random.default_rng(1)
        self.a = rng.standard_normal((m, k), dtype=np.float32)
        self.b = rng.standard_normal((k, n), dtype=np.float32)
        self.times: list[float] = []
        self.a @ self.b

    def __call__(self) -> None:
        started = time.perf_counter()
        self.a @ self.b
        self.times.append((time.perf_counter() - started) * 1000)


# ------------------------------------------------------------------------------------ Keras
def keras_worker(name: str, inputs_file: str) -> None:
    """The subprocess (KERAS_BACKEND=jax): builds the model from the code ``shapecalc export``
    writes for the spec, warms it, prints "ready", then answers each "run" line on stdin with
    the milliseconds of one predict_on_batch on the arrays in ``inputs_file``."""
    import keras

    from shapecalc.export import keras_code

    workload = WORKLOADS[name]
    namespace: dict[str, Any] = {}
    exec(compile(keras_code(analysis_of(workload), name), f"<{name} as Keras code>", "exec"), namespace)
    model = namespace["model"]
    with np.load(inputs_file) as saved:  # in the model's input order (a Sequential's are unnamed)
        arrays = [saved[f"arr_{k}"] for k in range(len(saved.files))]
    data = arrays[0] if len(arrays) == 1 else arrays
    for _ in range(2):  # compile, then one steady call
        model.predict_on_batch(data)
    print(f"ready keras {keras.__version__} backend {keras.backend.backend()}", flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        started = time.perf_counter()
        model.predict_on_batch(data)
        print((time.perf_counter() - started) * 1000, flush=True)


class KerasModel:
    """The Keras side, alive in its subprocess; one call = one timed predict_on_batch there."""

    def __init__(self, name: str, inputs: dict[str, np.ndarray], folder: str) -> None:
        self.skipped: str | None = None
        missing = [m for m in ("keras", "jax") if importlib.util.find_spec(m) is None]
        if missing:
            self.skipped = f"not installed: {', '.join(missing)}"
            return
        inputs_file = os.path.join(folder, f"{name}-inputs.npz")
        np.savez(inputs_file, *inputs.values())  # in the graph's input order, as export writes them
        env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--keras-worker", name, inputs_file],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        if not first.startswith("ready"):
            error = (self.process.stderr.read() if self.process.stderr else "").strip().splitlines()
            self.skipped = "Keras run failed: " + (error[-1] if error else "no output")

    def __call__(self) -> float:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        if self.skipped is None:
            self.process.communicate("quit\n")


def measure(name: str, repeats: int, with_keras: bool) -> dict[str, Any]:
    """Both sides and the matmul floors, alternating round by round, so that a busy moment of
    the (shared) machine falls on all alike; in steady state, each side's timed call in a round
    following an untimed one; medians of ``repeats`` rounds."""
    ours = ShapecalcModel(WORKLOADS[name])
    if ours.missing:
        return {"skipped": "no NumPy kernel yet for " + ", ".join(ours.missing)}
    ours(record=False)  # the warm-up: first-touch page faults, BLAS threads
    floors = {call: MatmulFloor(*gemm) for call, gemm in ours.products().items()}
    mine, keras_ms = [], []
    with tempfile.TemporaryDirectory() as folder:
        theirs = KerasModel(name, ours.inputs, folder) if with_keras else None
        try:
            for _ in range(repeats):
                # each side: one call to wake its threads and caches after the pause, one timed
                ours(record=False)
                mine.append(ours())
                if theirs is not None and theirs.skipped is None:
                    time.sleep(SETTLE_SECONDS)
                    theirs()
                    keras_ms.append(theirs())
                    time.sleep(SETTLE_SECONDS)
                for floor in floors.values():
                    floor()
                time.sleep(SETTLE_SECONDS)
        finally:
            if theirs is not None:
                theirs.close()
    result: dict[str, Any] = {"ms": statistics.median(mine), "min_ms": min(mine)}
    result["products"] = [
        (
            call,
            statistics.median(ours.per_call[call]),
            floor.a.shape + floor.b.shape[1:],
            statistics.median(floor.times),
        )
        for call, floor in floors.items()
    ]
    by_type: dict[str, list[float]] = defaultdict(list)
    for call, times in ours.per_call.items():
        if call not in floors and call.inputs:
            by_type[call.layer.type_name()].append(statistics.median(times))
    result["by_type"] = {kind: (len(times), sum(times)) for kind, times in by_type.items()}
    if keras_ms:
        result["keras_ms"] = statistics.median(keras_ms)
        result["keras_min_ms"] = min(keras_ms)
    else:
        result["keras_skipped"] = "--no-keras" if theirs is None else theirs.skipped
    return result


# ------------------------------------------------------------------------------------ report
def blas_line() -> str:
    config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    detail = " ".join(str(config.get("openblas configuration", "")).split())
    return f"numpy {np.__version__}, BLAS {config.get('name')} {config.get('version')} {detail}".strip()


def openblas_runtime() -> str:
    """The core type and thread count OpenBLAS chose at run time (DYNAMIC_ARCH), if it says."""
    import ctypes
    import glob

    libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in glob.glob(os.path.join(libs, "*openblas*")):
        lib = ctypes.CDLL(path)
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                core = getattr(lib, f"{prefix}get_corename{suffix}", None)
                threads = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                if core is not None and threads is not None:
                    core.restype = ctypes.c_char_p
                    return f"OpenBLAS runtime core {core().decode()}, {threads()} threads"
    return "OpenBLAS runtime core: unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--only", default=",".join(WORKLOADS), help="workloads to run, e.g. a,b,resnet50")
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--keras-worker", nargs=2, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.keras_worker:
        keras_worker(*options.keras_worker)
        return
    unknown = [name for name in options.only.split(",") if name not in WORKLOADS]
    if unknown:
        parser.error(f"no workload {', '.join(unknown)}; the workloads: {', '.join(WORKLOADS)}")
    print(blas_line())
    print(openblas_runtime())
    print(
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
        f"OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT', '(unset)')}, "
        f"cpus={os.cpu_count()}, "
        f"repeats={options.repeats} (medians)"
    )
    print(
        "shapecalc: the run engine's execute on prepared weights (initialisation excluded); "
        "Keras: predict_on_batch, JAX backend, jit, after warm-up\n"
    )
    header = f"{'workload':46} {'shapecalc ms':>13} {'Keras-JAX ms':>13} {'ratio':>7}"
    header += "   (fastest: shapecalc, Keras)"
    lines = [header, "-" * len(header)]
    details = []
    for name in options.only.split(","):
        title = WORKLOADS[name]["title"]
        result = measure(name, options.repeats, not options.no_keras)
        if "skipped" in result:
            lines.append(f"{title:46} skipped: {result['skipped']}")
            continue
        if "keras_ms" in result:
            ratio = result["ms"] / result["keras_ms"]
            lines.append(
                f"{title:46} {result['ms']:13.1f} {result['keras_ms']:13.1f} {ratio:7.2f}   "
                f"({result['min_ms']:.1f}, {result['keras_min_ms']:.1f})"
            )
        else:
            lines.append(f"{title:46} {result['ms']:13.1f} {'-':>13} {'-':>7}  ({result['keras_skipped']})")
        details.append(f"{title}:")
        for call, ms, (m, k, n), floor in result["products"]:
            details.append(
                f"    {call.layer.name:28} {ms:8.2f} ms   matmul {m}x{k}x{n}: {floor:8.2f} ms, "
                f"ratio {ms / floor:5.2f}"
            )
        if result["products"]:
            conv_ms = sum(ms for _, ms, _, _ in result["products"])
            floor_ms = sum(floor for *_, floor in result["products"])
            details.append(
                f"    {'all of them':28} {conv_ms:8.2f} ms   matmul floors {floor_ms:8.2f} ms, "
                f"ratio {conv_ms / floor_ms:5.2f}"
            )
        for kind, (count, ms) in sorted(result["by_type"].items(), key=lambda item: -item[1][1]):
            details.append(f"    {kind + ' x' + str(count):28} {ms:8.2f} ms")
    print("\n".join(lines))
    print(
        "\nper layer (shapecalc medians): each convolution and Dense layer against the time of numpy @ "
        "with the same multiply-adds; the other layers summed by type"
    )
    print("\n".join(details))


if __name__ == "__main__":
    main()
