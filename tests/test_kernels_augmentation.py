"""Image augmentation kernels against Keras, in inference mode (training=False).

Keras's random augmentations return their images unchanged at inference; some cast them to
float32 first and some hand integer images back as they came, which is checked with integer
inputs. RandomCrop does not crop at all at inference (the output keeps the input's size, unlike
its static shape). AutoContrast and CLAHE always apply: they are compared on many images,
value ranges, data formats, tile grids and clip limits, by hand cases and by hypothesis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_check import assert_kernel_matches_keras
from oracle import keras, make_layer
from run_check import assert_run_matches_keras

from shapecalc.errors import CallFailure
from shapecalc.kernels.augmentation import auto_contrast
from shapecalc.layers import create_layer, registry
from shapecalc.layers.factory import Namer

CLAHE = "ContrastLimitedAdaptiveHistogramEqualization"

# Each random augmentation with the arguments it needs (and a few that change nothing at inference).
RANDOM_LAYERS: dict[str, list[dict[str, Any]]] = {
    "RandomFlip": [{}, {"mode": "horizontal"}],
    "RandomRotation": [{"factor": 0.2}, {"factor": (-0.5, 0.1), "fill_mode": "constant"}],
    "RandomZoom": [{"height_factor": 0.2}, {"height_factor": (-0.3, 0.2), "width_factor": 0.1}],
    "RandomTranslation": [{"height_factor": 0.2, "width_factor": 0.1}],
    "RandomShear": [{}, {"x_factor": 0.3, "y_factor": 0.2}],
    "RandomPerspective": [{}, {"scale": 0.5}],
    "RandomElasticTransform": [{}],
    "RandomErasing": [{}, {"fill_value": 3.0}],
    "CutMix": [{}],
    "MixUp": [{}],
    "MaxNumBoundingBoxes": [{"max_number": 3}],
    "RandomContrast": [{"factor": 0.5}],
    "RandomBrightness": [{"factor": 0.5}, {"factor": (-0.2, 0.4), "value_range": (0, 1)}],
    "RandomHue": [{"factor": 0.5}],
    "RandomSaturation": [{"factor": 0.5}],
    "RandomSharpness": [{"factor": 0.5}],
    "RandomGrayscale": [{}, {"factor": 1.0}],
    "RandomInvert": [{}],
    "RandomPosterization": [{"factor": (1, 8)}],
    "RandomColorDegeneration": [{"factor": 0.5}],
    "RandomColorJitter": [{}, {"brightness_factor": 0.2, "contrast_factor": 0.3, "hue_factor": 0.1}],
    "RandomGaussianBlur": [{}, {"kernel_size": 5, "sigma": 0.5}],
    "Equalization": [{}, {"bins": 16}],
    "Solarization": [{}, {"addition_factor": 0.5, "threshold_factor": 0.5}],
    "AugMix": [{}],
    "RandAugment": [{}, {"num_ops": 3}],
    "RandomCrop": [{"height": 4, "width": 5}, {"height": 20, "width": 3}],
}
ALL_LAYERS = [*RANDOM_LAYERS, "AutoContrast", CLAHE]
RANDOM_CASES = [(name, args) for name, variants in RANDOM_LAYERS.items() for args in variants]


def images(shape: tuple[int, ...], dtype: str = "float32", seed: int = 0, high: float = 255) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.uniform(0, high, shape).astype(dtype)
    return rng.integers(0, int(high) + 1, shape).astype(dtype)


def run_keras(type_name: str, args: dict[str, Any], x: np.ndarray) -> Any:
    keras.backend.clear_session(free_memory=False)
    return make_layer(type_name, args)(x, training=False)


def assert_inference_matches(type_name: str, args: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Like assert_kernel_matches_keras, without its first (training) call, which some layers
    refuse for integer images, and with the dtype compared exactly."""
    want = np.asarray(run_keras(type_name, args, x))
    layer = create_layer(type_name, args, Namer())
    layer.infer(tuple(x.shape))
    got = layer.forward(x, {})
    assert (got.shape, got.dtype) == (want.shape, want.dtype)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    return got


def test_every_augmentation_layer_has_a_kernel() -> None:
    assert all(registry.lookup(name).has_kernel() for name in ALL_LAYERS)


# ----------------------------------------------------------------------------- random: identity
@pytest.mark.parametrize(("type_name", "args"), RANDOM_CASES)
@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((2, 9, 10, 3), "float32"), ((2, 9, 10, 3), "int32"), ((1, 6, 7, 3), "uint8"), ((9, 10, 3), "float32")],
)
def test_random_augmentations_are_identity_at_inference(
    type_name: str, args: dict[str, Any], shape: tuple[int, ...], dtype: str
) -> None:
    # The integer cases check which layers cast to float32 and which hand integers back.
    got = assert_inference_matches(type_name, args, images(shape, dtype))
    np.testing.assert_array_equal(got, images(shape, dtype))


