"""Which rows a summary shows for a spec written with blocks, and what an instance's row adds up.

A block instance (blocks.py) is shown as Keras shows a nested model: one row named after the
instance, with the block's name where Keras puts the class. Keras's ``expand_nested`` then lists
the nested model's layers under it, each name prefixed with ``"   " * level + "└ "``; here
``depth`` says how many levels of instances are opened that way (0: each top-level instance is
one row). Without nesting (``None``) every layer is a row of its own and the table is Keras's
summary of the model written out layer by layer.

An instance's row stands where its first layer stands in the model's order (Keras's); the
rest of its layers, wherever Keras orders them, are folded into it (or listed right under it).

This module only groups and adds up; the text and markdown renderers format what it gives.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from ..analysis import Analysis
from ..costs import Costs
from ..graph import Call, unique_layers
from ..layers.base import Layer, Shape, Weight, known_sum

Tensor = tuple[Call, int]  # output ``index`` of a call
Path = tuple[tuple[str, str], ...]  # Call.blocks: the instances a call is in, outermost first


# Plain classes and tuples rather than dataclasses: every summary imports this module, and a
# dataclass costs half a millisecond to define (the static path's start-up is measured).
class Instance:
    """One block instance of the model: what it holds, what it reads and what it gives out.

    ``name`` is its full name, which prefixes its layers' names. ``layers``: its layers (those of
    the instances in it included) in the model's order (a layer a Sequential holds twice is here
    twice, as it is a row twice); ``calls``: the model's calls made in it, in graph order;
    ``inputs``: the outside tensors its calls read, first read first; ``outputs``: its tensors
    used outside it, in the order its block declares them; ``children``: its rows one level
    down, its own layers and the instances directly in it, in the model's order."""

    __slots__ = ("block", "calls", "children", "inputs", "layers", "name", "outputs")

    def __init__(self, name: str, block: str) -> None:
        self.name, self.block = name, block
        self.layers: list[Layer] = []
        self.calls: list[Call] = []
        self.inputs: list[Tensor] = []
        self.outputs: list[Tensor] = []
        self.children: list[Layer | Instance] = []


class Row(NamedTuple):
    """A row of the table: a layer or an instance, at a nesting ``level`` (0: not nested)."""

    item: Layer | Instance
    level: int
    expanded: bool = False  # an instance whose members follow as rows of their own


class Nesting(NamedTuple):
    """How a summary shows block instances: ``depth`` levels of them opened (None: all)."""

    depth: int | None = 0

    def opens(self, level: int) -> bool:
        return self.depth is None or level < self.depth


class Grouped(NamedTuple):
    """The rows, and for each call folded into an instance's single row, that instance: a tensor
    it makes is shown as the instance's output, as Keras names a nested model's."""

    rows: list[Row]
    folded: dict[Call, Instance]

    def tensor(self, call: Call, index: int) -> tuple[str, int, int]:
        """How the table names a tensor: (the row's name, Keras's node index, tensor index)."""
        instance = self.folded.get(call)
        if instance is not None and (call, index) in instance.outputs:
            return instance.name, 0, instance.outputs.index((call, index))
        # a tensor shown by its own layer (or read inside the instance by a layer shared into it)
        return call.layer.name, call.node_index, index


def group(analysis: Analysis, nesting: Nesting | None) -> Grouped:
    """The rows of the summary: every layer (``nesting`` None), or instances as ``nesting`` says."""
    if nesting is None:
        return Grouped([Row(layer, 0) for layer in analysis.layers], {})
    top = instances(analysis)
    rows: list[Row] = []
    folded: dict[Call, Instance] = {}

    def walk(items: Iterable[Layer | Instance], level: int) -> None:
        for item in items:
            if isinstance(item, Layer):
                rows.append(Row(item, level))
                continue
            opened = nesting.opens(level)
            rows.append(Row(item, level, opened))
            if level == 0:
                # the model's own rows read an instance's tensors as its outputs, opened or not
                # (the rows listed under it show no connections, as Keras's expand_nested)
                folded.update(dict.fromkeys(item.calls, item))
            if opened:
                members = item.children
                if item.block == "Functional":  # Keras lists a nested model's layers, not its operations
                    members = [m for m in members if not (isinstance(m, Layer) and m.is_operation)]
                walk(members, level + 1)

    walk(top, 0)
    return Grouped(rows, folded)


