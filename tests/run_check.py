"""Model-level --run check: Keras's weights and inputs into shapecalc, every layer's output compared.

Keras builds the spec, every weight is set to random values, and a probe model returns each
layer's output. The same weights (an .npz keyed by Keras variable paths) and inputs go through
``shapecalc summary --run --weights --input --save-outputs``; the saved outputs must equal
Keras's within tolerance, and every run shape must equal the prediction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from oracle import CALLS, _rel_path, build_keras_model, keras
from typer.testing import CliRunner

from shapecalc.cli import app


def _first_outputs(layer: Any, model_nodes: set[int]) -> list[Any]:
    """Outputs of the layer's first call that is part of the model."""
    node = next(n for n in layer._inbound_nodes if id(n) in model_nodes)
    outs = node.output_tensors
    return list(outs) if isinstance(outs, (list, tuple)) else [outs]


def keras_reference(
    spec: dict[str, Any], inputs: dict[str, np.ndarray], seed: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], set[str]]:
    """(weights by Keras path, outputs by NAME / NAME.K, and the layers whose real output
    shape Keras's own static shape gets wrong) for the spec run by Keras."""
    CALLS["model runs"] += 1
    model = build_keras_model(spec)
    rng = np.random.default_rng(seed)
    weights: dict[str, np.ndarray] = {}
    for w in model.weights:
        shape = tuple(int(d) for d in w.shape)
        value = rng.uniform(0.5, 1.5, shape) if "variance" in w.path else rng.uniform(-0.5, 0.5, shape)
        w.assign(value.astype(w.dtype))
        stored = np.asarray(value, dtype=w.dtype)
        # an .npz cannot hold bfloat16 (NumPy has none): its values, exactly, as float32
        weights[_rel_path(w.path, model.name)] = stored.astype("float32") if w.dtype == "bfloat16" else stored
    for layer in model._flatten_layers():
        if hasattr(layer, "finalize_state"):
            # as Keras's weight loading does (load_own_variables): Normalization copies its
            # statistics into the constants its call reads
            layer.finalize_state()
    graph = getattr(model, "_functional", None) or model  # a Sequential keeps its graph inside
    model_nodes = {id(node) for nodes in graph._nodes_by_depth.values() for node in nodes}
    layers = [layer for layer in graph.layers if any(id(n) in model_nodes for n in layer._inbound_nodes)]
    probes, names = [], []
    for layer in layers:
        outs = _first_outputs(layer, model_nodes)
        probes.extend(outs)
        names.extend([layer.name] if len(outs) == 1 else [f"{layer.name}.{k}" for k in range(len(outs))])
    probe = keras.Model(graph.inputs, probes)
    feed = [inputs[t.name] if t.name in inputs else next(iter(inputs.values())) for t in graph.inputs]
    values = probe(feed if len(feed) > 1 else feed[0], training=False)
    values = values if isinstance(values, (list, tuple)) else [values]
    static_wrong = {
        name.split(".")[0]
        for name, tensor, value in zip(names, probes, values, strict=True)
        if len(tensor.shape) != np.ndim(value)
        or any(d is not None and d != v for d, v in zip(tensor.shape[1:], np.shape(value)[1:], strict=True))
    }
    return weights, {name: np.asarray(v) for name, v in zip(names, values, strict=True)}, static_wrong


def assert_run_matches_keras(
    spec_path: Path, spec: dict[str, Any], inputs: dict[str, np.ndarray], tmp: Path, rtol: float = 1e-3
) -> dict[str, Any]:
    try:
        weights, want, static_wrong = keras_reference(spec, inputs)
    except Exception:
        # Keras's own static shapes were wrong for this model; shapecalc's run must say so.
        return _assert_run_disagrees(spec_path, inputs, tmp)
    weights_path = tmp / "weights.npz"
    np.savez(weights_path, **weights)
    args = ["summary", str(spec_path), "--run", "--format", "json", "--weights", str(weights_path)]
    for name, array in inputs.items():
        np.save(tmp / f"{name}.npy", array)
        args += ["--input", f"{name}={tmp / f'{name}.npy'}"]
    outputs_path = tmp / "outputs.npz"
    args += ["--save-outputs", str(outputs_path)]
    result = CliRunner().invoke(app, args)
    report = json.loads(result.stdout)
    flagged = {layer["name"] for layer in report["layers"] if not layer["ok"]}
    # Where Keras's real output disagrees with its own static shape (which shapecalc predicts),
    # the run must say so, and only there.
    assert flagged == static_wrong, f"run flags {flagged}, Keras's own shapes are wrong for {static_wrong}"
    assert result.exit_code == (3 if static_wrong else 0), result.stderr
    got = dict(np.load(outputs_path))
    for name, value in want.items():
        assert name in got, f"--save-outputs has no {name}"
        _assert_dtype_kept(name, got[name], value.dtype.name)
        value = value.astype("float32") if value.dtype.name == "bfloat16" else value
        scale = max(1.0, float(np.abs(value).max()))
        np.testing.assert_allclose(got[name], value, rtol=rtol, atol=rtol * scale, err_msg=name)
    return report


def _assert_dtype_kept(name: str, got: np.ndarray, keras_dtype: str) -> None:
    """A float16 output is saved as float16; a bfloat16 one (NumPy has none) as float32 values
    bfloat16 holds exactly: the upper 16 bits of each float32."""
    if keras_dtype == "float16":
        assert got.dtype == np.float16, f"{name}: Keras's output is float16, the run saved {got.dtype}"
    if keras_dtype == "bfloat16":
        low_bits = np.asarray(got, np.float32).view(np.uint32) & np.uint32(0xFFFF)
        assert not low_bits.any(), f"{name}: Keras's output is bfloat16, the run's values are not"


def _assert_run_disagrees(spec_path: Path, inputs: dict[str, np.ndarray], tmp: Path) -> dict[str, Any]:
    args = ["summary", str(spec_path), "--run", "--format", "json"]
    for name, array in inputs.items():
        np.save(tmp / f"{name}.npy", array)
        args += ["--input", f"{name}={tmp / f'{name}.npy'}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, (
        f"Keras cannot run this model, yet shapecalc's run reports no disagreement: {result.stdout}"
    )
    return json.loads(result.stdout)
