"""Execute the graph with the layers' NumPy kernels and check each call against the prediction.

The plan comes first: the same graph is analysed again with every unknown size filled in (the
batch from ``--batch`` or the input files, other unknown sizes from ``--unknown-size``), so each
call has an exact predicted shape. On that plan every array is checked to be one NumPy can
allocate (limits.py), then the peak memory is estimated (estimate.py: the schedule's arrays
replayed through a model of the heap) and the run is refused, at the layer where the peak is
reached, when it exceeds the limit. Then calls run in order; an activation is freed as soon as
its last consumer has run, and a layer's weights live only while it runs unless a later call
shares them.
Keras's implicit masks travel with the activations and are freed with them (see masks.py).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from ..analysis import Analysis, ConcreteSizes, analyze
from ..errors import CallFailure, KernelUnavailable, RunRefused, SpecError
from ..graph import Call
from ..layers.args import FLOAT_DTYPES
from ..layers.base import Layer, RowMap, Shape, Weight, fmt_shape
from ..layers.input_layer import InputLayer
from ..units import binary_size
from . import fusion, precision
from .allocator import keep_freed_memory
from .estimate import Peak, consumer_counts, estimate_peak
from .initializers import initialize
from .keras_weights import KerasWeightStore
from .limits import check_array_sizes, sized
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
    fused_into: str | None = None  # the layer whose kernel computed this call (fusion.py)


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
        raise RunRefused(
            f"with the sizes filled in for the run (batch {options.batch}, unknown sizes "
            f"{options.unknown_size}), the spec no longer fits: {err.message}",
            err.location,
        ) from None


# ------------------------------------------------------------------------------------ run
class WeightSource(Protocol):
    """Where a run's weights come from instead of the initializers: a file (weights_io.py,
    keras_weights.py), or arrays prepared in memory (benchmarks/speed.py)."""

    def load(self, key: str, weight: Weight) -> np.ndarray: ...  # key: "layer name/weight path"

    def close(self) -> None: ...


class _Weights:
    """Weights per layer, made (from the source or the initializers) just before the layer runs."""

    def __init__(self, analysis: Analysis, store: WeightSource | None, seed: int) -> None:
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
                values = self.store.load(f"{layer.name}/{weight.path}", weight)
            else:
                values = initialize(weight.initializer, weight.shape, rng, _float(weight))
            # float16 and bfloat16 variables: float32 arrays of their values (precision.py)
            arrays[weight.path] = precision.round_to(precision.widened(values), weight.dtype)
        return arrays

    def keep(self, layer: Layer, arrays: dict[str, np.ndarray]) -> None:
        self.cache[layer] = arrays

    def drop(self, layer: Layer) -> None:
        self.cache.pop(layer, None)


def _float(weight: Weight) -> str:
    return "float64" if weight.dtype == "float64" else "float32"


def _random_input(layer: InputLayer, shape: Shape, bound: int | None, rng: np.random.Generator) -> np.ndarray:
    dtype = layer.input_dtype
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    wide = np.float64 if dtype == "float64" else np.float32  # float16 and bfloat16: see precision.py
    if dtype in FLOAT_DTYPES and bound:
        # ids an Embedding reads from a float input (Keras truncates them): valid ones
        return precision.round_to(rng.integers(0, bound, shape).astype(wide), dtype)
    if dtype in FLOAT_DTYPES:  # drawn in float32 (float64 for float64): no draw twice the input's size
        return precision.round_to(rng.standard_normal(shape, wide), dtype)
    if dtype == "string":
        raise RunRefused(f"input '{layer.name}' holds strings: give it with --input")
    return rng.integers(0, bound or 10, shape).astype(dtype)


def plan(analysis: Analysis, options: RunOptions) -> tuple[Analysis, dict[str, np.ndarray], Peak]:
    """The run's plan: the graph analysed at concrete sizes, the --input arrays, and the peak
    memory estimate; refused when an array is one NumPy cannot hold or the peak is over
    --max-memory."""
    arrays = _input_arrays(analysis, options)
    concrete = _concrete_analysis(analysis, options, arrays)
    precision.check_computable(concrete.model_calls)
    check_array_sizes(concrete, options.unknown_size)
    peak = estimate_peak(concrete, options.unknown_size, fuse=options.save_outputs is None)
    if peak.nbytes > options.max_memory and peak.call is not None:
        raise RunRefused(
            f"running this spec needs about {readable_bytes(peak.nbytes)} ({peak.nbytes:,} bytes), "
            f"reached at {peak.call.layer.label}: weights of the running layer, shared weights, "
            f"live activations and the kernel's temporaries at batch {run_batch(concrete, options)}; "
            f"over --max-memory {readable_bytes(options.max_memory)}: lower --batch or raise --max-memory",
            peak.call.loc,
        )
    return concrete, arrays, peak


def run_batch(concrete: Analysis, options: RunOptions) -> int:
    """The batch run: --batch, or the one the --input data brings."""
    return next((concrete.shapes[c].outputs[0][0] for c in concrete.graph.inputs), None) or options.batch


def run(analysis: Analysis, options: RunOptions, progress: Callable[[str], None] | None = None) -> RunReport:
    """Run the analysed graph at concrete sizes; the report is keyed by the graph's own calls."""
    concrete, arrays, peak = plan(analysis, options)
    store = _open_weights(options.weights, concrete) if options.weights else None
    writer = OutputWriter(options.save_outputs) if options.save_outputs else None
    try:
        outcomes = execute(concrete, arrays, options, store, writer, progress)
    except MemoryError:
        # the estimate fitted --max-memory, but a limit above what the machine has is the user's
        raise RunRefused(
            f"the machine ran out of memory: the run was estimated at {readable_bytes(peak.nbytes)}, "
            f"within --max-memory {readable_bytes(options.max_memory)}, which is more than it has: "
            "lower --batch, or --max-memory to what the machine has",
            None if peak.call is None else peak.call.loc,
        ) from None
    finally:
        if writer:
            writer.close()
        if store:
            store.close()
    return RunReport(outcomes, concrete, peak.nbytes, run_batch(concrete, options))


