"""Whole-model multiply-accumulate totals, each against a count derived by hand in the test.

Convention (shapecalc.costs): one MAC is one multiply-accumulate with a weight or between two
activations, for ONE example (the batch axis excluded). Convolutions: output positions x
kernel taps x input channels / groups x filters. Dense: positions x inputs x units. LSTM:
T x 4u x (F + u) (the gates' elementwise products are not counted). MultiHeadAttention:
the query/key/value projections, the scores (heads x Tq x Tk x key_dim), the weighted values
(heads x Tq x Tk x value_dim) and the output projection. Biases, normalizations,
activations, pooling, merges, reshaping and embedding lookups count zero.

Every expected number below is written out as arithmetic on the layer shapes; the shapes the
derivations rest on are checked against real Keras (the oracle, tests/oracle.py) so that the
derivation does not lean on shapecalc's own shape inference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from model_check import assert_model_same_as_keras
from oracle import ModelFacts, keras_model_facts
from typer.testing import CliRunner

from shapecalc.api import analyze_data
from shapecalc.cli import app
from shapecalc.costs import model_costs

SPECS = Path(__file__).parent.parent / "specs"
runner = CliRunner()


# ----------------------------------------------------------------------------- helpers


def load_spec(stem: str) -> dict[str, Any]:
    return yaml.safe_load((SPECS / f"{stem}.yaml").read_text())


def shapecalc_macs(spec: dict[str, Any]) -> tuple[int | None, dict[str, int | None]]:
    """model_costs' total and its MACs per layer call (input layers left out)."""
    analysis = analyze_data(spec)
    costs = model_costs(analysis)
    per_layer = {
        call.layer.name: costs.calls[call].macs
        for call in analysis.model_calls
        if call.layer.type_name() != "InputLayer"
    }
    return costs.total_macs, per_layer


