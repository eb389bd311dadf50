"""Keras's implicit masks during --run (Embedding mask_zero, Masking, and the layers that pass them on).

Keras 3 keeps two records of a tensor's mask, and a call reads one or the other:

* the mask the symbolic call attached when the model was built (``built``): a layer called on one
  tensor whose ``call`` takes ``mask`` gets it recorded in the graph, and at run time the graph
  recomputes it, whatever happened to the arrays since;
* the mask attached to the array object at run time (``slot``, Keras's ``_keras_mask``): read by
  the layers called on several tensors (merges, attention), by a one-tensor call whose recorded
  mask is None, and for passing masks on. Because it lives on the object, a layer that returns
  its input array unchanged (Dropout at inference) shares it, and MultiHeadAttention, which
  removes the masks of its query, value and key in place, removes it for every later reader: in
  Keras a second attention block after a residual Add sees no mask, although its symbolic
  inputs were masked.

Both records follow Keras's rules (layer.py ``__call__`` and ``_set_mask_metadata``): a layer
with ``supports_masking`` gives its outputs ``compute_mask``'s masks (unless its outputs already
carry one), any other layer destroys them. Calls run in spec order; Keras runs a functional
graph by depth, which differs only for a tensor read by MultiHeadAttention and, beside it, by
another several-tensor layer that does not depend on the attention's output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..layers.base import Layer

Mask = np.ndarray | None


class MaskSlot:
    """The Keras mask kept on one array object at run time; shared by the outputs that are that
    very object."""

    __slots__ = ("mask",)

    def __init__(self, mask: Mask = None) -> None:
        self.mask = mask


@dataclass
class TensorMasks:
    """Both records of one tensor's Keras mask (see the module docstring)."""

    built: Mask = None
    slot: MaskSlot = field(default_factory=MaskSlot)


def mask_argument(layer: Layer, sources: list[TensorMasks], recorded: bool) -> Any:
    """The ``mask`` Keras's call receives, or None.

    ``recorded``: the layer is called on one tensor (not a list), so its symbolic call recorded
    the built mask in the graph; an absent one is filled in at run time from the array.
    """
    if not layer.takes_mask():
        return None
    if layer.takes_list:
        masks = [s.slot.mask for s in sources]
        return masks if any(m is not None for m in masks) else None
    source = sources[0]
    if recorded and source.built is not None:
        return source.built
    return source.slot.mask


def output_masks(
    layer: Layer, inputs: list[np.ndarray], outputs: list[np.ndarray], sources: list[TensorMasks], given: Any
) -> list[TensorMasks]:
    """The masks of a call's outputs, after it ran with ``given`` as its mask argument; applies
    the call's own effect on its inputs' masks (MultiHeadAttention clears them)."""
    count = len(outputs)
    if layer.supports_masking:
        arg = inputs if layer.takes_list else inputs[0]
        built_previous = [s.built for s in sources] if layer.takes_list else sources[0].built
        built = _listed(layer.compute_mask(arg, built_previous), count)
        slots = [_same_object_slot(out, inputs, sources) or MaskSlot() for out in outputs]
        _fill(slots, _listed(layer.mask_set_in_call(arg, given), count))
        if any(slot.mask is None for slot in slots):
            previous = given if given is not None else _previous(layer, sources)
            _fill(slots, _listed(layer.compute_mask(arg, previous), count))
        result = [TensorMasks(b, s) for b, s in zip(built, slots, strict=True)]
    else:
        result = [TensorMasks() for _ in outputs]
    if layer.clears_input_masks:
        # query, value and key (the key defaults to the value); extra mask tensors are kept
        for source in sources[:3]:
            source.slot.mask = None
    return result


def _previous(layer: Layer, sources: list[TensorMasks]) -> Any:
    """Keras's fallback previous mask: the run-time mask(s) of the first call argument."""
    return [s.slot.mask for s in sources] if layer.takes_list else sources[0].slot.mask


def _fill(slots: list[MaskSlot], masks: list[Mask]) -> None:
    """Keras sets a mask only on an output that carries none yet."""
    for slot, mask in zip(slots, masks, strict=True):
        if slot.mask is None:
            slot.mask = mask


def _same_object_slot(
    out: np.ndarray, inputs: list[np.ndarray], sources: list[TensorMasks]
) -> MaskSlot | None:
    for array, source in zip(inputs, sources, strict=True):
        if out is array:
            return source.slot
    return None


def _listed(masks: Any, count: int) -> list[Mask]:
    """compute_mask's answer as one mask per output (Keras zips the flattened masks with the
    outputs: a single mask goes to the first output)."""
    if masks is None:
        return [None] * count
    flat = list(masks) if isinstance(masks, (list, tuple)) else [masks]
    return (flat + [None] * count)[:count]
