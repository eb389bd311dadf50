"""NumPy kernels of the recurrent family against Keras (inference, random weights).

SimpleRNN, GRU, LSTM, RNN (one cell, stacked cells), the cells themselves (one step from given
states), Bidirectional, TimeDistributed and ConvLSTM1D/2D/3D: every output (sequences, states)
must match Keras's numbers.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_check import _randomize, assert_kernel_matches_keras
from oracle import keras, make_layer
from run_check import assert_run_matches_keras

from shapecalc.errors import CallFailure, ShapeError
from shapecalc.layers import create_layer, registry
from shapecalc.layers.factory import Namer

RNNS = ("SimpleRNN", "GRU", "LSTM")
CELLS = {"SimpleRNN": "SimpleRNNCell", "GRU": "GRUCell", "LSTM": "LSTMCell"}


def data(*shape: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def flatten(out: Any) -> list[np.ndarray]:
    if isinstance(out, (list, tuple)):
        return [a for o in out for a in flatten(o)]
    return [np.asarray(out)]


def assert_close(got: list[np.ndarray], want: list[np.ndarray], what: str) -> None:
    assert len(got) == len(want), f"{what}: {len(got)} outputs, Keras gives {len(want)}"
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.shape == w.shape, f"{what} output {k}: shape {g.shape} != Keras {w.shape}"
        assert g.dtype == np.float32, f"{what} output {k}: dtype {g.dtype}"
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5, err_msg=f"{what} output {k}")


# ----------------------------------------------------------------------------- SimpleRNN, GRU, LSTM
def flag_cases() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for layer, seq, state, back, bias in itertools.product(RNNS, *[(False, True)] * 4):
        args = {
            "units": 3,
            "return_sequences": seq,
            "return_state": state,
            "go_backwards": back,
            "use_bias": bias,
        }
        cases.append((layer, args))
        if layer == "GRU":
            cases.append((layer, {**args, "reset_after": False}))
    return cases


@pytest.mark.parametrize(("layer", "args"), flag_cases(), ids=str)
def test_flags(layer: str, args: dict[str, Any]) -> None:
    assert_kernel_matches_keras(layer, args, [data(2, 5, 4)])


OPTION_CASES = [
    {"units": 4, "activation": "relu"},
    {"units": 4, "activation": None, "return_sequences": True},
    {"units": 2, "activation": "sigmoid", "recurrent_activation": "tanh", "return_sequences": True},
    {"units": 3, "recurrent_activation": "hard_sigmoid", "go_backwards": True, "return_sequences": True},
    {"units": 3, "activation": "softsign", "recurrent_activation": "relu"},
    {"units": 3, "unit_forget_bias": False},  # only changes the bias initializer
    {"units": 3, "dropout": 0.5, "recurrent_dropout": 0.5, "seed": 3},  # identity at inference
    {"units": 3, "unroll": True, "return_sequences": True, "go_backwards": True},
    {"units": 3, "implementation": 1, "return_state": True},
    {"units": 5, "reset_after": False, "return_sequences": True, "activation": "elu"},
    {"units": 1, "return_sequences": True},
    # along an axis: Keras applies it to each gate alone (not to GRU's z and r at once)
    {"units": 3, "recurrent_activation": "softmax", "return_sequences": True},
    {"units": 3, "recurrent_activation": "softmax", "reset_after": False},
]


def option_cases() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for layer, args in itertools.product(RNNS, OPTION_CASES):
        args = dict(args)
        if "recurrent_activation" in args and layer == "SimpleRNN":
            args.pop("recurrent_activation")
        if "unit_forget_bias" in args and layer != "LSTM":
            continue
        if "reset_after" in args and layer != "GRU":
            args.pop("reset_after")
        if "implementation" in args and layer == "SimpleRNN":
            continue
        cases.append((layer, args))
    return cases


@pytest.mark.parametrize(("layer", "args"), option_cases(), ids=str)
def test_options(layer: str, args: dict[str, Any]) -> None:
    assert_kernel_matches_keras(layer, args, [data(3, 4, 2)])


@pytest.mark.parametrize("shape", [(1, 1, 3), (4, 7, 1), (2, 12, 6)], ids=str)
@pytest.mark.parametrize("layer", RNNS)
def test_sizes(layer: str, shape: tuple[int, ...]) -> None:
    assert_kernel_matches_keras(layer, {"units": 4, "return_sequences": True}, [data(*shape)])


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    layer=st.sampled_from(RNNS),
    units=st.integers(1, 5),
    steps=st.integers(1, 5),
    features=st.integers(1, 4),
    flags=st.tuples(*[st.booleans()] * 5),
    act=st.sampled_from(["tanh", "relu", None, "sigmoid"]),
)
def test_random_rnns(
    layer: str, units: int, steps: int, features: int, flags: tuple[bool, ...], act: str | None
) -> None:
    seq, state, back, bias, reset = flags
    args: dict[str, Any] = {
        "units": units,
        "return_sequences": seq,
        "return_state": state,
        "go_backwards": back,
        "use_bias": bias,
        "activation": act,
    }
    if layer == "GRU":
        args["reset_after"] = reset
    assert_kernel_matches_keras(layer, args, [data(2, steps, features)])


def test_go_backwards_order_is_processing_order() -> None:
    """A hand check beside Keras: SimpleRNN with identity kernels and linear activation sums the
    inputs; going backwards, step k holds the sum of the last k+1 inputs (processing order)."""
    layer = create_layer(
        "SimpleRNN",
        {"units": 1, "activation": None, "use_bias": False, "go_backwards": True, "return_sequences": True},
        Namer(),
    )
    layer.infer((1, 3, 1))
    ones = np.ones((1, 1), "float32")
    got = layer.forward(
        np.array([[[1.0], [2.0], [4.0]]], "float32"),
        {"simple_rnn_cell/kernel": ones, "simple_rnn_cell/recurrent_kernel": ones},
    )
    assert got.ravel().tolist() == [4.0, 6.0, 7.0]


# ----------------------------------------------------------------------------- RNN with cells
RNN_CELL_CASES = [
    {"cell": {"LSTMCell": {"units": 3}}},
    {"cell": {"GRUCell": {"units": 3, "reset_after": False}}, "return_sequences": True, "go_backwards": True},
    {"cell": {"SimpleRNNCell": {"units": 2, "use_bias": False}}, "return_state": True},
    {"cell": [{"LSTMCell": {"units": 3}}, {"GRUCell": {"units": 2}}], "return_sequences": True},
    {
        "cell": [{"SimpleRNNCell": {"units": 4}}, {"LSTMCell": {"units": 2}}, {"GRUCell": {"units": 3}}],
        "go_backwards": True,
    },
    {"cell": [{"GRUCell": {"units": 2}}], "return_sequences": True},  # one cell with one state runs
    {"cell": {"StackedRNNCells": {"cells": [{"GRUCell": {"units": 2}}, {"SimpleRNNCell": {"units": 3}}]}}},
]


@pytest.mark.parametrize("args", RNN_CELL_CASES, ids=str)
def test_rnn_cells(args: dict[str, Any]) -> None:
    assert_kernel_matches_keras("RNN", args, [data(2, 4, 3)])


def keras_flat(
    type_name: str, args: dict[str, Any], x: np.ndarray
) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Keras's outputs flattened (a stack's states come nested: (out, [h1, c1], [h2]))."""
    keras.backend.clear_session(free_memory=False)
    layer = make_layer(type_name, args)
    layer(x)
    weights = _randomize(layer, np.random.default_rng(0))
    if getattr(layer, "stateful", False):
        layer.reset_state()  # the building call moved the states on
    return flatten(layer(x, training=False)), weights


