"""Model-level differential check: a whole spec through shapecalc and through real Keras."""

from __future__ import annotations

import io
import os
from typing import Any

from oracle import SUMMARY_COLUMNS, ModelFacts, Refusal, keras_model_facts

from shapecalc.analysis import Analysis
from shapecalc.api import analyze_data
from shapecalc.errors import SpecError
from shapecalc.graph import unique_layers
from shapecalc.render.summary import print_summary


def shapecalc_summary_text(analysis: Analysis, width: int = SUMMARY_COLUMNS, **options: Any) -> str:
    """shapecalc's plain summary (``options``: print_summary's columns and costs) at the same
    fixed terminal width the oracle uses for Keras."""
    saved = {k: os.environ.get(k) for k in ("COLUMNS", "LINES")}
    os.environ.update(COLUMNS=str(width), LINES="50")
    try:
        out = io.StringIO()
        print_summary(analysis, file=out, **options)
        return out.getvalue()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _first_output(analysis: Analysis, layer: Any) -> Any:
    shapes = analysis.shapes[analysis.first_call(layer)]
    return list(shapes.outputs) if shapes.multi else shapes.outputs[0]


def assert_model_same_as_keras(
    spec: dict[str, Any], want: ModelFacts | Refusal | None = None
) -> ModelFacts | Refusal:
    """Both refuse (shapecalc with a located message), or both give the same layers, shapes,
    counts, weight paths, totals and summary text. ``want``: Keras's facts of the same model
    built another way (a spec with blocks written out flat, a keras.applications model);
    by default, of ``spec`` itself."""
    want = keras_model_facts(spec) if want is None else want
    try:
        got = analyze_data(spec)
    except SpecError as err:
        assert isinstance(want, Refusal), f"shapecalc refuses ({err}) but Keras builds {spec}"
        assert err.location is not None and err.location.line >= 1, f"unlocated error: {err}"
        return want
    assert not isinstance(want, Refusal), f"Keras refuses ({want.message}) but shapecalc accepts {spec}"
    assert got.graph.name == want.name
    rows = [(layer.name, layer.type_name()) for layer in got.layers]
    assert rows == [(f.name, f.type) for f in want.layers], f"rows differ for {spec}"
    for layer, facts in zip(got.layers, want.layers, strict=False):
        assert _first_output(got, layer) == facts.output, f"{layer.name}: output differs"
        assert got.params_of(layer) == (facts.trainable, facts.non_trainable), f"{layer.name}: params differ"
        weights = {f"{layer.name}/{w.path}": w.shape for w in got.weights_of(layer)}
        assert weights == facts.weights, f"{layer.name}: weights differ"
    assert (got.total_params, got.trainable_params, got.non_trainable_params) == (
        want.total_params,
        want.trainable_params,
        want.non_trainable_params,
    )
    assert len(unique_layers(got.layers)) == len({f.name for f in want.layers})
    assert shapecalc_summary_text(got, want.columns) == want.summary
    return want
