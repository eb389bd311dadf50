"""The summary of a spec written with blocks: each instance one row by default (as Keras shows a
nested model), ``--expand``/``--depth`` its layers under it with Keras's └ prefix, ``--flat``
Keras's own summary of the model written out layer by layer. Expected rows are derived by hand
beside each figure; the flat table is compared with real Keras."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from oracle import ModelFacts, capture_summary, keras_model_facts
from typer.testing import CliRunner

from shapecalc.api import analyze_text
from shapecalc.cli import app
from shapecalc.render.nesting import Instance, Nesting, group

ROOT = Path(__file__).parent.parent
runner = CliRunner()
ENV = {"COLUMNS": "200", "LINES": "50"}  # the oracle's width: Keras's default table widths

# A 3-layer block used twice in a chain (Keras's summary of a chain has no "Connected to").
TWICE = """
name: twice
blocks:
  conv_bn:
    params: {filters: required}
    layers:
      - Conv2D: {name: conv, filters: $filters, kernel_size: 3, padding: same}
      - BatchNormalization: {name: bn}
      - ReLU: {name: relu}
inputs: {image: [16, 16, 3]}
layers:
  - conv_bn: {name: one, filters: 8, inputs: image}
  - conv_bn: {name: two, filters: 16}
  - GlobalAveragePooling2D: {name: gap}
  - Dense: {name: head, units: 10}
"""

# A block of blocks with two outputs (the Add, then the first conv_bn's), both read outside.
NESTED = """
name: nested
blocks:
  conv_bn:
    params: {filters: required}
    layers:
      - Conv2D: {name: conv, filters: $filters, kernel_size: 3, padding: same}
      - BatchNormalization: {name: bn}
      - ReLU: {name: relu}
  stage:
    params: {filters: required}
    layers:
      - conv_bn: {name: a, filters: $filters}
      - conv_bn: {name: b, filters: $filters}
      - Add: {name: add, inputs: [a, b]}
    outputs: [add, a]
inputs: {image: [16, 16, 3]}
layers:
  - conv_bn: {name: stem, filters: 8, inputs: image}
  - stage: {name: s1, filters: 8}
  - Concatenate: {name: cat, inputs: [s1, s1.1]}
  - GlobalAveragePooling2D: {name: gap}
"""


def _conv_bn(prefix: str, filters: int, source: str | None = None) -> list[dict[str, Any]]:
    conv = {"name": f"{prefix}_conv", "filters": filters, "kernel_size": 3, "padding": "same"}
    return [
        {"Conv2D": conv | ({"inputs": source} if source else {})},
        {"BatchNormalization": {"name": f"{prefix}_bn"}},
        {"ReLU": {"name": f"{prefix}_relu"}},
    ]


NESTED_FLAT = {
    "name": "nested",
    "inputs": {"image": [16, 16, 3]},
    "layers": [
        *_conv_bn("stem", 8, "image"),
        *_conv_bn("s1_a", 8),
        *_conv_bn("s1_b", 8),
        {"Add": {"name": "s1_add", "inputs": ["s1_a_relu", "s1_b_relu"]}},
        {"Concatenate": {"name": "cat", "inputs": ["s1_add", "s1_a_relu"]}},
        {"GlobalAveragePooling2D": {"name": "gap"}},
    ],
}


def table(text: str) -> list[list[str]]:
    """The rows of a summary table, each as its cells (a wrapped cell joined back with spaces);
    the first cell keeps its leading spaces, the └ prefix's indentation."""
    rows: list[list[str]] = []
    current: list[list[str]] | None = None
    for line in text.splitlines():
        if line.startswith("│"):
            cells = line[1:-1].split("│")
            if current is None:
                current = [[cells[0][1:].rstrip()], *([cell.strip()] for cell in cells[1:])]
            else:
                for parts, cell in zip(current, cells, strict=True):
                    if cell.strip():
                        parts.append(cell.strip())
        elif current is not None:
            rows.append([" ".join(parts) for parts in current])
            current = None
    return rows


