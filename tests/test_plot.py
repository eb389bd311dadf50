"""`shapecalc plot`: the nodes, labels and edges Keras's plot_model draws, as DOT and Mermaid,
and the drawings Graphviz makes of them."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import keras_custom  # noqa: F401 - registers the Keras twins of the spec-declared layers
import pytest
import yaml
from oracle import ZOO_APPLICATIONS, PlotFacts, keras_application, keras_plot_facts
from typer.testing import CliRunner
from zoo_written_out import WRITTEN_OUT

from shapecalc.cli import app

SPECS = sorted((Path(__file__).parent.parent / "specs").glob("*.yaml"))
runner = CliRunner()

_DOT_NODE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)" \[label=<(.*)>\];$')
_DOT_EDGE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)";$')
_MMD_NODE = re.compile(r'^\s*(n\d+)\["(.*)"\]$')
_MMD_EDGE = re.compile(r"^\s*(n\d+) --> (n\d+)$")


class Drawn:
    """What a drawing says: per node its name, type and shapes; the edges between names."""

    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.types: dict[str, str] = {}
        self.shapes: dict[str, tuple[str | None, str]] = {}
        self.edges: list[tuple[str, str]] = []

    def add(self, label: str) -> str:
        """Read a label once its markup's entities are decoded (the HTML of both languages)."""
        head = re.search(r"<b>(.*?)</b> \((.*?)\)", label, re.S)
        assert head, label
        name = html.unescape(head[1])
        given = re.search(r"Input shape: (?:<b>)?(.*?)(?:</b>)?(?:</font>|<br/>|$)", label)
        made = re.search(r"Output shape: (?:<b>)?(.*?)(?:</b>)?(?:</font>|<br/>|$)", label)
        assert made, label
        self.nodes.append(name)
        self.types[name] = html.unescape(head[2])
        self.shapes[name] = (html.unescape(given[1]) if given else None, html.unescape(made[1]))
        return name


def read_dot(text: str) -> Drawn:
    drawn = Drawn()
    for line in text.splitlines():
        if node := _DOT_NODE.match(line):
            drawn.add(node[2])
        elif edge := _DOT_EDGE.match(line):
            drawn.edges.append((_unquote(edge[1]), _unquote(edge[2])))
    return drawn


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def read_mermaid(text: str) -> Drawn:
    drawn, names = Drawn(), {}
    for line in text.splitlines():
        if node := _MMD_NODE.match(line):
            assert '"' not in node[2]  # a quote would end the label
            # Mermaid's #name; entities are HTML's &name;
            names[node[1]] = drawn.add(re.sub(r"#(\w+);", r"&\1;", node[2]).replace("&35;", "&#35;"))
        elif edge := _MMD_EDGE.match(line):
            drawn.edges.append((names[edge[1]], names[edge[2]]))
    return drawn


def plot(spec: Path | str, out: Path, *options: str) -> str:
    result = runner.invoke(app, ["plot", str(spec), "-o", str(out), *options])
    assert result.exit_code == 0, result.stderr
    return out.read_text()


def keras_facts(path: Path) -> PlotFacts:
    spec = yaml.safe_load(path.read_text())
    # a zoo spec written with blocks is the keras.applications model it reproduces
    zoo, written_out = ZOO_APPLICATIONS.get(path.name), WRITTEN_OUT.get(path.name)
    facts = keras_plot_facts(keras_application(zoo) if zoo else written_out() if written_out else spec)
    assert isinstance(facts, PlotFacts), f"Keras refuses {path.name}: {facts}"
    return facts


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_one_node_per_layer_and_one_edge_per_connection_as_keras(path: Path, tmp_path: Path) -> None:
    # custom_layer.yaml's layers are built in Keras from keras_custom.py's classes
    facts = keras_facts(path)
    for drawn in (read_dot(plot(path, tmp_path / "m.dot")), read_mermaid(plot(path, tmp_path / "m.mmd"))):
        assert Counter(drawn.nodes) == Counter(facts.nodes)
        assert Counter(drawn.edges) == Counter(facts.edges)
        assert drawn.nodes == facts.nodes  # and in Keras's order
        assert drawn.types == facts.types
        assert drawn.shapes == facts.shapes  # make_layer_label's text, "None" and lists included


def _svg_texts(svg: str) -> list[str]:
    return [el.text or "" for el in ET.fromstring(svg).iter() if el.tag.endswith("text")]


def _needs_dot() -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed (no dot on PATH): apt install graphviz")


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_graphviz_draws_every_spec(path: Path, tmp_path: Path) -> None:
    _needs_dot()
    source = plot(path, tmp_path / "m.dot")
    done = subprocess.run(["dot", "-Tsvg"], input=source, capture_output=True, text=True, check=False)
    if done.returncode < 0:  # Graphviz's ortho router aborts on some graphs: what plot then does
        polyline = ["dot", "-Tsvg", "-Gsplines=polyline"]
        done = subprocess.run(polyline, input=source, capture_output=True, text=True, check=False)
        drawn = runner.invoke(app, ["plot", str(path), "-o", str(tmp_path / "m.svg")])
        assert drawn.exit_code == 0 and "drawn with polyline edges instead" in drawn.stderr
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "Error" not in done.stderr, done.stderr
    texts = _svg_texts(done.stdout)
    assert all(name in texts for name in read_dot(source).nodes)  # Keras's names, checked above