def assert_flat_matches_keras(type_name: str, args: dict[str, Any], x: np.ndarray) -> None:
    want, weights = keras_flat(type_name, args, x)
    layer = create_layer(type_name, args, Namer())
    layer.infer(x.shape)
    assert_close(flatten(layer.forward(x, weights)), want, f"{type_name}({args})")


@pytest.mark.parametrize("layer", RNNS)
def test_stateful_starts_from_zero_states(layer: str) -> None:
    assert_flat_matches_keras(layer, {"units": 3, "stateful": True, "return_state": True}, data(2, 4, 3))


STACK_STATE_CASES = [
    {"cell": [{"LSTMCell": {"units": 3}}, {"SimpleRNNCell": {"units": 2}}], "return_state": True},
    {
        "cell": [{"GRUCell": {"units": 3}}, {"LSTMCell": {"units": 2}}],
        "return_state": True,
        "return_sequences": True,
        "go_backwards": True,
    },
    {"cell": [{"SimpleRNNCell": {"units": 2}}], "return_state": True},
    {
        "cell": [{"LSTMCell": {"units": 2}}, {"LSTMCell": {"units": 4}}, {"LSTMCell": {"units": 1}}],
        "return_state": True,
    },
]


@pytest.mark.parametrize("args", STACK_STATE_CASES, ids=str)
def test_stacked_states(args: dict[str, Any]) -> None:
    assert_flat_matches_keras("RNN", args, data(2, 4, 3))


