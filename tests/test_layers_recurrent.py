"""Recurrent family against Keras: SimpleRNN, GRU, LSTM, the cells, RNN, Bidirectional, TimeDistributed.

Every comparison builds the layer in real Keras (tests/oracle.py) and in shapecalc and checks that both
refuse, or agree on output shapes, parameter counts and weight paths/shapes.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_check import assert_same_as_keras

Case = tuple[str, dict[str, Any], list[tuple[int | None, ...]]]

RNNS = ("SimpleRNN", "GRU", "LSTM")
CELLS = {"SimpleRNN": "SimpleRNNCell", "GRU": "GRUCell", "LSTM": "LSTMCell"}


def ids(case: Case) -> str:
    return f"{case[0]}-{case[1]}-{case[2]}"


def per_argument_cases() -> list[tuple[dict[str, Any], list[tuple[int | None, ...]]]]:
    """Argument checks shared by the three layers; each case runs on one of them in turn."""
    return [
        ({"units": 4, "use_bias": 0, "return_state": True}, [(2, 5, 3)]),
        ({"units": 4, "unroll": True}, [(2, 5, 3)]),
        ({"units": 4, "unroll": True}, [(2, None, 3)]),  # Keras builds it; only running fails
        ({"units": 4, "stateful": True, "return_state": True}, [(None, 5, 3)]),
        ({"units": 4, "dropout": 1.5, "recurrent_dropout": -2}, [(2, 5, 3)]),  # clamped
        ({"units": 4, "dropout": 0.3, "recurrent_dropout": 0.2, "seed": 7}, [(2, 5, 3)]),
        ({"units": 4, "dropout": True}, [(2, 5, 3)]),
        ({"units": 4, "zero_output_for_mask": True}, [(2, 5, 3)]),
        ({"units": 4, "activation": "relu", "kernel_initializer": "he_normal"}, [(2, 5, 3)]),
        ({"units": 4, "activation": None}, [(2, 5, 3)]),
        ({"units": 4, "kernel_regularizer": "l2", "recurrent_constraint": "non_neg"}, [(2, 5, 3)]),
        ({"units": 4, "bias_initializer": "ones", "recurrent_initializer": "glorot_uniform"}, [(2, 5, 3)]),
        ({"units": 4, "activity_regularizer": "l1", "name": "rec"}, [(2, 5, 3)]),
        ({"units": 4, "seed": 2**32 - 1}, [(2, 5, 3)]),
        ({"units": 4, "seed": True}, [(2, 5, 3)]),
        ({"units": 4, "dtype": "mixed_float16"}, [(2, 5, 3)]),
        ({"units": 4}, [(2,)]),
        ({"units": -3}, [(2, 5, 3)]),
        ({"units": 2.5}, [(2, 5, 3)]),
        ({"units": 2.0}, [(2, 5, 3)]),
        ({"units": "3"}, [(2, 5, 3)]),
        ({"units": None}, [(2, 5, 3)]),
        ({"units": 4, "dropout": None}, [(2, 5, 3)]),
        ({"units": 4, "recurrent_dropout": "0.5"}, [(2, 5, 3)]),
        ({"units": 4, "seed": -1}, [(2, 5, 3)]),
        ({"units": 4, "seed": 2**32}, [(2, 5, 3)]),
        ({"units": 4, "seed": 1.5}, [(2, 5, 3)]),
        ({"units": 4, "seed": "x"}, [(2, 5, 3)]),
        ({"units": 4, "activation": "tanhh"}, [(2, 5, 3)]),
        ({"units": 4, "kernel_initializer": "nope"}, [(2, 5, 3)]),
        ({"units": 4, "stateful": True}, [(None, 5, 3)]),
        ({"units": 4, "return_sequence": True}, [(2, 5, 3)]),
        ({"units": 4, "cell": {"LSTMCell": {"units": 4}}}, [(2, 5, 3)]),
    ]


# ----------------------------------------------------------------------------- SimpleRNN, GRU, LSTM
def rnn_cases() -> list[Case]:
    cases: list[Case] = []
    for kind in RNNS:
        for seq in (False, True):
            for state in (False, True):
                args = {"units": 1 if seq == state else 5, "return_sequences": seq, "return_state": state}
                cases.append((kind, args, [(2, 7, 3)]))
        for shape in [(None, None, 4), (None, 6, 1), (3, None, 2), (0, 5, 3), (2, 0, 3), (2, 5, 0)]:
            cases.append((kind, {"units": 3, "return_sequences": True, "return_state": True}, [shape]))
    for i, (args, shapes) in enumerate(per_argument_cases()):
        cases.append((RNNS[i % 3], args, shapes))
    for kind in RNNS:
        cases += [
            (kind, {"units": 4, "use_bias": False}, [(2, 5, 3)]),
            (kind, {"units": 4, "trainable": False}, [(2, 5, 3)]),
            (kind, {"units": 4, "go_backwards": True, "return_sequences": True}, [(2, 5, 3)]),
            (kind, {"units": 4, "stateful": True}, [(2, 5, 3)]),
            (kind, {"units": 4}, [(2, 5)]),
            (kind, {"units": 4}, [(2, 5, 3, 3)]),
            (kind, {"units": 4}, [(2, 5, None)]),
            (kind, {"units": 0}, [(2, 5, 3)]),
            (kind, {}, [(2, 5, 3)]),
        ]
    gated: list[dict[str, Any]] = [
        {"recurrent_activation": "hard_sigmoid"},
        {"implementation": 1},
        {"implementation": 7},
        {"use_cudnn": True},
        {"use_cudnn": False},
        {"use_cudnn": 1},
        {"use_cudnn": 0},
        {"use_cudnn": "AUTO"},
        {"use_cudnn": None},
        {"use_cudnn": "x"},
    ]
    for i, args in enumerate(gated):
        cases.append((("GRU", "LSTM")[i % 2], {"units": 4, **args}, [(2, 5, 3)]))
    for reset_after in (True, False, 0, 1, "x"):
        for use_bias in (True, False):
            cases.append(
                ("GRU", {"units": 5, "reset_after": reset_after, "use_bias": use_bias}, [(2, None, 3)])
            )
    cases += [
        ("LSTM", {"units": 4, "unit_forget_bias": False}, [(2, 5, 3)]),
        ("LSTM", {"units": 4, "unit_forget_bias": "x"}, [(2, 5, 3)]),
        ("LSTM", {"units": 4, "reset_after": True}, [(2, 5, 3)]),
        ("GRU", {"units": 4, "unit_forget_bias": True}, [(2, 5, 3)]),
        ("SimpleRNN", {"units": 4, "recurrent_activation": "sigmoid"}, [(2, 5, 3)]),
        ("SimpleRNN", {"units": 4, "implementation": 1}, [(2, 5, 3)]),
        ("SimpleRNN", {"units": 4, "use_cudnn": True}, [(2, 5, 3)]),
        ("SimpleRNN", {"units": 4, "reset_after": True}, [(2, 5, 3)]),
    ]
    return cases


# ----------------------------------------------------------------------------- cells and RNN
def generic_cell_cases(cell: str) -> list[Case]:
    return [
        (cell, {"units": 4}, [(2, 5, 3)]),
        ("RNN", {"cell": {cell: {"units": 4, "use_bias": False, "name": "c"}}}, [(2, 5, 3)]),
        ("RNN", {"cell": {cell: {"units": 4, "trainable": False}}}, [(2, 5, 3)]),
        ("RNN", {"cell": {cell: {"units": 4}}, "trainable": False}, [(2, 5, 3)]),
        ("RNN", {"cell": {cell: {"units": 4}}, "go_backwards": True, "unroll": True}, [(2, 5, 3)]),
        ("RNN", {"cell": {cell: {"units": 4}}, "zero_output_for_mask": True}, [(2, 5, 3)]),
        ("RNN", {"cell": {cell: {"units": 4}}, "return_sequences": True}, [(2, 3)]),
        ("RNN", {"cell": {cell: {"units": 4}}}, [(2, 3, 4, 5)]),
        ("RNN", {"cell": {cell: {"units": 4}}}, [(None, 3)]),
        ("RNN", {"cell": {cell: {"units": 4}}}, [(2,)]),
        ("RNN", {"cell": {cell: {"units": 4}}}, [(2, 5, None)]),
        ("RNN", {"cell": {cell: {"units": 4}}, "stateful": True}, [(None, 5, 3)]),
        ("RNN", {"cell": {cell: {"units": 4}}, "stateful": True}, [(3, 5, 3)]),
        ("RNN", {"cell": {cell: {"units": 0}}}, [(2, 5, 3)]),
        ("RNN", {"cell": {cell: {"units": 4, "return_sequences": True}}}, [(2, 5, 3)]),
        ("RNN", {"cell": {cell: {"units": 4}}, "units": 4}, [(2, 5, 3)]),
    ]


def cell_cases() -> list[Case]:
    cases: list[Case] = []
    names = list(CELLS.values())
    for cell in names:
        cases += [
            (cell, {"units": 4}, [(2, 3)]),  # a cell is not called on a tensor by itself
            ("RNN", {"cell": {cell: {"units": 4}}}, [(2, 5, 3)]),
            ("RNN", {"cell": {cell: {"units": 4}}, "return_state": True}, [(2, None, 3)]),
            (
                "RNN",
                {"cell": {cell: {"units": 4}}, "return_sequences": True, "return_state": True},
                [(None, 6, 2)],
            ),
            # no InputSpec: the step shape (B, *input[2:]) sizes the kernel, whatever the rank
            ("RNN", {"cell": {cell: {"units": 4}}}, [(2, 3)]),
        ]
    # each generic case on one cell type in turn
    for i in range(len(generic_cell_cases("x"))):
        cases.append(generic_cell_cases(names[i % 3])[i])
    cases += [
        ("GRUCell", {"units": 4, "reset_after": False}, [(2, 3)]),
        ("RNN", {"cell": {"GRUCell": {"units": 4, "reset_after": False}}}, [(2, 5, 3)]),
        (
            "RNN",
            {"cell": {"LSTMCell": {"units": 4, "implementation": 1, "unit_forget_bias": False}}},
            [(2, 5, 3)],
        ),
        ("RNN", {"cell": {"SimpleRNNCell": {"units": 4, "implementation": 1}}}, [(2, 5, 3)]),
        # a recurrent layer has a state size, so it serves as a cell (built on the step shape)
        ("RNN", {"cell": {"LSTM": {"units": 4}}}, [(2, 3, 4)]),
        ("RNN", {"cell": {"GRU": {"units": 4}}, "return_state": True}, [(2, 3, 4)]),
        (
            "RNN",
            {"cell": {"RNN": {"cell": {"LSTMCell": {"units": 3}}}}, "return_state": True},
            [(2, 3, 4, 5)],
        ),
        ("RNN", {"cell": {"Dense": {"units": 4}}}, [(2, 3, 4)]),
        ("RNN", {"cell": {"Bidirectional": {"layer": {"LSTM": {"units": 4}}}}}, [(2, 3, 4)]),
        ("RNN", {}, [(2, 3, 4)]),
    ]
    return cases


# ----------------------------------------------------------------------------- Bidirectional
def bidirectional_cases() -> list[Case]:
    cases: list[Case] = []
    i = 0
    for merge in ("concat", "sum", "mul", "ave", None):
        for seq in (False, True):
            for state in (False, True):
                layer = {RNNS[i % 3]: {"units": 3, "return_sequences": seq, "return_state": state}}
                cases.append(("Bidirectional", {"layer": layer, "merge_mode": merge}, [(2, None, 4)]))
                i += 1
    for kind in RNNS:
        cases += [
            ("Bidirectional", {"layer": {kind: {"units": 3, "go_backwards": True}}}, [(2, 5, 4)]),
            ("Bidirectional", {"layer": {kind: {"units": 3, "go_backwards": 1}}}, [(2, 5, 4)]),
            ("Bidirectional", {"layer": {kind: {"units": 3}}}, [(2, 5)]),
            ("Bidirectional", {"layer": {kind: {"units": 3}}}, [(2, 5, None)]),
            ("Bidirectional", {"layer": {CELLS[kind]: {"units": 3}}}, [(2, 5, 4)]),
        ]
    # (inner layer arguments, Bidirectional arguments, input shape), each on one layer type in turn
    rotated: list[tuple[dict[str, Any], dict[str, Any], tuple[int | None, ...]]] = [
        ({}, {}, (None, 5, 4)),
        ({"go_backwards": "y"}, {}, (2, 5, 4)),
        ({"stateful": True}, {}, (None, 5, 4)),
        ({"stateful": True}, {}, (2, 5, 4)),
        ({"stateful": True, "return_state": True}, {}, (2, 5, 4)),
        ({"stateful": True, "return_state": True, "return_sequences": True}, {}, (2, 5, 4)),
        ({"stateful": True, "return_state": True}, {"merge_mode": None}, (2, 5, 4)),
        ({"trainable": False}, {}, (2, 5, 4)),
        ({}, {"trainable": False}, (2, 5, 4)),
        ({"name": "forward_x"}, {}, (2, 5, 4)),
        ({"name": "backward_x"}, {}, (2, 5, 4)),
        ({}, {"name": "bi"}, (2, 5, 4)),
        ({}, {"weights": [1, 2]}, (2, 5, 4)),
        ({}, {"weights": []}, (2, 5, 4)),
        ({}, {"weights": 0}, (2, 5, 4)),
        ({}, {"weights": 5}, (2, 5, 4)),
        ({}, {"weights": True}, (2, 5, 4)),
        ({}, {"weights": {"a": 1}}, (2, 5, 4)),
        ({}, {"weights": "ab"}, (2, 5, 4)),
        ({}, {"merge_mode": "Sum"}, (2, 5, 4)),
        ({}, {"merge_mode": "max"}, (2, 5, 4)),
        ({}, {"merge_mode": 0}, (2, 5, 4)),
    ]
    for i, (inner, outer, shape) in enumerate(rotated):
        cases.append(("Bidirectional", {"layer": {RNNS[i % 3]: {"units": 3, **inner}}, **outer}, [shape]))
    back = {"units": 6, "go_backwards": True}
    cases += [
        ("Bidirectional", {"layer": {"LSTM": {"units": 4}}, "backward_layer": {"LSTM": back}}, [(2, 5, 3)]),
        (
            "Bidirectional",
            {"layer": {"LSTM": {"units": 4}}, "backward_layer": {"LSTM": back}, "merge_mode": "sum"},
            [(2, 5, 3)],
        ),
        (
            "Bidirectional",
            {"layer": {"LSTM": {"units": 4}}, "backward_layer": {"GRU": back}, "merge_mode": None},
            [(2, 5, 3)],
        ),
        (
            "Bidirectional",
            {
                "layer": {"LSTM": {"units": 4, "return_state": True}},
                "backward_layer": {"GRU": {**back, "return_state": True}},
            },
            [(2, 5, 3)],
        ),
        (
            "Bidirectional",
            {"layer": {"LSTM": {"units": 4}}, "backward_layer": {"GRU": {**back, "return_state": True}}},
            [(2, 5, 3)],
        ),
        (
            "Bidirectional",
            {"layer": {"LSTM": {"units": 4}}, "backward_layer": {"GRU": {**back, "return_sequences": True}}},
            [(2, 5, 3)],
        ),
        (
            "Bidirectional",
            {"layer": {"LSTM": {"units": 4}}, "backward_layer": {"GRU": {**back, "stateful": True}}},
            [(2, 5, 3)],
        ),
        (
            "Bidirectional",
            {"layer": {"LSTM": {"units": 4, "go_backwards": True}}, "backward_layer": {"GRU": {"units": 6}}},
            [(2, 5, 3)],
        ),
        (
            "Bidirectional",
            {"layer": {"LSTM": {"units": 4}}, "backward_layer": {"GRU": {"units": 6}}},
            [(2, 5, 3)],
        ),
        (
            "Bidirectional",
            {
                "layer": {"LSTM": {"units": 4, "go_backwards": True}},
                "backward_layer": {"GRU": {"units": 6, "go_backwards": 1}},
            },
            [(2, 5, 3)],
        ),
        (
            "Bidirectional",
            {
                "layer": {"LSTM": {"units": 4, "go_backwards": "a"}},
                "backward_layer": {"GRU": {"units": 6, "go_backwards": "b"}},
            },
            [(2, 5, 3)],
        ),
        (
            "Bidirectional",
            {"layer": {"LSTM": {"units": 4}}, "backward_layer": {"Dense": {"units": 4}}},
            [(2, 5, 3)],
        ),
        ("Bidirectional", {"layer": {"LSTM": {"units": 4}}, "backward_layer": {"LSTM": back}}, [(2, 5)]),
        ("Bidirectional", {"layer": {"Dense": {"units": 4}}}, [(2, 5, 3)]),
        ("Bidirectional", {"layer": {"Bidirectional": {"layer": {"LSTM": {"units": 4}}}}}, [(2, 5, 3)]),
        ("Bidirectional", {"layer": {"LSTM": {"units": 0}}}, [(2, 5, 3)]),
        ("Bidirectional", {}, [(2, 5, 3)]),
        ("Bidirectional", {"layer": {"RNN": {"cell": {"LSTMCell": {"units": 4}}}}}, [(2, 5, 3)]),
        (
            "Bidirectional",
            {
                "layer": {"RNN": {"cell": {"GRUCell": {"units": 4}}, "return_state": True}},
                "merge_mode": "ave",
            },
            [(2, 5, 3)],
        ),
        ("Bidirectional", {"layer": {"RNN": {"cell": {"LSTMCell": {"units": 4}}}}}, [(2, 5)]),
        ("Bidirectional", {"layer": {"RNN": {"cell": {"LSTMCell": {"units": 4}}}}}, [(2,)]),
        ("Bidirectional", {"layer": {"RNN": {"cell": {"LSTM": {"units": 4}}}}}, [(2, 5, 3)]),
    ]
    return cases


# ----------------------------------------------------------------------------- TimeDistributed
def time_distributed_cases() -> list[Case]:
    td = "TimeDistributed"
    return [
        (td, {"layer": {"Dense": {"units": 4}}}, [(2, 5, 3)]),
        (td, {"layer": {"Dense": {"units": 4}}}, [(None, None, 7, 3)]),
        (td, {"layer": {"Dense": {"units": 4}}}, [(None, None, None)]),
        (td, {"layer": {"Dense": {"units": 4}}}, [(2, 5)]),
        (td, {"layer": {"Dense": {"units": 4}}, "trainable": False}, [(2, 5, 3)]),
        (td, {"layer": {"Dense": {"units": 4, "trainable": False}}}, [(2, 5, 3)]),
        (td, {"layer": {"Conv2D": {"filters": 4, "kernel_size": 3}}}, [(2, 5, 8, 8, 3)]),
        (td, {"layer": {"Conv2D": {"filters": 4, "kernel_size": 3}}}, [(2, 5, 2, 2, 3)]),
        (td, {"layer": {"Conv2D": {"filters": 4, "kernel_size": 3}}}, [(2, 5, 8, 3)]),
        (td, {"layer": {"Conv1D": {"filters": 4, "kernel_size": 3, "padding": "same"}}}, [(None, 5, 8, 3)]),
        (td, {"layer": {"Flatten": {}}}, [(2, 5, 2, 2, 3)]),
        (td, {"layer": {"Flatten": {}}}, [(2, 5, 2)]),
        (td, {"layer": {"Dropout": {"rate": 0.5}}}, [(2, 5, 1, 3)]),
        (td, {"layer": {"MaxPooling1D": {}}}, [(2, 5, 4, 3)]),
        (td, {"layer": {"Add": {}}}, [(2, 5, 4)]),
        (td, {"layer": {"LSTM": {"units": 3}}}, [(2, 5, 2, 2)]),
        (td, {"layer": {"LSTM": {"units": 3, "return_sequences": True}}}, [(None, None, 2, 2)]),
        (td, {"layer": {"LSTM": {"units": 3}}}, [(2, 5, 2)]),  # Keras sizes the kernel from the batch
        (td, {"layer": {"LSTM": {"units": 3}}}, [(2, 5, 2, 2, 2)]),
        (td, {"layer": {"LSTM": {"units": 3, "return_state": True}}}, [(2, 5, 2, 2)]),
        (td, {"layer": {"Bidirectional": {"layer": {"GRU": {"units": 3}}}}}, [(2, 5, 1, 3)]),
        (td, {"layer": {"Bidirectional": {"layer": {"LSTM": {"units": 3}}}}}, [(2, 5, 3)]),
        (td, {"layer": {td: {"layer": {"Dense": {"units": 3}}}}}, [(2, 5, 3, 3)]),
        (td, {"layer": {td: {"layer": {"Dense": {"units": 3}}}}}, [(2, 5, 3)]),
        (td, {"layer": {"LSTMCell": {"units": 3}}}, [(2, 5, 3)]),
        (td, {}, [(2, 5, 3)]),
    ]


# ----------------------------------------------------------------------------- ConvLSTM1D/2D/3D
def conv_lstm_cases() -> list[Case]:
    c1, c2, c3 = "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"
    first = {"data_format": "channels_first"}
    cases: list[Case] = []
    for seq in (False, True):
        for state in (False, True):
            flags = {"return_sequences": seq, "return_state": state}
            cases += [
                (c1, {"filters": 4, "kernel_size": 3, **flags}, [(2, None, 8, 3)]),
                (c2, {"filters": 4, "kernel_size": 3, **flags, **first}, [(2, 5, 3, 8, 7)]),
                (
                    c3,
                    {"filters": 2, "kernel_size": (1, 2, 3), "strides": 2, **flags},
                    [(None, 5, 8, 8, 8, 3)],
                ),
            ]
    cases += [
        (c1, {"filters": 4, "kernel_size": 3, "padding": "SAME", "unroll": True}, [(2, 5, 8, 3)]),
        (c1, {"filters": 4, "kernel_size": 3, "padding": "causal"}, [(2, 5, 8, 3)]),
        (c1, {"filters": 4, "kernel_size": 5, "dilation_rate": 2, **first}, [(2, 5, 3, 9)]),
        (c1, {"filters": 4, "kernel_size": 5, "dilation_rate": 2}, [(2, 5, 8, 3)]),  # 8 - 8 = 0: refused
        (c2, {"filters": 4, "kernel_size": 3}, [(2, 5, 2, 8, 3)]),
        (c2, {"filters": 4, "kernel_size": 3, "padding": "same"}, [(2, 5, 2, 8, 3)]),
        (c2, {"filters": 4, "kernel_size": 3, "strides": (2, 1)}, [(2, 5, 9, 8, 3)]),
        (c2, {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, [(2, 5, 9, 8, 3)]),
        (c2, {"filters": 4, "kernel_size": 3, "dilation_rate": (2, 1)}, [(2, 5, 9, 8, 3)]),
        (c2, {"filters": 4, "kernel_size": 3, "strides": 0}, [(2, 5, 9, 8, 3)]),
        (c2, {"filters": 0, "kernel_size": 3}, [(2, 5, 9, 8, 3)]),
        (c2, {"filters": -1, "kernel_size": 3}, [(2, 5, 9, 8, 3)]),
        (c2, {"filters": 4.0, "kernel_size": 3}, [(2, 5, 9, 8, 3)]),
        (c2, {"filters": 4, "kernel_size": (3, 3, 3)}, [(2, 5, 9, 8, 3)]),
        (c2, {"filters": 4}, [(2, 5, 9, 8, 3)]),
        (
            c2,
            {"filters": 4, "kernel_size": 3, "use_bias": False, "unit_forget_bias": False},
            [(2, 5, 9, 8, 3)],
        ),
        (c2, {"filters": 4, "kernel_size": 3, "trainable": False, "dropout": 2}, [(2, 5, 9, 8, 3)]),
        (c2, {"filters": 4, "kernel_size": 3, "stateful": True}, [(None, 5, 9, 8, 3)]),
        (c2, {"filters": 4, "kernel_size": 3, "stateful": True}, [(2, 5, 9, 8, 3)]),
        (c2, {"filters": 4, "kernel_size": 3}, [(2, 5, None, 8, 3)]),
        (c2, {"filters": 4, "kernel_size": 3}, [(2, 5, 9, 8, None)]),
        (c2, {"filters": 4, "kernel_size": 3}, [(2, 0, 9, 8, 0)]),
        (c2, {"filters": 4, "kernel_size": 3}, [(2, 5, 9, 8)]),
        (c2, {"filters": 4, "kernel_size": 3}, [(2, 5, 9, 8, 3, 3)]),
        (c2, {"filters": 4, "kernel_size": 3, "use_cudnn": True}, [(2, 5, 9, 8, 3)]),
        (c2, {"filters": 4, "kernel_size": 3, "implementation": 1}, [(2, 5, 9, 8, 3)]),
        (c2, {"filters": 4, "kernel_size": 3, "groups": 1}, [(2, 5, 9, 8, 3)]),
        (c2, {"filters": 4, "kernel_size": 3, "seed": -1}, [(2, 5, 9, 8, 3)]),
        (c3, {"filters": 4, "kernel_size": 3}, [(2, 5, 4, 4, 4)]),
        ("RNN", {"cell": {c2: {"filters": 4, "kernel_size": 3}}}, [(2, 5, 9, 8, 3)]),
        (
            "Bidirectional",
            {"layer": {c2: {"filters": 4, "kernel_size": 3, "return_state": True, **first}}},
            [(2, 5, 3, 9, 8)],
        ),
        (
            "Bidirectional",
            {"layer": {c1: {"filters": 4, "kernel_size": 3}}, "merge_mode": None},
            [(2, 5, 9, 3)],
        ),
        ("TimeDistributed", {"layer": {c1: {"filters": 4, "kernel_size": 3}}}, [(2, 6, 5, 9, 3)]),
    ]
    return cases


ALL_CASES = rnn_cases() + cell_cases() + bidirectional_cases() + time_distributed_cases() + conv_lstm_cases()


@pytest.mark.parametrize("case", ALL_CASES, ids=ids)
def test_against_keras(case: Case) -> None:
    assert_same_as_keras(*case)


# ----------------------------------------------------------------------------- hand derivations
def test_hand_derived_counts() -> None:
    # LSTM: 4u(F+u+1); GRU reset_after: 3u(F+u+2); GRU classic: 3u(F+u+1); SimpleRNN: u(F+u+1)
    from layer_check import shapecalc_layer_facts

    for kind, extra, expected in [
        ("LSTM", {}, 4 * 8 * (5 + 8 + 1)),
        ("GRU", {}, 3 * 8 * (5 + 8 + 2)),
        ("GRU", {"reset_after": False}, 3 * 8 * (5 + 8 + 1)),
        ("SimpleRNN", {}, 8 * (5 + 8 + 1)),
    ]:
        facts = shapecalc_layer_facts(kind, {"units": 8, **extra}, [(None, 10, 5)])
        assert (facts.trainable, facts.non_trainable) == (expected, 0)
        bi = shapecalc_layer_facts("Bidirectional", {"layer": {kind: {"units": 8, **extra}}}, [(None, 10, 5)])
        assert (bi.trainable, bi.output) == (2 * expected, (None, 16))


# ----------------------------------------------------------------------------- properties
ranks = st.sampled_from([2, 3, 3, 3, 3, 4])
dims = st.one_of(st.none(), st.integers(0, 6))


@st.composite
def input_shapes(draw: st.DrawFn) -> tuple[int | None, ...]:
    rank = draw(ranks)
    return tuple(draw(dims) for _ in range(rank))


@st.composite
def rnn_args(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    args: dict[str, Any] = {"units": draw(st.one_of(st.integers(-1, 6), st.sampled_from([2.5, None])))}
    optional: dict[str, st.SearchStrategy[Any]] = {
        "return_sequences": st.booleans(),
        "return_state": st.booleans(),
        "go_backwards": st.booleans(),
        "stateful": st.booleans(),
        "unroll": st.booleans(),
        "use_bias": st.booleans(),
        "trainable": st.booleans(),
        "dropout": st.sampled_from([0.0, 0.5, 2, -1, None]),
        "seed": st.sampled_from([None, 0, 3, -1]),
        "activation": st.sampled_from(["tanh", "relu", None, "bogus"]),
    }
    if kind != "SimpleRNN":
        optional["recurrent_activation"] = st.sampled_from(["sigmoid", "hard_sigmoid"])
        optional["use_cudnn"] = st.sampled_from(["auto", True, False, "no"])
        optional["implementation"] = st.sampled_from([1, 2])
    if kind == "GRU":
        optional["reset_after"] = st.booleans()
    if kind == "LSTM":
        optional["unit_forget_bias"] = st.booleans()
    chosen = draw(st.lists(st.sampled_from(sorted(optional)), max_size=5, unique=True))
    for key in chosen:
        args[key] = draw(optional[key])
    return args


@settings(max_examples=80, deadline=None, derandomize=True)
@given(kind=st.sampled_from(RNNS), data=st.data())
def test_random_rnn(kind: str, data: st.DataObject) -> None:
    args = data.draw(rnn_args(kind))
    assert_same_as_keras(kind, args, [data.draw(input_shapes())])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(kind=st.sampled_from(RNNS), data=st.data())
def test_random_bidirectional(kind: str, data: st.DataObject) -> None:
    inner = data.draw(rnn_args(kind))
    args: dict[str, Any] = {"layer": {kind: inner}}
    if data.draw(st.booleans()):
        args["merge_mode"] = data.draw(st.sampled_from(["concat", "sum", "mul", "ave", None, "max"]))
    if data.draw(st.integers(0, 3)) == 0:
        back = data.draw(rnn_args(data.draw(st.sampled_from(RNNS))))
        back["go_backwards"] = not inner.get("go_backwards", False)
        for key in ("return_sequences", "return_state", "stateful"):
            if key in inner:
                back[key] = inner[key]
        args["backward_layer"] = {data.draw(st.sampled_from(RNNS)): back}
    assert_same_as_keras("Bidirectional", args, [data.draw(input_shapes())])


@settings(max_examples=40, deadline=None, derandomize=True)
@given(cell=st.sampled_from(sorted(CELLS.values())), data=st.data())
def test_random_rnn_with_cell(cell: str, data: st.DataObject) -> None:
    kind = {v: k for k, v in CELLS.items()}[cell]
    cell_args = data.draw(rnn_args(kind))
    layer_keys = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll")
    args = {k: cell_args.pop(k) for k in layer_keys if k in cell_args}
    cell_args.pop("use_cudnn", None)
    args["cell"] = {cell: cell_args}
    assert_same_as_keras("RNN", args, [data.draw(input_shapes())])


@settings(max_examples=50, deadline=None, derandomize=True)
@given(rank=st.sampled_from([1, 2]), data=st.data())
def test_random_conv_lstm(rank: int, data: st.DataObject) -> None:
    small = st.integers(1, 3)
    args: dict[str, Any] = {
        "filters": data.draw(st.integers(0, 4)),
        "kernel_size": data.draw(st.one_of(small, st.lists(small, min_size=rank, max_size=rank))),
        "strides": data.draw(st.one_of(small, st.lists(small, min_size=rank, max_size=rank))),
        "dilation_rate": data.draw(st.sampled_from([1, 2])),
        "padding": data.draw(st.sampled_from(["valid", "same", "Same"])),
        "data_format": data.draw(st.sampled_from(["channels_last", "channels_first"])),
        "return_sequences": data.draw(st.booleans()),
        "return_state": data.draw(st.booleans()),
    }
    shape = (
        data.draw(st.sampled_from([None, 2])),
        data.draw(dims),
        *(data.draw(st.integers(1, 7)) for _ in range(rank + 1)),
    )
    kind = f"ConvLSTM{rank}D"
    if data.draw(st.booleans()):
        assert_same_as_keras("Bidirectional", {"layer": {kind: args}}, [shape])
    else:
        assert_same_as_keras(kind, args, [shape])
