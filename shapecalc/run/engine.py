"""Execute the graph with the layers' NumPy kernels and check each call against the prediction.

The plan comes first: the same graph is analysed again with every unknown size filled in (the
batch from ``--batch`` or the input files, other unknown sizes from ``--unknown-size``), so each
call has an exact predicted shape. From that plan the peak memory is estimated (weights of the layer
running, weights kept for shared layers, live activations) and the run is refused when it
exceeds the limit. Then calls run in order; an activation is freed as soon as its last consumer
has run, and a layer's weights live only while it runs unless a later call shares them.
Keras's implicit masks travel with the activations and are freed with them (see masks.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..analysis import Analysis, ConcreteSizes, analyze
from ..errors import CallFailure, KernelUnavailable, RunRefused, SpecError
from ..graph import Call
from ..layers.args import FLOAT_DTYPES
from ..layers.base import Layer, Shape, Weight, fmt_shape
from ..layers.input_layer import InputLayer
from .allocator import keep_freed_memory
from .initializers import initialize
from .keras_weights import KerasWeightStore
from .masks import TensorMasks, mask_argument, output_masks
from .weights_io import OutputWriter, WeightStore

T = TypeVar("T")


@dataclass
class RunOptions:
    batch: int = 1
    seed: int = 0
    unknown_size: int = 8
    max_memory: int = 8 * 1024**3
    weights: Path | None = None
    inputs: dict[str | None, Path] = field(default_factory=dict)
    save_outputs: Path | None = None


@dataclass
class CallOutcome:
    """What running one call gave: its shapes, whether they equal the prediction, its time."""

    run_shapes: list[Shape] | None = None
    ok: bool | None = None
    ms: float = 0.0
    note: str | None = None  # "static only" (no kernel) or the kernel's error


@dataclass
class RunReport:
    outcomes: dict[Call, CallOutcome]  # the calls that ran (those of the model)
    concrete: Analysis  # the graph analysed at the run's sizes: the exact predictions
    peak_bytes: int
    batch: int

    @property
    def failures(self) -> list[Call]:
        return [call for call, o in self.outcomes.items() if o.ok is False]


# ------------------------------------------------------------------------------------ plan
def _input_arrays(analysis: Analysis, options: RunOptions) -> dict[str, np.ndarray]:
    """Arrays from --input files, keyed by input name, checked against the declared shapes."""
    names = [c.layer.name for c in analysis.graph.inputs]
    arrays: dict[str, np.ndarray] = {}
    for key, path in options.inputs.items():
        name = key if key is not None else (names[0] if len(names) == 1 else None)
        if name is None:
            raise RunRefused(f"the model has inputs {', '.join(names)}: write --input NAME=FILE.npy")
        if name not in names:
            raise RunRefused(
                f"--input {name}=...: the model has no input '{name}' (inputs: {', '.join(names)})"
            )
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise RunRefused(f"--input {path}: cannot read a .npy array ({err})") from None
        call = next(c for c in analysis.graph.inputs if c.layer.name == name)
        declared = analysis.output_shapes(call)[0]
        if array.ndim != len(declared) or any(
            d is not None and d != a for d, a in zip(declared, array.shape, strict=False)
        ):
            raise RunRefused(
                f"--input {path}: shape {array.shape} does not fit input '{name}' {fmt_shape(declared)}"
            )
        arrays[name] = array
    return arrays


def _concrete_analysis(analysis: Analysis, options: RunOptions, arrays: dict[str, np.ndarray]) -> Analysis:
    """The same graph analysed again with every unknown size filled in."""
    sizes = ConcreteSizes(
        options.batch, options.unknown_size, {name: tuple(a.shape) for name, a in arrays.items()}
    )
    try:
        return analyze(analysis.graph, sizes)
    except SpecError as err:
        raise RunRefused(f"with the sizes filled in for the run, the spec no longer fits: {err}") from None


def _sized(shape: Shape, unknown: int) -> tuple[int, ...]:
    """The shape with a size even the filled-in prediction leaves unknown counted as ``unknown``."""
    return tuple(unknown if d is None else d for d in shape)


def _nbytes(shape: Shape, unknown: int, dtype: str = "float32") -> int:
    """Bytes of an activation (unknown sizes as in _sized)."""
    return int(np.prod(_sized(shape, unknown), dtype=np.int64)) * np.dtype(dtype).itemsize


def estimate_peak(analysis: Analysis, unknown: int) -> int:
    """Peak bytes of the schedule: live activations, plus the weights of every layer from its
    first call to its last (one call for a layer that is not shared), plus the temporaries of
    the running layer's kernel (its run_work_elements, counted as float32)."""
    calls = analysis.model_calls
    consumers = _consumer_counts(calls)
    last_call = {c.layer: c for c in calls}
    live: dict[Call, int] = {}
    resident: dict[Layer, int] = {}
    peak = 0
    for call in calls:
        outputs = analysis.output_shapes(call)
        out_bytes = sum(_nbytes(s, unknown) for s in outputs)
        resident.setdefault(call.layer, sum(w.nbytes for w in analysis.weights_of(call.layer)))
        work = 0
        if call.inputs:  # an input layer's data is read, not computed
            inputs = analysis.input_shapes(call)
            sized = [_sized(s, unknown) for s in inputs], [_sized(s, unknown) for s in outputs]
            work = call.layer.run_work_elements(*sized) * np.dtype("float32").itemsize
        peak = max(peak, sum(live.values()) + out_bytes + sum(resident.values()) + work)
        if last_call[call.layer] is call:
            del resident[call.layer]
        if consumers[call]:
            live[call] = out_bytes
        for ref in call.inputs:
            consumers[ref.call] -= 1
            if consumers[ref.call] == 0:
                live.pop(ref.call, None)
    return peak


