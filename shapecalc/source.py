"""Spec files -> plain values that remember where each came from (FILE:LINE:COL).

YAML goes through PyYAML's safe composer (the C one when present): only plain data is built,
no tags are honoured, nothing is executed. JSON gets a small exact parser of its own, since
YAML 1.1 is not quite a superset of JSON (tabs, surrogate escapes). Both refuse duplicate
keys, and both bound the size of what they build, so an alias bomb or a deeply nested file
is an error, not a hang.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Location, SpecError

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_NODES = 1_000_000  # values built, counting every expansion of a YAML alias
MAX_DEPTH = 200


@dataclass(slots=True)
class Node:
    """A value from the spec with its position. ``value`` is a dict of Nodes, a list of Nodes,
    or a scalar (str, int, float, bool, None). ``key_loc`` is where its key stands, for values
    of a mapping."""

    value: Any
    loc: Location
    key_loc: Location | None = field(default=None, compare=False)

    def plain(self) -> Any:
        """The value without positions, as yaml.safe_load / json.load would give it."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value

    def get(self, key: str) -> Node | None:
        return self.value.get(key) if isinstance(self.value, dict) else None

    def at(self, path: list[str | int]) -> Node:
        """The node a path of keys and indices leads to; stops at the last one that exists."""
        node = self
        for step in path:
            child: Node | None = None
            if isinstance(node.value, dict) and isinstance(step, str):
                child = node.value.get(step)
            elif isinstance(node.value, list) and isinstance(step, int) and 0 <= step < len(node.value):
                child = node.value[step]
            if child is None:
                break
            node = child
        return node


def load(path: str | Path, display_name: str | None = None) -> Node:
    """Read and parse a spec file; the format follows the suffix (.json, else YAML)."""
    name = display_name or str(path)
    file_path = Path(path)
    try:
        if file_path.suffix.lower() == ".keras":
            # the weights make an archive large; the limit is on the architecture it holds
            return _keras_archive(file_path, name)
        size = file_path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SpecError(
                f"file is {size:,} bytes; specs are limited to {MAX_FILE_BYTES:,}",
                Location(name, 1, 1),
                code="E001",
            )
        text = file_path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SpecError(
            f"file is not UTF-8 text ({err.reason} at byte {err.start})", Location(name, 1, 1), code="E001"
        ) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", Location(name, 1, 1), code="E001") from None
    except OSError as err:
        raise SpecError(f"cannot read: {err.strerror}", Location(name, 1, 1), code="E001") from None
    return parse(text, name, json_format=file_path.suffix.lower() == ".json")


def _keras_archive(path: Path, name: str) -> Node:
    """The architecture in a .keras archive (a zip): its config.json, located as
    ``model.keras:config.json``."""
    import zipfile

    where = f"{name}:config.json"
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > MAX_FILE_BYTES:
                raise SpecError(
                    f"config.json is {info.file_size:,} bytes; specs are limited to {MAX_FILE_BYTES:,}",
                    Location(where, 1, 1),
                    code="E001",
                )
            text = archive.read(info).decode("utf-8-sig")
    except zipfile.BadZipFile:
        raise SpecError(
            "a .keras file is a zip archive; this one is not", Location(name, 1, 1), code="E001"
        ) from None
    except KeyError:
        raise SpecError("this .keras archive has no config.json", Location(name, 1, 1), code="E001") from None
    except UnicodeDecodeError as err:
        raise SpecError(
            f"config.json is not UTF-8 text ({err.reason})", Location(where, 1, 1), code="E001"
        ) from None
    return parse(text, where, json_format=True)


def parse(text: str, name: str, json_format: bool = False) -> Node:
    root = _JsonParser(text, name).document() if json_format else _yaml_document(text, name)
    if root is None:
        raise SpecError("the spec is empty", Location(name, 1, 1), code="E001")
    return root


# ------------------------------------------------------------------------------------------ YAML
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that also reads 1e-3 as a float (YAML 1.2 / JSON style), as users write it."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)

_MERGE_TAG = "tag:yaml.org,2002:merge"


