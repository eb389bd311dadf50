"""Operation nodes (``x + 3.0``, ``ops.mean``, ``ops.matmul``, ...) against Keras: random
functional models that mix keras.ops calls with layers are built in Keras, saved with
``to_json()``, and read back; shapecalc's summary text, rows and ``--run`` outputs must be
Keras's. Specs written by hand are checked against the same models built in Keras."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from keras import ops
from model_check import shapecalc_summary_text
from oracle import ModelFacts, model_facts
from typer.testing import CliRunner

from shapecalc.api import analyze_file
from shapecalc.cli import app
from shapecalc.costs import model_costs
from shapecalc.explain import explain_model

runner = CliRunner()

UNARY = {
    "negative": ops.negative,
    "abs": ops.abs,
    "square": ops.square,
    "sqrt": lambda x: ops.sqrt(ops.abs(x)),
    "exp": lambda x: ops.exp(ops.tanh(x)),
    "log": lambda x: ops.log(ops.abs(x) + 1.0),
    "tanh": ops.tanh,
    "sigmoid": ops.sigmoid,
    "relu": ops.relu,
}
BINARY = {
    "add": ops.add,
    "subtract": ops.subtract,
    "multiply": ops.multiply,
    "divide": ops.divide,
    "true_divide": ops.true_divide,
    "maximum": ops.maximum,
    "minimum": ops.minimum,
}
REDUCTIONS = {"mean": ops.mean, "sum": ops.sum, "max": ops.max, "min": ops.min}


def _step(rng: random.Random, tensors: list[Any]) -> Any:
    """One keras.ops call (or a layer) on tensors made so far."""
    x = rng.choice(tensors)
    rank = len(x.shape)
    kind = rng.choice(
        ["unary", "number", "binary", "reduce", "transpose", "reshape", "dims", "matmul", "dense"]
    )
    if kind == "unary":
        return UNARY[rng.choice(sorted(UNARY))](x)
    if kind == "number":
        number = rng.choice([0.5, 2.0, 3.0, -1.5, 2])
        op = BINARY[rng.choice(sorted(BINARY))]
        if rng.random() < 0.3:
            return x**2 if rng.random() < 0.5 else ops.power(ops.abs(x) + 1.0, number)
        return op(number, x) if rng.random() < 0.4 else op(x, number)
    if kind == "binary":
        same = [t for t in tensors if tuple(t.shape) == tuple(x.shape)]
        pooled = ops.mean(x, axis=rng.randrange(1, rank), keepdims=True) if rank > 1 else x
        other = rng.choice([*same, pooled])
        first, second = (x, other) if rng.random() < 0.5 else (other, x)
        return BINARY[rng.choice(sorted(BINARY))](first, second)
    if kind == "reduce" and rank > 2:
        axes = rng.choice([rng.randrange(1, rank), -1, [1, rank - 1]])
        return REDUCTIONS[rng.choice(sorted(REDUCTIONS))](x, axis=axes, keepdims=rng.random() < 0.5)
    if kind == "transpose" and rank > 2:
        rest = list(range(1, rank))
        rng.shuffle(rest)
        return ops.transpose(x, [0, *rest])
    if kind == "reshape" and rank > 2:
        return ops.reshape(x, (-1, math.prod(x.shape[1:])))
    if kind == "dims":
        if 1 in x.shape[1:]:
            return ops.squeeze(x, axis=1 + list(x.shape[1:]).index(1))
        return ops.expand_dims(x, axis=rng.randrange(1, rank + 1))
    if kind == "matmul" and rank > 2:
        return ops.matmul(x, ops.transpose(x, [*range(rank - 2), rank - 1, rank - 2]))
    if rank > 1:
        return keras.layers.Dense(rng.randrange(1, 5))(x)
    return ops.negative(x)


def _random_model(seed: int) -> keras.Model:
    rng = random.Random(seed)
    keras.backend.clear_session(free_memory=False)
    shape = tuple(rng.randrange(1, 5) for _ in range(rng.randrange(1, 4)))
    inputs = keras.Input(shape)
    tensors = [inputs]
    for _ in range(rng.randrange(3, 9)):
        tensors.append(_step(rng, tensors))
    outputs = [tensors[-1]] if rng.random() < 0.7 else [tensors[-1], rng.choice(tensors[1:-1])]
    return keras.Model(inputs, outputs, name=f"ops_{seed}")


def _rows(model: keras.Model) -> list[tuple[str, str]]:
    return [(op.name, type(op).__name__) for op in model.operations]


@pytest.mark.parametrize("seed", range(150))
def test_random_models_with_operations_read_as_keras_shows_them(seed: int, tmp_path: Path) -> None:
    model = _random_model(seed)
    path = tmp_path / "model.json"
    path.write_text(model.to_json())
    got = analyze_file(path)
    assert [(layer.name, layer.type_name()) for layer in got.layers] == _rows(model)
    # each operation's explanation ends at the shape Keras gives it
    shapes = {op.name: list(op.output.shape) for op in model.operations if hasattr(op, "output")}
    for entry in explain_model(got, model_costs(got)):
        assert entry.steps, entry.layer
        if entry.steps[-1].axis == "shape":
            assert entry.steps[-1].result == shapes[entry.layer], entry.layer
    for width in (80, 200):
        facts = model_facts(model, width)
        assert isinstance(facts, ModelFacts)
        assert shapecalc_summary_text(got, width) == facts.summary
    x = np.random.default_rng(seed).uniform(-2, 2, (3, *model.inputs[0].shape[1:])).astype("float32")
    np.save(tmp_path / "x.npy", x)
    model.save(tmp_path / "model.keras")
    out = tmp_path / "out.npz"
    args = ["summary", str(tmp_path / "model.keras"), "--run", "--input", str(tmp_path / "x.npy")]
    result = runner.invoke(app, [*args, "--save-outputs", str(out)])
    assert result.exit_code == 0, result.output
    want = model.predict(x, verbose=0)
    want = want if isinstance(want, list) else [want]
    saved = np.load(out)
    for tensor, expected in zip(model.outputs, want, strict=True):
        name = tensor._keras_history.operation.name
        np.testing.assert_allclose(saved[name], expected, rtol=1e-4, atol=1e-5)


def _summary(spec: str, tmp_path: Path) -> Any:
    path = tmp_path / "spec.yaml"
    path.write_text(spec)
    return runner.invoke(app, ["summary", str(path)])


def test_a_spec_writes_operations_with_their_keras_ops_names(tmp_path: Path) -> None:
    # MobileNetV3's hard swish, written by hand: x * relu6(x + 3) / 6
    keras.backend.clear_session(free_memory=False)
    x = keras.Input((8, 8, 4), name="x")
    conv = keras.layers.Conv2D(4, 3, padding="same", name="conv")(x)
    gate = keras.layers.ReLU(6.0)(conv + 3.0) * (1.0 / 6.0)
    out = ops.mean(keras.layers.Multiply()([conv, gate]), axis=[1, 2])
    facts = model_facts(keras.Model(x, 1.0 - out, name="hard_swish"))
    assert isinstance(facts, ModelFacts)
    spec = """