def summary(text: str, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "model.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["summary", str(path), *args], env=ENV)
    assert result.exit_code == 0, result.output
    return result.stdout


# ----------------------------------------------------------------------------- collapsed
def test_each_instance_is_one_row(tmp_path: Path) -> None:
    rows = table(summary(TWICE, tmp_path))
    assert rows == [
        ["image (InputLayer)", "(None, 16, 16, 3)", "0"],
        # conv 3*3*3*8 + 8 = 224, bn 4*8 = 32, relu 0: 256
        ["one (conv_bn)", "(None, 16, 16, 8)", "256"],
        # conv 3*3*8*16 + 16 = 1,168, bn 4*16 = 64: 1,232
        ["two (conv_bn)", "(None, 16, 16, 16)", "1,232"],
        ["gap (GlobalAveragePooling2D)", "(None, 16)", "0"],
        ["head (Dense)", "(None, 10)", "170"],  # 16*10 + 10
    ]


def test_totals_are_the_models(tmp_path: Path) -> None:
    text = summary(TWICE, tmp_path)
    # 256 + 1,232 + 170 = 1,658, of which the bn moving statistics 2*8 + 2*16 = 48 do not train
    assert " Total params: 1,658 (6.48 KB)" in text
    assert " Trainable params: 1,610 (6.29 KB)" in text
    assert " Non-trainable params: 48 (192.00 B)" in text


def test_nested_instance_with_two_outputs(tmp_path: Path) -> None:
    rows = table(summary(NESTED, tmp_path))
    assert rows == [
        ["image (InputLayer)", "(None, 16, 16, 3)", "0", "-"],
        ["stem (conv_bn)", "(None, 16, 16, 8)", "256", "image[0][0]"],  # 224 + 32, as in TWICE
        # s1_a and s1_b: conv 3*3*8*8 + 8 = 584, bn 32: 616 each; add 0: 1,232. Its outputs,
        # as cat reads them: s1_add, then s1_a_relu; its input is stem's output
        ["s1 (stage)", "[(None, 16, 16, 8), (None, 16, 16, 8)]", "1,232", "stem[0][0]"],
        ["cat (Concatenate)", "(None, 16, 16, 16)", "0", "s1[0][0], s1[0][1]"],
        ["gap (GlobalAveragePooling2D)", "(None, 16)", "0", "cat[0][0]"],
    ]


# ----------------------------------------------------------------------------- expanded
def test_expand_lists_every_layer_under_its_instance(tmp_path: Path) -> None:
    rows = table(summary(NESTED, tmp_path, "--expand"))
    assert rows == [
        ["image (InputLayer)", "(None, 16, 16, 3)", "0", "-"],
        ["stem (conv_bn)", "(None, 16, 16, 8)", "256", "image[0][0]"],
        # as Keras's expand_nested: the rows under an instance show no connections, and the
        # model's own rows read an instance's tensors as its outputs
        ["   └ stem_conv (Conv2D)", "(None, 16, 16, 8)", "224", "-"],
        ["   └ stem_bn (BatchNormalization)", "(None, 16, 16, 8)", "32", "-"],
        ["   └ stem_relu (ReLU)", "(None, 16, 16, 8)", "0", "-"],
        ["s1 (stage)", "[(None, 16, 16, 8), (None, 16, 16, 8)]", "1,232", "stem[0][0]"],
        ["   └ s1_a (conv_bn)", "(None, 16, 16, 8)", "616", "-"],
        ["      └ s1_a_conv (Conv2D)", "(None, 16, 16, 8)", "584", "-"],
        ["      └ s1_a_bn (BatchNormalization)", "(None, 16, 16, 8)", "32", "-"],
        ["      └ s1_a_relu (ReLU)", "(None, 16, 16, 8)", "0", "-"],
        ["   └ s1_b (conv_bn)", "(None, 16, 16, 8)", "616", "-"],
        ["      └ s1_b_conv (Conv2D)", "(None, 16, 16, 8)", "584", "-"],
        ["      └ s1_b_bn (BatchNormalization)", "(None, 16, 16, 8)", "32", "-"],
        ["      └ s1_b_relu (ReLU)", "(None, 16, 16, 8)", "0", "-"],
        ["   └ s1_add (Add)", "(None, 16, 16, 8)", "0", "-"],
        ["cat (Concatenate)", "(None, 16, 16, 16)", "0", "s1[0][0], s1[0][1]"],
        ["gap (GlobalAveragePooling2D)", "(None, 16)", "0", "cat[0][0]"],
    ]


def test_depth_one_opens_the_top_level_only(tmp_path: Path) -> None:
    expected = [
        ["image (InputLayer)", "(None, 16, 16, 3)", "0", "-"],
        ["stem (conv_bn)", "(None, 16, 16, 8)", "256", "image[0][0]"],
        ["   └ stem_conv (Conv2D)", "(None, 16, 16, 8)", "224", "-"],
        ["   └ stem_bn (BatchNormalization)", "(None, 16, 16, 8)", "32", "-"],
        ["   └ stem_relu (ReLU)", "(None, 16, 16, 8)", "0", "-"],
        ["s1 (stage)", "[(None, 16, 16, 8), (None, 16, 16, 8)]", "1,232", "stem[0][0]"],
        # s1_a and s1_b stay one row each
        ["   └ s1_a (conv_bn)", "(None, 16, 16, 8)", "616", "-"],
        ["   └ s1_b (conv_bn)", "(None, 16, 16, 8)", "616", "-"],
        ["   └ s1_add (Add)", "(None, 16, 16, 8)", "0", "-"],
        ["cat (Concatenate)", "(None, 16, 16, 16)", "0", "s1[0][0], s1[0][1]"],
        ["gap (GlobalAveragePooling2D)", "(None, 16)", "0", "cat[0][0]"],
    ]
    assert table(summary(NESTED, tmp_path, "--depth", "1")) == expected
    assert table(summary(NESTED, tmp_path, "--expand", "--depth", "1")) == expected
    assert table(summary(NESTED, tmp_path, "--depth", "0")) == table(summary(NESTED, tmp_path))


def test_grouping_levels() -> None:
    analysis = analyze_text(NESTED)
    shown = [
        (row.level, row.item.name, isinstance(row.item, Instance), row.expanded)
        for row in group(analysis, Nesting(1)).rows
    ]
    assert shown == [
        (0, "image", False, False),
        (0, "stem", True, True),
        (1, "stem_conv", False, False),
        (1, "stem_bn", False, False),
        (1, "stem_relu", False, False),
        (0, "s1", True, True),
        (1, "s1_a", True, False),
        (1, "s1_b", True, False),
        (1, "s1_add", False, False),
        (0, "cat", False, False),
        (0, "gap", False, False),
    ]
    flat = group(analysis, None)
    assert [row.item for row in flat.rows] == analysis.layers and not flat.folded


# ----------------------------------------------------------------------------- Keras's nested models
def keras_nested() -> Any:
    """NESTED built in Keras with each instance a nested functional model of the same name."""
    import keras

    layers = keras.layers
    keras.backend.clear_session(free_memory=False)

    def conv_bn(name: str, channels: int) -> Any:
        x = keras.Input((16, 16, channels))
        y = layers.Conv2D(8, 3, padding="same", name=f"{name}_conv")(x)
        y = layers.ReLU(name=f"{name}_relu")(layers.BatchNormalization(name=f"{name}_bn")(y))
        return keras.Model(x, y, name=name)

    x = keras.Input((16, 16, 8))
    a = conv_bn("s1_a", 8)(x)
    stage = keras.Model(x, [layers.Add(name="s1_add")([a, conv_bn("s1_b", 8)(a)]), a], name="s1")
    image = keras.Input((16, 16, 3), name="image")
    add, skip = stage(conv_bn("stem", 3)(image))
    cat = layers.Concatenate(name="cat")([add, skip])
    return keras.Model(image, layers.GlobalAveragePooling2D(name="gap")(cat), name="nested")


def test_collapsed_is_keras_summary_of_nested_models(tmp_path: Path) -> None:
    # the same table (but for the block's name where Keras has the class, Functional) and totals
    ours, keras = summary(NESTED, tmp_path), capture_summary(keras_nested())
    rows = table(ours)
    for row in rows:
        row[0] = re.sub(r"\((conv_bn|stage)\)$", "(Functional)", row[0])
    assert rows == table(keras)
    boxes = "┏┃┡│├└"
    assert [line for line in ours.splitlines() if line[:1] not in boxes] == [
        line for line in keras.splitlines() if line[:1] not in boxes
    ]


def test_expanded_rows_are_keras_expand_nested(tmp_path: Path) -> None:
    # Keras also lists each nested model's own InputLayer (a block has none): those aside, the
    # same rows, connections included
    keras_rows = table(capture_summary(keras_nested(), expand_nested=True))
    keras_rows = [row for row in keras_rows if "└ input_layer" not in row[0]]
    ours = table(summary(NESTED, tmp_path, "--expand"))
    for row in ours:
        row[0] = re.sub(r"\((conv_bn|stage)\)$", "(Functional)", row[0])
    assert ours == keras_rows


# ----------------------------------------------------------------------------- flat: Keras's own
def test_flat_is_keras_summary_of_the_model_written_out(tmp_path: Path) -> None:
    facts = keras_model_facts(NESTED_FLAT)
    assert isinstance(facts, ModelFacts)
    assert summary(NESTED, tmp_path, "--flat") == facts.summary


def test_a_repeat_in_a_sequential_spec(tmp_path: Path) -> None:
    text = TWICE.split("inputs:")[0] + (
        "input: [16, 16, 3]\nlayers:\n  - conv_bn: {name: stage$i, filters: $(4 * i), repeat: 3}\n"
    )
    rows = table(summary(text, tmp_path))
    assert rows == [
        ["stage1 (conv_bn)", "(None, 16, 16, 4)", "128"],  # 3*3*3*4 + 4 = 112, bn 4*4 = 16
        ["stage2 (conv_bn)", "(None, 16, 16, 8)", "328"],  # 3*3*4*8 + 8 = 296, bn 32
        ["stage3 (conv_bn)", "(None, 16, 16, 12)", "924"],  # 3*3*8*12 + 12 = 876, bn 48
    ]
    flat = {
        "name": "twice",
        "input": [16, 16, 3],
        "layers": [*_conv_bn("stage1", 4), *_conv_bn("stage2", 8), *_conv_bn("stage3", 12)],
    }
    facts = keras_model_facts(flat)
    assert isinstance(facts, ModelFacts) and facts.kind == "Sequential"
    assert summary(text, tmp_path, "--flat") == facts.summary


def test_a_spec_without_blocks_prints_the_same_either_way(tmp_path: Path) -> None:
    text = (ROOT / "specs" / "two_inputs_lstm.yaml").read_text()
    default = summary(text, tmp_path)
    assert default == summary(text, tmp_path, "--flat") == summary(text, tmp_path, "--expand")
    assert default == (ROOT / "tests" / "keras_summaries" / "two_inputs_lstm.txt").read_text()


def test_flat_takes_no_expand(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(NESTED)
    result = runner.invoke(app, ["summary", str(path), "--flat", "--depth", "1"], env=ENV)
    assert result.exit_code == 2 and "drop --depth" in result.output


# ----------------------------------------------------------------------------- other columns
def test_cost_columns_add_up_over_an_instance(tmp_path: Path) -> None:
    columns = "params,macs,flops,activation_bytes,receptive_field,effective_stride"
    rows = table(summary(NESTED, tmp_path, "--columns", columns, "--expand"))
    by_name = {row[0].strip(" └"): row[1:] for row in rows}
    # stem: conv 16*16 positions * 3*3*3 taps * 8 filters = 55,296 MACs, bn and relu none; three
    # outputs of 16*16*8 float32 = 8 KB each; one 3x3 window at stride 1
    assert by_name["stem (conv_bn)"] == ["256", "55,296", "110,592", "24.00 KB", "3x3", "1x1"]
    # s1: two convs of 16*16 * 3*3*8 * 8 = 147,456; seven outputs of 8 KB; its outputs: s1_add
    # sees 3 + 2 + 2 = 7 positions, s1_a_relu 3 + 2 = 5
    assert by_name["s1 (stage)"] == ["1,232", "294,912", "589,824", "56.00 KB", "7x7, 5x5", "1x1, 1x1"]
    for instance, members in (("stem (conv_bn)", "stem_"), ("s1 (stage)", "s1_")):
        layers = [
            row for name, row in by_name.items() if name.startswith(members) and "(conv_bn)" not in name
        ]
        assert sum(int(row[1].replace(",", "")) for row in layers) == int(
            by_name[instance][1].replace(",", "")
        )


def test_trainable_of_an_instance(tmp_path: Path) -> None:
    text = """
blocks:
  pair:
    params: {train_first: false}
    layers:
      - Dense: {name: a, units: 4, trainable: $train_first}
      - Dense: {name: b, units: 4}
  frozen_pair:
    layers:
      - Dense: {name: a, units: 4, trainable: false}
      - Dense: {name: b, units: 4, trainable: false}
  act:
    layers:
      - ReLU: {name: relu}
input: [4]
layers:
  - pair: {name: partly}
  - frozen_pair: {name: frozen}
  - act: {name: weightless}
"""
    rows = table(summary(text, tmp_path, "--columns", "params,trainable"))
    assert rows == [
        ["partly (pair)", "40", "Y"],  # 2 * (4*4 + 4); a frozen, b trains: the instance trains
        ["frozen (frozen_pair)", "40", "N"],  # every weight frozen
        ["weightless (act)", "0", "-"],  # no weights, as Keras shows a weightless layer
    ]


def test_markdown_follows_the_choice(tmp_path: Path) -> None:
    collapsed = summary(NESTED, tmp_path, "--format", "markdown")
    assert "| `s1` | block stage | (None, 16, 16, 8), (None, 16, 16, 8) | 1,232 | 294,912 |" in collapsed
    assert "s1_a_conv" not in collapsed
    expanded = summary(NESTED, tmp_path, "--format", "markdown", "--expand")
    nbsp = "\u00a0"
    assert f"| {nbsp * 6}└ `s1_a_conv` | Conv2D | (None, 16, 16, 8) | 584 | 147,456 |" in expanded
    flat = summary(NESTED, tmp_path, "--format", "markdown", "--flat")
    assert "| `s1_a_conv` | Conv2D |" in flat and "block stage" not in flat


def test_json_stays_a_flat_list(tmp_path: Path) -> None:
    data = json.loads(summary(NESTED, tmp_path, "--format", "json"))
    assert len(data["layers"]) == 13  # image, three conv_bn of 3 layers, s1_add, cat, gap
    assert {layer["name"]: layer["blocks"] for layer in data["layers"]}["s1_a_conv"] == ["s1", "s1_a"]
    assert json.loads(summary(NESTED, tmp_path, "--format", "json", "--expand")) == data


# ----------------------------------------------------------------------------- ResNet50
def _keras_stage_params() -> dict[str, int]:
    """Each stage's parameters added up from the layer rows of Keras's own summary of
    keras.applications.ResNet50 (the first line of each row has its name and count)."""
    text = (ROOT / "tests" / "keras_summaries" / "resnet50.txt").read_text()
    stages = dict.fromkeys(("conv2", "conv3", "conv4", "conv5"), 0)
    first_lines = re.findall(r"├[─┼]+┤\n│([^│]*)│[^│]*│([^│]*)│", text)
    first_lines.insert(0, ("input_layer", "0"))
    for name, params in first_lines:
        stage = name.strip().split("_")[0]
        if stage in stages:
            stages[stage] += int(params.strip().replace(",", ""))
    return stages


def test_resnet50_collapsed_is_its_four_stages(tmp_path: Path) -> None:
    result = runner.invoke(app, ["summary", str(ROOT / "specs" / "resnet50.yaml")], env=ENV)
    assert result.exit_code == 0, result.output
    rows = table(result.stdout)
    stages = [row for row in rows if "(stage)" in row[0]]
    published = _keras_stage_params()
    # conv2 by hand: block1 (projects): 0_conv 64*256 + 256 = 16,640, 0_bn 4*256 = 1,024, 1_conv
    # 64*64 + 64 = 4,160, 1_bn 256, 2_conv 3*3*64*64 + 64 = 36,928, 2_bn 256, 3_conv 16,640,
    # 3_bn 1,024: 76,928; blocks 2 and 3: 1_conv 256*64 + 64 = 16,448 instead of the shortcut
    # and 4,160: 71,552 each; 76,928 + 2 * 71,552 = 220,032
    assert published["conv2"] == 220_032
    assert [row[:4] for row in stages] == [
        ["conv2 (stage)", "(None, 56, 56, 256)", f"{published['conv2']:,}", "pool1_pool[0][0]"],
        ["conv3 (stage)", "(None, 28, 28, 512)", f"{published['conv3']:,}", "conv2[0][0]"],
        ["conv4 (stage)", "(None, 14, 14, 1024)", f"{published['conv4']:,}", "conv3[0][0]"],
        ["conv5 (stage)", "(None, 7, 7, 2048)", f"{published['conv5']:,}", "conv4[0][0]"],
    ]
    # the stem (conv1: 9,472 + 256) and the head (2048*1000 + 1000) make up the rest
    assert sum(published.values()) + 9_472 + 256 + 2_049_000 == 25_636_712
    assert len(rows) == 13  # input, 6 stem layers, 4 stages, avg_pool, predictions
    assert rows[-2][3] == "conv5[0][0]"
    assert " Total params: 25,636,712 (97.80 MB)" in result.stdout


@pytest.mark.parametrize(("depth", "rows"), [(1, 13 + 3 + 4 + 6 + 3), (None, 13 + 16 + 16 * 10 + 4 * 2)])
def test_resnet50_expanded(depth: int | None, rows: int) -> None:
    analysis = analyze_text((ROOT / "specs" / "resnet50.yaml").read_text())
    grouped = group(analysis, Nesting(depth))
    # 16 bottlenecks under the 4 stages; each has 10 layers, the 4 first blocks 2 more
    assert len(grouped.rows) == rows
    if depth == 1:
        names = [row.item.name for row in grouped.rows if row.level == 1][:3]
        assert names == ["conv2_block1", "conv2_block2", "conv2_block3"]
    else:
        assert len([row for row in grouped.rows if isinstance(row.item, Instance)]) == 4 + 16
        assert {row.level for row in grouped.rows} == {0, 1, 2}


def test_an_instance_row_lists_its_outputs_in_the_order_its_block_declares(tmp_path: Path) -> None:
    text = (
        "blocks:\n"
        "  heads:\n"
        "    layers:\n"
        "      - Dense: {name: label, units: 5, inputs: x}\n"
        "      - Dense: {name: score, units: 1, inputs: x}\n"
        "    outputs: [score, label]\n"
        "inputs: {f: [8]}\n"
        "layers:\n"
        "  - heads: {name: h, inputs: f}\n"
        "outputs: [h.1, h.0]\n"
    )
    rows = table(summary(text, tmp_path))
    # score 8*1 + 1 = 9, label 8*5 + 5 = 45; declared order: score, then label (read in reverse)
    assert ["h (heads)", "[(None, 1), (None, 5)]", "54", "f[0][0]"] in rows