def test_bidirectional_stacked_states() -> None:
    args = {
        "layer": {
            "RNN": {
                "cell": [{"LSTMCell": {"units": 2}}, {"GRUCell": {"units": 3}}],
                "return_state": True,
                "return_sequences": True,
            }
        },
        "merge_mode": "sum",
    }
    assert_flat_matches_keras("Bidirectional", args, data(2, 4, 3))


@pytest.mark.parametrize("steps", [1, 3])
def test_one_lstm_cell_stack(steps: int) -> None:
    """Keras fails to run a list of one LSTMCell over more than one step; shapecalc says so."""
    args = {"cell": [{"LSTMCell": {"units": 2}}], "return_state": True}
    x = data(2, steps, 3)
    layer = create_layer("RNN", args, Namer())
    _, built = layer.infer(x.shape)
    if steps == 1:
        want, weights = keras_flat("RNN", args, x)
        assert_close(flatten(layer.forward(x, weights)), want, "RNN([LSTMCell]) one step")
        return
    with pytest.raises(IndexError):
        keras_flat("RNN", args, x)
    weights = {w.path: np.zeros(w.shape, "float32") for w in built.weights}
    with pytest.raises(CallFailure, match="one-cell stack"):
        layer.forward(x, weights)


def test_layer_as_cell_cannot_run() -> None:
    args = {"cell": {"LSTM": {"units": 2}}}
    x = data(2, 3, 3)
    with pytest.raises(ValueError, match="expected ndim=3"):
        keras_flat("RNN", args, x)
    layer = create_layer("RNN", args, Namer())
    _, built = layer.infer(x.shape)
    with pytest.raises(ShapeError, match="cannot be run as a cell"):
        layer.forward(x, {w.path: np.zeros(w.shape, "float32") for w in built.weights})


# ----------------------------------------------------------------------------- one step of a cell
CELL_CASES = [
    ("SimpleRNNCell", {"units": 3}),
    ("SimpleRNNCell", {"units": 3, "use_bias": False, "activation": "relu"}),
    ("GRUCell", {"units": 3}),
    ("GRUCell", {"units": 3, "reset_after": False}),
    ("GRUCell", {"units": 2, "use_bias": False}),
    (
        "GRUCell",
        {"units": 2, "use_bias": False, "reset_after": False, "recurrent_activation": "hard_sigmoid"},
    ),
    ("LSTMCell", {"units": 3}),
    ("LSTMCell", {"units": 3, "use_bias": False, "activation": "relu"}),
]


def keras_state_sizes(cell: Any) -> list[Any]:
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


