"""Preprocessing kernels against Keras: Normalization, Rescaling, Resizing, CenterCrop."""

from __future__ import annotations

from typing import Any

import kernel_check
import numpy as np
import pytest
from kernel_check import assert_kernel_matches_keras, keras_run

from shapecalc.errors import CallFailure
from shapecalc.layers import create_layer, registry
from shapecalc.layers.factory import Namer

LAYERS = ["Normalization", "Rescaling", "Resizing", "CenterCrop"]
FORMATS = ["channels_last", "channels_first"]
INTERPOLATIONS = ["bilinear", "nearest", "bicubic", "lanczos3", "lanczos5"]


def data(*shape: int, seed: int = 1) -> np.ndarray:
    return (2.0 + 3.0 * np.random.default_rng(seed).standard_normal(shape)).astype("float32")


def test_every_preprocessing_layer_has_a_kernel() -> None:
    assert all(registry.lookup(name).has_kernel() for name in LAYERS)


def assert_both_refuse_at_run(type_name: str, args: dict[str, Any], x: np.ndarray) -> None:
    """Keras builds the layer but its call fails on real data; the kernel must fail as well."""
    layer = create_layer(type_name, args, Namer())
    layer.infer(tuple(x.shape))
    with pytest.raises(Exception):  # noqa: B017 - Keras's exception type varies
        keras_run(type_name, args, [x], as_list=False)
    with pytest.raises(CallFailure):
        layer.forward(x, {})


