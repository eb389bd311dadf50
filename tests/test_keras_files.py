"""What Keras saves, read without Keras: ``model.to_json()`` and ``.keras`` archives, summarised
exactly as Keras summarises the model (names, shapes, counts, the summary text), and the models
not read yet refused with a located message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from model_check import shapecalc_summary_text
from oracle import ModelFacts, model_facts
from typer.testing import CliRunner

from shapecalc.api import analyze_file
from shapecalc.cli import app

runner = CliRunner()


def _small_models() -> dict[str, Any]:
    sequential = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ],
        name="small_sequential",
    )
    a, b = keras.Input((8,), name="a"), keras.Input((8,), name="b")
    shared = keras.layers.Dense(4, name="shared")
    merged = keras.layers.Add(name="add")([shared(a), shared(b)])
    functional = keras.Model([a, b], merged, name="shared_dense")
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(100, 8, name="emb")(tokens)
    x = keras.layers.Bidirectional(keras.layers.LSTM(6, return_sequences=True), name="bilstm")(x)
    tagger = keras.Model(tokens, keras.layers.Dense(3, name="tags")(x), name="tagger")
    return {"sequential": sequential, "functional": functional, "tagger": tagger}


def _assert_same(path: Path, facts: ModelFacts) -> None:
    got = analyze_file(path)
    assert [(layer.name, layer.type_name()) for layer in got.layers] == [
        (f.name, f.type) for f in facts.layers
    ]
    assert (got.total_params, got.non_trainable_params) == (facts.total_params, facts.non_trainable_params)
    assert shapecalc_summary_text(got, facts.columns) == facts.summary


@pytest.mark.parametrize("name", ["sequential", "functional", "tagger"])
def test_small_models_from_json_and_keras_archives(name: str, tmp_path: Path) -> None:
    keras.backend.clear_session(free_memory=False)
    model = _small_models()[name]
    facts = model_facts(model)
    assert isinstance(facts, ModelFacts)
    (tmp_path / "model.json").write_text(model.to_json())
    model.save(tmp_path / "model.keras")
    _assert_same(tmp_path / "model.json", facts)
    _assert_same(tmp_path / "model.keras", facts)
    assert runner.invoke(app, ["lint", str(tmp_path / "model.keras")]).exit_code == 0


# The keras.applications models read as Keras summarises them (MobileNetV3 and ConvNeXt: below)
APPLICATIONS = [
    "VGG16",
    "ResNet50",
    "MobileNetV2",
    "DenseNet121",
    "Xception",
    "InceptionV3",
    "EfficientNetB0",
]


@pytest.mark.parametrize("name", APPLICATIONS)
def test_applications_from_to_json(name: str, tmp_path: Path) -> None:
    keras.backend.clear_session(free_memory=False)
    model = getattr(keras.applications, name)(weights=None)
    facts = model_facts(model)
    assert isinstance(facts, ModelFacts)
    (tmp_path / "model.json").write_text(model.to_json())
    _assert_same(tmp_path / "model.json", facts)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("MobileNetV3Small", "not a tensor: a model that applies tensor arithmetic or keras.ops"),
        ("ConvNeXtTiny", "a Sequential model used as a layer: nested models cannot be read yet"),
    ],
)
def test_models_not_read_yet_are_refused_where_they_start(name: str, message: str, tmp_path: Path) -> None:
    keras.backend.clear_session(free_memory=False)
    path = tmp_path / "model.json"
    path.write_text(getattr(keras.applications, name)(weights=None).to_json())
    result = runner.invoke(app, ["summary", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:1:") and message in result.stderr


def test_a_broken_archive_is_a_located_refusal(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    path.write_text("not a zip")
    result = runner.invoke(app, ["summary", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:1:1: error: a .keras file is a zip archive")


def _convert(saved: Path, tmp_path: Path) -> Path:
    spec = tmp_path / "converted.yaml"
    result = runner.invoke(app, ["convert", str(saved), "-o", str(spec)])
    assert result.exit_code == 0, result.output
    return spec


@pytest.mark.parametrize("name", ["sequential", "functional", "tagger"])
def test_convert_writes_a_spec_that_is_the_model(name: str, tmp_path: Path) -> None:
    keras.backend.clear_session(free_memory=False)
    model = _small_models()[name]
    facts = model_facts(model)
    assert isinstance(facts, ModelFacts)
    model.save(tmp_path / "model.keras")
    spec = _convert(tmp_path / "model.keras", tmp_path)
    _assert_same(spec, facts)
    text = spec.read_text()
    # minimal: Keras's defaults are left out, and how Keras writes them
    assert "glorot_uniform" not in text and "GlorotUniform" not in text and "trainable" not in text
    assert "activation: linear" not in text


@pytest.mark.parametrize("name", ["VGG16", "ResNet50"])
def test_convert_of_applications(name: str, tmp_path: Path) -> None:
    keras.backend.clear_session(free_memory=False)
    model = getattr(keras.applications, name)(weights=None)
    facts = model_facts(model)
    assert isinstance(facts, ModelFacts)
    (tmp_path / "model.json").write_text(model.to_json())
    _assert_same(_convert(tmp_path / "model.json", tmp_path), facts)


def test_convert_takes_only_saved_models(tmp_path: Path) -> None:
    result = runner.invoke(app, ["convert", str(Path(__file__).parent.parent / "specs" / "vgg16.yaml")])
    assert result.exit_code == 2 and "is not a model Keras saved" in result.stderr


def _with_statistics(model: Any) -> Any:
    """Moving statistics away from their initial values, so that a run depends on them."""
    rng = np.random.default_rng(7)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.standard_normal(layer.moving_mean.shape).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape).astype("float32"))
    return model


@pytest.mark.parametrize("source", ["keras", "weights.h5"])
def test_run_uses_the_weights_keras_saved(source: str, tmp_path: Path) -> None:
    keras.backend.clear_session(free_memory=False)
    model = _with_statistics(
        keras.applications.MobileNetV2(weights=None, alpha=0.35, input_shape=(96, 96, 3))
    )
    x = np.random.default_rng(0).uniform(-1, 1, (2, 96, 96, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    want = model.predict(x, verbose=0)
    if source == "keras":
        model.save(tmp_path / "model.keras")
        args = [str(tmp_path / "model.keras")]
    else:
        (tmp_path / "model.json").write_text(model.to_json())
        model.save_weights(tmp_path / "model.weights.h5")
        args = [str(tmp_path / "model.json"), "--weights", str(tmp_path / "model.weights.h5")]
    out = tmp_path / "out.npz"
    result = runner.invoke(
        app, ["summary", *args, "--run", "--input", str(tmp_path / "x.npy"), "--save-outputs", str(out)]
    )
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load(out)["predictions"], want, rtol=1e-3, atol=1e-5)


def test_run_reads_the_weights_of_cells_and_wrappers(tmp_path: Path) -> None:
    # Keras stores them under the attributes that hold them: bidirectional/forward_layer/cell/...
    keras.backend.clear_session(free_memory=False)
    a = keras.Input((5, 3), name="a")
    x = keras.layers.TimeDistributed(keras.layers.Dense(4), name="td")(a)
    x = keras.layers.RNN(
        [keras.layers.GRUCell(3), keras.layers.SimpleRNNCell(2)], return_sequences=True, name="stack"
    )(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True), name="bi")(x)
    model = keras.Model(a, keras.layers.Dense(2, name="out")(x), name="cells")
    model.save(tmp_path / "model.keras")
    x0 = np.random.default_rng(1).standard_normal((2, 5, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x0)
    out = tmp_path / "out.npz"
    args = [
        "summary",
        str(tmp_path / "model.keras"),
        "--run",
        "--input",
        str(tmp_path / "x.npy"),
        "--save-outputs",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load(out)["out"], model.predict(x0, verbose=0), rtol=1e-3, atol=1e-5)


def test_weights_of_attention_projections_are_not_read_yet(tmp_path: Path) -> None:
    keras.backend.clear_session(free_memory=False)
    x = keras.Input((4, 8), name="x")
    model = keras.Model(x, keras.layers.MultiHeadAttention(2, 4, name="mha")(x, x), name="attention")
    model.save(tmp_path / "model.keras")
    result = runner.invoke(app, ["summary", str(tmp_path / "model.keras"), "--run"])
    assert result.exit_code == 2
    assert "mha (MultiHeadAttention): the weights of its sublayer 'query' are not read yet" in result.stderr
