"""Layers that --run applies inside the kernel producing their input, while it is in cache.

A convolution's output is written block by block, each block of rows finished in the core's
cache (bias, relu: conv.py's epilogue). A BatchNormalization or an activation reading nothing
but that output is a map of each row of it, channel by channel; run in its own turn, it is one
more pass over the whole tensor through main memory (ResNet50's 53 normalizations and 49
activations: a quarter of its time). So such followers are planned here, statically, from the
graph alone, and the producer applies them to each block after its own epilogue: the same
operations on the same values, in the same order, so the numbers are those of the calls run one
after the other. The followers' outputs are the producer's array, transformed in place; the
engine still checks each of their shapes against its prediction, and the memory estimate
counts one array for the chain.

A follower qualifies when it is the only reader of the tensor before it and has no other input,
its layer runs once, in float32 (no rounding between the calls), and says it can
(``Layer.fusable_after``), and no Keras mask its call would check can reach it; the producer
when its layer takes row epilogues (``Layer.takes_row_epilogues``). Runs that save every output
(--save-outputs) fuse nothing: the values between the calls are asked for.
"""

from __future__ import annotations

from collections import Counter

from ..analysis import Analysis
from ..graph import Call
from ..layers.args import compute_dtype, variable_dtype
from ..layers.input_layer import InputLayer


def followers(analysis: Analysis) -> dict[Call, list[Call]]:
    """For each producing call that has some, the calls it applies in its kernel, in order."""
    calls = analysis.model_calls
    readers: dict[Call, list[Call]] = {call: [] for call in calls}
    for call in calls:
        for ref in call.inputs:
            readers.setdefault(ref.call, []).append(call)
    runs = Counter(call.layer for call in calls)
    dtypes = _output_dtypes(calls)
    chains: dict[Call, list[Call]] = {}
    for call in calls:
        if not (
            call.inputs
            and all(dtypes[ref.call] == "float32" for ref in call.inputs)
            and dtypes[call] == "float32"
            and _plain(call, runs)
            and call.layer.takes_row_epilogues(analysis.input_shapes(call))
        ):
            continue
        chain: list[Call] = []
        tail = call
        while len(readers[tail]) == 1:
            (follower,) = readers[tail]
            ref = follower.inputs[0]
            if not (
                len(follower.inputs) == 1
                and ref.call is tail
                and ref.index in (None, 0)
                and not follower.as_list
                and not follower.call_args
                and _plain(follower, runs)
                and follower.layer.has_kernel()
                and follower.layer.fusable_after(analysis.input_shapes(follower)[0])
                # a Keras mask may reach it (the producer passes masks on): its call checks it
                and not (call.layer.supports_masking and follower.layer.takes_mask())
            ):
                break
            chain.append(follower)
            tail = follower
        if chain:
            chains[call] = chain
    return chains


def _plain(call: Call, runs: Counter) -> bool:
    """One call of its layer, in inference, without tensor arguments, computing and storing
    float32."""
    dtype = call.layer.dtype
    return (
        runs[call.layer] == 1
        and not call.training
        and not call.tensor_args
        and compute_dtype(dtype) == "float32"
        and variable_dtype(dtype) == "float32"
    )


def _output_dtypes(calls: list[Call]) -> dict[Call, str]:
    """Each call's output dtype as the engine tracks it (every output of a call alike)."""
    dtypes: dict[Call, str] = {}
    for call in calls:
        if isinstance(call.layer, InputLayer):
            dtypes[call] = call.layer.input_dtype
        else:
            dtypes[call] = call.layer.output_dtype([dtypes[ref.call] for ref in call.inputs])
    return dtypes


def producers(chains: dict[Call, list[Call]]) -> dict[Call, Call]:
    """Each fused follower's producing call."""
    return {follower: producer for producer, chain in chains.items() for follower in chain}
