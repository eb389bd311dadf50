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
from oracle import ModelFacts, capture_summary, model_facts
from typer.testing import CliRunner

from shapecalc.api import analyze_file
from shapecalc.cli import app
from shapecalc.render.nesting import Nesting

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
    masked = keras.Input((None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(50, 8, mask_zero=True, name="emb")(masked)
    x = keras.layers.Bidirectional(keras.layers.LSTM(6, return_sequences=True), name="bilstm")(x)
    x = keras.layers.GlobalAveragePooling1D(name="pool")(keras.layers.Dense(4, name="proj")(x))
    text = keras.Model(masked, keras.layers.Dense(2, name="out")(x), name="masked_text")
    return {"sequential": sequential, "functional": functional, "tagger": tagger, "masked_text": text}


def _rows(model: Any, nested: bool = False) -> list[tuple[str, str]]:
    """The layers of Keras's summary written out: a functional model's operations (its layers and
    the keras.ops calls between them), a Sequential model's layers; a model used as a layer
    stands for its layers (its own row is checked with the summary text), inputs aside."""
    kept = model.layers if isinstance(model, keras.Sequential) else model.operations
    rows = []
    for op in kept:
        if isinstance(op, keras.Model):
            rows += _rows(op, nested=True)
        elif not (nested and isinstance(op, keras.layers.InputLayer)):
            rows.append((op.name, type(op).__name__))
    return rows


def _assert_same(path: Path, facts: ModelFacts, model: Any) -> None:
    got = analyze_file(path)
    rows = [(layer.name, layer.type_name()) for layer in got.layers]
    if any(isinstance(op, keras.Model) for op in model.layers):
        # written out, a nested model's layers take the places Keras's order gives them
        assert sorted(rows) == sorted(_rows(model))
    else:
        assert rows == _rows(model)
    assert (got.total_params, got.non_trainable_params) == (facts.total_params, facts.non_trainable_params)
    # as `shapecalc summary` shows it: a model used as a layer is one row
    assert shapecalc_summary_text(got, facts.columns, nesting=Nesting(0)) == facts.summary


@pytest.mark.parametrize("name", ["sequential", "functional", "tagger", "masked_text"])
def test_small_models_from_json_and_keras_archives(name: str, tmp_path: Path) -> None:
    keras.backend.clear_session(free_memory=False)
    model = _small_models()[name]
    facts = model_facts(model)
    assert isinstance(facts, ModelFacts)
    (tmp_path / "model.json").write_text(model.to_json())
    model.save(tmp_path / "model.keras")
    _assert_same(tmp_path / "model.json", facts, model)
    _assert_same(tmp_path / "model.keras", facts, model)
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
    "MobileNetV3Small",
    "ConvNeXtTiny",
]


@pytest.mark.parametrize("name", APPLICATIONS)
def test_applications_from_to_json_and_keras_archives(name: str, tmp_path: Path) -> None:
    keras.backend.clear_session(free_memory=False)
    model = getattr(keras.applications, name)(weights=None)
    facts = model_facts(model)
    assert isinstance(facts, ModelFacts)
    (tmp_path / "model.json").write_text(model.to_json())
    _assert_same(tmp_path / "model.json", facts, model)
    model.save(tmp_path / "model.keras")
    _assert_same(tmp_path / "model.keras", facts, model)


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


@pytest.mark.parametrize("name", ["sequential", "functional", "tagger", "masked_text"])
def test_convert_writes_a_spec_that_is_the_model(name: str, tmp_path: Path) -> None:
    keras.backend.clear_session(free_memory=False)
    model = _small_models()[name]
    facts = model_facts(model)
    assert isinstance(facts, ModelFacts)
    model.save(tmp_path / "model.keras")
    spec = _convert(tmp_path / "model.keras", tmp_path)
    _assert_same(spec, facts, model)
    text = spec.read_text()
    # minimal: Keras's defaults are left out, and how Keras writes them
    assert "glorot_uniform" not in text and "GlorotUniform" not in text and "trainable" not in text
    assert "activation: linear" not in text


@pytest.mark.parametrize("name", APPLICATIONS)
def test_convert_of_applications(name: str, tmp_path: Path) -> None:
    keras.backend.clear_session(free_memory=False)
    model = getattr(keras.applications, name)(weights=None)
    facts = model_facts(model)
    assert isinstance(facts, ModelFacts)
    (tmp_path / "model.json").write_text(model.to_json())
    _assert_same(_convert(tmp_path / "model.json", tmp_path), facts, model)


def test_convert_takes_only_saved_models(tmp_path: Path) -> None:
    result = runner.invoke(app, ["convert", str(Path(__file__).parent.parent / "specs" / "vgg16.yaml")])
    assert result.exit_code == 2 and ":1:1: error: this is not a model Keras saved" in result.stderr


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


def test_run_reads_the_weights_of_attention_projections(tmp_path: Path) -> None:
    # Keras stores them under the attributes that hold the projections: query_dense, ...
    keras.backend.clear_session(free_memory=False)
    x = keras.Input((4, 8), name="x")
    y = keras.layers.MultiHeadAttention(2, 4, name="mha")(x, x)
    y = keras.layers.GroupQueryAttention(4, 4, 2, name="gqa")(y, y)
    y = keras.layers.Attention(use_scale=True, name="att")([y, x])
    model = keras.Model(x, keras.layers.AdditiveAttention(name="out")([y, y]), name="attention")
    model.save(tmp_path / "model.keras")
    x0 = np.random.default_rng(4).standard_normal((2, 4, 8)).astype("float32")
    got = _run_outputs(tmp_path / "model.keras", x0, tmp_path)["out"]
    np.testing.assert_allclose(got, model.predict(x0, verbose=0), rtol=1e-4, atol=1e-5)


def _nested_model() -> Any:
    """Models used as layers (a Sequential, a two-output functional one), a LayerScale, and
    keras.ops arithmetic between them."""
    from keras.src.applications.convnext import LayerScale

    inner_in = keras.Input((8, 8, 8), name="inner_in")
    inner = keras.Model(inner_in, [keras.layers.Dense(8, name="inner_dense")(inner_in), inner_in * 2.0])
    stem = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(8, 4, strides=4, name="stem_conv"),
            keras.layers.LayerNormalization(epsilon=1e-6, name="stem_ln"),
        ],
        name="stem",
    )
    x = keras.Input((32, 32, 3), name="image")
    s = stem(x)
    a, b = inner(s)
    scaled = LayerScale(0.5, 8)(keras.layers.Conv2D(8, 1, name="c")(a))
    return keras.Model(x, keras.layers.GlobalAveragePooling2D(name="gap")(s + scaled + b), name="nest")


