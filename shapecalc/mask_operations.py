"""The operations Keras records to compute masks in a functional model, as nodes of the graph.

When a Keras layer call gives its outputs a mask, the mask is a tensor of its own, computed by
``keras.ops`` calls that Keras records as operation nodes: ``NotEqual`` for Embedding's
``mask_zero`` (``inputs != 0``), ``NotEqual`` then ``Any`` for Masking, ``LogicalOr`` for a
merge of masked tensors, ``ConvertToTensor`` for Attention's query mask, six kinds of them for
Concatenate's. The calls are made, and auto-named from their class as layers are (sharing the
layers' counters), during the call that computes the mask, whether or not anything reads it.

A mask becomes part of the model when a later call reads it: a layer called on one tensor whose
``call`` takes ``mask`` receives that tensor's mask as its ``mask`` argument
(keras/src/layers/layer.py, ``__call__``), and the mask's tensor is one of the call's inputs. The
operations that compute it are then nodes of the model, listed by its summary with their
connections; a mask nothing reads leaves no row. Layers pass masks on by their
``compute_mask``: a layer without ``supports_masking`` drops them.

This module decides, call by call in the order the graph is built, which operations a call
makes and which mask each of its outputs carries; graph.py creates the calls it asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .layers.base import Layer

# the merges whose compute_mask joins their inputs' masks with logical_or (base_merge.py)
_OR_MERGES = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"})
# Keras's call of these converts the query's mask to a tensor: a ConvertToTensor node
_CONVERTING = frozenset({"Attention", "AdditiveAttention"})

# make(spec type, arguments, input tensors) -> the operation's output tensor (a TensorRef)
Make = Callable[[str, dict[str, Any], list[Any]], Any]


class MaskRecorder:
    """The Keras mask of every tensor so far, as the tensor (a TensorRef) that holds it."""

    def __init__(self, make: Make) -> None:
        self.make = make
        self.masks: dict[Any, list[Any]] = {}  # a call -> the mask of each output (None: none)

    def mask_of(self, ref: Any) -> Any:
        """The mask of a referenced tensor (output ``ref.index``; all of them: the first's)."""
        masks = self.masks.get(ref.call)
        if not masks:
            return None
        index = ref.index or 0
        return masks[index] if index < len(masks) else None

    def read_mask(self, call: Any) -> Any:
        """The mask the call receives as its ``mask`` argument, which makes it an input of the
        call, or None: Keras fills it in for a call of one tensor whose ``call`` takes it."""
        layer: Layer = call.layer
        if layer.is_operation or layer.takes_list or call.as_list or len(call.own_inputs) != 1:
            return None
        mask = self.mask_of(call.own_inputs[0])
        return mask if mask is not None and layer.takes_mask() else None

    def after_call(self, call: Any) -> None:
        """Record the masks of the call's outputs, making the operations that compute them."""
        layer: Layer = call.layer
        if layer.is_operation or not layer.supports_masking:
            return  # an operation's outputs carry no mask; other layers drop the masks they get
        inputs = call.own_inputs
        previous = [self.mask_of(ref) for ref in inputs]
        kind = layer.type_name()
        if kind == "Embedding":
            masks = [self.make("ops.not_equal", {"x2": 0}, [inputs[0]])]
        elif kind == "Masking":
            if isinstance(layer.mask_value, bool) or not isinstance(layer.mask_value, (int, float)):
                return  # an array mask value: not followed
            differs = self.make("ops.not_equal", {"x2": layer.mask_value}, [inputs[0]])
            masks = [self.make("ops.any", {"axis": -1}, [differs])]
        elif kind in _OR_MERGES:
            if not previous or any(mask is None for mask in previous):
                return
            joined = previous[0]
            for mask in previous[1:]:
                joined = self.make("ops.logical_or", {}, [joined, mask])
            masks = [joined]
        elif kind in _CONVERTING:
            if not previous or previous[0] is None:
                return
            masks = [self.make("ops.convert_to_tensor", {}, [previous[0]])]
        elif kind == "Concatenate":
            masks = [self._concatenated(layer, inputs, previous)] if any(previous) else []
        else:
            given = previous if (layer.takes_list or call.as_list) else (previous[0] if previous else None)
            if given is None or (isinstance(given, list) and all(m is None for m in given)):
                return
            # the layer's own rule, which only passes masks on or drops them (recurrent layers,
            # wrappers, pooling): the same method --run uses on arrays, here on mask tensors
            computed = layer.compute_mask(None, given)
            masks = computed if isinstance(computed, list) else [computed]
        if any(mask is not None for mask in masks):
            self.masks[call] = masks

    def _concatenated(self, layer: Layer, inputs: list[Any], previous: list[Any]) -> Any:
        """Concatenate's compute_mask: each input's mask spread over the input (all true for an
        unmasked one), joined as the inputs are, then any() over the last axis. Keras spreads a
        mask of lower rank than its input with expand_dims and logical_or; a mask has a lower
        rank than the tensor it travels with in every model Keras builds (it marks steps)."""
        spread = []
        for tensor, mask in zip(inputs, previous, strict=True):
            if mask is None:
                spread.append(self.make("ops.ones_like", {"dtype": "bool"}, [tensor]))
                continue
            expanded = self.make("ops.expand_dims", {"axis": -1}, [mask])
            zeros = self.make("ops.zeros_like", {"dtype": "bool"}, [tensor])
            spread.append(self.make("ops.logical_or", {}, [expanded, zeros]))
        joined = self.make("ops.concatenate", {"axis": layer.axis}, spread)
        return self.make("ops.any", {"axis": -1}, [joined])