@pytest.mark.parametrize(("cell_type", "args"), CELL_CASES, ids=str)
def test_cell_step_from_given_states(cell_type: str, args: dict[str, Any]) -> None:
    """cell(x, states) with non-zero states, and with no states given (zeros)."""
    keras.backend.clear_session(free_memory=False)
    cell = make_layer(cell_type, args)
    x = data(4, 5)
    states = [data(4, s, seed=7 + k) for k, s in enumerate(keras_state_sizes(cell))]
    cell(x, states)
    weights = _randomize(cell, np.random.default_rng(0))
    want = flatten(cell(x, states, training=False))
    zero_want = flatten(cell(x, [np.zeros_like(s) for s in states], training=False))
    ours = create_layer(cell_type, args, Namer())
    assert {w.path for w in ours.build((4, 5))} == set(weights)
    assert_close(ours.forward([x, *states], weights), want, cell_type)
    assert_close(ours.forward(x, weights), zero_want, f"{cell_type} zero states")


def test_stacked_cells_step() -> None:
    keras.backend.clear_session(free_memory=False)
    spec = {"cells": [{"LSTMCell": {"units": 3}}, {"GRUCell": {"units": 2}}]}
    stack = make_layer("StackedRNNCells", spec)
    x = data(4, 5)
    states = [[data(4, 3, seed=2), data(4, 3, seed=3)], [data(4, 2, seed=4)]]
    stack(x, states)
    weights = _randomize(stack, np.random.default_rng(0))
    want = flatten(stack(x, states, training=False))
    ours = create_layer("StackedRNNCells", spec, Namer())
    assert {w.path for w in ours.build((4, 5))} == set(weights)
    assert_close(ours.forward([x, *flatten(states)], weights), want, "StackedRNNCells")


# ----------------------------------------------------------------------------- Bidirectional
def bidirectional_cases() -> list[dict[str, Any]]:
    cases = []
    for inner, mode, seq, state in itertools.product(
        RNNS, ["concat", "sum", "mul", "ave", None], (False, True), (False, True)
    ):
        if (mode in ("mul", "ave") or inner == "SimpleRNN") and (seq, state) != (True, True):
            continue  # the merge arithmetic and SimpleRNN need not go through every flag pair
        cases.append(
            {
                "layer": {inner: {"units": 3, "return_sequences": seq, "return_state": state}},
                "merge_mode": mode,
            }
        )
    return cases


BIDIRECTIONAL_EXTRA = [
    # a given backward layer, of another type
    {
        "layer": {"LSTM": {"units": 3, "return_sequences": True}},
        "backward_layer": {"GRU": {"units": 3, "return_sequences": True, "go_backwards": True}},
    },
    # the "forward" layer reads backwards and the backward one forwards: Keras still flips the second
    {
        "layer": {"GRU": {"units": 2, "return_sequences": True, "go_backwards": True}},
        "backward_layer": {"SimpleRNN": {"units": 2, "return_sequences": True}},
        "merge_mode": None,
    },
    {
        "layer": {"LSTM": {"units": 2, "return_state": True}},
        "backward_layer": {"LSTM": {"units": 4, "return_state": True, "go_backwards": True}},
    },
    {
        "layer": {
            "RNN": {
                "cell": [{"GRUCell": {"units": 2}}, {"SimpleRNNCell": {"units": 3}}],
                "return_sequences": True,
            }
        },
        "merge_mode": "concat",
    },
    {
        "layer": {"GRU": {"units": 3, "reset_after": False, "use_bias": False, "return_sequences": True}},
        "merge_mode": "ave",
    },
]


@pytest.mark.parametrize("args", bidirectional_cases() + BIDIRECTIONAL_EXTRA, ids=str)
def test_bidirectional(args: dict[str, Any]) -> None:
    assert_kernel_matches_keras("Bidirectional", args, [data(2, 5, 3)])