def test_svg_and_png_through_the_command(tmp_path: Path) -> None:
    _needs_dot()
    spec = SPECS[0].parent / "shared_layer.yaml"
    svg = plot(spec, tmp_path / "m.svg")
    assert {"shared", "Params: ", "264"} <= set(_svg_texts(svg))
    result = runner.invoke(app, ["plot", str(spec), "-o", str(tmp_path / "m.png")])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "m.png").read_bytes().startswith(b"\x89PNG")


def test_without_graphviz_svg_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no dot program
    result = runner.invoke(app, ["plot", str(SPECS[0]), "-o", str(tmp_path / "m.svg")])
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1
    for hint in ("apt install graphviz", "brew install graphviz", "conda install graphviz", ".dot", ".mmd"):
        assert hint in message
    assert not (tmp_path / "m.svg").exists()
    assert plot(SPECS[0], tmp_path / "m.mmd").startswith("flowchart TB")  # needs nothing


ODD = 'x<&>"y"#z\\'  # every character DOT's HTML labels, its quoted ids or Mermaid could misread


def test_names_that_need_escaping_still_draw(tmp_path: Path) -> None:
    spec = tmp_path / "odd.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": 'odd "model"',
                "inputs": {ODD: [4]},
                "layers": [
                    {"Dense": {"name": ODD + "1", "units": 2, "inputs": ODD}},
                    {"Dense": {"name": "end", "units": 1}},  # a Mermaid keyword as a name
                ],
            }
        )
    )
    expected = [(ODD, ODD + "1"), (ODD + "1", "end")]
    dot_text = plot(spec, tmp_path / "m.dot")
    assert read_dot(dot_text).edges == expected
    assert read_dot(dot_text).nodes == [ODD, ODD + "1", "end"]
    mermaid = read_mermaid(plot(spec, tmp_path / "m.mmd"))
    assert (mermaid.nodes, mermaid.edges) == ([ODD, ODD + "1", "end"], expected)
    _needs_dot()
    done = subprocess.run(["dot", "-Tsvg"], input=dot_text, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert {ODD, ODD + "1"} <= set(_svg_texts(done.stdout))


def test_stdout_direction_and_usage_errors(tmp_path: Path) -> None:
    spec = SPECS[0].parent / "shared_layer.yaml"
    result = runner.invoke(app, ["plot", str(spec), "-o", "-", "--direction", "LR"])
    assert result.exit_code == 0
    assert "rankdir=LR" in result.stdout and read_dot(result.stdout).edges
    assert plot(spec, tmp_path / "m.mmd", "--direction", "LR").startswith("flowchart LR")
    result = runner.invoke(app, ["plot", str(spec), "-o", str(tmp_path / "m.pdf")])
    assert result.exit_code == 2 and ".dot, .gv, .mmd, .svg, .png" in result.stderr
    result = runner.invoke(app, ["plot", str(tmp_path / "none.yaml"), "-o", str(tmp_path / "m.dot")])
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_a_spec_error_is_located_and_exits_1(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("input: [4]\nlayers:\n  - Dense: {units: 2}\n  - Dense: {unit: 3}\n")
    result = runner.invoke(app, ["plot", str(spec), "-o", str(tmp_path / "m.dot")])
    assert result.exit_code == 1
    assert re.match(rf"{re.escape(str(spec))}:4:\d+: error: ", result.stderr), result.stderr
    assert not (tmp_path / "m.dot").exists()


def test_expand_opens_wrappers_as_keras_opens_nested_models(tmp_path: Path) -> None:
    spec = SPECS[0].parent / "bidirectional_tagger.yaml"
    text = plot(spec, tmp_path / "m.dot", "--expand")
    drawn = read_dot(text)
    cells = ["bidirectional/forward_lstm/lstm_cell", "bidirectional/backward_lstm/lstm_cell"]
    # the wrapper's box heads its cluster; its inner layers take its edges
    assert drawn.nodes == [
        "embedding",
        "bidirectional",
        "forward_lstm",
        "lstm_cell",
        "backward_lstm",
        "lstm_cell",
        "dense",
    ]
    assert drawn.edges == [("embedding", c) for c in cells] + [(c, "dense") for c in cells]
    assert drawn.shapes["forward_lstm"] == ("(None, None, 64)", "(None, None, 32)")
    assert drawn.shapes["lstm_cell"] == ("(None, 64)", "(None, 32)")  # one step
    assert text.count('subgraph "cluster_') == 3 and text.count("style=dashed") == 3
    mermaid = plot(spec, tmp_path / "m.mmd", "--expand")
    assert mermaid.count("subgraph ") == 3 and mermaid.count("stroke-dasharray") == 3
    _needs_dot()
    done = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