def _yaml_document(text: str, name: str) -> Node | None:
    loader = _Loader(text)
    try:
        composed = loader.get_single_node()
        if composed is None:
            return None
        converter = _YamlConverter(loader, name)
        if "*" in text:
            # aliases can make a small file expand into a huge one: measure before building
            converter.check_size(composed)
        return converter.convert(composed)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        loc = Location(name, mark.line + 1, mark.column + 1) if mark else Location(name, 1, 1)
        problem = err.problem or err.context or "invalid YAML"
        context = f" ({err.context})" if err.context and err.problem else ""
        raise SpecError(f"invalid YAML: {problem}{context}", loc, code="E001") from None
    except yaml.YAMLError as err:
        raise SpecError(f"invalid YAML: {err}", Location(name, 1, 1), code="E001") from None
    finally:
        loader.dispose()


class _YamlConverter:
    def __init__(self, loader: Any, name: str) -> None:
        self.loader = loader
        self.name = name
        self.count = 0

    def loc(self, node: yaml.Node) -> Location:
        return Location(self.name, node.start_mark.line + 1, node.start_mark.column + 1)

    def check_size(self, root: yaml.Node) -> None:
        """Refuse, before building anything, a document whose aliases expand past the limit.

        Sizes are memoised per composed node, so this is linear in the file, however much
        the aliases multiply it; a recursive alias is refused too.
        """
        sizes: dict[int, int] = {}
        in_progress: set[int] = set()

        def size(node: yaml.Node, depth: int) -> int:
            key = id(node)
            if key in sizes:
                return sizes[key]
            if key in in_progress:
                raise SpecError("a YAML alias refers to itself", self.loc(node), code="E001")
            if depth > MAX_DEPTH:
                raise SpecError(f"the spec nests deeper than {MAX_DEPTH} levels", self.loc(node), code="E001")
            in_progress.add(key)
            total = 1
            if isinstance(node, yaml.SequenceNode):
                total += sum(size(item, depth + 1) for item in node.value)
            elif isinstance(node, yaml.MappingNode):
                total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
            in_progress.discard(key)
            if total > MAX_NODES:
                raise SpecError(
                    f"the spec expands to more than {MAX_NODES:,} values (YAML aliases?)",
                    self.loc(node),
                    code="E001",
                )
            sizes[key] = total
            return total

        size(root, 0)

    def convert(self, node: yaml.Node, depth: int = 0) -> Node:
        """The Node for a composed node; without aliases, its size and depth are checked here
        (with them, check_size has measured the expansion first)."""
        mark = node.start_mark
        loc = Location(self.name, mark.line + 1, mark.column + 1)
        self.count += 1
        if self.count > MAX_NODES:
            raise SpecError(f"the spec has more than {MAX_NODES:,} values", loc, code="E001")
        if depth > MAX_DEPTH:
            raise SpecError(f"the spec nests deeper than {MAX_DEPTH} levels", loc, code="E001")
        if isinstance(node, yaml.MappingNode):
            return Node(self.mapping(node, depth + 1), loc)
        if isinstance(node, yaml.SequenceNode):
            return Node([self.convert(item, depth + 1) for item in node.value], loc)
        tag = node.tag
        if tag == _STR_TAG:  # most scalars: skip the constructor machinery
            return Node(node.value, loc)
        if tag == _INT_TAG and node.value.isdigit() and node.value[:1] != "0":
            return Node(int(node.value), loc)
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as err:
            raise SpecError(f"unsupported YAML value: {err.problem}", self.loc(node), code="E001") from None
        if not isinstance(value, (str, int, float, bool, type(None))):
            # timestamps, binary and the like: keep the text the user wrote
            value = node.value
        return Node(value, self.loc(node))

    def mapping(self, node: yaml.MappingNode, depth: int) -> dict[str, Node]:
        result: dict[str, Node] = {}
        merged: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                # ``<<: *defaults`` - explicit keys win over merged ones, as in YAML's merge rule
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise SpecError("'<<' merges only mappings", self.loc(source), code="E001")
                    for k, v in self.mapping(source, depth).items():
                        merged.setdefault(k, v)
                continue
            key = self.convert(key_node, depth)
            if not isinstance(key.value, str):
                hint = (
                    " (YAML reads yes, no, on, off as true or false: quote the key)"
                    if isinstance(key.value, bool)
                    else ""
                )
                raise SpecError(f"keys must be strings, got {key.value!r}{hint}", key.loc, code="E001")
            if key.value in result:
                first = result[key.value].key_loc
                raise SpecError(
                    f"duplicate key '{key.value}' (first at line {first.line if first else '?'})",
                    key.loc,
                    code="E001",
                )
            value = self.convert(value_node, depth)
            value.key_loc = key.loc
            result[key.value] = value
        for k, v in merged.items():
            result.setdefault(k, v)
        return result