# ----------------------------------------------------------------------------- Normalization
@pytest.fixture
def finalized(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keras's Normalization copies mean/variance into constants at build (finalize_state) and
    again when weights are loaded; assigning the variables in place, as the harness does, leaves
    the constants stale. A loaded model uses the weights, so the check re-finalizes after assigning."""
    randomize = kernel_check._randomize

    def randomize_then_finalize(layer: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
        values = randomize(layer, rng)
        layer.finalize_state()
        return values

    monkeypatch.setattr(kernel_check, "_randomize", randomize_then_finalize)


ADAPTED_CASES = [
    ({}, (3, 4)),
    ({"axis": -1}, (2, 3, 4)),
    ({"axis": 1}, (2, 3, 4)),
    ({"axis": [1, 2]}, (2, 3, 4)),
    ({"axis": [-1, 1]}, (2, 3, 4)),  # kept axes sorted: (3, 4)
    ({"axis": [2, 1]}, (2, 3, 4)),
    ({"axis": None}, (2, 3, 4)),  # nothing kept: scalar statistics
    ({"axis": 0}, (2, 3)),
    ({"axis": [1, 3]}, (2, 3, 2, 4)),
    ({"invert": True}, (2, 5)),
    ({"invert": True, "axis": [1, 2]}, (2, 3, 4)),
    ({"invert": 1, "axis": None}, (2, 3)),
]


@pytest.mark.usefixtures("finalized")
@pytest.mark.parametrize(("args", "shape"), ADAPTED_CASES)
def test_normalization_with_weights(args: dict[str, Any], shape: tuple[int, ...]) -> None:
    assert_kernel_matches_keras("Normalization", args, [data(*shape)])


GIVEN_CASES = [
    ({"mean": 2.0, "variance": 4.0}, (2, 5)),
    ({"mean": 1, "variance": 0}, (2, 5)),  # sqrt(0) floored at epsilon 1e-7
    ({"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]}, (2, 3)),
    ({"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]}, (2, 4, 3)),
    ({"mean": [0.5], "variance": [2.0]}, (2, 4, 3)),  # one value broadcast over the kept axis
    ({"axis": 1, "mean": [1.0, -1.0, 0.0, 2.0], "variance": [1.0, 2.0, 3.0, 4.0]}, (2, 4, 3)),
    ({"axis": [1, 2], "mean": [[1.0, 2.0, 3.0]], "variance": [[1.0, 2.0, 3.0]]}, (2, 2, 3)),
    ({"axis": [1, 2], "mean": [1.0, 2.0, 3.0], "variance": [1.0, 2.0, 3.0]}, (2, 2, 3)),
    ({"axis": [1, 2], "mean": [[1.0], [2.0]], "variance": [[1.0], [5.0]]}, (2, 2, 3)),
    ({"axis": None, "mean": 3, "variance": 2}, (2, 3, 4)),
    ({"mean": [1.0, 2.0], "variance": [3.0, 4.0], "invert": True}, (3, 2)),
    ({"mean": 0.5, "variance": 0.25, "invert": True, "axis": [1, 2]}, (2, 3, 2)),
]


@pytest.mark.parametrize(("args", "shape"), GIVEN_CASES)
def test_normalization_with_given_statistics(args: dict[str, Any], shape: tuple[int, ...]) -> None:
    assert_kernel_matches_keras("Normalization", args, [data(*shape)])


def test_normalization_by_hand() -> None:
    x = np.array([[1.0, 5.0], [3.0, -1.0]], "float32")
    out = assert_kernel_matches_keras("Normalization", {"mean": [1.0, 1.0], "variance": [4.0, 16.0]}, [x])[0]
    np.testing.assert_allclose(out, [[0.0, 1.0], [1.0, -0.5]])


def test_normalization_integer_inputs() -> None:
    x = np.arange(12, dtype="int32").reshape(3, 4)
    assert_kernel_matches_keras("Normalization", {"mean": 5, "variance": 9}, [x])


# ----------------------------------------------------------------------------- Rescaling
RESCALING_CASES = [
    ({"scale": 1 / 255}, (2, 3, 4, 3)),
    ({"scale": 1 / 127.5, "offset": -1}, (2, 3, 4, 3)),
    ({"scale": 2}, (2, 5)),
    ({"scale": 0, "offset": 0.5}, (2, 5)),
    ({"scale": [1.0, 2.0, 3.0]}, (2, 4, 3)),
    ({"scale": [1.0, 2.0, 3.0], "offset": [0.0, -1.0, 1.0]}, (2, 2, 2, 3)),
    ({"scale": 0.5, "offset": [1.0, 2.0]}, (3, 2)),
    ({"scale": [[1.0], [2.0]]}, (3, 2, 4)),
    ({"scale": -1.5, "offset": 3}, (2, 3, 4)),
]


@pytest.mark.parametrize(("args", "shape"), RESCALING_CASES)
def test_rescaling(args: dict[str, Any], shape: tuple[int, ...]) -> None:
    assert_kernel_matches_keras("Rescaling", args, [data(*shape)])


def test_rescaling_integer_pixels() -> None:
    x = np.random.default_rng(2).integers(0, 256, (2, 3, 3, 3)).astype("uint8")
    assert_kernel_matches_keras("Rescaling", {"scale": 1 / 255}, [x])


# ----------------------------------------------------------------------------- Resizing
def image(batched: bool, data_format: str, h: int, w: int, c: int = 2) -> np.ndarray:
    shape = (h, w, c) if data_format == "channels_last" else (c, h, w)
    return data(2, *shape) if batched else data(*shape)


SIZES = [(6, 8), (2, 3), (4, 4), (5, 2), (4, 11)]


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("data_format", FORMATS)
def test_resizing(interpolation: str, size: tuple[int, int], data_format: str) -> None:
    args = {"height": size[0], "width": size[1], "interpolation": interpolation, "data_format": data_format}
    assert_kernel_matches_keras("Resizing", args, [image(True, data_format, 4, 5)])


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("size", [(2, 3), (3, 2), (1, 1), (7, 3)])
def test_resizing_antialias(interpolation: str, size: tuple[int, int]) -> None:
    args = {"height": size[0], "width": size[1], "interpolation": interpolation, "antialias": True}
    assert_kernel_matches_keras("Resizing", args, [image(True, "channels_last", 6, 7)])


@pytest.mark.parametrize("mode", ["crop_to_aspect_ratio", "pad_to_aspect_ratio"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("size", [(4, 4), (2, 6), (6, 2), (3, 5), (5, 10), (8, 5)])
@pytest.mark.parametrize("data_format", FORMATS)
def test_resizing_to_aspect_ratio(
    mode: str, interpolation: str, size: tuple[int, int], data_format: str
) -> None:
    args = {"height": size[0], "width": size[1], "interpolation": interpolation, "data_format": data_format}
    args[mode] = True
    assert_kernel_matches_keras("Resizing", args, [image(True, data_format, 5, 7)])


@pytest.mark.parametrize("fill_value", [0.0, 1.5, -3, 255])
@pytest.mark.parametrize("data_format", FORMATS)
def test_resizing_pad_fill_value(fill_value: float, data_format: str) -> None:
    args = {"height": 4, "width": 4, "pad_to_aspect_ratio": True, "fill_value": fill_value}
    args["data_format"] = data_format
    out = assert_kernel_matches_keras("Resizing", args, [image(True, data_format, 2, 5)])[0]
    # Hand check, channels_last: 2x5 padded to 5x5 (bands of 1 above and below: 4x5, one short
    # of square), then resized to 4x4 bilinear: the top row is pure fill.
    if data_format == "channels_last":
        np.testing.assert_allclose(out[:, 0], fill_value, rtol=1e-6)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "lanczos3"])
@pytest.mark.parametrize(
    "extra", [{}, {"crop_to_aspect_ratio": True}, {"pad_to_aspect_ratio": True, "fill_value": 2}]
)
def test_resizing_unbatched_image(data_format: str, interpolation: str, extra: dict[str, Any]) -> None:
    args = {"height": 3, "width": 6, "interpolation": interpolation, "data_format": data_format, **extra}
    assert_kernel_matches_keras("Resizing", args, [image(False, data_format, 4, 5)])


@pytest.mark.parametrize("data_format", FORMATS)
def test_resizing_same_size_is_identity(data_format: str) -> None:
    x = image(True, data_format, 4, 5)
    args = {"height": 4, "width": 5, "data_format": data_format}
    out = assert_kernel_matches_keras("Resizing", args, [x])[0]
    np.testing.assert_array_equal(out, x)


def test_resizing_upsample_exact_by_hand() -> None:
    # Nearest upsampling by 2 repeats every pixel: Keras's index floor((j + 0.5) * m / n).
    x = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
    args = {"height": 4, "width": 4, "interpolation": "nearest"}
    out = assert_kernel_matches_keras("Resizing", args, [x])[0]
    np.testing.assert_array_equal(out[0, :, :, 0], np.repeat(np.repeat([[0, 1], [2, 3]], 2, 0), 2, 1))


@pytest.mark.parametrize(
    ("args", "shape"),
    [
        ({"height": 3, "width": 3, "interpolation": "area"}, (2, 4, 4, 1)),
        ({"height": 3, "width": 3, "interpolation": "BILINEAR"}, (2, 4, 4, 1)),
        ({"height": 3, "width": 3, "pad_to_aspect_ratio": True, "fill_mode": "reflect"}, (2, 4, 5, 1)),
        ({"height": 3, "width": 3, "crop_to_aspect_ratio": True, "pad_to_aspect_ratio": True}, (2, 4, 5, 1)),
        ({"height": 3, "width": 3}, (2, 4, 5, 1, 1)),  # rank 5: Keras's shape rule accepts it, the call not
    ],
)
def test_resizing_refusals_at_run(args: dict[str, Any], shape: tuple[int, ...]) -> None:
    assert_both_refuse_at_run("Resizing", args, data(*shape))


# ----------------------------------------------------------------------------- CenterCrop
CROP_SIZES = [(2, 3), (4, 5), (3, 3), (1, 1), (6, 5), (4, 8), (7, 9), (2, 7), (5, 1)]


@pytest.mark.parametrize("size", CROP_SIZES)
@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("batched", [True, False])
def test_center_crop(size: tuple[int, int], data_format: str, batched: bool) -> None:
    args = {"height": size[0], "width": size[1], "data_format": data_format}
    assert_kernel_matches_keras("CenterCrop", args, [image(batched, data_format, 4, 5)])


def test_center_crop_odd_difference_by_hand() -> None:
    # 5 rows to 2: start (5 - 2) // 2 = 1, rows 1 and 2.
    x = np.arange(5, dtype="float32").reshape(1, 5, 1, 1)
    out = assert_kernel_matches_keras("CenterCrop", {"height": 2, "width": 1}, [x])[0]
    np.testing.assert_array_equal(out.ravel(), [1.0, 2.0])


@pytest.mark.parametrize("args", [{"scale": "0.5"}, {"scale": 2, "offset": "1"}, {"scale": True}])
def test_rescaling_values_numpy_converts(args: dict[str, Any]) -> None:
    assert_kernel_matches_keras("Rescaling", args, [data(2, 3)])


@pytest.mark.parametrize(
    ("type_name", "args"),
    [
        ("Resizing", {"height": 0, "width": 3}),  # Keras divides by the scale 0
        ("Resizing", {"height": 0, "width": 3, "crop_to_aspect_ratio": True}),
        ("Resizing", {"height": 2, "width": 0, "pad_to_aspect_ratio": True}),
        ("CenterCrop", {"height": 0, "width": 7}),  # too narrow: smart_resize divides by 0
    ],
)
def test_zero_target_sizes_fail_at_run_as_in_keras(type_name: str, args: dict[str, Any]) -> None:
    assert_both_refuse_at_run(type_name, args, data(2, 4, 5, 1))


@pytest.mark.parametrize(
    ("type_name", "args"),
    [
        ("Resizing", {"height": 0, "width": 3, "interpolation": "nearest"}),
        ("CenterCrop", {"height": 0, "width": 3}),
    ],
)
def test_zero_target_sizes_that_keras_runs(type_name: str, args: dict[str, Any]) -> None:
    assert_kernel_matches_keras(type_name, args, [data(2, 4, 5, 1)])


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"interpolation": "nearest"},
        {"interpolation": "bicubic"},  # overshoots: rounded and clipped back into uint8
        {"crop_to_aspect_ratio": True},
        {"pad_to_aspect_ratio": True},
        {"pad_to_aspect_ratio": True, "fill_value": 300.5},  # saturates at 255
        {"pad_to_aspect_ratio": True, "fill_value": 7},
    ],
)
def test_resizing_integer_images_stay_integers(data_format: str, extra: dict[str, Any]) -> None:
    shape = (2, 3, 6, 2) if data_format == "channels_last" else (2, 2, 3, 6)
    x = np.random.default_rng(4).integers(0, 256, shape).astype("uint8")
    args = {"height": 4, "width": 4, "data_format": data_format, **extra}
    assert_kernel_matches_keras("Resizing", args, [x], rtol=0, atol=0)  # integers: exactly Keras's