def _consumer_counts(calls: list[Call]) -> dict[Call, int]:
    counts = dict.fromkeys(calls, 0)
    for call in calls:
        for ref in call.inputs:
            counts[ref.call] = counts.get(ref.call, 0) + 1
    return counts


# ------------------------------------------------------------------------------------ run
class _Weights:
    """Weights per layer, made (from the file or the initializers) just before the layer runs."""

    def __init__(self, analysis: Analysis, store: WeightStore | KerasWeightStore | None, seed: int) -> None:
        self.analysis = analysis
        self.store = store
        self.seed = seed
        self.index = {layer: i for i, layer in enumerate(analysis.layers)}
        self.cache: dict[Layer, dict[str, np.ndarray]] = {}

    def for_layer(self, layer: Layer) -> dict[str, np.ndarray]:
        if layer in self.cache:
            return self.cache[layer]
        # one random stream per layer, so a layer's values do not depend on what ran before it
        rng = np.random.default_rng([self.seed, self.index.get(layer, 0)])
        arrays = {}
        for weight in self.analysis.weights_of(layer):
            if self.store is not None:
                arrays[weight.path] = self.store.load(f"{layer.name}/{weight.path}", weight)
            else:
                arrays[weight.path] = initialize(weight.initializer, weight.shape, rng, _float(weight))
        return arrays

    def keep(self, layer: Layer, arrays: dict[str, np.ndarray]) -> None:
        self.cache[layer] = arrays

    def drop(self, layer: Layer) -> None:
        self.cache.pop(layer, None)


def _float(weight: Weight) -> str:
    return weight.dtype if weight.dtype in FLOAT_DTYPES and weight.dtype != "bfloat16" else "float32"


def _random_input(layer: InputLayer, shape: Shape, bound: int | None, rng: np.random.Generator) -> np.ndarray:
    dtype = layer.input_dtype
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype in FLOAT_DTYPES:
        return rng.standard_normal(shape).astype("float32" if dtype == "bfloat16" else dtype)
    if dtype == "string":
        raise RunRefused(f"input '{layer.name}' holds strings: give it with --input")
    return rng.integers(0, bound or 10, shape).astype(dtype)


