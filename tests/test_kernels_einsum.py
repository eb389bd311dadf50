"""EinsumDense's kernel against Keras: every equation form (plain, leading and trailing ``...``),
bias_axes layouts, activations, integer inputs, and LoRA (whose scale EinsumDense, unlike Dense,
takes from lora_alpha / lora_rank). Equations Keras's shape rule accepts but its einsum cannot
run make both fail."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from kernel_check import assert_kernel_matches_keras, keras_run

from shapecalc.errors import CallFailure
from shapecalc.layers import create_layer, registry
from shapecalc.layers.factory import Namer


def rand(shape: tuple[int, ...], seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_einsum_layers_have_kernels() -> None:
    assert all(registry.lookup(name).has_kernel() for name in ["EinsumDense"])


CASES: list[tuple[str, Any, tuple[int, ...], dict[str, Any]]] = [
    ("ab,bc->ac", 6, (3, 5), {}),
    ("ab,bc->ac", 6, (3, 5), {"bias_axes": "c"}),
    ("ab,bc->ac", 6, (1, 1), {"bias_axes": "c", "activation": "relu"}),
    ("abc,cd->abd", [None, 4], (2, 3, 5), {"bias_axes": "d"}),
    ("abc,cd->abd", [3, 4], (2, 3, 5), {"bias_axes": "bd"}),  # bias over two axes
    ("abc,cd->abd", [3, 4], (2, 3, 5), {"bias_axes": "b"}),  # bias (3, 1): broadcast over d
    ("abc,cde->abde", [None, 2, 3], (2, 4, 5), {"bias_axes": "de"}),  # attention-style projection
    ("abc,cde->abde", [4, 2, 3], (2, 4, 5), {"bias_axes": "e", "activation": "tanh"}),
    ("abcd,cde->abe", [None, 6], (2, 3, 2, 4), {"bias_axes": "e"}),  # two contracted axes
    ("abc,bcd->ad", 7, (2, 3, 4), {"bias_axes": "d", "activation": "sigmoid"}),
    ("abc,dc->abd", [3, 2], (2, 3, 4), {"bias_axes": "d"}),  # kernel axes in another order
    ("abc,bd->acd", [4, 6], (2, 3, 4), {"bias_axes": "cd"}),  # output axes permuted
    ("abc,cd->adb", [5, 3], (2, 3, 4), {"bias_axes": "db"}),
    ("ab,b->a", [], (3, 4), {}),  # rank-1 kernel, output only the batch axis
    ("abc,cd->abcd", [3, 4, 5], (2, 3, 4), {"bias_axes": "c"}),  # input letter kept and broadcast
    ("...x,xy->...y", 6, (2, 3, 5), {"bias_axes": "y"}),
    ("...x,xy->...y", 6, (2, 5), {"bias_axes": "y"}),
    ("...x,xy->...y", 6, (2, 3, 4, 5), {"bias_axes": "y", "activation": "gelu"}),
    ("...bc,cd->...bd", [3, 4], (2, 2, 3, 5), {"bias_axes": "bd"}),
    # two elided axes: Keras's static shape reverses them (2, 16, 6, 4); its einsum does not
    ("...a,ab->...b", 4, (2, 6, 16, 3), {"bias_axes": "b"}),
    ("...bc,cd->...bd", [None, 4], (2, 3, 5), {"bias_axes": "d"}),
    ("ab...,bc->ac...", 8, (2, 4, 5, 6), {"bias_axes": "c"}),  # bias (8, 1, 1)
    ("ab...,bc->ac...", 8, (2, 4), {"bias_axes": "c"}),
    ("ab...,bcd->acd...", [8, 2], (2, 4, 5), {"bias_axes": "cd"}),
    ("ab...,bcd->acd...", [8, 2], (2, 4, 5), {"bias_axes": "d"}),
    ("ABc,cD->ABD", [3, 2], (2, 3, 4), {"bias_axes": "D"}),  # upper-case letters
    ("ab,bc->ac", 6, (3, 5), {"bias_axes": ["c"]}),  # bias_axes as a list of letters
    ("ab,bc->ac", 4, (3, 5), {"activation": "softmax", "bias_axes": "c"}),
]


@pytest.mark.parametrize(("equation", "output_shape", "shape", "extra"), CASES)
def test_einsum_dense(
    equation: str, output_shape: Any, shape: tuple[int, ...], extra: dict[str, Any]
) -> None:
    args = {"equation": equation, "output_shape": output_shape, **extra}
    assert_kernel_matches_keras("EinsumDense", args, [rand(shape)])


@pytest.mark.parametrize("seed", range(4))
def test_einsum_dense_weight_draws(seed: int) -> None:
    args = {"equation": "abc,cde->abde", "output_shape": [None, 3, 2], "bias_axes": "de"}
    assert_kernel_matches_keras("EinsumDense", args, [rand((3, 4, 5), seed)], seed=seed)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_einsum_dense_integer_input_becomes_float32(dtype: str) -> None:
    x = np.random.default_rng(0).integers(-3, 4, (3, 5)).astype(dtype)
    out = assert_kernel_matches_keras(
        "EinsumDense", {"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "c"}, [x]
    )
    assert out[0].dtype == np.float32


@pytest.mark.parametrize(
    "lora",
    [
        {"lora_rank": 1},
        {"lora_rank": 3},
        {"lora_rank": True},
        {"lora_rank": 2, "lora_alpha": 8},  # scale 4: EinsumDense keeps lora_alpha (Dense does not)
        {"lora_rank": 4, "lora_alpha": 0.5},
        {"lora_rank": True, "lora_alpha": 3},
        {"lora_rank": 0, "lora_alpha": 16},  # rank 0: no LoRA at all
    ],
)
def test_einsum_dense_lora(lora: dict[str, Any]) -> None:
    args = {"equation": "ab,bc->ac", "output_shape": 6, "bias_axes": "c", **lora}
    assert_kernel_matches_keras("EinsumDense", args, [rand((3, 5))])


@pytest.mark.parametrize(
    ("equation", "output_shape", "shape"),
    [
        ("abc,cde->abde", [None, 2, 3], (2, 4, 5)),  # rank-3 kernel: A is (5, 2, r)
        ("...x,xy->...y", 6, (2, 3, 5)),
        ("abcd,cde->abe", [None, 6], (2, 3, 2, 4)),
    ],
)
def test_einsum_dense_lora_kernel_ranks(equation: str, output_shape: Any, shape: tuple[int, ...]) -> None:
    args = {"equation": equation, "output_shape": output_shape, "lora_rank": 2, "lora_alpha": 6}
    assert_kernel_matches_keras("EinsumDense", args, [rand(shape)])


def test_einsum_dense_lora_scale_is_alpha_over_rank() -> None:
    # A hand check of the scale: with a zero kernel and no bias, the output is scale * x @ A @ B.
    args = {"equation": "ab,bc->ac", "output_shape": 2, "lora_rank": 2, "lora_alpha": 6}
    layer = create_layer("EinsumDense", args, Namer())
    layer.infer((1, 2))
    weights = {
        "kernel": np.zeros((2, 2), "float32"),
        "lora_kernel_a": np.eye(2, dtype="float32"),
        "lora_kernel_b": np.eye(2, dtype="float32"),
    }
    out = layer.forward(np.array([[1.0, -2.0]], "float32"), weights)
    np.testing.assert_allclose(out, [[3.0, -6.0]])


@pytest.mark.parametrize(
    ("equation", "output_shape", "shape"),
    [
        ("ab,bc->ac", 6, (2, 3, 5)),  # the shape rule appends the extra axis; np.einsum refuses
        ("ab,bc->ac ", 6, (2, 5)),  # trailing text the analysis ignores, passed on to np.einsum
        ("ab,bc->ac...", 6, (2, 5)),  # np.einsum accepts an output ... with nothing elided
        ("ab,bc->ac...", 6, (2, 5, 3)),  # ... only in the output: np.einsum refuses
    ],
)
def test_einsum_dense_equations_keras_cannot_run(
    equation: str, output_shape: Any, shape: tuple[int, ...]
) -> None:
    args = {"equation": equation, "output_shape": output_shape}
    x = rand(shape)
    layer = create_layer("EinsumDense", args, Namer())
    _, built = layer.infer(shape)
    try:
        keras_run("EinsumDense", args, [x], as_list=False)
    except Exception:  # Keras's einsum refuses: so must the kernel
        with pytest.raises(CallFailure):
            layer.forward(x, {w.path: np.zeros(w.shape, "float32") for w in built.weights})
    else:  # Keras runs it: so must the kernel, with Keras's outputs
        assert_kernel_matches_keras("EinsumDense", args, [x])


@pytest.mark.parametrize(
    ("equation", "x_rank", "kernel_rank", "axes"),
    [
        ("abc,cde->abde", 3, 3, 1),  # MultiHeadAttention's query, key and value projections
        ("abcd,cde->abe", 4, 3, 2),  # its output projection
        ("ab,bc->ac", 2, 2, 1),
        ("...b,bc->...c", 4, 2, 1),
        ("ab,b->a", 2, 1, 1),
        ("ab,bc->ac", 3, 2, None),  # an input axis the equation does not name: einsum refuses
        ("ab,bc->ac ", 2, 2, None),  # trailing text: einsum's to judge
        ("abc,acd->abd", 3, 3, None),  # a batch axis shared by both
        ("ab,bc->ca", 2, 2, None),  # the output reordered
        ("ab,cd->abcd", 2, 2, None),  # nothing contracted
    ],
)
def test_equations_that_are_one_tensordot(
    equation: str, x_rank: int, kernel_rank: int, axes: int | None
) -> None:
    from shapecalc.kernels.einsum import tensordot_axes

    assert tensordot_axes(equation, x_rank, kernel_rank) == axes
    if axes is not None:  # and np.tensordot then gives np.einsum's numbers
        rng = np.random.default_rng(0)
        x = rng.standard_normal((2, 3, 4, 5)[:x_rank])
        kernel = rng.standard_normal((*x.shape[x_rank - axes :], 3, 2)[:kernel_rank])
        np.testing.assert_allclose(np.tensordot(x, kernel, axes=axes), np.einsum(equation, x, kernel))
