"""The operations Keras records to compute masks (NotEqual, Any, LogicalOr, ConvertToTensor,
and Concatenate's ExpandDims, ZerosLike, OnesLike, Concatenate)
are rows of a functional model's summary: random models with masks, written as specs, are
built in Keras by the oracle, and shapecalc's summary text (at 80 and 200 columns) and its rows
must be Keras's, Keras's model.operations in name, type and order."""

from __future__ import annotations

import random
from typing import Any

import keras
import pytest
from model_check import shapecalc_summary_text
from oracle import ModelFacts, build_keras_model, model_facts

from shapecalc.api import analyze_data
from shapecalc.costs import model_costs
from shapecalc.render.json_report import report

SEQUENCE = 6


class _Draw:
    """A random functional spec over the layers that make, pass, merge or read Keras masks."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.layers: list[dict[str, Any]] = []
        self.sequences: list[tuple[str, int]] = []  # (name, features) of (batch, steps, features) tensors
        self.others: list[str] = []  # tensors of other ranks, for the outputs
        self.count = 0

    def name(self) -> str:
        self.count += 1
        return f"l{self.count}"

    def add(self, kind: str, args: dict[str, Any], inputs: Any) -> str:
        name = self.name()
        self.layers.append({kind: {"name": name, "inputs": inputs, **args}})
        return name

    def step(self) -> None:
        rng = self.rng
        x, features = rng.choice(self.sequences)
        choice = rng.choice(
            [
                "embed",
                "mask",
                "dense",
                "dropout",
                "rnn",
                "bidirectional",
                "time",
                "pool",
                "merge",
                "merge",
                "attention",
                "mha",
                "conv",
                "concatenate",
                "concatenate",
            ]
        )
        if choice == "embed":
            name = self.add(
                "Embedding", {"input_dim": 9, "output_dim": 4, "mask_zero": rng.random() < 0.8}, "tok"
            )
            self.sequences.append((name, 4))
        elif choice == "mask":
            self.sequences.append((self.add("Masking", {"mask_value": rng.choice([0.0, 1.0])}, x), features))
        elif choice == "dense":
            units = rng.choice([2, 4])
            self.sequences.append((self.add("Dense", {"units": units}, x), units))
        elif choice == "dropout":
            self.sequences.append((self.add("Dropout", {"rate": 0.1}, x), features))
        elif choice in ("rnn", "bidirectional"):
            kind = rng.choice(["LSTM", "GRU", "SimpleRNN"])
            sequences = rng.random() < 0.6
            cell = {kind: {"units": 3, "return_sequences": sequences}}
            if choice == "bidirectional":
                name = self.add("Bidirectional", {"layer": cell}, x)
                units = 6
            else:
                name = self.add(kind, cell[kind], x)
                units = 3
            (self.sequences if sequences else self.others).append((name, units) if sequences else name)
        elif choice == "time":
            self.sequences.append((self.add("TimeDistributed", {"layer": {"Dense": {"units": 2}}}, x), 2))
        elif choice == "pool":
            self.others.append(self.add("GlobalAveragePooling1D", {}, x))
        elif choice == "merge":
            same = [name for name, f in self.sequences if f == features]
            other = rng.choice(same)
            kind = rng.choice(["Add", "Multiply", "Average", "Maximum", "Minimum", "Subtract"])
            self.sequences.append((self.add(kind, {}, [x, other]), features))
        elif choice == "attention":
            same = [name for name, f in self.sequences if f == features]
            kind = rng.choice(["Attention", "AdditiveAttention"])
            self.sequences.append((self.add(kind, {}, [x, rng.choice(same)]), features))
        elif choice == "mha":
            self.sequences.append(
                (
                    self.add(
                        "MultiHeadAttention",
                        {"num_heads": 1, "key_dim": 2},
                        [x, rng.choice(self.sequences)[0]],
                    ),
                    features,
                )
            )
        elif choice == "concatenate":
            other, more = rng.choice(self.sequences)
            self.sequences.append((self.add("Concatenate", {}, [x, other]), features + more))
        else:
            self.sequences.append((self.add("Conv1D", {"filters": 2, "kernel_size": 1}, x), 2))

    def spec(self) -> dict[str, Any]:
        self.sequences.append(
            (self.add("Embedding", {"input_dim": 9, "output_dim": 4, "mask_zero": True}, "tok"), 4)
        )
        for _ in range(self.rng.randrange(2, 9)):
            self.step()
        # a reader of the last tensor's mask, and sometimes another output
        last = self.sequences[-1][0]
        outputs = [self.add("LSTM", {"units": 2}, last)]
        if self.others and self.rng.random() < 0.5:
            outputs.append(self.rng.choice(self.others))
        return {
            "inputs": {"tok": {"shape": [SEQUENCE], "dtype": "int32"}},
            "layers": self.layers,
            "outputs": outputs,
        }


def _rows(model: Any) -> list[tuple[str, str]]:
    return [(op.name, type(op).__name__) for op in model.operations]


@pytest.mark.parametrize("seed", range(300))
def test_random_models_with_masks_summarise_as_keras(seed: int) -> None:
    spec = _Draw(seed).spec()
    model = build_keras_model(spec)
    ours = analyze_data(spec)
    rows = report(ours, model_costs(ours))["layers"]  # summary --format json
    assert [(row["name"], row["type"]) for row in rows] == _rows(model)
    operations = {op.name for op in model.operations if not isinstance(op, keras.layers.Layer)}
    assert {row["name"] for row in rows if row.get("operation")} == operations
    assert all(row["params"] == 0 for row in rows if row.get("operation"))
    for width in (80, 200):
        facts = model_facts(model, width)
        assert isinstance(facts, ModelFacts)
        assert shapecalc_summary_text(ours, width) == facts.summary


def test_the_text_model_in_the_functional_form() -> None:
    # Input(7, int32) -> Embedding(20, 6, mask_zero) -> LSTM(3): Keras lists four rows
    spec = {
        "inputs": {"tok": {"shape": [7], "dtype": "int32"}},
        "layers": [
            {"Embedding": {"name": "emb", "input_dim": 20, "output_dim": 6, "mask_zero": True}},
            {"LSTM": {"name": "lstm", "units": 3}},
        ],
    }
    model = build_keras_model(spec)
    assert _rows(model) == [
        ("tok", "InputLayer"),
        ("emb", "Embedding"),
        ("not_equal", "NotEqual"),
        ("lstm", "LSTM"),
    ]
    ours = analyze_data(spec)
    assert [(layer.name, layer.type_name()) for layer in ours.layers] == _rows(model)
    facts = model_facts(model)
    assert isinstance(facts, ModelFacts)
    assert shapecalc_summary_text(ours, facts.columns) == facts.summary