@pytest.mark.parametrize(
    "type_name", ["RandomFlip", "RandomSaturation", "RandomCrop", "Equalization", "AugMix"]
)
def test_float64_becomes_float32(type_name: str) -> None:
    x = images((2, 5, 6, 3), "float64")
    got = assert_kernel_matches_keras(type_name, RANDOM_LAYERS[type_name][0], [x])
    assert got[0].dtype == np.float32


@pytest.mark.parametrize("type_name", ["RandomFlip", "RandomHue", "RandomCrop", "RandomGaussianBlur"])
def test_channels_first_identity(type_name: str) -> None:
    args = {**RANDOM_LAYERS[type_name][0], "data_format": "channels_first"}
    assert_kernel_matches_keras(type_name, args, [images((2, 3, 7, 8))])


def test_random_crop_does_not_crop_at_inference() -> None:
    # Keras's static shape is (2, 4, 5, 3); at inference its transform_images returns the
    # images whole, so the real output is the input.
    layer = create_layer("RandomCrop", {"height": 4, "width": 5}, Namer())
    assert layer.infer((2, 9, 10, 3))[0] == (2, 4, 5, 3)
    x = images((2, 9, 10, 3))
    got = assert_kernel_matches_keras("RandomCrop", {"height": 4, "width": 5}, [x])
    assert got[0].shape == (2, 9, 10, 3)


@pytest.mark.parametrize(
    ("type_name", "args", "shape"),
    [
        ("RandomFlip", {}, (2, 2, 5, 6, 3)),  # rank 5: not an image batch
        ("RandomContrast", {"factor": 0.5}, (2, 2, 5, 6, 3)),
        ("AutoContrast", {}, (2, 2, 5, 6, 3)),
        (CLAHE, {}, (2, 2, 5, 6, 3)),
        ("MaxNumBoundingBoxes", {"max_number": 2}, (4, 3)),  # rank 2
        ("RandomCrop", {"height": 0, "width": 5}, (2, 5, 6, 3)),  # the crop box divides by 0
        ("RandomCrop", {"height": 3, "width": 0}, (2, 5, 6, 3)),
    ],
)
def test_refused_like_keras(type_name: str, args: dict[str, Any], shape: tuple[int, ...]) -> None:
    x = images(shape)
    with pytest.raises((ValueError, ZeroDivisionError)):
        run_keras(type_name, args, x)
    with pytest.raises(CallFailure):
        create_layer(type_name, args, Namer()).forward(x, {})


# ----------------------------------------------------------------------------- AutoContrast
def test_auto_contrast_by_hand() -> None:
    # One channel of values 10, 20, 30 in (0, 255): stretched to 0, 127.5, 255.
    x = np.array([10, 20, 30], dtype=np.float32).reshape(1, 1, 3, 1)
    np.testing.assert_allclose(auto_contrast(x, (0, 255)).ravel(), [0.0, 127.5, 255.0], rtol=1e-6)
    # A constant channel has no range to stretch: its values stay.
    np.testing.assert_array_equal(auto_contrast(np.full((1, 2, 2, 1), 7.0, np.float32), (0, 255)), 7.0)


def mixed_image() -> np.ndarray:
    x = images((2, 6, 7, 3), seed=5)
    x[0, :, :, 1] = 42.0  # a constant channel
    x[1, :, :, :] = 3.0  # a constant image
    return x


@pytest.mark.parametrize(
    ("args", "x"),
    [
        ({}, images((2, 9, 10, 3))),
        ({}, images((2, 9, 10, 3), high=60)),
        ({"value_range": (0, 1)}, images((2, 9, 10, 3), high=0.7)),
        ({"value_range": [1, -1]}, images((2, 5, 4, 3), high=1)),  # sorted by Keras
        ({}, images((2, 9, 10, 3), "int32", high=100)),
        ({}, images((2, 9, 10, 1), "uint8", high=200)),
        ({"value_range": (0, 1)}, images((2, 4, 4, 3), "int32", high=1)),
        ({}, images((9, 10, 3))),  # one image
        ({}, mixed_image()),
        ({"data_format": "channels_first"}, images((2, 3, 9, 10))),  # min/max still over axes 1, 2
        ({}, np.random.default_rng(1).standard_normal((2, 5, 5, 2)).astype("float32")),
    ],
)
def test_auto_contrast(args: dict[str, Any], x: np.ndarray) -> None:
    assert_kernel_matches_keras("AutoContrast", args, [x])


