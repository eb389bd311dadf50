"""The zoo: published architectures written with blocks, each the same model, layer by layer and
summary text included, as the one Keras builds (keras.applications where Keras has it), and
with the published parameter counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from model_check import assert_model_same_as_keras
from oracle import ZOO_APPLICATIONS, ModelFacts, keras_application_facts, keras_model_facts
from run_check import assert_run_matches_keras
from zoo_written_out import WRITTEN_OUT, bert_base, gpt_mini, seq2seq_lstm, unet

from shapecalc.api import analyze_spec, read_file

SPECS = Path(__file__).parent.parent / "specs"


def _spec(name: str) -> dict:
    return yaml.safe_load((SPECS / name).read_text())


@pytest.mark.parametrize(
    ("spec", "application", "total", "non_trainable"),
    [
        # He et al. 2015; keras.applications.ResNet50 reports 25,636,712 (53,120 non-trainable:
        # the moving means and variances of 53 BatchNormalization layers, 2 * 26,560 channels)
        # Simonyan and Zisserman 2014; keras.applications.VGG16 reports 138,357,544
        ("vgg16.yaml", "VGG16", 138_357_544, 0),
        ("resnet50.yaml", "ResNet50", 25_636_712, 53_120),
        # Sandler et al. 2018; keras.applications.MobileNetV2 (alpha 1.0, 224x224) reports
        # 3,538,984 (34,112 non-trainable: 52 BatchNormalization layers' moving statistics)
        ("mobilenet_v2.yaml", "MobileNetV2", 3_538_984, 34_112),
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
    tested = {
        "vgg16.yaml",
        "resnet50.yaml",
        "mobilenet_v2.yaml",
        "bert_base.yaml",
        "unet.yaml",
        "gpt_mini.yaml",
        "seq2seq_lstm.yaml",
    }
    assert set(ZOO_APPLICATIONS) | set(WRITTEN_OUT) <= tested
    with_blocks = {p.name for p in SPECS.glob("*.yaml") if "blocks" in yaml.safe_load(p.read_text())}
    assert with_blocks <= tested


def test_resnet50_is_short() -> None:
    assert len((SPECS / "resnet50.yaml").read_text().splitlines()) < 120


@pytest.mark.parametrize("alpha", [0.35, 0.5, 1.3])
def test_mobilenet_v2_width_multiplier(alpha: float) -> None:
    """--set alpha gives keras.applications.MobileNetV2(alpha=...): every layer's output and
    counts (the model's name, which Keras derives from alpha, is the spec's own)."""
    facts = keras_application_facts("MobileNetV2", alpha=alpha)
    assert isinstance(facts, ModelFacts)
    got = analyze_spec(read_file(SPECS / "mobilenet_v2.yaml", {"alpha": str(alpha)}))
    rows = [(layer.name, layer.type_name()) for layer in got.layers]
    assert rows == [(f.name, f.type) for f in facts.layers]
    for layer, want in zip(got.layers, facts.layers, strict=True):
        assert got.output_shapes(got.first_call(layer))[0] == want.output, layer.name
        assert got.params_of(layer) == (want.trainable, want.non_trainable), layer.name
    assert (got.total_params, got.non_trainable_params) == (facts.total_params, facts.non_trainable_params)


def test_bert_base_is_the_published_encoder() -> None:
    # Devlin et al. 2018, BERT-base: 109,482,240 parameters. Derived: embeddings 30522*768 +
    # 512*768 + 2*768 + a LayerNormalization's 2*768 = 23,837,184; each of 12 layers: attention
    # 4*(768*768 + 768) = 2,362,368, feed-forward 768*3072 + 3072 + 3072*768 + 768 = 4,722,432,
    # two LayerNormalizations 2*1,536: 7,087,872; the pooler 768*768 + 768 = 590,592.
    assert 23_837_184 + 12 * 7_087_872 + 590_592 == 109_482_240
    facts = keras_model_facts(bert_base())
    assert isinstance(facts, ModelFacts)
    assert facts.total_params == 109_482_240
    assert_model_same_as_keras(_spec("bert_base.yaml"), facts)
    assert len((SPECS / "bert_base.yaml").read_text().splitlines()) < 80


def test_unet_levels_meet_their_skips() -> None:
    # Parameters, level by level (3x3 convolutions: 9 * in * out + out; the up level's first one
    # reads the skip and the up-convolution concatenated, 2 * out channels):
    # down1 (1 -> 64) 640 + 36,928; down2 73,856 + 147,584; down3 295,168 + 590,080;
    # down4 1,180,160 + 2,359,808; bottom (512 -> 1024) 4,719,616 + 9,438,208;
    # up4: 2x2 up-convolution 4 * 1024 * 512 + 512 = 2,097,664, then 4,719,104 + 2,359,808;
    # up3 524,544 + 1,179,904 + 590,080; up2 131,200 + 295,040 + 147,584;
    # up1 32,832 + 73,792 + 36,928; the 1x1 softmax 64 * 2 + 2 = 130.
    levels = [37_568, 221_440, 885_248, 3_539_968, 14_157_824, 9_176_576, 2_294_528, 573_824, 143_552, 130]
    assert sum(levels) == 31_030_658
    facts = keras_model_facts(unet())
    assert isinstance(facts, ModelFacts)
    assert facts.total_params == 31_030_658
    assert_model_same_as_keras(_spec("unet.yaml"), facts)


def test_gpt_mini_attends_causally(tmp_path: Path) -> None:
    # embeddings 5000*128 + 64*128 = 648,192; each of 4 blocks: two LayerNormalizations 2*256,
    # attention 4*(128*128 + 128) = 66,048, feed-forward 128*512 + 512 + 512*128 + 128 = 131,712:
    # 198,272; the final LayerNormalization 256 and the logits 128*5000 + 5000 = 645,000.
    assert 648_192 + 4 * 198_272 + 256 + 645_000 == 2_086_536
    written_out = gpt_mini()
    facts = keras_model_facts(written_out)
    assert isinstance(facts, ModelFacts)
    assert facts.total_params == 2_086_536
    assert_model_same_as_keras(_spec("gpt_mini.yaml"), facts)
    # and the run: every layer's output equal to Keras's, causal attention included
    rng = np.random.default_rng(0)
    inputs = {
        "token_ids": rng.integers(0, 5000, (2, 64)).astype("int32"),
        "position_ids": np.tile(np.arange(64, dtype="int32"), (2, 1)),
    }
    assert_run_matches_keras(SPECS / "gpt_mini.yaml", written_out, inputs, tmp_path)


def test_seq2seq_decoder_starts_from_the_encoder_states(tmp_path: Path) -> None:
    # embeddings 8000*256 and 6000*256; each LSTM 4 * (256 * (256 + 256) + 256) = 525,312;
    # the softmax 256*6000 + 6000 = 1,542,000
    assert 8000 * 256 + 6000 * 256 + 2 * 525_312 + 1_542_000 == 6_176_624
    written_out = seq2seq_lstm()
    facts = keras_model_facts(written_out)
    assert isinstance(facts, ModelFacts)
    assert facts.total_params == 6_176_624
    # Keras's "Connected to" lists the states among the decoder's inputs
    assert facts.layer("decoder").inbound == [
        ("target_embedding", 0, 0),
        ("encoder", 0, 1),
        ("encoder", 0, 2),
    ]
    assert_model_same_as_keras(_spec("seq2seq_lstm.yaml"), facts)
    rng = np.random.default_rng(0)
    inputs = {
        "source": rng.integers(0, 8000, (2, 5)).astype("int32"),
        "target": rng.integers(0, 6000, (2, 7)).astype("int32"),
    }
    assert_run_matches_keras(SPECS / "seq2seq_lstm.yaml", written_out, inputs, tmp_path)