@pytest.mark.parametrize(
    "args",
    [
        {"layer": {"ConvLSTM1D": {"filters": 2, "kernel_size": 3, "return_sequences": True}}},
        {
            "layer": {
                "ConvLSTM2D": {"filters": 2, "kernel_size": 2, "padding": "same", "return_state": True}
            },
            "merge_mode": "sum",
        },
    ],
    ids=str,
)
def test_bidirectional_conv_lstm(args: dict[str, Any]) -> None:
    rank = 1 if "ConvLSTM1D" in args["layer"] else 2
    assert_kernel_matches_keras("Bidirectional", args, [data(2, 3, *([5] * rank), 2)])


# ----------------------------------------------------------------------------- TimeDistributed
TIME_DISTRIBUTED_CASES = [
    ({"layer": {"Dense": {"units": 3}}}, (2, 4, 5)),
    ({"layer": {"Dense": {"units": 2, "activation": "relu", "use_bias": False}}}, (3, 2, 4, 5)),
    ({"layer": {"LSTM": {"units": 3, "return_sequences": True}}}, (2, 3, 4, 2)),
    ({"layer": {"GRU": {"units": 3, "go_backwards": True}}}, (2, 3, 4, 2)),
    ({"layer": {"Bidirectional": {"layer": {"SimpleRNN": {"units": 2}}}}}, (2, 3, 4, 2)),
    ({"layer": {"TimeDistributed": {"layer": {"Dense": {"units": 2}}}}}, (2, 3, 4, 5)),
    ({"layer": {"ConvLSTM1D": {"filters": 2, "kernel_size": 2}}}, (2, 2, 3, 4, 1)),
]


@pytest.mark.parametrize(("args", "shape"), TIME_DISTRIBUTED_CASES, ids=str)
def test_time_distributed(args: dict[str, Any], shape: tuple[int, ...]) -> None:
    assert_kernel_matches_keras("TimeDistributed", args, [data(*shape)])


@pytest.mark.parametrize(
    ("args", "shape"),
    [
        ({"layer": {"Conv2D": {"filters": 3, "kernel_size": 2}}}, (2, 3, 5, 4, 2)),
        (
            {"layer": {"Conv2D": {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}}},
            (2, 2, 6, 5, 3),
        ),
        ({"layer": {"Embedding": {"input_dim": 7, "output_dim": 3}}}, (2, 3, 4)),
    ],
    ids=str,
)
def test_time_distributed_other_families(args: dict[str, Any], shape: tuple[int, ...]) -> None:
    (inner,) = args["layer"]
    if not registry.lookup(inner).has_kernel():
        pytest.skip(f"{inner} has no kernel yet")
    x = data(*shape)
    if inner == "Embedding":
        x = np.random.default_rng(1).integers(0, 7, shape).astype("int32")
        layer = create_layer("TimeDistributed", args, Namer())
        assert layer.integer_input_bound() == 7
    assert_kernel_matches_keras("TimeDistributed", args, [x])


# ----------------------------------------------------------------------------- ConvLSTM
def conv_lstm_cases() -> list[tuple[str, dict[str, Any], tuple[int, ...]]]:
    cases: list[tuple[str, dict[str, Any], tuple[int, ...]]] = []
    shapes = {1: (2, 3, 7, 2), 2: (2, 3, 6, 5, 2), 3: (1, 2, 4, 5, 4, 2)}
    first = {1: (2, 3, 2, 7), 2: (2, 3, 2, 6, 5), 3: (1, 2, 2, 4, 5, 4)}
    variants: list[dict[str, Any]] = [
        {"filters": 2, "kernel_size": 3},
        {"filters": 3, "kernel_size": 2, "padding": "same", "return_sequences": True},
        {"filters": 2, "kernel_size": 3, "strides": 2, "return_state": True},
        {
            "filters": 2,
            "kernel_size": 2,
            "strides": 2,
            "padding": "same",
            "go_backwards": True,
            "return_sequences": True,
            "return_state": True,
        },
        {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "use_bias": False},
        {
            "filters": 2,
            "kernel_size": 3,
            "padding": "same",
            "activation": "relu",
            "recurrent_activation": "hard_sigmoid",
            "return_sequences": True,
        },
    ]
    for rank in (1, 2, 3):
        for k, args in enumerate(variants):
            if rank == 3 and k not in (0, 3):
                continue  # 3-D is slow-ish in Keras; two variants cover its extra axis
            cases.append((f"ConvLSTM{rank}D", args, shapes[rank]))
            if k in (1, 2, 3):
                cases.append((f"ConvLSTM{rank}D", {**args, "data_format": "channels_first"}, first[rank]))
    return cases


