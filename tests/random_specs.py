"""Random model specs for the model-level differential tests.

A seed gives a spec: a Sequential chain or a functional graph with branches, merges and shared
layers, drawn from the layer vocabulary below with random arguments. The generator tracks only
the rank of each tensor, to pick layers that usually fit; whether a spec is valid is left to
Keras to decide, and shapecalc must decide the same.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

Entry = dict[str, Any]

# rank without the batch axis -> ways to draw an input shape
INPUT_SHAPES: dict[int, Callable[[random.Random], list[int | None]]] = {
    1: lambda r: [r.choice([4, 7, 16])],
    2: lambda r: [r.choice([None, 5, 9, 12]), r.choice([3, 4, 8])],
    3: lambda r: [r.choice([None, 6, 9, 16]), r.choice([5, 9, 16]), r.choice([1, 3, 4])],
    4: lambda r: [r.choice([4, 7]), r.choice([5, 8]), r.choice([None, 6]), r.choice([2, 3])],
}


def _pick(r: random.Random, *options: Any) -> Any:
    return r.choice(options)


def _conv_args(r: random.Random, rank: int, transpose: bool = False) -> dict[str, Any]:
    args: dict[str, Any] = {
        "filters": _pick(r, 2, 4, 6),
        "kernel_size": _pick(r, 1, 2, 3, [3] * rank, [r.randint(1, 4) for _ in range(rank)]),
        "padding": _pick(r, "valid", "same", "same", "valid"),
    }
    if r.random() < 0.4:
        args["strides"] = _pick(r, 1, 2, [r.randint(1, 3) for _ in range(rank)])
    elif r.random() < 0.3:
        args["dilation_rate"] = _pick(r, 2, [r.randint(1, 2) for _ in range(rank)])
    if r.random() < 0.2:
        args["data_format"] = "channels_first"
    if r.random() < 0.2:
        args["use_bias"] = False
    if transpose and r.random() < 0.3:
        args["output_padding"] = _pick(r, 0, 1)
    elif not transpose and rank == 1 and r.random() < 0.15:
        args["padding"] = "causal"
    elif not transpose and r.random() < 0.1:
        args["groups"] = _pick(r, 2, 3)
    if r.random() < 0.3:
        args["activation"] = _pick(r, "relu", "tanh", "sigmoid")
    return args


def _pool_args(r: random.Random, rank: int) -> dict[str, Any]:
    args: dict[str, Any] = {"pool_size": _pick(r, 2, 3, [r.randint(1, 3) for _ in range(rank)])}
    if r.random() < 0.4:
        args["strides"] = _pick(r, 1, 2, None)
    if r.random() < 0.5:
        args["padding"] = _pick(r, "valid", "same")
    if r.random() < 0.15:
        args["data_format"] = "channels_first"
    return args


def _rnn(r: random.Random, sequences: bool) -> Entry:
    kind = _pick(r, "SimpleRNN", "GRU", "LSTM")
    args: dict[str, Any] = {"units": _pick(r, 2, 3, 5)}
    if sequences:
        args["return_sequences"] = True
    if kind == "GRU" and r.random() < 0.4:
        args["reset_after"] = False
    if r.random() < 0.2:
        args["go_backwards"] = True
    if r.random() < 0.2:
        args["use_bias"] = False
    return {kind: args}


def layer_for_rank(r: random.Random, rank: int) -> tuple[Entry, int]:
    """A layer that usually accepts a tensor of ``rank`` (batch excluded) and the rank it returns."""
    spatial = rank - 1
    choices: list[Callable[[], tuple[Entry, int]]] = [
        lambda: ({"Dense": {"units": _pick(r, 1, 3, 8), "activation": _pick(r, None, "relu")}}, rank),
        lambda: ({"Dropout": {"rate": _pick(r, 0.0, 0.25, 0.5)}}, rank),
        lambda: ({"Flatten": {}}, 1),
    ]
    if 1 <= spatial <= 3:
        n = spatial
        choices += [
            lambda: ({f"Conv{n}D": _conv_args(r, n)}, rank),
            lambda: ({f"Conv{n}D": _conv_args(r, n)}, rank),
            lambda: ({f"Conv{n}DTranspose": _conv_args(r, n, transpose=True)}, rank),
            lambda: ({f"MaxPooling{n}D": _pool_args(r, n)}, rank),
            lambda: ({f"AveragePooling{n}D": _pool_args(r, n)}, rank),
            lambda: ({f"GlobalAveragePooling{n}D": {"keepdims": _pick(r, False, False, True)}}, 1),
            lambda: ({f"GlobalMaxPooling{n}D": {}}, 1),
            lambda: ({f"UpSampling{n}D": {"size": _pick(r, 2, [2] * n) if n > 1 else _pick(r, 2, 3)}}, rank),
        ]
    if rank >= 1:  # issue 3's shape-keeping and reshaping layers, on any rank
        choices += [
            lambda: (
                {"BatchNormalization": {"center": _pick(r, True, False), "scale": _pick(r, True, False)}},
                rank,
            ),
            lambda: ({"LayerNormalization": {"axis": _pick(r, -1, [-1])}}, rank),
            lambda: ({"Activation": {"activation": _pick(r, "relu", "gelu", "softmax")}}, rank),
            lambda: (
                {_pick(r, "ReLU", "LeakyReLU", "ELU", "Softmax", "GaussianNoise", "Identity"): {}}
                if r.random() < 0.8
                else {"GaussianNoise": {"stddev": 0.1}},
                rank,
            ),
            lambda: ({"PReLU": {"shared_axes": _pick(r, None, [1])}}, rank),
            lambda: ({"UnitNormalization": {}}, rank),
            lambda: ({"Rescaling": {"scale": 0.5, "offset": 1}}, rank),
            lambda: (
                {
                    "EinsumDense": {
                        "equation": "...a,ab->...b",
                        "output_shape": _pick(r, 4, 6),
                        "bias_axes": "b",
                    }
                },
                rank,
            ),
        ]
    if rank >= 2:
        choices += [
            lambda: ({"Reshape": {"target_shape": [-1]}}, 1),
            lambda: ({"Permute": {"dims": list(range(rank, 0, -1))}}, rank),
            lambda: ({"Masking": {}}, rank),
        ]
    if 1 <= spatial <= 3:
        n = spatial
        choices += [
            lambda: ({f"ZeroPadding{n}D": {"padding": _pick(r, 1, 2)}}, rank),
            lambda: ({f"Cropping{n}D": {"cropping": _pick(r, 1, 0)}}, rank),
            lambda: ({f"SpatialDropout{n}D": {"rate": 0.2}}, rank),
            lambda: ({f"AdaptiveAveragePooling{n}D": {"output_size": _pick(r, 1, 2)}}, rank),
        ]
    if spatial in (1, 2):
        n = spatial
        choices += [
            lambda: (
                {
                    f"DepthwiseConv{n}D": {
                        "kernel_size": _pick(r, 1, 3),
                        "depth_multiplier": _pick(r, 1, 2),
                        "padding": _pick(r, "valid", "same"),
                    }
                },
                rank,
            ),
            lambda: (
                {
                    f"SeparableConv{n}D": {
                        "filters": _pick(r, 2, 4),
                        "kernel_size": _pick(r, 1, 3),
                        "padding": _pick(r, "valid", "same"),
                    }
                },
                rank,
            ),
        ]
    if spatial == 2:
        choices += [
            lambda: ({"RandomFlip": {}}, rank),
            lambda: ({"Resizing": {"height": _pick(r, 4, 8), "width": _pick(r, 4, 8)}}, rank),
            lambda: ({"CenterCrop": {"height": 3, "width": 3}}, rank),
        ]
    if rank == 2:
        choices += [
            lambda: ({"TimeDistributed": {"layer": {"Dense": {"units": _pick(r, 2, 3)}}}}, 2),
            lambda: ({"GroupNormalization": {"groups": _pick(r, 1, 2)}}, 2),
            lambda: (_rnn(r, sequences=True), 2),
            lambda: (_rnn(r, sequences=False), 1),
            lambda: (
                {
                    "Bidirectional": {
                        "layer": _rnn(r, sequences=True),
                        "merge_mode": _pick(r, "concat", "sum", "mul", "ave"),
                    }
                },
                2,
            ),
        ]
    return r.choice(choices)()


def sequential_spec(seed: int) -> dict[str, Any]:
    r = random.Random(seed)
    rank = r.choice(list(INPUT_SHAPES))
    spec: dict[str, Any] = {"input": INPUT_SHAPES[rank](r), "layers": []}
    if r.random() < 0.2:
        spec["name"] = f"model_{seed}"
    if r.random() < 0.15:
        spec["batch_size"] = r.choice([1, 8])
    if rank == 1 and r.random() < 0.1:
        spec["layers"].append({"RepeatVector": {"n": 3}})
        rank = 2
    elif rank == 1 and r.random() < 0.4:
        # token ids: an Embedding first, then sequence layers
        spec["input"] = [r.choice([None, 6])]
        embedding: dict[str, Any] = {"input_dim": 50, "output_dim": _pick(r, 4, 8)}
        # Half of them make a Keras mask (id 0 is padding). Drawn from a stream of its own, so the
        # rest of every spec stays what this seed gave before masks were drawn.
        if random.Random(f"mask_zero {seed}").random() < 0.5:
            embedding["mask_zero"] = True
        spec["layers"].append({"Embedding": embedding})
        rank = 2
    for _ in range(r.randint(1, 6)):
        entry, rank = layer_for_rank(r, rank)
        if r.random() < 0.1:
            next(iter(entry.values()))["trainable"] = False
        spec["layers"].append(entry)
    return spec


MERGES = ("Add", "Multiply", "Concatenate", "Subtract", "Average", "Maximum", "Minimum")


def functional_spec(seed: int) -> dict[str, Any]:
    """Two inputs, branches of shape-keeping layers, merges, a shared layer, one or two outputs."""
    r = random.Random(seed)
    rank = r.choice([1, 2, 3])
    shape = INPUT_SHAPES[rank](r)
    spec: dict[str, Any] = {
        "inputs": {"a": shape, "b": list(shape) if r.random() < 0.8 else INPUT_SHAPES[rank](r)}
    }
    layers: list[Entry] = []
    tensors = ["a", "b"]
    width = shape[-1]
    shared_name = None
    for i in range(r.randint(2, 7)):
        name = f"l{i}"
        roll = r.random()
        if roll < 0.3:
            merge = r.choice(MERGES)
            picks = (
                r.sample(tensors, 2)
                if merge != "Concatenate" or r.random() < 0.7
                else r.sample(tensors, 2)[:1]
            )
            args: dict[str, Any] = {"name": name, "inputs": picks}
            if merge == "Concatenate" and r.random() < 0.3:
                args["axis"] = _pick(r, 1, -1)
            layers.append({merge: args})
        elif roll < 0.45 and shared_name:
            layers.append({"Reuse": {"layer": shared_name, "inputs": r.choice(tensors), "name": name}})
        else:
            units = width if r.random() < 0.7 else _pick(r, 2, 5)
            kind = r.choice(["Dense", "Dense", "Dropout"])
            args = {"name": name, "inputs": r.choice(tensors)}
            if kind == "Dense":
                args["units"] = units
            else:
                args["rate"] = 0.1
            layers.append({kind: args})
            if kind == "Dense" and shared_name is None and r.random() < 0.5:
                shared_name = name
        tensors.append(name)
    spec["layers"] = layers
    if r.random() < 0.4:
        spec["outputs"] = r.sample(tensors[2:], min(2, len(tensors) - 2))
    return spec