def _run_outputs(saved: Path, x: np.ndarray, tmp_path: Path) -> Any:
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out.npz"
    args = ["summary", str(saved), "--run", "--input", str(tmp_path / "x.npy"), "--save-outputs", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return np.load(out)


_INNER_INPUT_ROW = (
    "│    └ inner_in (InputLayer)        │ (None, 8, 8, 8)              │                 0 │ -"
    "                             │\n├───────────────────────────────────┼──────────────────────────────┼"
    "───────────────────┼───────────────────────────────┤\n"
)


def test_nested_models_read_and_run_as_keras_does(tmp_path: Path) -> None:
    keras.backend.clear_session(free_memory=False)
    model = _nested_model()
    facts = model_facts(model)
    assert isinstance(facts, ModelFacts)
    model.save(tmp_path / "model.keras")
    _assert_same(tmp_path / "model.keras", facts, model)
    expanded = runner.invoke(app, ["summary", str(tmp_path / "model.keras"), "--expand", "--width", "120"])
    keras_expanded = capture_summary(model, 120, expand_nested=True, line_length=120)
    # Keras lists a nested functional model's InputLayer under it; shapecalc does not (yet)
    assert expanded.stdout == keras_expanded.replace(_INNER_INPUT_ROW, "")
    x = np.random.default_rng(3).standard_normal((2, 32, 32, 3)).astype("float32")
    got = _run_outputs(tmp_path / "model.keras", x, tmp_path)["gap"]
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("name", "size"), [("MobileNetV3Small", 96), ("ConvNeXtTiny", 64)])
def test_run_of_applications_with_operations_and_nested_models(name: str, size: int, tmp_path: Path) -> None:
    keras.backend.clear_session(free_memory=False)
    model = getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3))
    model.save(tmp_path / "model.keras")
    x = np.random.default_rng(5).uniform(0, 255, (2, size, size, 3)).astype("float32")
    got = _run_outputs(tmp_path / "model.keras", x, tmp_path)
    want = model.predict(x, verbose=0)
    np.testing.assert_allclose(
        got[model.outputs[0]._keras_history.operation.name], want, rtol=1e-3, atol=1e-5
    )


