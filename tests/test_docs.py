"""The spec format's reference, docs/spec-format.md, stays true: every spec in it is run.

Each ```yaml (or ```json) block of the document is written to ``model.yaml`` (``model.json``)
and given to ``shapecalc summary``. HTML comments on the lines just before a block say what to
expect; a reader of the rendered page does not see them:

* none: the spec is valid (exit 0);
* ``<!-- error: E005 -->``: it is refused (exit 1), and the codes of its problems are these
  (several for a spec that breaks several expectations: ``<!-- error: E007 E008 -->``);
* ``<!-- args: --set width=128 -->``: more arguments for ``summary``;
* ``<!-- fragment -->``: a piece of a spec, not a whole one: not run (keep these few).

What the document shows of the output is checked too: a ```text block right after a spec is
all that ``summary`` prints (on stderr for an error example); each comment line ``# => TEXT``
inside a spec is a line of its output (a row of the table written as its cells joined by
`` | ``, a wrapped cell joined back into one line); and a comment ``# layers => a, b, ...``
lists the model's layers by name, in order, as ``summary --format json`` does (all of them, or
some in order where the list has ``...``), which is how the examples of blocks show the names
their instances make whatever the table shows of them.

The same module checks the links of README.md and the document: every relative link leads to
a file of the repository (and a ``#anchor`` to a heading), and nothing points outside it.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shapecalc.cli import app

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "spec-format.md"
README = ROOT / "README.md"
MAX_FRAGMENTS = 4  # blocks not run; the reference shows whole specs
SPEC_LANGUAGES = {"yaml": "model.yaml", "json": "model.json"}
# wide enough for Keras's own table widths (88 columns, 108 with "Connected to")
ENV = {"COLUMNS": "120"}

_FENCE = re.compile(r"^```(\w*)\s*$")
_MARKER = re.compile(r"^<!--\s*(error|args|fragment)\b:?\s*(.*?)\s*-->$")
_SHOWN = "# => "
_LAYERS = "# layers => "


@dataclass
class Block:
    line: int  # 1-based line of the opening fence
    language: str
    text: str
    markers: dict[str, str] = field(default_factory=dict)
    output: list[str] | None = None  # the ```text block right after it, if there is one

    @property
    def id(self) -> str:
        return f"line{self.line}"


def read_blocks(path: Path) -> list[Block]:
    """The fenced blocks of a markdown file, each with its markers and the text block after it."""
    lines = path.read_text().splitlines()
    blocks: list[tuple[Block, int]] = []  # and the line index after the closing fence
    i = 0
    while i < len(lines):
        opened = _FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].rstrip() == "```")
        block = Block(i + 1, opened.group(1), "\n".join(lines[i + 1 : end]) + "\n")
        k = i - 1
        while k >= 0 and (marker := _MARKER.match(lines[k].strip())):
            block.markers[marker.group(1)] = marker.group(2)
            k -= 1
        blocks.append((block, end + 1))
        i = end + 1
    for (block, after), (following, _) in pairwise(blocks):
        between = lines[after : following.line - 1]
        if following.language == "text" and not any(line.strip() for line in between):
            block.output = following.text.rstrip("\n").splitlines()
    return [block for block, _ in blocks]


SPECS = [b for b in read_blocks(DOC) if b.language in SPEC_LANGUAGES]
RUN = [b for b in SPECS if "fragment" not in b.markers]


def normalized(output: str) -> list[str]:
    """The lines of a summary, each table row as its cells joined by " | " (a cell that wraps
    onto several lines joined back with spaces); other lines stripped."""
    result: list[str] = []
    row: list[list[str]] = []
    for line in output.splitlines():
        if line.startswith("│"):
            cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
            row = row or [[] for _ in cells]
            for parts, cell in zip(row, cells, strict=True):
                if cell:
                    parts.append(cell)
            continue
        if row:
            result.append(" | ".join(" ".join(parts) for parts in row))
            row = []
        if line.strip():
            result.append(line.strip())
    if row:
        result.append(" | ".join(" ".join(parts) for parts in row))
    return result


def shown_lines(block: Block, prefix: str = _SHOWN) -> list[str]:
    return [
        line.strip()[len(prefix) :].strip()
        for line in block.text.splitlines()
        if line.strip().startswith(prefix)
    ]


def listed_layers(block: Block) -> list[str] | None:
    """The names of a ``# layers =>`` comment (it may continue on more such lines)."""
    lines = shown_lines(block, _LAYERS)
    return [name.strip() for line in lines for name in line.split(",") if name.strip()] or None


