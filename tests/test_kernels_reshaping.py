"""Reshaping kernels against Keras: Flatten, UpSampling1D/2D/3D, ZeroPadding1D/2D/3D,
Cropping1D/2D/3D, Reshape, Permute, RepeatVector, on concrete arrays."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from kernel_check import assert_kernel_matches_keras, keras_run
from oracle import keras

from shapecalc.errors import CallFailure
from shapecalc.kernels.reshaping import resize
from shapecalc.layers import create_layer, registry
from shapecalc.layers.factory import Namer

LAYERS = [
    "Flatten", "UpSampling1D", "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D",
    "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D", "Reshape", "Permute", "RepeatVector",
]  # fmt: skip
FORMATS = ["channels_last", "channels_first"]


def data(*shape: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_every_reshaping_layer_has_a_kernel() -> None:
    assert all(registry.lookup(name).has_kernel() for name in LAYERS)


def assert_both_refuse_at_run(type_name: str, args: dict[str, Any], x: np.ndarray) -> None:
    """Keras builds the layer but its call fails on real data; the kernel must fail as well."""
    layer = create_layer(type_name, args, Namer())
    layer.infer(tuple(x.shape))
    with pytest.raises(Exception):  # noqa: B017 - Keras's exception type varies by backend
        keras_run(type_name, args, [x], as_list=False)
    with pytest.raises(CallFailure):
        layer.forward(x, {})


# ----------------------------------------------------------------------------- Flatten
@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("shape", [(2,), (2, 3), (2, 3, 4), (2, 3, 4, 5), (2, 2, 3, 4, 3)])
def test_flatten(shape: tuple[int, ...], data_format: str) -> None:
    assert_kernel_matches_keras("Flatten", {"data_format": data_format}, [data(*shape)])


def test_flatten_channels_first_puts_channels_last() -> None:
    # Hand derivation: (1, C=2, 2) channels_first becomes (1, 2, C) before the reshape.
    x = np.arange(4, dtype="float32").reshape(1, 2, 2)
    out = assert_kernel_matches_keras("Flatten", {"data_format": "channels_first"}, [x])[0]
    np.testing.assert_array_equal(out, [[0, 2, 1, 3]])


# ----------------------------------------------------------------------------- UpSampling
@pytest.mark.parametrize("size", [1, 2, 3])
def test_upsampling1d(size: int) -> None:
    assert_kernel_matches_keras("UpSampling1D", {"size": size}, [data(2, 4, 3)])


INTERPOLATIONS = ["nearest", "bilinear", "bicubic", "lanczos3", "lanczos5"]


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("size", [2, (1, 3), (3, 1), (2, 3), (4, 4)])
def test_upsampling2d(size: Any, data_format: str, interpolation: str) -> None:
    x = data(2, 3, 5, 3) if data_format == "channels_last" else data(2, 3, 3, 5)
    args = {"size": size, "data_format": data_format, "interpolation": interpolation}
    assert_kernel_matches_keras("UpSampling2D", args, [x])


@pytest.mark.parametrize("interpolation", ["Bilinear", "BICUBIC", "Nearest"])
def test_upsampling2d_interpolation_is_lowercased(interpolation: str) -> None:
    assert_kernel_matches_keras("UpSampling2D", {"interpolation": interpolation}, [data(1, 3, 4, 2)])


@pytest.mark.parametrize("interpolation", INTERPOLATIONS[1:])
def test_upsampling2d_single_pixel_and_tall_images(interpolation: str) -> None:
    for shape in [(1, 1, 1, 2), (1, 1, 6, 1), (2, 7, 1, 3)]:
        assert_kernel_matches_keras(
            "UpSampling2D", {"size": (3, 2), "interpolation": interpolation}, [data(*shape)]
        )


@pytest.mark.parametrize("interpolation", ["area", "linear", "cubic", "gaussian"])
def test_upsampling2d_unknown_interpolation_fails_at_run(interpolation: str) -> None:
    # Keras accepts any string at construction and refuses it only in ops.image.resize.
    assert_both_refuse_at_run("UpSampling2D", {"interpolation": interpolation}, data(1, 2, 2, 1))


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("size", [2, (1, 2, 3), (3, 1, 1)])
def test_upsampling3d(size: Any, data_format: str) -> None:
    assert_kernel_matches_keras(
        "UpSampling3D", {"size": size, "data_format": data_format}, [data(2, 2, 3, 2, 3)]
    )


# ----------------------------------------------------------------------------- ZeroPadding
@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("padding", [0, 1, 3, (0, 2), (2, 0), (1, 3)])
def test_zero_padding1d(padding: Any, data_format: str) -> None:
    assert_kernel_matches_keras(
        "ZeroPadding1D", {"padding": padding, "data_format": data_format}, [data(2, 4, 3)]
    )


PADDINGS_2D = [0, 1, 2, (1, 2), (0, 3), ((1, 0), (2, 3)), ((0, 0), (0, 1)), ((2, 1), 0), (1, (0, 2))]


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("padding", PADDINGS_2D)
def test_zero_padding2d(padding: Any, data_format: str) -> None:
    assert_kernel_matches_keras(
        "ZeroPadding2D", {"padding": padding, "data_format": data_format}, [data(2, 3, 4, 3)]
    )


PADDINGS_3D = [0, 1, (1, 0, 2), ((1, 0), (0, 2), (3, 1)), (((0, 1)), 2, 0)]


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("padding", PADDINGS_3D)
def test_zero_padding3d(padding: Any, data_format: str) -> None:
    args = {"padding": padding, "data_format": data_format}
    assert_kernel_matches_keras("ZeroPadding3D", args, [data(2, 3, 2, 4, 2)])


@pytest.mark.parametrize(
    ("type_name", "shape"), [("ZeroPadding2D", (1, 5, 5, 2)), ("ZeroPadding3D", (1, 4, 4, 4, 1))]
)
def test_negative_padding_builds_but_fails_at_run(type_name: str, shape: tuple[int, ...]) -> None:
    # Keras's shape rule shrinks the axes, but ops.pad (np.pad) refuses negative widths.
    assert_both_refuse_at_run(type_name, {"padding": -1}, data(*shape))


# ----------------------------------------------------------------------------- Cropping
@pytest.mark.parametrize("cropping", [0, 1, (0, 2), (2, 0), (1, 3), (0, 0)])
def test_cropping1d(cropping: Any) -> None:
    assert_kernel_matches_keras("Cropping1D", {"cropping": cropping}, [data(2, 6, 3)])


CROPPINGS_2D = [0, 1, (1, 2), (0, 2), ((1, 0), (2, 3)), ((0, 1), (0, 0)), ((0, 0), (1, 0)), ((2, 1), 0)]


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("cropping", CROPPINGS_2D)
def test_cropping2d(cropping: Any, data_format: str) -> None:
    args = {"cropping": cropping, "data_format": data_format}
    assert_kernel_matches_keras("Cropping2D", args, [data(2, 6, 7, 6)])


CROPPINGS_3D = [0, 1, (1, 0, 2), ((1, 0), (0, 2), (3, 1)), ((0, 0), (0, 0), (0, 1)), ((0, 1), (0, 0), (0, 0))]


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("cropping", CROPPINGS_3D)
def test_cropping3d(cropping: Any, data_format: str) -> None:
    args = {"cropping": cropping, "data_format": data_format}
    assert_kernel_matches_keras("Cropping3D", args, [data(2, 5, 6, 7, 5)])


# ----------------------------------------------------------------------------- Reshape, Permute, RepeatVector
@pytest.mark.parametrize(
    ("shape", "target"),
    [
        ((2, 12), (3, 4)),
        ((2, 12), (-1, 2)),
        ((2, 3, 4), (12,)),
        ((2, 3, 4), (2, -1, 3)),
        ((2, 3, 4), (4, 3)),
        ((2, 2, 3, 4), (6, 4, 1)),
        ((2, 5), (1, 5, 1)),
        ((2, 6), (-1,)),
    ],
)
def test_reshape(shape: tuple[int, ...], target: tuple[int, ...]) -> None:
    assert_kernel_matches_keras("Reshape", {"target_shape": list(target)}, [data(*shape)])


@pytest.mark.parametrize(
    ("shape", "dims"),
    [
        ((2, 3, 4), (2, 1)),
        ((2, 3, 4), (1, 2)),
        ((2, 3, 4, 5), (3, 1, 2)),
        ((2, 3, 4, 5), (2, 3, 1)),
        ((2, 3), (1,)),
    ],
)
def test_permute(shape: tuple[int, ...], dims: tuple[int, ...]) -> None:
    assert_kernel_matches_keras("Permute", {"dims": list(dims)}, [data(*shape)])


@pytest.mark.parametrize("n", [1, 2, 5])
def test_repeat_vector(n: int) -> None:
    assert_kernel_matches_keras("RepeatVector", {"n": n}, [data(3, 4)])


def test_all_permutations_of_rank_4() -> None:
    for dims in itertools.permutations((1, 2, 3)):
        assert_kernel_matches_keras("Permute", {"dims": list(dims)}, [data(2, 2, 3, 4)])


# ----------------------------------------------------------------------------- the shared resize helper
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("size", [(6, 10), (2, 3), (5, 4), (1, 1), (3, 5)])
def test_resize_helper_matches_keras_image_resize(size: tuple[int, int], interpolation: str) -> None:
    # Not only integer up-sampling: shrinking and fractional scales too (for Resizing-like layers).
    x = data(2, 3, 5, 2)
    want = np.asarray(keras.ops.image.resize(x, size, interpolation=interpolation))
    got = resize(x, size, (1, 2), interpolation)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
