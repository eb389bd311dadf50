"""``shapecalc diff`` and the markdown forms: changed layers and totals, derived beside each assert."""

from __future__ import annotations

import json
from pathlib import Path

from markdown_it import MarkdownIt
from typer.testing import CliRunner

from shapecalc.cli import app

SEED = Path(__file__).parent.parent / "specs" / "upsampling_autoencoder.yaml"
runner = CliRunner()


def second_version(tmp_path: Path) -> Path:
    """The seed autoencoder with conv2d_1 widened from 8 to 12 filters, conv2d_6 renamed to
    'decoded' and a Flatten added at the end."""
    text = SEED.read_text().replace(
        "  - Conv2D: {filters: 8, kernel_size: [3, 3], activation: relu, padding: same}\n"
        "  - MaxPooling2D: {pool_size: [2, 2], padding: same}\n",
        "  - Conv2D: {filters: 12, kernel_size: [3, 3], activation: relu, padding: same}\n"
        "  - MaxPooling2D: {pool_size: [2, 2], padding: same}\n",
    )
    last = "{filters: 1, kernel_size: [3, 3], activation: sigmoid"
    text = text.replace(last, "{name: decoded, " + last[1:])
    path = tmp_path / "v2.yaml"
    path.write_text(text + "  - Flatten: {}\n")
    return path


def tables(markdown: str) -> list[list[list[str]]]:
    """The tables a CommonMark renderer with GitHub's tables finds: rows of cell texts."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    found: list[list[list[str]]] = []
    for token in tokens:
        if token.type == "table_open":
            found.append([])
        elif token.type == "tr_open":
            found[-1].append([])
        elif token.type == "inline" and found and found[-1] and token.map is not None:
            found[-1][-1].append(token.content)
    return found


def test_diff_lists_changed_added_and_renamed_layers_and_totals(tmp_path: Path) -> None:
    result = runner.invoke(app, ["diff", str(SEED), str(second_version(tmp_path)), "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    changes = {(c["after"] or c["before"])["name"]: c for c in data["layers"]}
    widened = changes["conv2d_1"]
    # 3x3 kernel over 16 channels: 3*3*16*8 + 8 = 1,160 -> 3*3*16*12 + 12 = 1,740
    assert (widened["before"]["params"], widened["after"]["params"]) == (1160, 1740)
    # 14x14 positions x 9 taps x 16 channels x filters
    assert (widened["before"]["macs"], widened["after"]["macs"]) == (
        14 * 14 * 9 * 16 * 8,
        14 * 14 * 9 * 16 * 12,
    )
    # the layers reading conv2d_1's 12 channels change their input, not their shape
    assert changes["conv2d_2"]["after"]["params"] == 3 * 3 * 12 * 4 + 4
    assert changes["flatten"]["change"] == "added" and changes["flatten"]["after"]["output_shape"] == [
        [None, 784]
    ]
    # renamed conv2d_6 -> decoded: matched by position, unchanged otherwise, so not listed
    assert "decoded" not in changes and "conv2d_6" not in changes
    # totals: 3,369 + (1,740 - 1,160) + (436 - 292) = 4,093 parameters
    assert (data["totals"]["before"]["params"], data["totals"]["after"]["params"]) == (3369, 3369 + 580 + 144)


def test_diff_markdown_renders_as_tables(tmp_path: Path) -> None:
    result = runner.invoke(app, ["diff", str(SEED), str(second_version(tmp_path)), "--format", "markdown"])
    layers, totals = tables(result.stdout)
    assert layers[0] == ["Layer", "Change", "Type", "Output shape", "Param #", "MACs"]
    widened = next(row for row in layers if row[0] == "`conv2d_1`")
    assert widened[1:3] == ["changed", "Conv2D"] and widened[4] == "1,160 → 1,740 (+580)"
    assert totals[1] == ["Parameters", "3,369", "4,093", "+724"]


def test_identical_versions_and_exit_code(tmp_path: Path) -> None:
    same = runner.invoke(app, ["diff", str(SEED), str(SEED), "--exit-code"])
    assert same.exit_code == 0 and "0 changed, 0 added, 0 removed" in same.stdout
    changed = runner.invoke(app, ["diff", str(SEED), str(second_version(tmp_path)), "--exit-code"])
    assert changed.exit_code == 1


def test_summary_as_markdown() -> None:
    result = runner.invoke(app, ["summary", str(SEED), "--format", "markdown"])
    layers, totals = tables(result.stdout)
    assert layers[1] == ["`conv2d`", "Conv2D", "(None, 28, 28, 16)", "160", f"{28 * 28 * 9 * 16:,}"]
    assert totals[1] == ["Parameters", "3,369"]


def test_diff_totals_split_trainable_and_not(tmp_path: Path) -> None:
    last = "  - Conv2D: {filters: 1, kernel_size: [3, 3], activation: sigmoid, padding: same}\n"
    normalized = tmp_path / "bn.yaml"
    normalized.write_text(SEED.read_text().replace(last, "  - BatchNormalization: {}\n" + last))
    result = runner.invoke(app, ["diff", str(SEED), str(normalized), "--format", "json"])
    totals = json.loads(result.stdout)["totals"]
    # BatchNormalization over conv2d_5's 16 channels: gamma and beta trainable (2 x 16), the
    # moving mean and variance not (2 x 16)
    assert totals["after"]["trainable_params"] - totals["before"]["trainable_params"] == 32
    assert (totals["before"]["non_trainable_params"], totals["after"]["non_trainable_params"]) == (0, 32)
    text = runner.invoke(app, ["diff", str(SEED), str(normalized)]).stdout
    assert "  non-trainable: 0 -> 32 (+32)" in text.splitlines()