@pytest.mark.parametrize(("layer", "args", "shape"), conv_lstm_cases(), ids=str)
def test_conv_lstm(layer: str, args: dict[str, Any], shape: tuple[int, ...]) -> None:
    assert_kernel_matches_keras(layer, args, [data(*shape)])


# ----------------------------------------------------------------------------- coverage
def test_every_layer_of_the_family_has_a_kernel() -> None:
    names = [
        "SimpleRNNCell",
        "GRUCell",
        "LSTMCell",
        "StackedRNNCells",
        "RNN",
        "SimpleRNN",
        "GRU",
        "LSTM",
        "Bidirectional",
        "TimeDistributed",
        "ConvLSTM1D",
        "ConvLSTM2D",
        "ConvLSTM3D",
    ]
    assert all(registry.lookup(name).has_kernel() for name in names)


# ----------------------------------------------------------------------------- a whole model, --run
RECURRENT_SPEC = """
inputs:
  seq: [6, 4]
  video: [3, 6, 5, 2]
layers:
  - Bidirectional: {name: bi, layer: {LSTM: {units: 3, return_sequences: true}}, inputs: seq}
  - GRU: {name: gru, units: 4, return_sequences: true, return_state: true, go_backwards: true}
  - TimeDistributed: {name: td, layer: {Dense: {units: 2, activation: relu}}, inputs: gru.0}
  - RNN: {name: stack, cell: [{LSTMCell: {units: 3}}, {SimpleRNNCell: {units: 2}}], inputs: td}
  - ConvLSTM2D: {name: clstm, filters: 2, kernel_size: 3, padding: same, return_sequences: true,
                inputs: video}
  - TimeDistributed: {name: td_conv, layer: {Conv2D: {filters: 2, kernel_size: 2}}, inputs: clstm}
outputs: [stack, gru.1, td_conv]
"""


