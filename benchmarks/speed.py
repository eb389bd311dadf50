"""Speed of shapecalc's NumPy kernels against Keras 3 on JAX (jit-compiled), same architectures.

    python benchmarks/speed.py [--repeats N] [--only a,b,c] [--no-keras]

shapecalc is timed through its real layers: the workload is a spec analysed by
``shapecalc.api.analyze_data`` (batch size fixed in the spec), every layer's weights are
initialised once beforehand with the run engine's initialisers, and the timed part is the
chain of ``layer.forward(x, weights)`` calls, the same calls ``shapecalc.run.engine.run`` makes
(weight initialisation excluded), under the allocator policy it sets (shapecalc/run/allocator.py).
Keras runs in a subprocess with KERAS_BACKEND=jax (this process may already hold another
backend): the same layers built from the same spec
entries into a ``keras.Model``, timed with ``predict_on_batch`` (XLA-compiled) after two
warm-up calls; it stays alive and answers one timed call per request. Both sides are measured
in the same run of this script, in alternating rounds (shapecalc, pause, Keras, pause, the
matmul floors), so that a busy moment of a shared machine falls on all of them alike; the
table gives the medians of ``--repeats`` rounds, and the fastest round of each side. For every
convolution it also gives its time over the time NumPy ``@`` takes for a matrix product of the
same multiply-adds, (batch * output positions) x (kernel taps * input channels / groups) x
filters (Winograd convolutions do fewer multiplies than that, so they can go below 1).

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
import time
from typing import Any

import numpy as np

BATCH_A, BATCH_B, BATCH_C = 64, 16, 64
# Pause between the sides: idle BLAS / XLA worker threads spin for a while after a call (OpenBLAS's
# for up to 2**28 cycles), which would take a core from whatever runs next.
SETTLE_SECONDS = 0.2
CONV = {"kernel_size": 3, "padding": "same", "activation": "relu"}

WORKLOADS: dict[str, dict[str, Any]] = {
    "a": {
        "title": "a: 5-conv net 64x64x3, batch 64",
        "input": [64, 64, 3],
        "batch": BATCH_A,
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
    "b": {
        "title": "b: VGG blocks 64x64x3, batch 16",
        "input": [64, 64, 3],
        "batch": BATCH_B,
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
    "c": {
        "title": "c: Embedding+2xLSTM 128, 50 tokens, batch 64",
        "input": {"shape": [50], "dtype": "int32"},
        "batch": BATCH_C,
        "layers": [
            {"Embedding": {"input_dim": 1000, "output_dim": 64}},
            {"LSTM": {"units": 128, "return_sequences": True}},
            {"LSTM": {"units": 128}},
            {"Dense": {"units": 10}},
        ],
    },
}


def input_array(workload: dict[str, Any]) -> np.ndarray:
    """The same data on both sides: token ids below 1000, or standard normal floats."""
    rng = np.random.default_rng(0)
    declared = workload["input"]
    if isinstance(declared, dict):
        return rng.integers(0, 1000, (workload["batch"], *declared["shape"])).astype(declared["dtype"])
    return rng.standard_normal((workload["batch"], *declared)).astype("float32")


# ------------------------------------------------------------------------------------ shapecalc
def prepare_shapecalc(workload: dict[str, Any]) -> tuple[list[Any], list[dict[str, np.ndarray]], list[str]]:
    """(layers in call order, their initialised weights, names of layers without a kernel)."""
    from shapecalc.api import analyze_data
    from shapecalc.layers.input_layer import InputLayer
    from shapecalc.run.allocator import keep_freed_memory
    from shapecalc.run.initializers import initialize

    keep_freed_memory()  # the allocator policy the run engine sets before running
    spec = {"input": workload["input"], "batch_size": workload["batch"], "layers": workload["layers"]}
    analysis = analyze_data(spec)
    layers = [c.layer for c in analysis.graph.calls if not isinstance(c.layer, InputLayer)]
    rng = np.random.default_rng(0)
    weights = [
        {w.path: initialize(w.initializer, w.shape, rng, "float32") for w in analysis.weights_of(layer)}
        for layer in layers
    ]
    missing = [f"{layer.type_name()} ({layer.name})" for layer in layers if not layer.has_kernel()]
    return layers, weights, missing


class ShapecalcModel:
    """The workload's layers with prepared weights; one call = the chain of forward calls."""

    def __init__(self, workload: dict[str, Any]) -> None:
        self.layers, self.weights, self.missing = prepare_shapecalc(workload)
        self.x0 = input_array(workload)
        self.per_layer: list[list[float]] = [[] for _ in self.layers]

    def __call__(self, record: bool = True) -> float:
        """Milliseconds of one pass; each layer's time is kept when ``record``."""
        started = time.perf_counter()
        x = self.x0
        for k, (layer, w) in enumerate(zip(self.layers, self.weights, strict=True)):
            began = time.perf_counter()
            x = layer.forward(x, w)
            if record:
                self.per_layer[k].append((time.perf_counter() - began) * 1000)
        return (time.perf_counter() - started) * 1000

    def layer_rows(self) -> list[dict[str, Any]]:
        """Name and type of each layer, and for each convolution its equivalent matrix product."""
        rows = []
        x = self.x0
        for layer, w in zip(self.layers, self.weights, strict=True):
            row: dict[str, Any] = {"name": layer.name, "type": layer.type_name()}
            y = layer.forward(x, w)
            if layer.type_name().startswith("Conv") and "Transpose" not in layer.type_name():
                m = int(np.prod(y.shape[:-1]))
                k = math.prod(layer.kernel_size) * x.shape[-1] // layer.groups
                row["gemm"] = (m, k, layer.filters)
            rows.append(row)
            x = y
        return rows


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
def keras_worker(name: str) -> None:
    """The subprocess (KERAS_BACKEND=jax): builds and warms the model, prints "ready", then
    answers each "run" line on stdin with the milliseconds of one predict_on_batch."""
    import keras

    workload = WORKLOADS[name]
    declared = workload["input"]
    shape, dtype = (
        (declared["shape"], declared["dtype"]) if isinstance(declared, dict) else (declared, "float32")
    )
    inputs = keras.Input(shape=tuple(shape), batch_size=workload["batch"], dtype=dtype)
    x = inputs
    for entry in workload["layers"]:
        ((type_name, args),) = entry.items()
        x = getattr(keras.layers, type_name)(**args)(x)
    model = keras.Model(inputs, x)
    data = input_array(workload)
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

    def __init__(self, name: str) -> None:
        self.skipped: str | None = None
        missing = [m for m in ("keras", "jax") if importlib.util.find_spec(m) is None]
        if missing:
            self.skipped = f"not installed: {', '.join(missing)}"
            return
        env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--keras-worker", name],
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
    rows = ours.layer_rows()  # also the warm-up: first-touch page faults, BLAS threads
    floors = {k: MatmulFloor(*row["gemm"]) for k, row in enumerate(rows) if "gemm" in row}
    theirs = KerasModel(name) if with_keras else None
    mine, keras_ms = [], []
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
    for k, row in enumerate(rows):
        row["ms"] = statistics.median(ours.per_layer[k])
        if k in floors:
            row["floor_ms"] = statistics.median(floors[k].times)
    result: dict[str, Any] = {"ms": statistics.median(mine), "min_ms": min(mine), "layers": rows}
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
    parser.add_argument("--only", default="a,b,c", help="workloads to run, e.g. a,b")
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--keras-worker", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.keras_worker:
        keras_worker(options.keras_worker)
        return
    print(blas_line())
    print(openblas_runtime())
    print(
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, cpus={os.cpu_count()}, "
        f"repeats={options.repeats} (medians)"
    )
    print(
        "shapecalc: chain of layer.forward calls on prepared weights (initialisation excluded); "
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
        for row in result["layers"]:
            text = f"    {name}: {row['name']:24} {row['type']:24} {row['ms']:9.2f} ms"
            if "gemm" in row:
                m, k, n = row["gemm"]
                floor = row["floor_ms"]
                text += f"   matmul {m}x{k}x{n}: {floor:8.2f} ms, ratio {row['ms'] / floor:5.2f}"
            details.append(text)
    print("\n".join(lines))
    print("\nper layer (shapecalc medians; conv time / time of numpy @ with the same multiply-adds):")
    print("\n".join(details))


if __name__ == "__main__":
    main()
