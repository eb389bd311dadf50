"""Elementwise kernels in chunks and lanes (shapecalc/kernels/parallel.py) give Keras's values.

The chunks are made small and every array counts as large, so that each kernel below is cut
into many chunks (or blocks of rows) taken by 1, 2 or 3 lanes, with a last chunk shorter than
the others.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from kernel_check import assert_kernel_matches_keras

from shapecalc.kernels import activations, conv_lanes, parallel


@pytest.mark.parametrize("lanes", [1, 2, 3])
@pytest.mark.parametrize(
    "type_name, args",
    [
        ("Activation", {"activation": "gelu"}),
        ("Activation", {"activation": "relu"}),
        ("ReLU", {"max_value": 6}),
        ("BatchNormalization", {}),
        ("BatchNormalization", {"axis": 1}),  # the scale is not along the last axis: no row blocks
        ("Dense", {"units": 7, "activation": "gelu"}),  # bias and GELU in place, by rows
        ("Dense", {"units": 7, "activation": "tanh"}),
        ("Dense", {"units": 7}),  # the bias alone, by rows
        ("Dense", {"units": 7, "use_bias": False, "activation": "relu"}),
        ("Dense", {"units": 7, "activation": "softmax"}),  # along an axis: not by rows
        ("Add", {}),
        ("LayerNormalization", {}),
        ("LayerNormalization", {"center": False}),
        ("LayerNormalization", {"scale": False}),
        ("LayerNormalization", {"center": False, "scale": False}),
        ("LayerNormalization", {"axis": [1, 3]}),  # over more than the last axis: not by rows
    ],
)
def test_chunked_kernels_match_keras(
    monkeypatch: pytest.MonkeyPatch, lanes: int, type_name: str, args: dict[str, Any]
) -> None:
    monkeypatch.setattr(parallel, "CHUNK_ELEMENTS", 37)
    monkeypatch.setattr(parallel, "ROW_BLOCK_ELEMENTS", 37)
    monkeypatch.setattr(activations, "GELU_CHUNK_ELEMENTS", 37)
    monkeypatch.setattr(parallel, "PARALLEL_MIN_ELEMENTS", 1)
    monkeypatch.setattr(conv_lanes.BLAS, "lanes", lambda: lanes)
    rng = np.random.default_rng(3)
    x, y, z = (rng.standard_normal((3, 5, 9, 6)).astype("float32") * 3 for _ in range(3))
    assert_kernel_matches_keras(type_name, args, [x, y, z] if type_name == "Add" else [x])
    # a strided input (a transposed array) is taken whole
    w = np.ascontiguousarray(x.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)
    assert not w.flags.c_contiguous
    assert_kernel_matches_keras(type_name, args, [w, y, z] if type_name == "Add" else [w])
