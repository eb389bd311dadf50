"""The zoo: published architectures written with blocks, each the same model, layer by layer and
summary text included, as the one Keras builds (keras.applications where Keras has it), and
with the published parameter counts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from model_check import assert_model_same_as_keras
from oracle import ZOO_APPLICATIONS, ModelFacts, keras_application_facts

SPECS = Path(__file__).parent.parent / "specs"


def _spec(name: str) -> dict:
    return yaml.safe_load((SPECS / name).read_text())


@pytest.mark.parametrize(
    ("spec", "application", "total", "non_trainable"),
    [
        # He et al. 2015; keras.applications.ResNet50 reports 25,636,712 (53,120 non-trainable:
        # the moving means and variances of 53 BatchNormalization layers, 2 * 26,560 channels)
        ("resnet50.yaml", "ResNet50", 25_636_712, 53_120),
    ],
)
def test_zoo_spec_is_the_keras_application(
    spec: str, application: str, total: int, non_trainable: int
) -> None:
    facts = keras_application_facts(application)
    assert isinstance(facts, ModelFacts)
    assert (facts.total_params, facts.non_trainable_params) == (total, non_trainable)
    assert_model_same_as_keras(_spec(spec), facts)


def test_every_zoo_spec_is_checked_here() -> None:
    tested = {"resnet50.yaml"}
    assert set(ZOO_APPLICATIONS) <= tested
    with_blocks = {p.name for p in SPECS.glob("*.yaml") if "blocks" in yaml.safe_load(p.read_text())}
    assert with_blocks <= tested


def test_resnet50_is_short() -> None:
    assert len((SPECS / "resnet50.yaml").read_text().splitlines()) < 120