def run(analysis: Analysis, options: RunOptions, progress: Callable[[str], None] | None = None) -> RunReport:
    """Run the analysed graph at concrete sizes; the report is keyed by the graph's own calls."""
    arrays = _input_arrays(analysis, options)
    concrete = _concrete_analysis(analysis, options, arrays)
    # the batch run: --batch, or the one the --input data brings
    batch = next((concrete.shapes[c].outputs[0][0] for c in concrete.graph.inputs), None) or options.batch
    peak = estimate_peak(concrete, options.unknown_size)
    if peak > options.max_memory:
        raise RunRefused(
            f"running this spec needs about {readable_bytes(peak)} (weights of the running layer, shared "
            f"weights, live activations and the kernel's temporaries at batch {batch}), over "
            f"--max-memory {readable_bytes(options.max_memory)}; lower --batch or raise --max-memory"
        )
    keep_freed_memory()
    store = _open_weights(options.weights, concrete) if options.weights else None
    writer = OutputWriter(options.save_outputs) if options.save_outputs else None
    try:
        outcomes = _execute(concrete, arrays, options, store, writer, progress)
    finally:
        if writer:
            writer.close()
        if store:
            store.close()
    return RunReport(outcomes, concrete, peak, batch)


def _execute(
    concrete: Analysis,
    arrays: dict[str, np.ndarray],
    options: RunOptions,
    store: WeightStore | KerasWeightStore | None,
    writer: OutputWriter | None,
    progress: Callable[[str], None] | None,
) -> dict[Call, CallOutcome]:
    rng = np.random.default_rng(options.seed)
    calls = concrete.model_calls
    consumers = _consumer_counts(calls)
    last_call = {c.layer: c for c in calls}
    weights = _Weights(concrete, store, options.seed)
    values: dict[Call, list[np.ndarray]] = {}
    masks: dict[Call, list[TensorMasks]] = {}  # Keras masks of the live activations
    outcomes: dict[Call, CallOutcome] = {}
    for call in calls:
        layer = call.layer
        predicted = concrete.output_shapes(call)
        outcome = CallOutcome()
        started = time.perf_counter()
        if isinstance(layer, InputLayer):
            bound = _bound_for(call, calls)
            data = arrays.get(layer.name)
            outs = [data if data is not None else _random_input(layer, predicted[0], bound, rng)]
            out_masks = [TensorMasks()]
        else:
            inputs = [a for ref in call.inputs for a in _select(values[ref.call], ref.index)]
            sources = [m for ref in call.inputs for m in _select(masks[ref.call], ref.index)]
            weight_arrays = weights.for_layer(layer)
            planned = concrete.input_shapes(call)
            outs, out_masks = _call_kernel(
                call, inputs, sources, weight_arrays, planned, predicted, outcome, rng
            )
            if last_call[layer] is call:
                weights.drop(layer)
            else:
                weights.keep(layer, weight_arrays)
        outcome.ms = (time.perf_counter() - started) * 1000
        outcome.run_shapes = [tuple(int(d) for d in o.shape) for o in outs]
        if outcome.note is None:
            outcome.ok = _matches(outcome.run_shapes, predicted)
        elif outcome.note.startswith("call fails"):
            outcome.ok = False  # reported as a disagreement: the layer cannot run on these shapes
        if writer:
            writer.add(call, outs)
        if consumers[call]:
            values[call] = outs
            masks[call] = out_masks
        outcomes[call] = outcome
        for ref in call.inputs:
            consumers[ref.call] -= 1
            if consumers[ref.call] == 0:
                del values[ref.call], masks[ref.call]
        if progress:
            progress(layer.name)
    return outcomes