def test_recurrent_model_run_equals_keras(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(RECURRENT_SPEC)
    rng = np.random.default_rng(3)
    inputs = {
        "seq": rng.standard_normal((2, 6, 4)).astype("float32"),
        "video": rng.standard_normal((2, 3, 6, 5, 2)).astype("float32"),
    }
    assert_run_matches_keras(path, yaml.safe_load(RECURRENT_SPEC), inputs, tmp_path)


@pytest.mark.parametrize("order", ["F", "C"])
@pytest.mark.parametrize("units", [1, 6, 128])
def test_sigmoid_gates_first_gives_the_keras_order_update_to_the_bit(order: str, units: int) -> None:
    """An LSTM's loop weights (gates reordered [i, f, o, c], the sigmoid gates halved) give
    the same h and c as the gates in Keras's order [i, f, c, o]: halving is exact."""
    from shapecalc.kernels import recurrent

    rng = np.random.default_rng(units)
    batch, features = 5, 7
    weights = {
        "kernel": rng.standard_normal((features, 4 * units)).astype("float32"),
        "recurrent_kernel": rng.standard_normal((units, 4 * units)).astype("float32"),
        "bias": rng.standard_normal(4 * units).astype("float32"),
    }
    x, h = rng.standard_normal((batch, features)), rng.standard_normal((batch, units))
    x, h = x.astype("float32"), h.astype("float32")
    c = rng.standard_normal((batch, units)).astype("float32")

    def pre_activations(w: dict[str, np.ndarray]) -> np.ndarray:
        z = np.asarray(x @ w["kernel"] + h @ w["recurrent_kernel"], order=order)
        z += w["bias"]
        return z

    prepared = recurrent.sigmoid_gates_first(weights, units)
    want_h, want_c = recurrent.lstm_update(pre_activations(weights), c, "sigmoid", "tanh")
    got_h, got_c = recurrent.lstm_update_sigmoid_gates_first(pre_activations(prepared), c)
    np.testing.assert_array_equal(got_h, want_h)
    np.testing.assert_array_equal(got_c, want_c)
    # the weights given are left as they were
    assert recurrent.SIGMOID_GATES_FIRST not in weights and weights["bias"].shape == (4 * units,)


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("implementation", [1, 2])
def test_lstm_loop_kernel_equals_the_step_by_step_loop_to_the_bit(
    monkeypatch: pytest.MonkeyPatch, return_sequences: bool, go_backwards: bool, implementation: int
) -> None:
    """LSTMCell.run_steps (kernels/recurrent.py: lstm_steps) makes the values a call of step per
    step makes, from zero states and from given ones."""

    cell = create_layer("LSTMCell", {"units": 5, "implementation": implementation}, Namer())
    rng = np.random.default_rng(implementation)
    weights = {
        "kernel": rng.standard_normal((3, 20)).astype("float32"),
        "recurrent_kernel": rng.standard_normal((5, 20)).astype("float32"),
        "bias": rng.standard_normal(20).astype("float32"),
    }
    x = rng.standard_normal((4, 6, 3)).astype("float32")
    given = [rng.standard_normal((4, 5)).astype("float32") for _ in range(2)]
    for initial in (None, given):
        assert_loop_kernel_is_the_step_loop(
            monkeypatch, cell, weights, x, go_backwards, return_sequences, initial
        )


def assert_loop_kernel_is_the_step_loop(
    monkeypatch: pytest.MonkeyPatch,
    cell: Any,
    weights: dict[str, np.ndarray],
    x: np.ndarray,
    go_backwards: bool,
    return_sequences: bool,
    initial: list[np.ndarray] | None,
) -> None:
    """The cell's run_steps gives, to the bit, the outputs and states of a step call per step."""
    from shapecalc.kernels import recurrent

    fast = recurrent.run_over_time(cell, weights, x, go_backwards, return_sequences, None, initial)
    with monkeypatch.context() as patch:
        patch.setattr(type(cell), "run_steps", lambda *args: None)
        slow = recurrent.run_over_time(cell, weights, x, go_backwards, return_sequences, None, initial)
    for got, want in zip([fast[0], *fast[1]], [slow[0], *slow[1]], strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("activation", ["tanh", "relu", "gelu", "softmax"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_simple_rnn_loop_kernel_equals_the_step_by_step_loop_to_the_bit(
    monkeypatch: pytest.MonkeyPatch, activation: str, return_sequences: bool
) -> None:
    """SimpleRNNCell.run_steps (kernels/recurrent.py: simple_steps) makes the values a call of
    step per step makes; an activation along an axis (softmax) takes the step-by-step loop."""

    cell = create_layer("SimpleRNNCell", {"units": 5, "activation": activation}, Namer())
    rng = np.random.default_rng(11)
    weights = {
        "kernel": rng.standard_normal((3, 5)).astype("float32"),
        "recurrent_kernel": rng.standard_normal((5, 5)).astype("float32"),
        "bias": rng.standard_normal(5).astype("float32"),
    }
    x = rng.standard_normal((4, 6, 3)).astype("float32")
    for initial in (None, [rng.standard_normal((4, 5)).astype("float32")]):
        assert_loop_kernel_is_the_step_loop(monkeypatch, cell, weights, x, False, return_sequences, initial)
