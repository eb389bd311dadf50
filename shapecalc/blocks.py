"""Blocks, repeats and variables: how a spec writes a real architecture once, expanded into the
plain layer entries the graph is built from.

* ``vars:`` names values for the whole spec (see variables.py: ``$name``, ``$(expression)``,
  ``--set``), anywhere in the layers, the inputs and the outputs.
* ``blocks:`` defines named sub-graphs: ``params`` (with defaults, or ``required``), ``inputs``
  (names, ``[x]`` unless given), ``layers`` and ``outputs`` (the last layer unless given). An
  entry whose type is a block is an *instance*: its ``name`` prefixes the names of the block's
  layers (``conv2_block1`` + ``1_conv`` -> ``conv2_block1_1_conv``, as keras.applications names
  them), its ``inputs`` feed the block's, and later entries refer to the instance by its name
  (``NAME.K`` for output K). Blocks may use other blocks.
* ``repeat: N`` on an entry chains N copies of it, each fed by the one before (as its first
  input: other inputs are as written, ``$i`` in them too); ``$i`` is the repetition (from 1)
  in its arguments and name. ``when: false`` leaves an entry out.

A problem inside a block is located at the line of the block's definition, and the entries
made from it carry the instance (and the chain of instances) for the message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from .errors import Location, SpecError
from .layers.args import describe, did_you_mean
from .source import Node
from .variables import NAME, substitute

REQUIRED = "required"
MAX_REPEAT = 10_000
MAX_NESTING = 50  # instances within instances: a block that uses itself must stop somewhere
MAX_ENTRIES = 1_000_000  # entries one spec may expand to: a typo in repeat must not hang
BLOCK_KEYS = ("params", "inputs", "layers", "outputs", "model")
# what a block that is a Keras model used as a layer (``model:``) is shown as, as Keras shows it
MODEL_CLASSES = ("Sequential", "Functional")
INSTANCE_KEYS = ("name", "inputs", "repeat", "when")
_INSTANCE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


# Plain classes and tuples rather than dataclasses: every run imports this module, and a
# dataclass costs half a millisecond to define (the static path's start-up is measured).
class Anchor:
    """A tensor an expanded entry refers to before its layer has a name: the output of the call
    made just before an entry (an instance's input when the instance names none) or by one.
    Compared by identity."""

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        return f"Anchor({self.what!r})"


class AnchorRef(NamedTuple):
    """A reference to an anchored call, output ``index`` (None: as a reference by name)."""

    anchor: Anchor
    index: int | None = None


class LayerEntry:
    """One plain entry of ``layers``: ``type_name`` with its argument mapping (located; values
    substituted, names prefixed, references rewritten), the anchors to bind to the call before
    it and to its own call, and the chain of block instances it comes from: ``context`` names
    them for messages ("in conv2_block1 (bottleneck, line 57)"), ``blocks`` lists them,
    outermost first, as (the instance's full name, its block's name)."""

    __slots__ = ("after", "args", "before", "blocks", "context", "loc", "type_name")

    def __init__(self, type_name: str, args: Node, loc: Location, context: str = "") -> None:
        self.type_name = type_name
        self.args = args
        self.loc = loc
        self.before: tuple[Anchor, ...] = ()
        self.after: tuple[Anchor, ...] = ()
        self.context = context
        self.blocks: tuple[tuple[str, str], ...] = ()

    @property
    def references(self) -> Node | None:
        return self.args.get("inputs")


class _Made(NamedTuple):
    """The entries an item made, and what stands for its output: ``follows`` when that is the
    last entry's own output, which the next entry takes by default."""

    entries: list[LayerEntry]
    output: Any  # an AnchorRef, or None where nothing can refer to it but by its name
    follows: bool


class Block(NamedTuple):
    name: str
    params: dict[str, Node]
    inputs: tuple[str, ...]
    layers: list[Node]
    outputs: list[Node] | None
    loc: Location
    # Sequential or Functional for a Keras model used as a layer: its layers keep their own
    # names, and it is shown with that class, as Keras shows a nested model
    model: str | None = None


# ----------------------------------------------------------------------------- blocks
def read_blocks(node: Node | None) -> dict[str, Block]:
    if node is None:
        return {}
    if not isinstance(node.value, dict):
        raise SpecError("'blocks' maps block names to {params, inputs, layers, outputs}", node.loc)
    blocks = {}
    for name, body in node.value.items():
        where = body.key_loc or body.loc
        if not NAME.fullmatch(name):
            raise SpecError(f"a block name is a word such as bottleneck, got '{name}'", where)
        if not isinstance(body.value, dict):
            raise SpecError(f"block {name} is a mapping with layers (and params, inputs, outputs)", body.loc)
        for key, item in body.value.items():
            if key not in BLOCK_KEYS:
                raise SpecError(
                    f"block {name} has no key '{key}'{did_you_mean(key, BLOCK_KEYS)}", item.key_loc
                )
        params = body.get("params")
        if params is not None and not isinstance(params.value, dict):
            raise SpecError(f"block {name}: params maps names to defaults (or required)", params.loc)
        layers = body.get("layers")
        if layers is None or not isinstance(layers.value, list) or not layers.value:
            raise SpecError(f"block {name} needs a list of layers", (layers or body).loc)
        inputs = _names_list(body.get("inputs"), f"block {name}: inputs") or ("x",)
        outputs = body.get("outputs")
        output_list = (
            None if outputs is None else (outputs.value if isinstance(outputs.value, list) else [outputs])
        )
        if output_list == []:
            raise SpecError(
                f"block {name}: outputs names at least one of its layers (or leave it out: the last)",
                outputs.loc if outputs is not None else body.loc,
            )
        model = body.get("model")
        if model is not None and model.value not in MODEL_CLASSES:
            raise SpecError(
                f"block {name}: model is Sequential or Functional (a Keras model used as a layer), "
                f"got {describe(model.value)}",
                model.loc,
            )
        blocks[name] = Block(
            name,
            dict(params.value) if params else {},
            inputs,
            layers.value,
            output_list,
            where,
            None if model is None else model.value,
        )
    return blocks


def _names_list(node: Node | None, what: str) -> tuple[str, ...]:
    if node is None:
        return ()
    items = node.value if isinstance(node.value, list) else [node]
    names = []
    for item in items:
        if not isinstance(item.value, str) or not NAME.fullmatch(item.value):
            raise SpecError(f"{what} are names such as x, got {describe(item.plain())}", item.loc)
        names.append(item.value)
    return tuple(names)


class Expander:
    """Turns the spec's entries into plain ones: blocks instantiated, repeats unrolled,
    variables substituted."""

    def __init__(self, blocks: dict[str, Block], variables: dict[str, Any]) -> None:
        self.blocks = blocks
        self.variables = variables
        self.instance_counts: dict[str, int] = {}
        # each instance's outputs, in the order its block declares them (for the summary's row)
        self.instance_outputs: dict[str, list[Any]] = {}
        self.count = 0
        self.top = _Scope(names=dict(variables), aliases={}, prefix="", inputs={}, context="", blocks=())

    def expand(self, items: list[Node]) -> list[LayerEntry]:
        """The plain entries of the top-level ``layers``."""
        entries: list[LayerEntry] = []
        for item in items:
            entries += self._item(item, self.top).entries
        return entries

    def reference(self, node: Node) -> Node:
        """A reference of the model's ``outputs``, an instance's name standing for its output."""
        return self.top.rewrite(node, self.top.names)

    def _item(self, item: Node, scope: _Scope, first_input: Any = None) -> _Made:
        """The entries one item of a layers list makes. ``first_input``: what the item takes when
        it names no inputs (a block's first layer: the block's input), else the entry before."""
        if not isinstance(item.value, dict) or len(item.value) != 1:
            raise SpecError(
                "each layer is a one-key mapping: the Keras class name, then its arguments, "
                f"e.g. - Conv2D: {{filters: 8, kernel_size: 3}}; got {describe(item.plain())}",
                item.loc,
            )
        ((type_name, args),) = item.value.items()
        if args.value is None:
            args = Node({}, args.loc, args.key_loc)
        if not isinstance(args.value, dict):
            raise SpecError(
                f"the arguments of {type_name} must be a mapping such as {{units: 8}}, "
                f"got {describe(args.plain())}",
                args.loc,
            )
        where = args.key_loc or item.loc
        plain = scope is self.top and type_name not in self.blocks and _literal(args.value)
        if plain and not (self.top.aliases and "inputs" in args.value):
            return _Made([LayerEntry(type_name, args, where)], None, True)  # as written: most entries
        if first_input is not None and "inputs" not in args.value:
            args = Node({**args.value, "inputs": Node(first_input, where)}, args.loc, args.key_loc)
        repeat = args.get("repeat")
        if repeat is None:
            return self._one(type_name, args, where, scope, None)
        count = substitute(repeat, scope.names).value
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_REPEAT:
            raise SpecError(
                f"repeat must be an integer from 1 to {MAX_REPEAT:,}, got {describe(count)}", repeat.loc
            )
        name = args.get("name")
        if count > 1 and name is not None and "$" not in str(name.value):
            raise SpecError(
                f"repeat: {count} would give every copy the name '{name.value}': use $i in it "
                "(the copy, from 1)",
                name.loc,
            )
        body = {k: v for k, v in args.value.items() if k != "repeat"}
        made = self._one(type_name, Node(body, args.loc, args.key_loc), where, scope, 1)
        entries = list(made.entries)
        refs = body.get("inputs")
        for i in range(2, count + 1):
            # a copy takes the one before it as its (first) input, any others as written (a
            # decoder's skip connection); it names it where it could not follow by itself
            wired = dict(body)
            if refs is not None and isinstance(refs.value, list) and len(refs.value) > 1:
                wired["inputs"] = Node([Node(made.output, where), *refs.value[1:]], refs.loc, refs.key_loc)
            elif refs is not None or not made.follows:
                wired["inputs"] = Node(made.output, where)
            made = self._one(type_name, Node(wired, args.loc, args.key_loc), where, scope, i)
            entries += made.entries
        return _Made(entries, made.output, made.follows)

    def _one(self, type_name: str, args: Node, where: Location, scope: _Scope, index: int | None) -> _Made:
        names = scope.names if index is None else {**scope.names, "i": index}
        when = args.get("when")
        if when is not None:
            keep = substitute(when, names).value
            if not isinstance(keep, bool):
                raise SpecError(
                    f"when takes true or false (e.g. $(stride > 1)), got {describe(keep)}", when.loc
                )
            if not keep:
                return _Made([], None, True)
            args = Node({k: v for k, v in args.value.items() if k != "when"}, args.loc, args.key_loc)
        self.count += 1
        if self.count > MAX_ENTRIES:
            raise SpecError(f"the spec expands to more than {MAX_ENTRIES:,} layers", where)
        block = self.blocks.get(type_name)
        if block is not None:
            return self._instance(block, args, where, scope, names)
        refs = args.get("inputs")
        substituted = substitute(
            Node({k: v for k, v in args.value.items() if k != "inputs"}, args.loc), names
        )
        target = substituted.value.get("layer")
        if (
            type_name == "Reuse"
            and scope.prefix
            and not scope.keeps_names
            and target is not None
            and target.value in scope.aliases
        ):
            # a block's Reuse names a layer of the block, as its other references do
            prefixed_target = Node(f"{scope.prefix}_{target.value}", target.loc, target.key_loc)
            substituted = Node({**substituted.value, "layer": prefixed_target}, substituted.loc)
        plain = refs is None and not scope.prefix and substituted.value.keys() == args.value.keys()
        if plain and all(substituted.value[k] is v for k, v in args.value.items()):
            entry = LayerEntry(type_name, args, where)  # the common case, as written
        else:
            values = dict(substituted.value)
            if refs is not None:
                values["inputs"] = scope.rewrite(refs, names)
            named = values.get("name")
            if scope.prefix and not scope.keeps_names and named is not None and isinstance(named.value, str):
                values["name"] = Node(f"{scope.prefix}_{named.value}", named.loc, named.key_loc)
            entry = LayerEntry(type_name, Node(values, args.loc, args.key_loc), where, context=scope.context)
            entry.blocks = scope.blocks
        if not scope.prefix and index is None:
            return _Made([entry], None, True)  # nothing refers to it but by its name
        named = args.get("name")
        own = named.value if named is not None and isinstance(named.value, str) else None
        anchor = Anchor(f"the output of {own or type_name}")
        entry.after += (anchor,)
        if scope.prefix and own is not None:
            scope.aliases[substitute(named, names).value] = AnchorRef(anchor)  # type: ignore[arg-type]
        return _Made([entry], AnchorRef(anchor), True)

    def _instance(
        self, block: Block, args: Node, where: Location, scope: _Scope, names: dict[str, Any]
    ) -> _Made:
        given = {k: v for k, v in args.value.items() if k not in INSTANCE_KEYS}
        for key, node in given.items():
            if key not in block.params:
                takes = f"; its parameters: {', '.join(block.params)}" if block.params else "; it takes none"
                raise SpecError(
                    f"block {block.name} has no parameter '{key}'"
                    f"{did_you_mean(key, list(block.params))}{takes}",
                    node.key_loc or node.loc,
                )
        params: dict[str, Any] = {}
        for key, default in block.params.items():
            if key in given:
                params[key] = substitute(given[key], names).plain()
            elif default.value == REQUIRED:
                raise SpecError(f"block {block.name} needs the parameter '{key}'", where)
            else:
                params[key] = substitute(default, self.variables).plain()
        name_node = args.get("name")
        if name_node is not None:
            own = substitute(name_node, names).value
            if not isinstance(own, str) or not _INSTANCE_NAME.fullmatch(own):
                raise SpecError(
                    f"a block instance's name is a word such as conv2_block1, got {describe(own)}",
                    name_node.loc,
                )
        else:
            seen = self.instance_counts.get(block.name, 0)
            self.instance_counts[block.name] = seen + 1
            own = block.name if seen == 0 else f"{block.name}_{seen}"
        # a nested model's name is its own, as its layers' are
        prefix = f"{scope.prefix}_{own}" if scope.prefix and block.model is None else own
        label = f"in {prefix} ({block.name}, line {where.line})"
        if len(scope.blocks) >= MAX_NESTING:
            chain = " > ".join(name for _, name in scope.blocks[-5:])
            raise SpecError(
                f"blocks nest more than {MAX_NESTING} deep (... > {chain} > {block.name}): does block "
                f"{block.name} use itself without a when: that stops it?",
                where,
                context=chain,  # the chain is in the message already: not 50 instances more
            )
        inner = _Scope(
            names={**self.variables, **params},
            aliases={},
            prefix=prefix,
            inputs={},
            context=f"{label} {scope.context}" if scope.context else label,
            blocks=(*scope.blocks, (prefix, block.model or block.name)),
        )
        inner.keeps_names = block.model is not None
        refs = args.get("inputs")
        before = None
        if refs is None:
            if len(block.inputs) > 1:
                raise SpecError(
                    f"block {block.name} takes {len(block.inputs)} inputs ({', '.join(block.inputs)}): "
                    "give them with inputs: [...]",
                    where,
                )
            # the instance takes the entry before it; a layer of the block that names the input
            # refers to that entry's call, which an anchor keeps
            before = Anchor(f"the input of {prefix}")
            inner.inputs = {block.inputs[0]: AnchorRef(before)}
        else:
            outer = scope.rewrite(refs, names)
            items = outer.value if isinstance(outer.value, list) else [outer]
            if len(items) != len(block.inputs):
                raise SpecError(
                    f"block {block.name} takes {len(block.inputs)} input(s) ({', '.join(block.inputs)}), "
                    f"given {len(items)}",
                    refs.loc,
                )
            inner.inputs = {n: item.value for n, item in zip(block.inputs, items, strict=True)}
        entries: list[LayerEntry] = []
        last: _Made | None = None
        # the first layer made, if it names no inputs, takes the block's first input (by name)
        fed = None if refs is None else block.inputs[0]
        for item in block.layers:
            try:
                made = self._item(item, inner, fed)
            except SpecError as err:
                raise err.within(inner.context) from None  # the whole chain, named once
            if made.entries:  # not left out by its when:
                entries += made.entries
                last, fed = made, None
        if last is None:
            raise SpecError(f"block {block.name} makes no layers here: every one has when: false", where)
        if before is not None:
            entries[0].before += (before,)
        if block.outputs is None:
            outputs, follows = [last.output], last.follows
        else:
            outputs = [inner.resolve(node, inner.names) for node in block.outputs]
            follows = False
        self.instance_outputs[prefix] = outputs
        scope.aliases[own] = outputs[0]
        for k, target in enumerate(outputs):
            scope.aliases[f"{own}.{k}"] = target
        return _Made(entries, outputs[0], follows)


def _literal(args: dict[str, Node]) -> bool:
    """Arguments with nothing to expand: scalars without a "$", no repeat or when."""
    for key, node in args.items():
        value = node.value
        if (
            key in ("repeat", "when")
            or isinstance(value, (dict, list))
            or (isinstance(value, str) and "$" in value)
        ):
            return False
    return True


class _Scope:
    """Where entries are expanded: the top level, or a block instance."""

    __slots__ = ("aliases", "blocks", "context", "inputs", "keeps_names", "names", "prefix")

    def __init__(
        self,
        names: dict[str, Any],  # variables, a block's parameters, i
        aliases: dict[str, Any],  # names of this scope's layers and instances -> what they stand for
        prefix: str,
        inputs: dict[str, Any],  # a block's input names -> the outer references they stand for
        context: str,
        blocks: tuple[tuple[str, str], ...],
    ) -> None:
        self.names, self.aliases, self.prefix = names, aliases, prefix
        self.inputs, self.context, self.blocks = inputs, context, blocks
        self.keeps_names = False  # a nested model's layers are not prefixed with its name

    def rewrite(self, refs: Node, names: Mapping[str, Any]) -> Node:
        """References as the graph reads them: inner names prefixed, a block's inputs and
        instances replaced by what they stand for."""
        refs = substitute(refs, names)
        if isinstance(refs.value, list):
            return Node([self._rewritten(item) for item in refs.value], refs.loc, refs.key_loc)
        return self._rewritten(refs)

    def resolve(self, node: Node, names: Mapping[str, Any]) -> Any:
        return self._rewritten(substitute(node, names)).value

    def _rewritten(self, node: Node) -> Node:
        text = node.value
        if not isinstance(text, str):
            return node
        base, dot, suffix = text.rpartition(".")
        if not (dot and suffix.isdigit()):
            base, suffix = text, ""
        if text in self.inputs or base in self.inputs:
            target = self.inputs.get(text, self.inputs.get(base))
            if isinstance(target, AnchorRef) and suffix:
                target = AnchorRef(target.anchor, int(suffix))
            elif isinstance(target, str) and suffix and text not in self.inputs:
                target = f"{target}.{suffix}"
            return Node(target, node.loc, node.key_loc)
        if text in self.aliases:
            return Node(self.aliases[text], node.loc, node.key_loc)
        if base in self.aliases and suffix:
            target = self.aliases[base]
            if isinstance(target, AnchorRef):
                return Node(AnchorRef(target.anchor, int(suffix)), node.loc, node.key_loc)
        if self.prefix:
            known = [*self.inputs, *self.aliases]
            raise SpecError(
                f"unknown input '{text}' in a block: its layers can use its inputs and its own layers"
                f"{did_you_mean(base, known)}",
                node.loc,
                code="E005",
            )
        return node
