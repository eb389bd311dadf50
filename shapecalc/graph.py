"""Spec -> graph of layer calls: layers constructed and named as Keras names them, references
(``inputs:``, ``NAME.K``, ``Reuse``) resolved, and the model's layers ordered as Keras orders them.

A :class:`Call` is one application of a layer (Keras calls it a node); a shared layer has
several. Shapes are not computed here: that is :mod:`shapecalc.analysis`'s job. A graph is
never changed once built, so it can be analysed any number of times.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .blocks import Anchor, AnchorRef
from .errors import ArgError, Location, SpecError
from .layers import create_layer, registry
from .layers.args import describe, did_you_mean
from .layers.base import Layer
from .layers.factory import Namer
from .layers.input_layer import InputLayer
from .mask_operations import MaskRecorder
from .source import Node
from .spec import INPUT_TYPES, REUSE, WIRING_KEYS, LayerEntry, ModelSpec

REUSE_KEYS = ("layer", "inputs", "name", "call")


class TensorRef(NamedTuple):
    """Output ``index`` of ``call``; ``index`` None means all of its outputs (a list)."""

    call: Call
    index: int | None
    loc: Location


@dataclass(eq=False)
class Call:
    """Compared and hashed by identity: analyses key what they find by the call itself."""

    layer: Layer
    inputs: list[TensorRef]
    loc: Location
    node_index: int  # which call of the layer this is (Keras's node index)
    alias: str | None = None  # the name a Reuse gave this call's output
    # the inputs were written as a list (``inputs: [a]``), so the layer is called on a list
    as_list: bool = False
    # Keras's call-time arguments the layer declares (Layer.call_arguments), and ``training``
    call_args: dict[str, Any] = field(default_factory=dict)
    training: bool | None = None
    # call arguments that are tensors (initial_state): their inputs follow the call's own in
    # ``inputs``, as Keras's node lists them; name -> (first position, how many)
    tensor_args: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def own_inputs(self) -> list[TensorRef]:
        """The tensors the layer is called on, without those given as call arguments."""
        first = min((start for start, _ in self.tensor_args.values()), default=len(self.inputs))
        return self.inputs[:first]

    # an operation Keras records to compute a mask (mask_operations.py), not written in the spec
    computes_mask: bool = False
    context: str = ""  # the block instance it was written in, for messages (blocks.py)
    # the block instances it is in, outermost first: (instance name, block name), blocks.py
    blocks: tuple[tuple[str, str], ...] = ()


@dataclass
class Graph:
    name: str
    sequential: bool
    calls: list[Call]  # in spec order, which is a topological order
    outputs: list[TensorRef]
    inputs: list[Call] = field(default_factory=list)
    # block instance -> its outputs, in the order its block declares them (blocks.py)
    instance_outputs: dict[str, list[TensorRef]] = field(default_factory=dict)
    # each layer's arguments as the spec gives them (values substituted), for export
    arguments: dict[Layer, dict[str, Any]] = field(default_factory=dict)


def build_graph(spec: ModelSpec, problems: list[SpecError] | None = None) -> Graph:
    """The spec's graph. The first problem is raised; with ``problems``, each problem is
    recorded there instead, and the entries that depend on a failed one (by name, or as the
    next entry) are left out without a problem of their own, so every independent problem of
    the spec is found."""
    return _Builder(spec, problems).build()


class _Skipped(Exception):
    """An entry that depends on one that failed: left out, its cause already reported."""


_FAILED: Any = object()  # stands for the previous entry when it failed


class _Builder:
    def __init__(self, spec: ModelSpec, problems: list[SpecError] | None = None) -> None:
        self.spec = spec
        self.problems = problems
        self.failed: set[str] = set()  # names of entries left out
        self.namer = Namer()
        self.calls: list[Call] = []
        self.symbols: dict[str, Call] = {}  # what a reference can name
        self.calls_of: defaultdict[Layer, int] = defaultdict(int)  # calls of each layer so far
        self.inputs: list[Call] = []
        self.anchored: dict[Anchor, Call] = {}  # tensors block instances refer to (blocks.py)
        self.arguments: dict[Layer, dict[str, Any]] = {}
        # a functional model records the operations that compute masks (Sequential's summary
        # lists its layers only)
        self.masking = None if spec.sequential else MaskRecorder(self._mask_operation)
        self.mask_loc: Location | None = None

    def build(self) -> Graph:
        for decl in self.spec.inputs:
            name = decl.name or self.namer("InputLayer")
            layer = InputLayer(name=name, shape=decl.shape[1:], batch_size=decl.shape[0], dtype=decl.dtype)
            self._add_input(layer, decl.loc)
        previous: Call | None = None
        for entry in self.spec.entries:
            for anchor in entry.before:
                if previous is None and len(self.inputs) == 1:
                    self.anchored[anchor] = self.inputs[0]
                elif isinstance(previous, Call):
                    self.anchored[anchor] = previous
            try:
                previous = self._entry(entry, previous)
                for anchor in entry.after:
                    self.anchored[anchor] = previous
                previous.context, previous.blocks = entry.context, entry.blocks
            except (SpecError, _Skipped) as err:
                self._go_on_after(err.within(entry.context) if isinstance(err, SpecError) else err)
                name = self._entry_name(entry)
                if isinstance(name, str):
                    self.failed.add(name)
                previous = _FAILED
        name = self.spec.name or ("sequential" if self.spec.sequential else "functional")
        graph = Graph(name, self.spec.sequential, self.calls, self._outputs(previous), self.inputs)
        graph.arguments = self.arguments
        for instance, targets in self.spec.instance_outputs.items():
            try:
                graph.instance_outputs[instance] = [
                    self._reference(Node(t, self.spec.root.loc)) for t in targets
                ]
            except (SpecError, _Skipped):
                continue  # an instance whose layers failed: reported as they failed
        return graph

    def _go_on_after(self, err: SpecError | _Skipped) -> None:
        """Record a problem and go on to the next entry, or, collecting none, raise it."""
        if self.problems is None:
            raise err
        if isinstance(err, SpecError):
            self.problems.append(err)

    def _entry(self, entry: LayerEntry, previous: Call | None) -> Call:
        if entry.type_name in INPUT_TYPES:
            return self._input_entry(entry)
        reuse = entry.type_name == REUSE
        call = self._reuse(entry, previous) if reuse else self._layer_entry(entry, previous)
        if self.masking is not None:
            self._masks(call)
        return call

    def _masks(self, call: Call) -> None:
        """The Keras mask the call reads (an input of its own, as Keras's node lists it) and the
        operations that compute its outputs' masks (mask_operations.py)."""
        mask = self.masking.read_mask(call)
        if mask is not None:
            call.tensor_args["mask"] = (len(call.inputs), 1)
            call.inputs.append(mask)
        self.mask_loc = call.loc
        self.masking.after_call(call)

    def _mask_operation(self, spec_type: str, arguments: dict[str, Any], refs: list[TensorRef]) -> TensorRef:
        layer = create_layer(spec_type, arguments, self.namer)
        call = Call(layer, list(refs), self.mask_loc, 0, computes_mask=True)
        self.calls_of[layer] += 1
        self.calls.append(call)
        return TensorRef(call, 0, self.mask_loc)

    # ------------------------------------------------------------------ entries
    def _add_input(self, layer: InputLayer, loc: Location) -> Call:
        call = self._record(layer, [], loc)
        self.inputs.append(call)
        return call

    def _input_entry(self, entry: LayerEntry) -> Call:
        if self.spec.sequential:
            raise SpecError(
                "a Sequential spec takes its input from 'input:'; an Input entry makes a second one",
                entry.loc,
                code="E005",
            )
        if entry.references is not None:
            raise SpecError(
                "an Input entry starts the graph; it takes no 'inputs'", entry.references.key_loc, code="E005"
            )
        layer = self._construct("InputLayer", entry)
        assert isinstance(layer, InputLayer)
        return self._add_input(layer, entry.loc)

    def _layer_entry(self, entry: LayerEntry, previous: Call | None) -> Call:
        refs = self._references(entry.references, previous, entry.loc)
        layer = self._construct(entry.type_name, entry)
        if layer.is_operation and self.spec.sequential:
            raise SpecError(
                f"{layer.label}: a keras.ops call is a node of a functional model; a Sequential model holds "
                "layers only: write the spec with named inputs (inputs: {x: [...]})",
                entry.loc,
                code="E005",
                layer=layer.name,
            )
        call = self._record(layer, refs, entry.loc, _written_as_list(entry.references))
        self._call_arguments(call, entry)
        return call

    def _call_arguments(self, call: Call, entry: LayerEntry) -> None:
        """The call's ``call:``: its values, and the references of its tensor arguments resolved
        and appended to the call's inputs."""
        layer, node = call.layer, entry.args.get("call")
        if node is None:
            return  # most calls: none, and the defaults stand
        if self.spec.sequential:
            raise SpecError(
                f"{layer.label}: a Sequential model calls each layer on the tensor alone; to give call "
                "arguments, write the model with named inputs (inputs: {x: [...]}) and inputs: on its layers",
                node.key_loc or node.loc,
                code="E005",
                layer=layer.name,
            )
        call.call_args, call.training = _call_arguments(layer, node)
        for arg in layer.call_arguments:
            given = call.call_args.get(arg.name)
            if arg.tensors and isinstance(given, Node):
                items = given.value if isinstance(given.value, list) else [given]
                refs = [self._reference(item) for item in items]
                call.tensor_args[arg.name] = (len(call.inputs), len(refs))
                call.inputs.extend(refs)

    def _reuse(self, entry: LayerEntry, previous: Call | None) -> Call:
        args = entry.args.value
        for key, node in args.items():
            if key not in REUSE_KEYS:
                raise SpecError(
                    f"Reuse has no setting '{key}'{did_you_mean(key, REUSE_KEYS)}", node.key_loc, code="E005"
                )
        target = entry.args.get("layer")
        if target is None or not isinstance(target.value, str):
            raise SpecError(
                "Reuse needs 'layer: NAME', the name of the layer to apply again", entry.loc, code="E005"
            )
        call = self.symbols.get(target.value)
        if call is None or isinstance(call.layer, InputLayer) or call.alias is not None:
            known = [
                n for n, c in self.symbols.items() if not isinstance(c.layer, InputLayer) and c.alias is None
            ]
            raise SpecError(
                f"Reuse: no layer named '{target.value}'{did_you_mean(target.value, known)}",
                target.loc,
                code="E005",
            )
        refs = self._references(entry.references, previous, entry.loc)
        alias_node = entry.args.get("name")
        alias = None
        if alias_node is not None:
            if not isinstance(alias_node.value, str) or not alias_node.value:
                raise SpecError(
                    f"Reuse name must be a string, got {describe(alias_node.value)}",
                    alias_node.loc,
                    code="E005",
                )
            alias = alias_node.value
            self._claim(alias, alias_node.loc)
        new_call = Call(
            call.layer, refs, entry.loc, self.calls_of[call.layer], alias, _written_as_list(entry.references)
        )
        self._call_arguments(new_call, entry)
        self.calls_of[call.layer] += 1
        self.calls.append(new_call)
        if alias:
            self.symbols[alias] = new_call
        return new_call

    # ------------------------------------------------------------------ helpers
    def _construct(self, type_name: str, entry: LayerEntry) -> Layer:
        custom = self.spec.custom_types
        if type_name not in custom and registry.lookup(type_name) is None:
            known = [*registry.all_layer_types(), *custom, REUSE, "Input"]
            raise SpecError(
                f"unknown layer type '{type_name}'{did_you_mean(type_name, known)}", entry.loc, code="E003"
            )
        raw = {k: v.plain() for k, v in entry.args.value.items() if k not in WIRING_KEYS}
        try:
            layer = create_layer(type_name, raw, self.namer, custom)
            self.arguments[layer] = raw
        except ArgError as err:
            cls = custom.get(type_name) or registry.lookup(type_name)
            explicit = raw.get("name") if isinstance(raw.get("name"), str) else None
            who = err.layer_name or explicit or self.namer.peek(cls.type_name() if cls else type_name)
            loc = entry.loc
            if err.argument:
                node = entry.args.at(list(err.argument.split(".")))
                if node is not entry.args:
                    loc = (node.key_loc or node.loc) if err.at_key else node.loc
            raise SpecError(f"{who} ({type_name}): {err.message}", loc, code="E004", layer=who) from None
        self._claim(layer.name, entry.args.get("name").loc if entry.args.get("name") else entry.loc)
        return layer

    def _claim(self, name: str, loc: Location) -> None:
        if name in self.symbols:
            raise SpecError(
                f"the name '{name}' is already used (line {self.symbols[name].loc.line}); "
                "all layer names in a model must be unique",
                loc,
                code="E005",
            )

    def _record(self, layer: Layer, refs: list[TensorRef], loc: Location, as_list: bool = False) -> Call:
        call = Call(layer, refs, loc, self.calls_of[layer], as_list=as_list)
        self.calls_of[layer] += 1
        self.calls.append(call)
        self.symbols[layer.name] = call
        return call

    def _references(self, node: Node | None, previous: Call | None, loc: Location) -> list[TensorRef]:
        if node is None:
            if previous is _FAILED:
                raise _Skipped
            if previous is None:
                if len(self.inputs) == 1:
                    return [TensorRef(self.inputs[0], None, loc)]
                raise SpecError(
                    "the first layer must say which input feeds it: inputs: NAME", loc, code="E005"
                )
            return [TensorRef(previous, None if self.spec.sequential else 0, loc)]
        items = node.value if isinstance(node.value, list) else [node]
        if not items:
            raise SpecError("'inputs' lists nothing", node.loc, code="E005")
        return [self._reference(item) for item in items]

    def _reference(self, node: Node) -> TensorRef:
        if isinstance(node.value, AnchorRef):
            anchored = self.anchored.get(node.value.anchor)
            if anchored is None:
                raise _Skipped  # the entry it stands for failed, and that was reported
            return TensorRef(anchored, node.value.index or 0, node.loc)
        if not isinstance(node.value, str):
            raise SpecError(
                f"an input reference is a name or NAME.K, got {describe(node.plain())}", node.loc, code="E005"
            )
        text = node.value
        call = self.symbols.get(text)
        index: int | None = 0
        if call is None and "." in text:
            base, _, suffix = text.rpartition(".")
            if suffix.isdigit() and base in self.symbols:
                call, index = self.symbols[base], int(suffix)
        if call is None and text.split(".")[0] in self.failed:
            raise _Skipped
        if call is None:
            hint = did_you_mean(text.split(".")[0], self.symbols)
            later = any(self._entry_name(e) == text.split(".")[0] for e in self.spec.entries)
            why = " (it is defined further down; a layer can only use what comes before it)" if later else ""
            raise SpecError(f"unknown input '{text}'{why}{hint}", node.loc, code="E005")
        return TensorRef(call, index, node.loc)

    @staticmethod
    def _entry_name(entry: LayerEntry) -> Any:
        name = entry.args.get("name")
        return name.value if name is not None else None

    def _outputs(self, previous: Call | None) -> list[TensorRef]:
        """The model's outputs; those that name a failed entry are left out (the default output,
        the last entry, too, when it failed)."""
        if not self.calls or all(isinstance(c.layer, InputLayer) for c in self.calls):
            if self.failed or self.problems:
                return []  # every layer failed: that is what was reported
            raise SpecError("the spec has no layers after its inputs", self.spec.root.loc, code="E005")
        last = self.calls[-1]
        if self.spec.outputs is None:
            return [] if previous is _FAILED else [TensorRef(last, None, last.loc)]
        refs = []
        for node in self.spec.outputs:
            try:
                refs.append(self._reference(node))
            except (SpecError, _Skipped) as err:
                self._go_on_after(err)
        if self.spec.sequential and any(r.call is not last for r in refs):
            raise SpecError("a Sequential spec's output is its last layer", refs[0].loc, code="E005")
        return refs


def _call_arguments(layer: Layer, node: Node | None) -> tuple[dict[str, Any], bool | None]:
    """A call's ``call:`` mapping: the arguments the layer's Keras call takes (its declared
    call_arguments, checked by their parsers) and ``training``, which every layer takes."""
    if node is None:
        return {}, None
    if not isinstance(node.value, dict):
        raise SpecError(
            f"{layer.label}: call maps Keras's call arguments to values, e.g. call: {{training: false}}, "
            f"got {describe(node.plain())}",
            node.loc,
            code="E004",
            layer=layer.name,
        )
    known = {arg.name: arg for arg in layer.call_arguments}
    values: dict[str, Any] = {}
    training = None
    for key, item in node.value.items():
        if key == "training":
            if item.value is not None and not isinstance(item.value, bool):
                raise SpecError(
                    f"{layer.label}: call argument training is true, false or null, "
                    f"got {describe(item.value)}",
                    item.loc,
                    code="E004",
                    layer=layer.name,
                )
            training = item.value
            continue
        arg = known.get(key)
        if arg is None:
            takes = ", ".join([*known, "training"])
            raise SpecError(
                f"{layer.label}: its call takes no argument '{key}'{did_you_mean(key, [*known, 'training'])}"
                f" (it takes {takes})",
                item.key_loc or item.loc,
                code="E004",
                layer=layer.name,
            )
        if arg.tensors:
            values[key] = item  # references, resolved by the builder
            continue
        try:
            values[key] = arg.parse(item.plain())
        except ArgError as err:
            raise SpecError(
                f"{layer.label}: call argument {key}: {err.message}", item.loc, code="E004", layer=layer.name
            ) from None
    return values, training


def _written_as_list(node: Node | None) -> bool:
    return node is not None and isinstance(node.value, list)


def unique_layers(layers: Iterable[Layer]) -> list[Layer]:
    """The layers in order, each once (a shared layer appears once per call in a Sequential)."""
    return list(dict.fromkeys(layers))
