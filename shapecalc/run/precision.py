"""Dtype policies in --run: float16 and bfloat16 as Keras computes them, in float32 arrays.

Keras casts a layer's float inputs to its policy's compute dtype, reads its variables in that
dtype under a mixed policy (``mixed_float16``: float32 variables, float16 compute), and
returns outputs of the compute dtype. On CPU, XLA evaluates float16 and bfloat16 arithmetic
in float32 and rounds the results. --run does the same: every tensor is a float32 array
holding values of its own dtype, rounded to it where Keras casts or a layer returns (its
inputs to the compute dtype, its weights to the variable dtype, then to the compute dtype if
the layer reads them so, its outputs to its output dtype), with the kernels computing in
float32 between. NumPy has float16; bfloat16, which it lacks, is rounded here bit by bit
(round to nearest even on the upper 16 bits of a float32). The differences from Keras's own
runs are those of rounding once per layer instead of once per operation: a few units in the
last place of the narrow dtype.

A float64 policy is refused: the kernels compute in float32, so its values would be float32's.
"""

from __future__ import annotations

import numpy as np

from ..errors import RunRefused
from ..graph import Call
from ..layers import args as A
from ..layers.base import Layer

# the dtypes whose values float32 arrays hold exactly, rounded where Keras rounds
NARROW = ("float16", "bfloat16")


def round_to(array: np.ndarray, dtype: str) -> np.ndarray:
    """``array`` as a float32 array of ``dtype``'s values (the same array for other dtypes)."""
    if dtype not in NARROW or array.dtype.kind != "f":
        return array
    if dtype == "float16":
        return array.astype(np.float16).astype(np.float32)
    bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)
    # round to nearest, ties to even, on the 16 bits bfloat16 keeps; NaNs stay NaN
    rounded = (
        (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
    ).view(np.float32)
    return np.where(np.isnan(array), np.float32(np.nan), rounded)


def widened(array: np.ndarray) -> np.ndarray:
    """A float16 array (a weights or input file's) as the float32 array --run computes with."""
    return array.astype(np.float32) if array.dtype == np.float16 else array


def _policy(layer: Layer) -> tuple[str | None, bool]:
    """The layer's dtype policy and autocast flag (Keras's common arguments, where it has them)."""
    return getattr(layer, "dtype", None), bool(getattr(layer, "autocast", True))


def layer_inputs(layer: Layer, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """The float inputs cast to the layer's compute dtype, as Keras's ``__call__`` casts them
    (unless the layer has ``autocast: false``); integer and boolean inputs as they are."""
    policy, autocast = _policy(layer)
    if layer.is_operation or not autocast:
        return arrays
    compute = A.compute_dtype(policy)
    if compute not in A.FLOAT_DTYPES:
        return arrays
    wide = np.float64 if compute == "float64" else np.float32
    return [round_to(a.astype(wide, copy=False), compute) if a.dtype.kind == "f" else a for a in arrays]


def layer_weights(layer: Layer, weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The weights as the layer's call reads them: under a mixed policy (float32 variables,
    float16 or bfloat16 compute) Keras reads each variable in the compute dtype, except those
    its layer creates with ``autocast=False`` (the normalizations' statistics and scales)."""
    policy, autocast = _policy(layer)
    compute = A.compute_dtype(policy)
    if compute == A.variable_dtype(policy) or not autocast or not layer.autocast_variables:
        return weights
    return {path: round_to(values, compute) for path, values in weights.items()}


def stored(array: np.ndarray, dtype: str) -> np.ndarray:
    """How --save-outputs writes a tensor of ``dtype``: float16 as float16 (its values are
    exact), bfloat16 as float32 (NumPy has no bfloat16), others as computed."""
    return array.astype(np.float16) if dtype == "float16" and array.dtype.kind == "f" else array


def check_computable(calls: list[Call]) -> None:
    """Refuse a run with a layer computing in float64, at the first such layer."""
    for call in calls:
        policy, _ = _policy(call.layer)
        if call.inputs and not call.layer.is_operation and A.compute_dtype(policy) == "float64":
            raise RunRefused(
                f"{call.layer.label} computes in float64 (dtype: {policy}): --run's kernels compute in "
                "float32 (and round to float16 and bfloat16 as Keras does), so its values would be "
                "float32's; give it float32 to run the model (the summary is the same)",
                call.loc,
            )
