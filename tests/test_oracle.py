"""The oracle itself, checked against parameter counts and shapes derived by hand here.

If one of these fails, the judge is wrong (or Keras moved), not shapecalc.
"""

from __future__ import annotations

from pathlib import Path

import keras_custom  # noqa: F401 - registers the Keras twins of spec-declared layers
import pytest
import yaml
from oracle import ModelFacts, Refusal, keras_model_facts, keras_spec_facts

ROOT = Path(__file__).resolve().parent.parent


def facts(spec: dict) -> ModelFacts:
    got = keras_model_facts(spec)
    assert not isinstance(got, Refusal), got.message
    return got


def load(stem: str) -> dict:
    return yaml.safe_load((ROOT / "specs" / f"{stem}.yaml").read_text())


def test_dense_784_to_10_is_sequential():
    f = facts({"input": [784], "layers": [{"Dense": {"units": 10}}]})
    assert f.kind == "Sequential" and f.name == "sequential"
    assert [(r.name, r.type, r.output) for r in f.layers] == [("dense", "Dense", (None, 10))]
    assert f.layers[0].weights == {"dense/kernel": (784, 10), "dense/bias": (10,)}
    assert f.layers[0].inbound == [("input_layer", 0, 0)]
    assert f.total_params == 784 * 10 + 10 == 7850
    # 7850 float32 = 31400 bytes = 30.66 KB (1024-based)
    assert " Total params: 7,850 (30.66 KB)\n" in f.summary
    assert " Non-trainable params: 0 (0.00 B)\n" in f.summary
    assert f.summary.startswith('Model: "sequential"\n')
    assert "InputLayer" not in f.summary and "Connected to" not in f.summary


def test_inputs_reference_makes_it_functional_with_input_row():
    f = facts({"input": [784], "layers": [{"Dense": {"units": 10, "inputs": "input_layer"}}]})
    assert f.kind == "Functional" and f.name == "functional"
    assert [(r.name, r.type) for r in f.layers] == [("input_layer", "InputLayer"), ("dense", "Dense")]
    assert f.layers[0].output == (None, 784) and f.layers[0].params == 0
    # A linear functional model is "sequential-like" to Keras: no "Connected to" column.
    assert "input_layer (InputLayer)" in f.summary and "Connected to" not in f.summary


def test_upsampling_autoencoder_counts():
    f = facts(load("upsampling_autoencoder"))
    conv = lambda k, cin, cout: k * k * cin * cout + cout  # noqa: E731
    expected = [
        ("conv2d", (None, 28, 28, 16), conv(3, 1, 16)),  # 160
        ("max_pooling2d", (None, 14, 14, 16), 0),
        ("conv2d_1", (None, 14, 14, 8), conv(3, 16, 8)),  # 1160
        ("max_pooling2d_1", (None, 7, 7, 8), 0),  # ceil(14/2) = 7
        ("conv2d_2", (None, 7, 7, 4), conv(3, 8, 4)),  # 292
        ("conv2d_3", (None, 7, 7, 4), conv(3, 4, 4)),  # 148
        ("up_sampling2d", (None, 14, 14, 4), 0),
        ("conv2d_4", (None, 14, 14, 8), conv(3, 4, 8)),  # 296
        ("up_sampling2d_1", (None, 28, 28, 8), 0),
        ("conv2d_5", (None, 28, 28, 16), conv(3, 8, 16)),  # 1168
        ("conv2d_6", (None, 28, 28, 1), conv(3, 16, 1)),  # 145
    ]
    assert [(r.name, r.output, r.params) for r in f.layers] == expected
    assert f.name == "seed_autoencoder"
    assert f.total_params == f.trainable_params == 3369
    assert " Total params: 3,369 (13.16 KB)\n" in f.summary  # 3369 * 4 / 1024 = 13.16


def test_two_inputs_lstm_functional():
    f = facts(load("two_inputs_lstm"))
    by = {r.name: r for r in f.layers}
    # Keras orders layers by depth from the outputs, not by spec order.
    assert [r.name for r in f.layers] == ["tokens", "image", "emb", "conv", "lstm", "gap", "cat", "out"]
    assert by["emb"].params == 1000 * 64
    assert by["lstm"].params == 4 * 32 * (64 + 32 + 1) == 12416
    assert by["lstm"].output == [(None, 32)] * 3
    assert by["conv"].output == (None, 62, 62, 8) and by["conv"].params == 3 * 3 * 3 * 8 + 8
    assert by["cat"].output == (None, 32 * 3 + 8)
    assert by["cat"].inbound == [("lstm", 0, 0), ("lstm", 0, 1), ("lstm", 0, 2), ("gap", 0, 0)]
    assert by["out"].params == 104 * 10 + 10
    assert f.total_params == 64000 + 12416 + 224 + 1050
    assert "Connected to" in f.summary and "tokens (InputLayer)" in f.summary


def test_shared_layer_counted_once():
    f = facts(load("shared_layer"))
    shared = f.layer("shared")
    assert shared.params == 32 * 8 + 8 and shared.call_outputs == [(None, 8), (None, 8)]
    assert f.layer("add").inbound == [("shared", 0, 0), ("shared", 1, 0)]
    assert f.total_params == 264 + 9  # not 2 * 264 + 9
    assert "shared[0][0], shared[1][0]" in f.summary


def test_bidirectional_doubles():
    f = facts(load("bidirectional_tagger"))
    bi = f.layer("bidirectional")
    assert bi.output == (None, None, 64)
    assert bi.params == 2 * 4 * 32 * (64 + 32 + 1)
    assert "bidirectional/forward_lstm/lstm_cell/kernel" in bi.weights


def test_batch_norm_non_trainable_and_batch_size():
    f = facts({"input": [8, 3], "batch_size": 7, "layers": [{"BatchNormalization": {}}]})
    assert f.layers[0].output == (7, 8, 3)
    assert (f.trainable_params, f.non_trainable_params) == (2 * 3, 2 * 3)


def test_multi_head_attention_positional():
    spec = {
        "inputs": {"q": [4, 16], "v": [6, 16]},
        "layers": [{"MultiHeadAttention": {"num_heads": 2, "key_dim": 4, "inputs": ["q", "v"]}}],
    }
    f = facts(spec)
    mha = f.layer("multi_head_attention")
    assert mha.output == (None, 4, 16)
    assert mha.params == 3 * (16 * 2 * 4 + 2 * 4) + (2 * 4 * 16 + 16) == 552


def test_refusal():
    got = keras_model_facts({"input": [8, 3], "layers": [{"Conv1D": {"filters": 4, "kernel_size": 9}}]})
    assert isinstance(got, Refusal) and "negative" in got.message


def test_summary_width_ignores_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    f = facts({"input": [784], "layers": [{"Dense": {"units": 10}}]})
    table = [line for line in f.summary.splitlines() if line[:1] in "┏┃┡│├└"]
    assert {len(line) for line in table} == {88}


@pytest.mark.parametrize("path", sorted((ROOT / "specs").glob("*.yaml")), ids=lambda p: p.stem)
def test_golden_summaries_current(path):
    golden = ROOT / "tests" / "keras_summaries" / f"{path.stem}.txt"
    got = keras_spec_facts(path.name, yaml.safe_load(path.read_text()))
    assert not isinstance(got, Refusal), got.message
    assert got.summary == golden.read_text(encoding="utf-8")
