"""Every spec shipped in specs/ agrees with real Keras, summary text included."""

from __future__ import annotations

from pathlib import Path

import keras_custom  # noqa: F401 - registers the Keras twins of the spec-declared layers
import pytest
import yaml
from model_check import assert_model_same_as_keras
from oracle import ModelFacts

SPECS = sorted((Path(__file__).parent.parent / "specs").glob("*.yaml"))
# Specs written with blocks or variables are checked by tests/test_zoo.py against the model
# Keras builds itself (keras.applications): the oracle here builds a spec's plain layers only.
PLAIN = [p for p in SPECS if not {"blocks", "vars"} & set(yaml.safe_load(p.read_text()))]


@pytest.mark.parametrize("path", PLAIN, ids=lambda p: p.stem)
def test_spec_matches_keras(path: Path) -> None:
    facts = assert_model_same_as_keras(yaml.safe_load(path.read_text()))
    assert isinstance(facts, ModelFacts), f"Keras refuses the shipped spec {path.name}"


def test_upsampling_autoencoder_total() -> None:
    # 160 + 1160 + 292 + 148 + 296 + 1168 + 145 = 3369 parameters of 4 bytes: 13476 B = 13.16 KB
    facts = assert_model_same_as_keras(
        yaml.safe_load((SPECS[0].parent / "upsampling_autoencoder.yaml").read_text())
    )
    assert isinstance(facts, ModelFacts)
    assert " Total params: 3,369 (13.16 KB)" in facts.summary