# ----------------------------------------------------------------------------- Keras 2 form
def _keras2(value: Any) -> Any:
    """A Keras 3 config written in the Keras 2 / tf.keras form: no module or registered names,
    calls as [layer, node, tensor, kwargs] lists, dtype policies as their names, InputLayer's
    batch_input_shape. Keras 3 still loads that form (tf.keras's .h5 files); the test checks it
    gives the same model."""
    if isinstance(value, list):
        return [_keras2(item) for item in value]
    if not isinstance(value, dict):
        return value
    if value.get("class_name") == "DTypePolicy":
        return value["config"]["name"]
    out = {k: _keras2(v) for k, v in value.items() if k not in ("module", "registered_name", "build_config")}
    config = out.get("config")
    if isinstance(config, dict) and "batch_shape" in config:
        config["batch_input_shape"] = config.pop("batch_shape")
    if "inbound_nodes" in value:
        out["inbound_nodes"] = [_legacy_node(node) for node in value["inbound_nodes"]]
    return out


def _legacy_node(node: dict[str, Any]) -> list[list[Any]]:
    (called_on,) = node["args"]
    tensors = called_on if isinstance(called_on, list) else [called_on]
    kwargs = {k: v for k, v in node["kwargs"].items() if v is not None}
    return [[*t["config"]["keras_history"], kwargs] for t in tensors]


def test_the_keras2_form_reads_as_keras_loads_it(tmp_path: Path) -> None:
    import json

    from keras.src.legacy.saving import saving_utils as legacy_saving

    # (Keras 3's loader of that form cannot find a wrapper's layer without its module: the
    # models with a Bidirectional LSTM are left out)
    for name, model in _small_models().items():
        if name in ("tagger", "masked_text"):
            continue
        keras.backend.clear_session(free_memory=False)
        text = json.dumps(_keras2(json.loads(model.to_json())))
        # what Keras 3 makes of the Keras 2 form: its loader for models tf.keras saved (.h5)
        loaded = legacy_saving.model_from_config(json.loads(text))
        facts = model_facts(loaded)
        assert isinstance(facts, ModelFacts)
        assert facts.summary == model_facts(model).summary, name
        (tmp_path / f"{name}.json").write_text(text)
        _assert_same(tmp_path / f"{name}.json", facts, loaded)


def test_run_of_a_masked_text_model(tmp_path: Path) -> None:
    keras.backend.clear_session(free_memory=False)
    model = _small_models()["masked_text"]
    model.save(tmp_path / "model.keras")
    ids = np.random.default_rng(2).integers(0, 50, (3, 9)).astype("int32")
    ids[:, 6:] = 0  # padding: masked steps
    got = _run_outputs(tmp_path / "model.keras", ids, tmp_path)["out"]
    np.testing.assert_allclose(got, model.predict(ids, verbose=0), rtol=1e-4, atol=1e-5)
