"""Kernel differential check: one layer on concrete arrays, shapecalc's NumPy against Keras.

Keras builds the layer and runs it (inference mode) on the arrays; its weights are first set
to random values (so moving statistics and biases are not trivially 0 or 1), then handed to
shapecalc's kernel under their relative paths. Outputs must agree to float32 precision.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from oracle import CALLS, POSITIONAL_CALLS, keras, make_layer

from shapecalc.layers import create_layer
from shapecalc.layers.factory import Namer


def _randomize(layer: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Give every Keras weight random values; variances and similar stay positive."""
    values = {}
    for weight in layer.weights:
        relative = weight.path.split("/", 1)[1]
        shape = tuple(int(d) for d in weight.shape)
        if "variance" in relative or relative.endswith("count"):
            value = rng.uniform(0.5, 1.5, shape)
        else:
            value = rng.uniform(-0.5, 0.5, shape)
        value = value.astype(weight.dtype)
        weight.assign(value)
        values[relative] = value
    if hasattr(layer, "finalize_state"):
        layer.finalize_state()  # Normalization copies its statistics into constants here
    return values


def keras_run(
    type_name: str, args: dict[str, Any], inputs: list[np.ndarray], as_list: bool, seed: int = 0
) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    CALLS["layer outputs"] += 1
    keras.backend.clear_session(free_memory=False)
    layer = make_layer(type_name, args)
    call_args = inputs if as_list else inputs[0]
    positional = type(layer).__name__ in POSITIONAL_CALLS
    if positional:
        layer(*inputs)
    else:
        layer(call_args)  # builds the weights
    weights = _randomize(layer, np.random.default_rng(seed))
    kwargs = {"training": False} if "training" in layer.call_signature_parameters else {}
    if getattr(layer, "stateful", False):
        layer.reset_state()  # the build call above advanced the states
    out = layer(*inputs, **kwargs) if positional else layer(call_args, **kwargs)
    return [np.asarray(o) for o in _flatten(out)], weights


def _flatten(out: Any) -> list[Any]:
    """Keras may nest outputs (stacked cells' states); shapecalc returns them flat."""
    if isinstance(out, (list, tuple)):
        return [leaf for item in out for leaf in _flatten(item)]
    return [out]


def assert_kernel_matches_keras(
    type_name: str,
    args: dict[str, Any],
    inputs: list[np.ndarray],
    rtol: float = 1e-4,
    atol: float = 1e-5,
    seed: int = 0,
) -> list[np.ndarray]:
    layer = create_layer(type_name, args, Namer())
    shapes = [tuple(a.shape) for a in inputs]
    _, built = layer.infer(list(shapes) if layer.takes_list else shapes[0])
    want, weights = keras_run(type_name, args, inputs, layer.takes_list, seed)
    assert {w.path for w in built.weights} == set(weights), "weight paths differ from Keras's"
    got = layer.forward(list(inputs) if layer.takes_list else inputs[0], weights)
    got_list = list(got) if isinstance(got, (list, tuple)) else [got]
    assert len(got_list) == len(want), f"{len(got_list)} outputs, Keras gives {len(want)}"
    for k, (g, w) in enumerate(zip(got_list, want, strict=True)):
        assert g.shape == w.shape, f"output {k}: shape {g.shape} != Keras {w.shape}"
        assert g.dtype == w.dtype or (g.dtype.kind == w.dtype.kind == "f"), (
            f"output {k}: dtype {g.dtype} vs {w.dtype}"
        )
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"{type_name}({args}) output {k}")
    return got_list