def summary_json(spec: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """``shapecalc summary SPEC --format json`` on the spec written out as YAML."""
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return summary_json_file(path)


def summary_json_file(path: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["summary", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def json_layers(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {layer["name"]: layer for layer in data["layers"] if layer["type"] != "InputLayer"}


def keras_facts(spec: dict[str, Any]) -> ModelFacts:
    facts = keras_model_facts(spec)
    assert isinstance(facts, ModelFacts), f"Keras refuses the spec: {facts}"
    return facts


def assert_macs(spec: dict[str, Any], derived: dict[str, int], total: int, tmp_path: Path) -> None:
    """shapecalc (library and JSON) gives the derived MACs for every layer, and the total."""
    got_total, got_layers = shapecalc_macs(spec)
    assert got_layers == derived
    assert got_total == total
    data = summary_json(spec, tmp_path)
    assert data["total_macs"] == total
    assert {name: layer["macs"] for name, layer in json_layers(data).items()} == derived


# ----------------------------------------------------------------------------- 1. seed autoencoder


def test_upsampling_autoencoder_macs(tmp_path: Path) -> None:
    spec = load_spec("upsampling_autoencoder")
    # 3x3 'same' convolutions keep the size; MaxPooling2D 2x2 (padding same) halves it,
    # UpSampling2D 2x2 doubles it: 28 -> 14 -> 7 -> 14 -> 28.
    facts = keras_facts(spec)
    keras_shapes = {row.name: row.output for row in facts.layers}
    assert keras_shapes == {
        "conv2d": (None, 28, 28, 16),
        "max_pooling2d": (None, 14, 14, 16),
        "conv2d_1": (None, 14, 14, 8),
        "max_pooling2d_1": (None, 7, 7, 8),
        "conv2d_2": (None, 7, 7, 4),
        "conv2d_3": (None, 7, 7, 4),
        "up_sampling2d": (None, 14, 14, 4),
        "conv2d_4": (None, 14, 14, 8),
        "up_sampling2d_1": (None, 28, 28, 8),
        "conv2d_5": (None, 28, 28, 16),
        "conv2d_6": (None, 28, 28, 1),
    }
    # output positions x taps x in channels x filters
    derived = {
        "conv2d": 28 * 28 * (3 * 3) * 1 * 16,  # 112,896: 28x28 out, 1 -> 16
        "max_pooling2d": 0,
        "conv2d_1": 14 * 14 * (3 * 3) * 16 * 8,  # 225,792: 14x14 out, 16 -> 8
        "max_pooling2d_1": 0,
        "conv2d_2": 7 * 7 * (3 * 3) * 8 * 4,  # 14,112: 7x7 out, 8 -> 4
        "conv2d_3": 7 * 7 * (3 * 3) * 4 * 4,  # 7,056: 7x7 out, 4 -> 4
        "up_sampling2d": 0,
        "conv2d_4": 14 * 14 * (3 * 3) * 4 * 8,  # 56,448: 14x14 out, 4 -> 8
        "up_sampling2d_1": 0,
        "conv2d_5": 28 * 28 * (3 * 3) * 8 * 16,  # 903,168: 28x28 out, 8 -> 16
        "conv2d_6": 28 * 28 * (3 * 3) * 16 * 1,  # 112,896: 28x28 out, 16 -> 1
    }
    total = sum(derived.values())
    assert total == 1_432_368
    assert_macs(spec, derived, total, tmp_path)
    assert summary_json_file(SPECS / "upsampling_autoencoder.yaml")["total_macs"] == total


# ----------------------------------------------------------------------------- 2. VGG16

VGG16_BLOCKS = [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]  # (convolutions, filters)


def vgg16_spec() -> dict[str, Any]:
    """The keras.applications.VGG16 layout, built here independently of specs/vgg16.yaml."""
    layers: list[dict[str, Any]] = []
    for b, (n, filters) in enumerate(VGG16_BLOCKS, start=1):
        for i in range(1, n + 1):
            conv = {"name": f"block{b}_conv{i}", "filters": filters, "kernel_size": [3, 3]}
            layers.append({"Conv2D": {**conv, "activation": "relu", "padding": "same"}})
        layers.append({"MaxPooling2D": {"name": f"block{b}_pool", "pool_size": [2, 2], "strides": [2, 2]}})
    layers += [
        {"Flatten": {"name": "flatten"}},
        {"Dense": {"name": "fc1", "units": 4096, "activation": "relu"}},
        {"Dense": {"name": "fc2", "units": 4096, "activation": "relu"}},
        {"Dense": {"name": "predictions", "units": 1000, "activation": "softmax"}},
    ]
    layers[0]["Conv2D"]["inputs"] = "input_layer"
    return {"name": "vgg16", "inputs": {"input_layer": [224, 224, 3]}, "layers": layers}


@pytest.fixture(scope="module")
def vgg16_keras() -> ModelFacts:
    return keras_facts(vgg16_spec())


def test_vgg16_spec_file_is_the_keras_applications_layout(vgg16_keras: ModelFacts) -> None:
    # the spec file's blocks make the layout written out above, layer by layer
    assert_model_same_as_keras(load_spec("vgg16"), vgg16_keras)


def test_vgg16_shapes_are_keras_shapes(vgg16_keras: ModelFacts) -> None:
    """The sizes the derivation below uses: 'same' 3x3 convolutions keep 224/112/56/28/14,
    each 2x2 stride-2 pooling halves; Flatten gives 7*7*512 = 25088 inputs to fc1."""
    shape = {row.name: row.output for row in vgg16_keras.layers}
    size = 224
    for b, (n, filters) in enumerate(VGG16_BLOCKS, start=1):
        for i in range(1, n + 1):
            assert shape[f"block{b}_conv{i}"] == (None, size, size, filters)
        size //= 2
        assert shape[f"block{b}_pool"] == (None, size, size, filters)
    assert shape["flatten"] == (None, 7 * 7 * 512)
    assert shape["fc1"] == (None, 4096)
    assert shape["fc2"] == (None, 4096)
    assert shape["predictions"] == (None, 1000)
    assert vgg16_keras.total_params == 138_357_544  # keras.applications.VGG16's count


def test_vgg16_macs(tmp_path: Path) -> None:
    spec = load_spec("vgg16")
    # output positions x 3x3 taps x in channels x filters; Dense: inputs x units
    derived = {
        "block1_conv1": 224 * 224 * 9 * 3 * 64,  # 86,704,128
        "block1_conv2": 224 * 224 * 9 * 64 * 64,  # 1,849,688,064
        "block1_pool": 0,
        "block2_conv1": 112 * 112 * 9 * 64 * 128,  # 924,844,032
        "block2_conv2": 112 * 112 * 9 * 128 * 128,  # 1,849,688,064
        "block2_pool": 0,
        "block3_conv1": 56 * 56 * 9 * 128 * 256,  # 924,844,032
        "block3_conv2": 56 * 56 * 9 * 256 * 256,  # 1,849,688,064
        "block3_conv3": 56 * 56 * 9 * 256 * 256,  # 1,849,688,064
        "block3_pool": 0,
        "block4_conv1": 28 * 28 * 9 * 256 * 512,  # 924,844,032
        "block4_conv2": 28 * 28 * 9 * 512 * 512,  # 1,849,688,064
        "block4_conv3": 28 * 28 * 9 * 512 * 512,  # 1,849,688,064
        "block4_pool": 0,
        "block5_conv1": 14 * 14 * 9 * 512 * 512,  # 462,422,016
        "block5_conv2": 14 * 14 * 9 * 512 * 512,  # 462,422,016
        "block5_conv3": 14 * 14 * 9 * 512 * 512,  # 462,422,016
        "block5_pool": 0,
        "flatten": 0,
        "fc1": 7 * 7 * 512 * 4096,  # 102,760,448
        "fc2": 4096 * 4096,  # 16,777,216
        "predictions": 4096 * 1000,  # 4,096,000
    }
    convolutions = sum(v for k, v in derived.items() if "_conv" in k)
    dense = derived["fc1"] + derived["fc2"] + derived["predictions"]
    assert convolutions == 15_346_630_656
    assert dense == 123_633_664
    total = convolutions + dense
    assert total == sum(derived.values()) == 15_470_264_320
    assert_macs(spec, derived, total, tmp_path)
    assert summary_json_file(SPECS / "vgg16.yaml")["total_macs"] == 15_470_264_320


def test_vgg16_receptive_fields() -> None:
    # r_out = r_in + (k - 1) * j_in, j_out = j_in * s; 3x3 stride-1 convolutions, 2x2 stride-2 pools
    expected: dict[str, tuple[list[int], list[int]]] = {}
    r, j = 1, 1
    for b, (n, _) in enumerate(VGG16_BLOCKS, start=1):
        for i in range(1, n + 1):
            r, j = r + (3 - 1) * j, j * 1
            expected[f"block{b}_conv{i}"] = ([r, r], [j, j])
        r, j = r + (2 - 1) * j, j * 2
        expected[f"block{b}_pool"] = ([r, r], [j, j])
    # By hand: block1 3, 5, pool 6 (j 2); block2 10, 14, pool 16 (j 4); block3 24, 32, 40,
    # pool 44 (j 8); block4 60, 76, 92, pool 100 (j 16); block5 132, 164, 196, pool 212 (j 32).
    assert expected["block5_conv3"] == ([196, 196], [16, 16])
    assert expected["block5_pool"] == ([212, 212], [32, 32])

    layers = json_layers(summary_json_file(SPECS / "vgg16.yaml"))
    assert layers["block5_conv3"]["receptive_field"] == [196, 196]
    assert layers["block5_conv3"]["effective_stride"] == [16, 16]
    assert layers["block5_pool"]["receptive_field"] == [212, 212]
    assert layers["block5_pool"]["effective_stride"] == [32, 32]
    got = {name: (layers[name]["receptive_field"], layers[name]["effective_stride"]) for name in expected}
    assert got == expected


# ----------------------------------------------------------------------------- 3. ResNet basic block

RESNET_BLOCK: dict[str, Any] = {
    "name": "resnet_basic_block",
    "inputs": {"x": [56, 56, 64]},
    "layers": [
        {
            "Conv2D": {
                "name": "conv1",
                "filters": 128,
                "kernel_size": 3,
                "strides": 2,
                "padding": "same",
                "use_bias": False,
                "inputs": "x",
            }
        },
        {"BatchNormalization": {"name": "bn1"}},
        {"ReLU": {"name": "relu1"}},
        {"Conv2D": {"name": "conv2", "filters": 128, "kernel_size": 3, "padding": "same", "use_bias": False}},
        {"BatchNormalization": {"name": "bn2"}},
        {
            "Conv2D": {
                "name": "proj",
                "filters": 128,
                "kernel_size": 1,
                "strides": 2,
                "use_bias": False,
                "inputs": "x",
            }
        },
        {"BatchNormalization": {"name": "proj_bn"}},
        {"Add": {"name": "add", "inputs": ["bn2", "proj_bn"]}},
        {"ReLU": {"name": "out"}},
    ],
    "outputs": ["out"],
}


def test_resnet_basic_block_macs(tmp_path: Path) -> None:
    facts = keras_facts(RESNET_BLOCK)
    # 3x3 stride 2 'same': ceil(56 / 2) = 28; 1x1 stride 2 'valid': (56 - 1) // 2 + 1 = 28
    assert facts.layer("conv1").output == (None, 28, 28, 128)
    assert facts.layer("conv2").output == (None, 28, 28, 128)
    assert facts.layer("proj").output == (None, 28, 28, 128)
    assert facts.layer("add").output == (None, 28, 28, 128)
    assert facts.layer("conv1").weights == {"conv1/kernel": (3, 3, 64, 128)}  # no bias
    assert facts.layer("proj").weights == {"proj/kernel": (1, 1, 64, 128)}

    derived = {
        "conv1": 28 * 28 * (3 * 3) * 64 * 128,  # 57,802,752: 28x28 out, 3x3 taps, 64 -> 128
        "bn1": 0,
        "relu1": 0,
        "conv2": 28 * 28 * (3 * 3) * 128 * 128,  # 115,605,504: 28x28 out, 3x3 taps, 128 -> 128
        "bn2": 0,
        "proj": 28 * 28 * (1 * 1) * 64 * 128,  # 6,422,528: 28x28 out, 1 tap, 64 -> 128
        "proj_bn": 0,
        "add": 0,
        "out": 0,
    }
    assert derived["conv1"] == 57_802_752
    assert derived["conv2"] == 115_605_504
    assert derived["proj"] == 6_422_528
    total = sum(derived.values())
    assert total == 179_830_784
    assert_macs(RESNET_BLOCK, derived, total, tmp_path)


# ----------------------------------------------------------------------------- 4. transformer encoder block

TRANSFORMER_BLOCK: dict[str, Any] = {
    "name": "transformer_encoder",
    "inputs": {"x": [128, 256]},
    "layers": [
        {"MultiHeadAttention": {"name": "mha", "num_heads": 8, "key_dim": 32, "inputs": ["x", "x"]}},
        {"Add": {"name": "add1", "inputs": ["x", "mha"]}},
        {"LayerNormalization": {"name": "ln1"}},
        {"Dense": {"name": "ffn1", "units": 1024, "activation": "relu"}},
        {"Dense": {"name": "ffn2", "units": 256}},
        {"Add": {"name": "add2", "inputs": ["ln1", "ffn2"]}},
        {"LayerNormalization": {"name": "ln2"}},
    ],
    "outputs": ["ln2"],
}


def test_transformer_encoder_block_macs(tmp_path: Path) -> None:
    T, d, heads, key_dim, value_dim, ff = 128, 256, 8, 32, 32, 1024  # value_dim defaults to key_dim
    facts = keras_facts(TRANSFORMER_BLOCK)
    mha = facts.layer("mha")
    assert mha.output == (None, T, d)  # output_shape defaults to the query's last axis
    assert mha.weights["mha/query/kernel"] == (d, heads, key_dim)
    assert mha.weights["mha/key/kernel"] == (d, heads, key_dim)
    assert mha.weights["mha/value/kernel"] == (d, heads, value_dim)
    assert mha.weights["mha/attention_output/kernel"] == (heads, value_dim, d)
    assert facts.layer("ffn1").output == (None, T, ff)
    assert facts.layer("ffn2").output == (None, T, d)

    mha_macs = (
        T * d * heads * key_dim  # query projection: 8,388,608
        + T * d * heads * key_dim  # key projection: 8,388,608
        + T * d * heads * value_dim  # value projection: 8,388,608
        + heads * T * T * key_dim  # scores q.k: 4,194,304
        + heads * T * T * value_dim  # scores x values: 4,194,304
        + T * heads * value_dim * d  # output projection: 8,388,608
    )
    assert mha_macs == 41_943_040
    derived = {
        "mha": mha_macs,
        "add1": 0,
        "ln1": 0,
        "ffn1": T * d * ff,  # 33,554,432: 128 positions x 256 in x 1024 units
        "ffn2": T * ff * d,  # 33,554,432: 128 positions x 1024 in x 256 units
        "add2": 0,
        "ln2": 0,
    }
    assert derived["ffn1"] == derived["ffn2"] == 33_554_432
    total = sum(derived.values())
    assert total == 109_051_904
    assert_macs(TRANSFORMER_BLOCK, derived, total, tmp_path)


# ----------------------------------------------------------------------------- 5. Embedding + two LSTMs

LSTM_MODEL: dict[str, Any] = {
    "name": "embedding_lstm",
    "input": {"shape": [50], "dtype": "int32"},
    "layers": [
        {"Embedding": {"input_dim": 10000, "output_dim": 64}},
        {"LSTM": {"units": 128, "return_sequences": True}},
        {"LSTM": {"units": 128}},
        {"Dense": {"units": 1, "activation": "sigmoid"}},
    ],
}


def test_embedding_lstm_macs(tmp_path: Path) -> None:
    T, E, u = 50, 64, 128
    facts = keras_facts(LSTM_MODEL)
    assert facts.layer("embedding").output == (None, T, E)
    assert facts.layer("lstm").output == (None, T, u)
    assert facts.layer("lstm_1").output == (None, u)
    assert facts.layer("dense").output == (None, 1)
    # the four gates' weights per step: kernel F x 4u, recurrent kernel u x 4u
    lstm = facts.layer("lstm").weights
    assert lstm["lstm/lstm_cell/kernel"] == (E, 4 * u)
    assert lstm["lstm/lstm_cell/recurrent_kernel"] == (u, 4 * u)
    assert facts.layer("lstm_1").weights["lstm_1/lstm_cell/kernel"] == (u, 4 * u)

    derived = {
        "embedding": 0,  # a table lookup
        "lstm": T * 4 * u * (E + u),  # 4,915,200: 50 steps x 512 gate units x (64 in + 128 state)
        "lstm_1": T * 4 * u * (u + u),  # 6,553,600: 50 steps x 512 gate units x (128 in + 128 state)
        "dense": u * 1,  # 128: last state 128 -> 1
    }
    assert derived["lstm"] == 4_915_200
    assert derived["lstm_1"] == 6_553_600
    total = sum(derived.values())
    assert total == 11_468_928
    assert_macs(LSTM_MODEL, derived, total, tmp_path)
