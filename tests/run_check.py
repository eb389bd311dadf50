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
from oracle import _rel_path, build_keras_model, keras
from typer.testing import CliRunner

from shapecalc.cli import app


def _first_outputs(layer: Any) -> list[Any]:
    outs = layer._inbound_nodes[0].output_tensors
    return list(outs) if isinstance(outs, (list, tuple)) else [outs]


def keras_reference(
    spec: dict[str, Any], inputs: dict[str, np.ndarray], seed: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(weights by Keras path, outputs by NAME / NAME.K) for the spec run by Keras."""
    model = build_keras_model(spec)
    rng = np.random.default_rng(seed)
    weights: dict[str, np.ndarray] = {}
    for w in model.weights:
        shape = tuple(int(d) for d in w.shape)
        value = rng.uniform(0.5, 1.5, shape) if "variance" in w.path else rng.uniform(-0.5, 0.5, shape)
        w.assign(value.astype(w.dtype))
        weights[_rel_path(w.path, model.name)] = np.asarray(value, dtype=w.dtype)
    layers = [layer for layer in model.layers if layer._inbound_nodes]
    probes, names = [], []
    for layer in layers:
        outs = _first_outputs(layer)
        probes.extend(outs)
        names.extend([layer.name] if len(outs) == 1 else [f"{layer.name}.{k}" for k in range(len(outs))])
    probe = keras.Model(model.inputs, probes)
    feed = [inputs[t.name] if t.name in inputs else next(iter(inputs.values())) for t in model.inputs]
    values = probe(feed if len(feed) > 1 else feed[0], training=False)
    values = values if isinstance(values, (list, tuple)) else [values]
    return weights, {name: np.asarray(v) for name, v in zip(names, values, strict=True)}


def assert_run_matches_keras(
    spec_path: Path, spec: dict[str, Any], inputs: dict[str, np.ndarray], tmp: Path, rtol: float = 1e-3
) -> dict[str, Any]:
    weights, want = keras_reference(spec, inputs)
    weights_path = tmp / "weights.npz"
    np.savez(weights_path, **weights)
    args = ["summary", str(spec_path), "--run", "--format", "json", "--weights", str(weights_path)]
    for name, array in inputs.items():
        np.save(tmp / f"{name}.npy", array)
        args += ["--input", f"{name}={tmp / f'{name}.npy'}"]
    outputs_path = tmp / "outputs.npz"
    args += ["--save-outputs", str(outputs_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr or result.stdout
    report = json.loads(result.stdout)
    assert all(layer["ok"] for layer in report["layers"]), [l for l in report["layers"] if not l["ok"]]
    got = dict(np.load(outputs_path))
    for name, value in want.items():
        assert name in got, f"--save-outputs has no {name}"
        scale = max(1.0, float(np.abs(value).max()))
        np.testing.assert_allclose(got[name], value, rtol=rtol, atol=rtol * scale, err_msg=name)
    return report