name: hard_swish
inputs: {x: [8, 8, 4]}
layers:
  - Conv2D: {name: conv, filters: 4, kernel_size: 3, padding: same}
  - ops.add: {x2: 3.0}
  - ReLU: {max_value: 6.0}
  - ops.multiply: {x2: 0.16666666666666666}
  - Multiply: {inputs: [conv, multiply]}
  - ops.mean: {axis: [1, 2]}
  - ops.subtract: {x1: 1.0}
"""
    path = tmp_path / "spec.yaml"
    path.write_text(spec)
    assert shapecalc_summary_text(analyze_file(path), facts.columns) == facts.summary


@pytest.mark.parametrize(
    ("build", "entry", "message"),
    [
        (lambda x, y: x + y, "ops.add: {inputs: [x, y]}", "cannot broadcast (2, 4, 2) with (2, 3)"),
        (
            lambda x, y: ops.reshape(x, (-1, 3)),
            "ops.reshape: {newshape: [-1, 3], inputs: x}",
            "16 is not a multiple of 3",
        ),
        (lambda x, y: ops.matmul(x, x), "ops.matmul: {inputs: [x, x]}", "must be equal: 2 vs 4"),
        (lambda x, y: ops.squeeze(x, axis=1), "ops.squeeze: {axis: 1, inputs: x}", "its size is not 1"),
        (lambda x, y: ops.mean(x, axis=3), "ops.mean: {axis: 3, inputs: x}", "axis 3 is out of range"),
        (
            lambda x, y: ops.transpose(x, (0, 1)),
            "ops.transpose: {axes: [0, 1], inputs: x}",
            "must list the 3 axes",
        ),
    ],
)
def test_what_keras_refuses_is_refused(build: Any, entry: str, message: str, tmp_path: Path) -> None:
    keras.backend.clear_session(free_memory=False)
    x, y = keras.Input((4, 2), batch_size=2), keras.Input((3,), batch_size=2)
    with pytest.raises((ValueError, IndexError)):
        build(x, y)
    inputs = "  x: {shape: [4, 2], batch_size: 2}\n  y: {shape: [3], batch_size: 2}"
    result = _summary(f"inputs:\n{inputs}\nlayers:\n  - {entry}\n", tmp_path)
    assert result.exit_code == 1, result.output
    assert ":5:5: error:" in result.stderr and message in result.stderr, result.stderr