# ----------------------------------------------------------------------------- CLAHE
@pytest.mark.parametrize(
    ("args", "x"),
    [
        ({}, images((2, 16, 16, 3))),  # 8 x 8 tiles of 2 x 2, no padding
        ({}, images((2, 13, 19, 2))),  # padded symmetrically to 16 x 24
        ({}, images((1, 5, 6, 1))),  # smaller than the tile grid: 1 x 1 tiles, padding > size
        ({"tile_grid_size": (3, 2)}, images((2, 13, 19, 2))),
        ({"tile_grid_size": [1, 1]}, images((2, 7, 9, 3))),
        ({"tile_grid_size": (4, 4), "clip_limit": 1.0}, images((2, 20, 24, 1), high=80)),
        ({"tile_grid_size": (2, 3), "clip_limit": 0}, images((2, 12, 12, 2))),  # no clipping
        ({"tile_grid_size": (2, 3), "clip_limit": -1}, images((2, 12, 12, 2))),
        ({"clip_limit": 40.0}, images((2, 16, 16, 3))),
        ({"value_range": (0, 1)}, images((2, 13, 19, 2), high=1)),
        ({"value_range": (-1, 1), "tile_grid_size": (2, 2)}, images((2, 10, 10, 3), high=1) * 2 - 1),
        ({"data_format": "channels_first"}, images((2, 3, 13, 11))),
        ({"data_format": "channels_first", "tile_grid_size": (2, 4)}, images((3, 11, 10))),
        ({}, images((2, 13, 19, 2), "uint8")),
        ({"tile_grid_size": (3, 3)}, images((2, 9, 9, 3), "int32")),
        ({}, images((13, 19, 2))),
        ({}, np.full((2, 8, 8, 1), 100.0, np.float32)),  # one level everywhere
        ({}, np.random.default_rng(2).standard_normal((2, 9, 9, 3)).astype("float32") * 300),
    ],
)
def test_clahe(args: dict[str, Any], x: np.ndarray) -> None:
    assert_kernel_matches_keras(CLAHE, args, [x], atol=1e-4)  # values up to 255: float32 ulps ~3e-5


@settings(max_examples=50, deadline=None, derandomize=True)
@given(
    size=st.tuples(st.integers(1, 20), st.integers(1, 20)),
    channels=st.integers(1, 3),
    grid=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    clip_limit=st.sampled_from([0.0, 0.5, 2.0, 4.0, 10.0]),
    value_range=st.sampled_from([(0, 255), (0, 1), (-1, 1)]),
    data_format=st.sampled_from(["channels_last", "channels_first"]),
    integer=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_random_clahe(
    size: tuple[int, int],
    channels: int,
    grid: tuple[int, int],
    clip_limit: float,
    value_range: tuple[int, int],
    data_format: str,
    integer: bool,
    seed: int,
) -> None:
    shape = (2, *size, channels) if data_format == "channels_last" else (2, channels, *size)
    low, high = value_range
    x = images(shape, seed=seed, high=1.0) * (high - low) + low
    if integer:
        x = np.round(x).astype("int32")
    args = {
        "tile_grid_size": grid,
        "clip_limit": clip_limit,
        "value_range": value_range,
        "data_format": data_format,
    }
    assert_kernel_matches_keras(CLAHE, args, [x], atol=1e-4)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 8), st.integers(1, 8), st.integers(1, 4)),
    value_range=st.sampled_from([(0, 255), (0, 1), (-1, 1), (10, 20)]),
    data_format=st.sampled_from(["channels_last", "channels_first"]),
    seed=st.integers(0, 1000),
)
def test_random_auto_contrast(
    shape: tuple[int, ...], value_range: tuple[int, int], data_format: str, seed: int
) -> None:
    low, high = value_range
    x = images(shape, seed=seed, high=1.0) * (high - low) + low
    assert_kernel_matches_keras("AutoContrast", {"value_range": value_range, "data_format": data_format}, [x])


# ----------------------------------------------------------------------------- a model
MODEL_SPEC = """
input: [12, 14, 3]
layers:
  - RandomRotation: {factor: 0.3}
  - AutoContrast: {}
  - ContrastLimitedAdaptiveHistogramEqualization: {tile_grid_size: [3, 4]}
  - RandomFlip: {}
  - Solarization: {}
  - AdaptiveMaxPooling2D: {output_size: [5, 4]}
  - AdaptiveAveragePooling2D: {output_size: 3}
"""


def test_model_run_equals_keras(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(MODEL_SPEC)
    x = images((2, 12, 14, 3), seed=7)
    assert_run_matches_keras(path, yaml.safe_load(MODEL_SPEC), {"input_layer": x}, tmp_path)
