"""Sizes a run can allocate, checked on the plan before anything runs.

Keras's shape rules take sizes of any magnitude (a stride of 2**63 gives an output side of
2**66) and any number of axes, and so does the static summary. NumPy cannot: a size past its
index type (intp) is an OverflowError, an array of more than intp's maximum bytes or of more
than 64 axes a ValueError. Every array the run makes, each call's outputs and each layer's
weights, is checked here first, so that such a spec is refused at the layer that needs the
array, with its size, instead of failing inside NumPy. Sizes are Python integers throughout:
a product never wraps around.
"""

from __future__ import annotations

import math

import numpy as np

from ..analysis import Analysis
from ..errors import RunRefused
from ..graph import Call
from ..layers.base import Shape, fmt_shape
from ..layers.input_layer import InputLayer

INDEX_MAX = int(np.iinfo(np.intp).max)
# NumPy's NPY_MAXDIMS: an array has at most 64 axes (32 before NumPy 2)
MAX_RANK = 64 if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else 32
# Arrays are made as float64 before they are cast (random inputs and weights): the widest item.
WIDEST_ITEM = 8


def sized(shape: Shape, unknown: int) -> tuple[int, ...]:
    """The shape with a size even the filled-in prediction leaves unknown counted as ``unknown``."""
    return tuple(unknown if d is None else d for d in shape)


def nbytes(shape: Shape, unknown: int, itemsize: int = 4) -> int:
    """Bytes of an array of ``shape`` (unknown sizes as in :func:`sized`), float32 by default."""
    return math.prod(sized(shape, unknown)) * itemsize


def check_array_sizes(analysis: Analysis, unknown: int) -> None:
    """Refuse the run at the first call whose outputs or weights NumPy cannot allocate."""
    seen = set()
    for call in analysis.model_calls:
        what = "input" if isinstance(call.layer, InputLayer) else "output"
        for shape in analysis.output_shapes(call):
            _check(call, what, sized(shape, unknown), WIDEST_ITEM)
        if call.layer not in seen:
            seen.add(call.layer)
            for weight in analysis.weights_of(call.layer):
                _check(call, f"weight {weight.path}", weight.shape, WIDEST_ITEM)


def check_temporaries(call: Call, nbytes: int) -> None:
    """Refuse a call whose kernel's temporaries (its run_work_elements) pass what any array, and
    so any machine, can hold, whatever --max-memory allows."""
    if nbytes > INDEX_MAX:
        raise RunRefused(
            f"{call.layer.label}: its kernel's temporaries need {nbytes:,} bytes, more than NumPy "
            f"can address (at most {INDEX_MAX:,}): --run cannot allocate them",
            call.loc,
        )


def _check(call: Call, what: str, shape: tuple[int, ...], itemsize: int) -> None:
    if len(shape) > MAX_RANK:
        raise RunRefused(
            f"{call.layer.label}: its {what} has {len(shape)} axes (batch included); a NumPy "
            f"array has at most {MAX_RANK}: --run cannot make it",
            call.loc,
        )
    count = math.prod(shape)
    if max(shape, default=0) <= INDEX_MAX and count * itemsize <= INDEX_MAX:
        return
    raise RunRefused(
        f"{call.layer.label}: its {what} {fmt_shape(shape)} has {count:,} values, more than one "
        f"NumPy array can hold (at most {INDEX_MAX:,} bytes here): --run cannot allocate it",
        call.loc,
    )