def _matches(run_shapes: list[Shape], predicted: list[Shape]) -> bool:
    """The run equals the prediction; a size the prediction leaves unknown (as Keras's own
    rule does for some layers, even with every input size given) matches any size."""
    return len(run_shapes) == len(predicted) and all(
        len(r) == len(p) and all(q is None or q == d for d, q in zip(r, p, strict=True))
        for r, p in zip(run_shapes, predicted, strict=True)
    )


def _select(outputs: list[T], index: int | None) -> list[T]:
    return outputs if index is None else [outputs[index]]


def _open_weights(path: Path, analysis: Analysis) -> WeightStore | KerasWeightStore:
    """An .npz keyed by Keras's paths, or what Keras saved: a .keras archive, a .weights.h5."""
    if path.suffix.lower() == ".npz":
        return WeightStore.open(path, analysis)
    return KerasWeightStore.open(path, analysis)


def _bound_for(input_call: Call, calls: list[Call]) -> int | None:
    bounds = [
        b
        for c in calls
        if any(ref.call is input_call for ref in c.inputs)
        for b in [c.layer.integer_input_bound()]
        if b is not None
    ]
    return min(bounds) if bounds else None


def _call_kernel(
    call: Call,
    inputs: list[np.ndarray],
    sources: list[TensorMasks],
    weights: dict[str, np.ndarray],
    planned: list[Shape],
    predicted: list[Shape],
    outcome: CallOutcome,
    rng: np.random.Generator,
) -> tuple[list[np.ndarray], list[TensorMasks]]:
    """The call's outputs and their Keras masks; ``sources`` are the inputs' masks, ``planned``
    are the input shapes the analysis predicted for this call."""
    layer = call.layer
    if not layer.has_kernel() or call.training:
        # Checked statically only (custom layers; a training call, whose dropout and noise are
        # random): later layers run on data of the predicted shape.
        outcome.note = "static only: " + ("training: true is random" if call.training else "no kernel")
        return [rng.standard_normal(shape).astype("float32") for shape in predicted], _unmasked(predicted)
    try:
        # the arrays of tensor call arguments (initial_state) follow the call's own inputs
        extra = sum(count for _, count in call.tensor_args.values())
        own, rest = inputs[: len(inputs) - extra], inputs[len(inputs) - extra :]
        keywords = dict(call.call_args)
        for name, (_, count) in call.tensor_args.items():
            keywords[name], rest = rest[:count], rest[count:]
        keywords.pop("mask", None)  # the Keras mask the model recorded: masks.py gives it below
        # called on one tensor, not a list: see masks.mask_argument
        mask = mask_argument(layer, sources[: len(own)], not call.as_list)
        if mask is not None:  # layers whose Keras call takes no mask keep forward(inputs, weights)
            keywords["mask"] = mask
        out = layer.forward(own if layer.takes_list else own[0], weights, **keywords)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        return outs, output_masks(layer, own, outs, sources[: len(own)], mask)
    except CallFailure as err:
        outcome.note = f"call fails: {err}"  # as Keras's call does on these inputs
    except KernelUnavailable as err:
        outcome.note = f"static only: {err}"
    except Exception as err:
        # On the inputs the analysis planned, a kernel that raises has a bug: it goes up as an
        # internal error. On inputs an earlier layer got wrong, the failure is that disagreement's.
        if _matches([tuple(a.shape) for a in inputs], planned):
            raise
        outcome.note = f"call fails on inputs that disagree with the prediction: {type(err).__name__}: {err}"
    return [rng.standard_normal(shape).astype("float32") for shape in predicted], _unmasked(predicted)


def _unmasked(predicted: list[Shape]) -> list[TensorMasks]:
    return [TensorMasks() for _ in predicted]


def readable_bytes(nbytes: float) -> str:
    """IEC units with one decimal, for memory estimates (the summary's Keras-style sizes are
    render.summary.readable_size)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024:
            return f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} PiB"