def in_order(wanted: list[str], names: list[str]) -> bool:
    """``wanted`` is ``names``, or with ``...`` for some of them, a part of it in order."""
    if "..." not in wanted:
        return wanted == names
    rest = iter(names)
    return all(name in rest for name in wanted if name != "...")


def summarize(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *more: str):
    name = SPEC_LANGUAGES[block.language]
    (tmp_path / name).write_text(block.text)
    monkeypatch.chdir(tmp_path)  # messages name the file as the document does: model.yaml
    args = ["summary", name, *shlex.split(block.markers.get("args", "")), *more]
    return CliRunner().invoke(app, args, env=ENV)


def test_the_document_has_examples_and_few_fragments() -> None:
    assert len(SPECS) >= 30
    assert len(SPECS) - len(RUN) <= MAX_FRAGMENTS, [b.id for b in SPECS if b not in RUN]
    assert all(b.output is None for b in SPECS if b not in RUN)


@pytest.mark.parametrize("block", RUN, ids=lambda b: b.id)
def test_each_example_does_what_the_document_says(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = summarize(block, tmp_path, monkeypatch)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if "error" in block.markers:
        assert result.exit_code == 1, (result.stdout, result.stderr)
        if block.output is not None:
            assert result.stderr.rstrip("\n").splitlines() == block.output
        codes = set(block.markers["error"].split())
        assert codes, "an error example names its codes: <!-- error: E004 -->"
        as_json = summarize(block, tmp_path, monkeypatch, "--format", "json")
        problems = json.loads(as_json.stdout)["problems"]
        assert {p["code"] for p in problems} == codes, problems
        assert not shown_lines(block) and not listed_layers(block), "errors show a text block"
        return
    assert result.exit_code == 0, result.stderr
    if block.output is not None:
        assert [line.rstrip() for line in result.stdout.rstrip("\n").splitlines()] == block.output
    printed = normalized(result.stdout)
    for line in shown_lines(block):
        assert line in printed, (line, printed)
    wanted = listed_layers(block)
    if wanted is not None:
        as_json = summarize(block, tmp_path, monkeypatch, "--format", "json")
        names = [layer["name"] for layer in json.loads(as_json.stdout)["layers"]]
        assert in_order(wanted, names), (wanted, names)


def test_examples_that_show_output_are_many() -> None:
    """Most examples say what comes out; the document says how (# => lines, text blocks)."""
    checked = [b for b in RUN if b.output is not None or shown_lines(b) or listed_layers(b)]
    assert len(checked) * 3 >= len(RUN) * 2, [b.id for b in RUN if b not in checked]


# ----------------------------------------------------------------------------- links
_CODE_BLOCK = re.compile(r"^(`{3,}).*?^\1\s*$", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"(`+).+?\1")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_LOCAL_PATH = re.compile(r"(?<![\w.])/(?:work|home|Users|root|mnt|private)/")


def _prose(path: Path) -> str:
    """The file without its code blocks and code spans, where a link is not a link."""
    return _INLINE_CODE.sub("", _CODE_BLOCK.sub("", path.read_text()))


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the file's headings."""
    seen: dict[str, int] = {}
    found = set()
    for line in _CODE_BLOCK.sub("", path.read_text()).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(1)).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


@pytest.mark.parametrize("path", [README, DOC], ids=lambda p: p.name)
def test_links_lead_to_files_of_the_repository(path: Path) -> None:
    links = _LINK.findall(_prose(path))
    assert links or path == README
    for target in links:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # https: and the like
        file_part, _, anchor = target.partition("#")
        assert not file_part.startswith("/"), f"{path.name}: {target}: a link relative to the file"
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.is_relative_to(ROOT), f"{path.name}: {target} leads outside the repository"
        assert linked.exists(), f"{path.name}: {target}: no such file"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{path.name}: {target}: no such heading"


@pytest.mark.parametrize("path", [README, DOC], ids=lambda p: p.name)
def test_no_path_outside_the_repository(path: Path) -> None:
    text = path.read_text()
    assert "../shared" not in text
    assert not _LOCAL_PATH.search(text), _LOCAL_PATH.search(text)


def test_readme_sends_readers_to_the_reference() -> None:
    section = README.read_text().split("## The spec format", 1)[1].split("\n## ", 1)[0]
    assert "[docs/spec-format.md](docs/spec-format.md)" in section