def instances(analysis: Analysis) -> list[Layer | Instance]:
    """The model's top level: its layers outside every instance and its top-level instances,
    each instance with its members, in the model's order."""
    found: dict[Path, Instance] = {}
    top: list[Layer | Instance] = []
    for layer in analysis.layers:
        # a layer belongs where it was made: its first call (a later Reuse may be elsewhere)
        path = analysis.first_call(layer).blocks
        siblings = top
        for level in range(len(path)):
            key = path[: level + 1]
            instance = found.get(key)
            if instance is None:
                instance = found[key] = Instance(*path[level])
                siblings.append(instance)
            instance.layers.append(layer)
            siblings = instance.children
        siblings.append(layer)
    if found:
        _wire(analysis, found)
    return top


def _wire(analysis: Analysis, found: dict[Path, Instance]) -> None:
    """Each instance's calls, the outside tensors they read and the tensors it gives out."""
    # An instance's outputs in the order they are first read outside it, then the model's
    # outputs: the graph does not keep the order a block declares its outputs in, and the
    # first reader names them in that order most often (a stage's output, then its skip).
    given: dict[Path, dict[Tensor, None]] = {key: {} for key in found}
    for call in analysis.model_calls:
        paths = [call.blocks[: level + 1] for level in range(len(call.blocks))]
        for key in paths:
            if key in found:
                found[key].calls.append(call)
        inside = set(paths)
        for tensor in _read(analysis, call):
            source = tensor[0].blocks
            for level in range(len(source)):  # instances the source is in and this call is not
                key = source[: level + 1]
                if key not in inside and key in given:
                    given[key][tensor] = None
            for key in paths:  # instances this call is in and the source is not
                if key in found and source[: len(key)] != key and tensor not in found[key].inputs:
                    found[key].inputs.append(tensor)
    for tensor in analysis.output_refs():
        source = tensor[0].blocks
        for level in range(len(source)):
            if source[: level + 1] in given:
                given[source[: level + 1]][tensor] = None
    for key, instance in found.items():
        # the order the block declares its outputs in, where the graph knows it
        declared = [(ref.call, ref.index or 0) for ref in analysis.graph.instance_outputs.get(key[-1][0], [])]
        instance.outputs = [t for t in declared if t in given[key]] + [
            t for t in given[key] if t not in declared
        ]


def _read(analysis: Analysis, call: Call) -> list[Tensor]:
    """The tensors a call reads (a reference to all of a call's outputs reads each of them)."""
    tensors: list[Tensor] = []
    for ref in call.inputs:
        count = len(analysis.output_shapes(ref.call))
        tensors += [(ref.call, k) for k in (range(count) if ref.index is None else [ref.index])]
    return tensors


# ----------------------------------------------------------------------------- an instance's figures
def output_shapes(analysis: Analysis, instance: Instance) -> list[Shape]:
    return [analysis.output_shapes(call)[k] for call, k in instance.outputs]


def weights(analysis: Analysis, instance: Instance) -> list[Weight]:
    """Its layers' variables, a layer used twice counted once."""
    return [w for layer in unique_layers(instance.layers) for w in analysis.weights_of(layer)]


def params(analysis: Analysis, instance: Instance) -> int:
    return sum(sum(analysis.params_of(layer)) for layer in unique_layers(instance.layers))


def macs(costs: Costs, instance: Instance) -> int | None:
    """The work of the calls made in it (a layer shared with the outside: its calls in here)."""
    return known_sum(costs.calls[c].macs for c in instance.calls if c in costs.calls)


def activation_bytes(costs: Costs, instance: Instance) -> int | None:
    return known_sum(costs.calls[c].activation_bytes for c in instance.calls if c in costs.calls)


def output_fields(costs: Costs, instance: Instance) -> list[tuple[list[int] | None, list[int] | None]]:
    """(receptive field, effective stride) of each of its outputs."""
    return [
        (costs.calls[call].receptive_field, costs.calls[call].effective_stride)
        for call, _ in instance.outputs
        if call in costs.calls
    ]