# ------------------------------------------------------------------------------------------ JSON
_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class _JsonParser:
    """RFC 8259 JSON with positions; strings decoded by the standard library's own scanner."""

    def __init__(self, text: str, name: str) -> None:
        self.text = text
        self.name = name
        self.pos = 0
        self.count = 0
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def loc(self, pos: int) -> Location:
        line = bisect.bisect_right(self.line_starts, pos)
        return Location(self.name, line, pos - self.line_starts[line - 1] + 1)

    def fail(self, message: str, pos: int | None = None) -> SpecError:
        return SpecError(f"invalid JSON: {message}", self.loc(self.pos if pos is None else pos), code="E001")

    def skip(self) -> None:
        self.pos = _WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def document(self) -> Node | None:
        self.skip()
        if self.pos == len(self.text):
            return None
        value = self.value(0)
        self.skip()
        if self.pos != len(self.text):
            raise self.fail("extra data after the document")
        return value

    def value(self, depth: int) -> Node:
        self.count += 1
        if depth > MAX_DEPTH:
            raise self.fail(f"nests deeper than {MAX_DEPTH} levels")
        if self.count > MAX_NODES:
            raise self.fail(f"more than {MAX_NODES:,} values")
        start = self.pos
        char = self.text[start : start + 1]
        if char == "{":
            return Node(self.obj(depth), self.loc(start))
        if char == "[":
            return Node(self.array(depth), self.loc(start))
        if char == '"':
            return Node(self.string(), self.loc(start))
        for word, constant in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, start):
                self.pos += len(word)
                return Node(constant, self.loc(start))
        match = _NUMBER.match(self.text, start)
        if match and match.end() > start:
            self.pos = match.end()
            integer, fraction, exponent = match.groups()
            number: int | float = float(match.group()) if fraction or exponent else int(integer)
            return Node(number, self.loc(start))
        raise self.fail("expected a value" if char else "unexpected end of file")

    def string(self) -> str:
        try:
            text, self.pos = json.decoder.scanstring(self.text, self.pos + 1, True)  # type: ignore[attr-defined]
        except json.JSONDecodeError as err:
            raise self.fail(err.msg, err.pos) from None
        return text

    def obj(self, depth: int) -> dict[str, Node]:
        result: dict[str, Node] = {}
        self.pos += 1
        self.skip()
        if self.text.startswith("}", self.pos):
            self.pos += 1
            return result
        while True:
            self.skip()
            key_pos = self.pos
            if not self.text.startswith('"', key_pos):
                raise self.fail("expected a string key in double quotes")
            key = self.string()
            if key in result:
                first = result[key].key_loc
                raise self.fail(
                    f"duplicate key '{key}' (first at line {first.line if first else '?'})", key_pos
                )
            self.skip()
            if not self.text.startswith(":", self.pos):
                raise self.fail("expected ':' after the key")
            self.pos += 1
            self.skip()
            value = self.value(depth + 1)
            value.key_loc = self.loc(key_pos)
            result[key] = value
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            if self.text.startswith("}", self.pos):
                self.pos += 1
                return result
            raise self.fail("expected ',' or '}'")

    def array(self, depth: int) -> list[Node]:
        items: list[Node] = []
        self.pos += 1
        self.skip()
        if self.text.startswith("]", self.pos):
            self.pos += 1
            return items
        while True:
            self.skip()
            items.append(self.value(depth + 1))
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            if self.text.startswith("]", self.pos):
                self.pos += 1
                return items
            raise self.fail("expected ',' or ']'")