def execute(
    concrete: Analysis,
    arrays: dict[str, np.ndarray],
    options: RunOptions,
    store: WeightSource | None = None,
    writer: OutputWriter | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[Call, CallOutcome]:
    """Run a planned graph: every call's kernel in order, each output checked against the
    prediction. Inputs not in ``arrays`` get random data; weights come from ``store``, or
    from the initializers seeded with --seed."""
    keep_freed_memory()
    # The kernels compute in IEEE floats as Keras's do: an overflow to inf or a NaN (a huge
    # scale, a negative epsilon) is a value of the model's own arithmetic, which the run
    # passes on; it is not for NumPy to warn about on the terminal.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="numpy")
        return _execute(concrete, arrays, options, store, writer, progress)


def _execute(
    concrete: Analysis,
    arrays: dict[str, np.ndarray],
    options: RunOptions,
    store: WeightSource | None,
    writer: OutputWriter | None,
    progress: Callable[[str], None] | None,
) -> dict[Call, CallOutcome]:
    rng = np.random.default_rng(options.seed)
    calls = concrete.model_calls
    consumers = consumer_counts(calls)
    # saving every output asks for the values between fused calls: then nothing is fused
    chains = {} if writer else fusion.followers(concrete)
    fused_into = fusion.producers(chains)
    applied: set[Call] = set()  # followers whose producer's kernel did their work
    last_call = {c.layer: c for c in calls}
    weights = _Weights(concrete, store, options.seed)
    values: dict[Call, list[np.ndarray]] = {}
    dtypes: dict[Call, list[str]] = {}  # Keras's dtype of each output (precision.py)
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
            given = None if data is None else precision.round_to(precision.widened(data), layer.input_dtype)
            outs = [given if given is not None else _random_input(layer, predicted[0], bound, rng)]
            out_masks = [TensorMasks()]
            dtypes[call] = [layer.input_dtype]
        elif call in applied:
            # computed in place by its producer's kernel (fusion.py): its output is that array
            inputs, sources = _gathered(call, values), _gathered(call, masks)
            dtypes[call] = [layer.output_dtype(dtypes[call.inputs[0].call])]
            outs, out_masks = inputs, output_masks(layer, inputs, inputs, sources, None)
            outcome.fused_into = fused_into[call].layer.name
        else:
            inputs, sources = _gathered(call, values), _gathered(call, masks)
            made = layer.output_dtype(_gathered(call, dtypes))
            dtypes[call] = [made] * len(predicted)
            weight_arrays = weights.for_layer(layer)
            planned = concrete.input_shapes(call)
            fallback = [sized(shape, options.unknown_size) for shape in predicted]
            then = [f.layer.row_epilogue(weights.for_layer(f.layer)) for f in chains.get(call, ())]
            outs, out_masks = _call_kernel(
                call, inputs, sources, weight_arrays, planned, fallback, outcome, rng, then
            )
            if then and outcome.note is None:
                applied.update(chains[call])
            outs = [precision.round_to(o, made) for o in outs]
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
            writer.add(call, [precision.stored(o, d) for o, d in zip(outs, dtypes[call], strict=False)])
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


def _gathered(call: Call, per_call: dict[Call, list[T]]) -> list[T]:
    """What the call's inputs refer to (arrays, masks or dtypes of earlier calls' outputs)."""
    return [item for ref in call.inputs for item in _select(per_call[ref.call], ref.index)]


def _open_weights(path: Path, analysis: Analysis) -> WeightStore | KerasWeightStore:
    """An .npz keyed by Keras's paths, or what Keras saved: a .keras archive, a .weights.h5."""
    if path.suffix.lower() == ".npz":
        return WeightStore.open(path, analysis)
    return KerasWeightStore.open(path, analysis)


def random_inputs(concrete: Analysis, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Data for every input of a planned graph, as a run without --input makes it."""
    calls = concrete.model_calls
    return {
        call.layer.name: _random_input(
            call.layer, concrete.output_shapes(call)[0], _bound_for(call, calls), rng
        )
        for call in concrete.graph.inputs
    }


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
    fallback: list[tuple[int, ...]],
    outcome: CallOutcome,
    rng: np.random.Generator,
    then: list[RowMap] | None = None,
) -> tuple[list[np.ndarray], list[TensorMasks]]:
    """The call's outputs and their Keras masks; ``sources`` are the inputs' masks, ``planned``
    are the input shapes the analysis predicted for this call. Where the kernel does not run,
    later layers get data of the ``fallback`` shapes: the predicted ones, a size the prediction
    leaves unknown counted as --unknown-size counts it. ``then``: the row epilogues of the
    calls fused into this one's kernel (fusion.py)."""
    layer = call.layer
    if not layer.has_kernel() or call.training:
        # Checked statically only (custom layers; a training call, whose dropout and noise are
        # random): later layers run on data of the predicted shape.
        outcome.note = "static only: " + ("training: true is random" if call.training else "no kernel")
        return _stand_in(fallback, rng), _unmasked(fallback)
    if any(a.size == 0 for a in inputs) or any(0 in shape for shape in fallback):
        # An empty tensor has only its shape, which the analysis predicts: nothing to compute
        # (and kernels would only average, divide or reshape by zero sizes).
        outcome.note = "static only: a tensor of size 0 holds no values to compute"
        return _stand_in(fallback, rng), _unmasked(fallback)
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
        if then:
            keywords["then"] = then
        own = precision.layer_inputs(layer, own)
        weights = precision.layer_weights(layer, weights)
        out = layer.forward(own if layer.takes_list else own[0], weights, **keywords)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        return outs, output_masks(layer, own, outs, sources[: len(own)], mask)
    except CallFailure as err:
        outcome.note = f"call fails: {err}"  # as Keras's call does on these inputs
    except OverflowError as err:
        # an argument past any float (10**400): Keras's call converts the same number and fails
        outcome.note = f"call fails: a number in its arguments is past any float ({err}), as in Keras's call"
    except KernelUnavailable as err:
        outcome.note = f"static only: {err}"
    except Exception as err:
        # On the inputs the analysis planned, a kernel that raises has a bug: it goes up as an
        # internal error. On inputs an earlier layer got wrong, the failure is that disagreement's.
        if _matches([tuple(a.shape) for a in inputs], planned):
            raise
        outcome.note = f"call fails on inputs that disagree with the prediction: {type(err).__name__}: {err}"
    return _stand_in(fallback, rng), _unmasked(fallback)


def _stand_in(shapes: list[tuple[int, ...]], rng: np.random.Generator) -> list[np.ndarray]:
    """Random data of these shapes, for the layers after a call whose kernel did not run."""
    return [rng.standard_normal(shape).astype("float32") for shape in shapes]


def _unmasked(shapes: list[tuple[int, ...]]) -> list[TensorMasks]:
    return [TensorMasks() for _ in shapes]


def readable_bytes(nbytes: float) -> str:
    """IEC units with one decimal, for memory estimates (the summary's Keras-style sizes are
    render.summary.readable_size)."""
    return binary_size(nbytes, ("B", "KiB", "MiB", "GiB", "TiB", "PiB"), 1)
