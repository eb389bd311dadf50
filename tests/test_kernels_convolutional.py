"""Convolution kernels against Keras: Conv1D/2D/3D (groups, causal, dilation, LoRA),
Conv1D/2D/3DTranspose (output_padding, dilation), DepthwiseConv1D/2D and SeparableConv1D/2D,
in both data formats, with bias, activations (softmax shows the channels_first axis order), and
random argument combinations drawn by hypothesis. Also the patch-chunking paths of the kernel."""

from __future__ import annotations

import itertools
import tracemalloc
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_check import assert_kernel_matches_keras, keras_run

from shapecalc.errors import ArgError, ShapeError
from shapecalc.kernels import conv as conv_kernels
from shapecalc.kernels import conv_lanes, conv_winograd
from shapecalc.layers import create_layer, registry
from shapecalc.layers.factory import Namer

CONV_LAYERS = [
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
]


def data(shape: tuple[int, ...], seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_every_convolution_has_a_kernel() -> None:
    assert all(registry.lookup(name).has_kernel() for name in CONV_LAYERS)


# ----------------------------------------------------------------------------- Conv1D/2D/3D
CONV1D = [
    {"filters": 3, "kernel_size": 3},
    {"filters": 4, "kernel_size": 1},
    {"filters": 2, "kernel_size": 3, "strides": 2},
    {"filters": 2, "kernel_size": 4, "strides": 3, "padding": "same"},
    {"filters": 3, "kernel_size": 3, "padding": "same"},
    {"filters": 3, "kernel_size": 4, "padding": "same"},  # even kernel: the extra pad goes after
    {"filters": 3, "kernel_size": 3, "padding": "causal"},
    {"filters": 3, "kernel_size": 2, "padding": "causal", "dilation_rate": 3},
    {"filters": 3, "kernel_size": 3, "padding": "causal", "strides": 2},
    {"filters": 2, "kernel_size": 3, "dilation_rate": 2},
    {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "padding": "same"},
    {"filters": 4, "kernel_size": 3, "groups": 2},
    {"filters": 6, "kernel_size": 2, "groups": 6, "padding": "same"},
    {"filters": 3, "kernel_size": 3, "use_bias": False},
    {"filters": 3, "kernel_size": 3, "activation": "relu"},
    {"filters": 3, "kernel_size": 3, "activation": "softmax"},
    {"filters": 3, "kernel_size": 1, "strides": 2},
    {"filters": 3, "kernel_size": 3, "padding": "CAUSAL"},
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("args", CONV1D)
def test_conv1d(args: dict[str, Any], data_format: str) -> None:
    shape = (2, 9, 6) if data_format == "channels_last" else (2, 6, 9)
    assert_kernel_matches_keras("Conv1D", {**args, "data_format": data_format}, [data(shape)])


CONV2D = [
    {"filters": 3, "kernel_size": 3},
    {"filters": 5, "kernel_size": (2, 3), "strides": (2, 1)},
    {"filters": 4, "kernel_size": 3, "padding": "same"},
    {"filters": 4, "kernel_size": (2, 4), "padding": "same", "strides": (3, 2)},
    {"filters": 2, "kernel_size": 3, "dilation_rate": (2, 1)},
    {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "padding": "same"},
    {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "same"},
    {"filters": 4, "kernel_size": 1, "groups": 4},
    {"filters": 3, "kernel_size": 1},
    {"filters": 3, "kernel_size": 1, "padding": "same"},
    {"filters": 3, "kernel_size": 3, "activation": "tanh", "use_bias": False},
    {"filters": 3, "kernel_size": 2, "activation": "softmax"},
    {"filters": 3, "kernel_size": 3, "lora_rank": 2},
    {"filters": 4, "kernel_size": 2, "lora_rank": 3, "lora_alpha": 6},
    {"filters": 4, "kernel_size": 2, "lora_rank": 2, "groups": 2, "lora_alpha": 0.5},
    {"filters": 4, "kernel_size": 2, "lora_rank": 0, "lora_alpha": 5},  # rank 0: no LoRA
    {"filters": 3, "kernel_size": 5, "padding": "SAME"},
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("args", CONV2D)
def test_conv2d(args: dict[str, Any], data_format: str) -> None:
    shape = (2, 7, 8, 4) if data_format == "channels_last" else (2, 4, 7, 8)
    assert_kernel_matches_keras("Conv2D", {**args, "data_format": data_format}, [data(shape)])


CONV3D = [
    {"filters": 2, "kernel_size": 2},
    {"filters": 3, "kernel_size": (3, 2, 1), "strides": (1, 2, 2), "padding": "same"},
    {"filters": 2, "kernel_size": 2, "dilation_rate": (1, 2, 1)},
    {"filters": 4, "kernel_size": 2, "groups": 2, "activation": "relu"},
    {"filters": 2, "kernel_size": 2, "lora_rank": 1, "padding": "same"},
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("args", CONV3D)
def test_conv3d(args: dict[str, Any], data_format: str) -> None:
    shape = (2, 5, 4, 6, 2) if data_format == "channels_last" else (2, 2, 5, 4, 6)
    assert_kernel_matches_keras("Conv3D", {**args, "data_format": data_format}, [data(shape)])


# ----------------------------------------------------------------------------- transposed
TRANSPOSE1D = [
    {"filters": 3, "kernel_size": 3},
    {"filters": 3, "kernel_size": 3, "strides": 2},
    {"filters": 2, "kernel_size": 2, "strides": 3},  # stride > kernel: output (n-1)*s + max(k, s)
    {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
    {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same"},
    {"filters": 2, "kernel_size": 3, "strides": 3, "output_padding": 2},
    {"filters": 2, "kernel_size": 3, "strides": 3, "output_padding": 1, "padding": "same"},
    {"filters": 2, "kernel_size": 4, "strides": 2, "output_padding": 0, "padding": "same"},
    {"filters": 2, "kernel_size": 1, "strides": 2, "output_padding": 1, "padding": "same"},
    {"filters": 2, "kernel_size": 3, "dilation_rate": 2},
    {"filters": 2, "kernel_size": 2, "dilation_rate": 3, "padding": "same"},
    {"filters": 3, "kernel_size": 3, "activation": "softmax", "use_bias": False},
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("args", TRANSPOSE1D)
def test_conv1d_transpose(args: dict[str, Any], data_format: str) -> None:
    shape = (2, 5, 3) if data_format == "channels_last" else (2, 3, 5)
    assert_kernel_matches_keras("Conv1DTranspose", {**args, "data_format": data_format}, [data(shape)])


TRANSPOSE2D = [
    {"filters": 3, "kernel_size": 3},
    {"filters": 3, "kernel_size": (3, 2), "strides": (2, 1)},
    {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
    {"filters": 2, "kernel_size": (2, 3), "strides": (2, 3), "output_padding": (1, 2)},
    {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": (0, 1), "padding": "same"},
    {"filters": 2, "kernel_size": 2, "dilation_rate": (2, 1), "padding": "same"},
    {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "activation": "relu"},
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("args", TRANSPOSE2D)
def test_conv2d_transpose(args: dict[str, Any], data_format: str) -> None:
    shape = (2, 4, 5, 3) if data_format == "channels_last" else (2, 3, 4, 5)
    assert_kernel_matches_keras("Conv2DTranspose", {**args, "data_format": data_format}, [data(shape)])


TRANSPOSE3D = [
    {"filters": 2, "kernel_size": 2, "strides": 2},
    {
        "filters": 2,
        "kernel_size": (3, 2, 2),
        "strides": (1, 2, 3),
        "padding": "same",
        "output_padding": (0, 1, 1),
    },
    {"filters": 3, "kernel_size": 2, "dilation_rate": 2},
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("args", TRANSPOSE3D)
def test_conv3d_transpose(args: dict[str, Any], data_format: str) -> None:
    shape = (1, 3, 4, 2, 3) if data_format == "channels_last" else (1, 3, 3, 4, 2)
    assert_kernel_matches_keras("Conv3DTranspose", {**args, "data_format": data_format}, [data(shape)])


# ----------------------------------------------------------------------------- depthwise, separable
DEPTHWISE = [
    {"kernel_size": 3},
    {"kernel_size": 2, "depth_multiplier": 3},
    {"kernel_size": 3, "strides": 2, "padding": "same"},
    {"kernel_size": 2, "dilation_rate": 2, "depth_multiplier": 2},
    {"kernel_size": 3, "strides": 2, "dilation_rate": 2},  # Keras does not refuse both here
    {"kernel_size": 4, "padding": "same", "use_bias": False, "activation": "relu"},
    {"kernel_size": 1, "depth_multiplier": 2, "activation": "softmax"},
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("args", DEPTHWISE)
@pytest.mark.parametrize("rank", [1, 2])
def test_depthwise(rank: int, args: dict[str, Any], data_format: str) -> None:
    spatial = (9,) if rank == 1 else (7, 6)
    shape = (2, *spatial, 3) if data_format == "channels_last" else (2, 3, *spatial)
    type_name = f"DepthwiseConv{rank}D"
    assert_kernel_matches_keras(type_name, {**args, "data_format": data_format}, [data(shape)])


SEPARABLE = [
    {"filters": 4, "kernel_size": 3},
    {"filters": 2, "kernel_size": 2, "depth_multiplier": 3, "padding": "same"},
    {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "relu"},
    {"filters": 3, "kernel_size": 2, "dilation_rate": 2, "use_bias": False},
    {"filters": 5, "kernel_size": 3, "activation": "softmax"},
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("args", SEPARABLE)
@pytest.mark.parametrize("rank", [1, 2])
def test_separable(rank: int, args: dict[str, Any], data_format: str) -> None:
    spatial = (9,) if rank == 1 else (7, 6)
    shape = (2, *spatial, 3) if data_format == "channels_last" else (2, 3, *spatial)
    type_name = f"SeparableConv{rank}D"
    assert_kernel_matches_keras(type_name, {**args, "data_format": data_format}, [data(shape)])


# ----------------------------------------------------------------------------- Winograd F(2x2), F(4x4)
# 3x3 stride-1 convolutions take a Winograd path where its cost model expects it to be faster;
# here each tiling is forced, to keep the tests small. Output sizes that are not whole tiles need
# extra zero rows/columns, tiny outputs one tile.
@pytest.fixture(params=[2, 4], ids=["F2", "F4"])
def winograd_forced(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    monkeypatch.setattr(conv_winograd, "FORCED", request.param)


WINOGRAD = [
    ({"filters": 5, "kernel_size": 3, "padding": "same"}, (2, 7, 9)),
    ({"filters": 5, "kernel_size": 3}, (2, 7, 9)),
    ({"filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"}, (3, 8, 8)),
    ({"filters": 3, "kernel_size": 3, "use_bias": False}, (1, 4, 5)),
    ({"filters": 4, "kernel_size": 3}, (2, 3, 3)),
    ({"filters": 4, "kernel_size": 3, "padding": "same", "activation": "softmax"}, (1, 1, 6)),
    ({"filters": 6, "kernel_size": 3, "padding": "same", "dilation_rate": 2}, (2, 6, 6)),  # not Winograd
    ({"filters": 6, "kernel_size": 3, "padding": "same", "strides": 2}, (2, 6, 6)),  # not Winograd
]


@pytest.mark.usefixtures("winograd_forced")
@pytest.mark.parametrize("channels", [16, 37])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("args, spatial", WINOGRAD)
def test_conv2d_3x3_many_channels(
    args: dict[str, Any], spatial: tuple[int, ...], data_format: str, channels: int
) -> None:
    batch, *hw = spatial
    shape = (batch, *hw, channels) if data_format == "channels_last" else (batch, channels, *hw)
    assert_kernel_matches_keras("Conv2D", {**args, "data_format": data_format}, [data(shape)])


@pytest.mark.usefixtures("winograd_forced")
def test_winograd_at_512_channels_gives_keras_outputs() -> None:
    # ResNet50's and VGG's widest 3x3 layers: each output sums 4,608 products, whose float32
    # rounding grows with the size of the sums, not of the output (here Keras's own result is
    # 2.4e-5 from a float64 sum, outputs up to 61): the kernel tolerance's atol is taken
    # relative to the outputs' size, as the model-level --run checks take theirs
    args = {"filters": 16, "kernel_size": 3, "padding": "same", "activation": "relu"}
    x = data((2, 7, 7, 512))
    scale = max(1.0, float(np.abs(keras_run("Conv2D", args, [x], as_list=False)[0][0]).max()))
    assert_kernel_matches_keras("Conv2D", args, [x], atol=1e-5 * scale)


@pytest.mark.usefixtures("winograd_forced")
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv2d_transpose_3x3_many_channels(padding: str) -> None:
    # stride 1: the transposed convolution is a convolution with the flipped kernel (Winograd)
    args = {"filters": 16, "kernel_size": 3, "padding": padding, "activation": "relu"}
    assert_kernel_matches_keras("Conv2DTranspose", args, [data((2, 5, 6, 17))])


@pytest.mark.parametrize("tiling", conv_winograd.TILINGS.values(), ids=["F2", "F4"])
def test_the_transforms_compute_the_correlation_exactly(tiling: conv_winograd.Tiling) -> None:
    # At ((G g) * (Bt d)) = the 3-tap correlation of d with g, in exact rational arithmetic: the
    # coefficient of every d[tap] * g[k] in output i is 1 where tap = i + k and 0 elsewhere.
    m, n = tiling.m, tiling.n
    for i in range(m):
        for k in range(3):
            for tap in range(n):
                coefficient = sum(tiling.at[i][j] * tiling.g[j][k] * tiling.bt[j][tap] for j in range(n))
                assert coefficient == (1 if tap == i + k else 0), (m, i, k, tap)


@pytest.mark.parametrize("tiling", conv_winograd.TILINGS.values(), ids=["F2", "F4"])
def test_the_transforms_are_exact_in_float32(tiling: conv_winograd.Tiling) -> None:
    # Bt's and At's coefficients are short binary fractions: the only rounding is the products'
    for name in ("bt", "at"):
        exact = np.array(getattr(tiling, name), dtype=object)
        assert (tiling.two_sided(name, np.dtype("float32")).astype(object) == np.kron(exact, exact)).all()


# float32 rounding against a float64 sum, judged against the size of the outputs (sums of 1152
# products here: 4.0e-7 and 1.2e-6 of the largest). F(2x2)'s transforms only add and halve;
# F(4x4)'s scale by up to 27/8 and sum six terms per side: over millions of outputs at 64 and 512
# channels its largest error was 1.8e-6 and 3.4e-6 of the largest output, F(2x2)'s 4e-7 and 6e-7.
WINOGRAD_ERROR = {2: 2e-6, 4: 6e-6}


@pytest.mark.parametrize("tile", [2, 4])
def test_winograd_is_used_and_agrees_with_im2col(monkeypatch: pytest.MonkeyPatch, tile: int) -> None:
    # The same numbers through both paths (float64 im2col as the reference), and the switch works.
    x, k = data((2, 9, 7, 128)), data((3, 3, 128, 10), seed=2)
    tilings: list[int] = []
    monkeypatch.setattr(conv_winograd, "FORCED", tile)
    original = conv_winograd.conv3x3
    monkeypatch.setattr(conv_winograd, "conv3x3", lambda *a: tilings.append(a[-1].m) or original(*a))
    got = conv_kernels.conv(x, k, (1, 1), "same", (1, 1))
    assert tilings == [tile]
    monkeypatch.setattr(conv_winograd, "FORCED", 0)
    want = conv_kernels.conv(x.astype("float64"), k.astype("float64"), (1, 1), "same", (1, 1))
    assert tilings == [tile]
    np.testing.assert_allclose(got, want, rtol=0, atol=WINOGRAD_ERROR[tile] * np.abs(want).max())


def test_winograd_runs_float32_and_float64_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conv_winograd, "FORCED", 4)
    for dtype, tiled in (("float32", True), ("float64", True), ("float16", False)):
        found = conv_winograd.tiling_for((1, 10, 10, 8), (3, 3, 8, 8), (1, 1), (1, 1), 1, dtype)
        assert (found is not None) is tiled, dtype


@pytest.mark.parametrize(
    "padded, filters, tile",
    [
        # measured on the 2-core machine the constants come from (ms: im2col, F(2x2), F(4x4))
        ((16, 18, 18, 256), 256, 4),  # VGG block 3 at batch 16: 18.0, 13.2, 10.6
        ((16, 66, 66, 64), 64, 4),  # VGG block 1 at batch 16: 24.7, 26.3, 17.1
        ((8, 58, 58, 64), 64, 4),  # ResNet50's conv2 3x3 at batch 8: 9.2, 11.3, 7.2
        # ResNet50's conv4 3x3 at batch 8 (14x14 outputs: 4x4 tiles overrun them): 7.5, 6.1, 6.3
        ((8, 16, 16, 256), 256, 2),
        ((8, 9, 9, 512), 512, 0),  # ResNet50's conv5 3x3 at batch 8: 6.9, 7.8, 15.4
        ((8, 34, 34, 32), 32, 0),  # few channels: 1.17, 1.50, 1.25
        ((1, 9, 9, 512), 512, 0),  # one 7x7 image: 1.4, 2.8, 7.9
    ],
)
def test_the_cost_model_chooses_the_faster_path(
    padded: tuple[int, int, int, int], filters: int, tile: int
) -> None:
    found = conv_winograd.tiling_for(padded, (3, 3, padded[-1], filters), (1, 1), (1, 1), 1)
    assert (found.m if found else 0) == tile


# ----------------------------------------------------------------------------- blocks and lanes
@pytest.mark.parametrize("lanes", [1, 2, 3])
@pytest.mark.parametrize("chunk", [1, 50, 200, 10_000])
@pytest.mark.parametrize(
    "type_name, args, shape",
    [
        ("Conv2D", {"filters": 3, "kernel_size": 3, "padding": "same", "activation": "relu"}, (3, 6, 5, 4)),
        ("Conv2D", {"filters": 4, "kernel_size": 2, "groups": 2, "strides": 2}, (3, 6, 5, 4)),
        ("Conv1D", {"filters": 2, "kernel_size": 3, "padding": "causal"}, (3, 11, 2)),
        ("Conv3D", {"filters": 2, "kernel_size": 2, "padding": "same"}, (2, 4, 3, 3, 2)),
        ("Conv2D", {"filters": 3, "kernel_size": 3, "padding": "same", "activation": "relu"}, (3, 7, 5, 16)),
        ("Conv2D", {"filters": 3, "kernel_size": 3}, (2, 9, 6, 16)),
    ],
)
@pytest.mark.usefixtures("winograd_forced")
def test_patches_gathered_in_blocks_and_lanes(
    monkeypatch: pytest.MonkeyPatch,
    lanes: int,
    chunk: int,
    type_name: str,
    args: dict[str, Any],
    shape: tuple[int, ...],
) -> None:
    # Tiny blocks force several batch blocks, then blocks of output rows within one item; the
    # lanes split them between threads (the real lane count is the BLAS thread count).
    monkeypatch.setattr(conv_lanes, "PATCH_CHUNK_ELEMENTS", chunk)
    monkeypatch.setattr(conv_lanes, "LANE_CHUNK_ELEMENTS", chunk)
    monkeypatch.setattr(conv_lanes, "MIN_BLOCK_ROWS", 1)
    monkeypatch.setattr(conv_lanes, "LANE_MIN_BLOCKS", 1)
    monkeypatch.setattr(conv_winograd, "MIN_BLOCK_TILES", 1)
    monkeypatch.setattr(conv_winograd, "BLOCK_ELEMENTS", chunk)
    monkeypatch.setattr(conv_lanes.BLAS, "lanes", lambda: lanes)
    assert_kernel_matches_keras(type_name, args, [data(shape)])


def test_blas_thread_count_is_restored() -> None:
    blas = conv_lanes.BLAS
    if blas.get is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS whose threads can be set")
    before = blas.get()
    conv_kernels.conv(data((4, 40, 40, 8)), data((3, 3, 8, 8)), (1, 1), "same", (1, 1))
    assert blas.get() == before


# ----------------------------------------------------------------------------- random combinations
def _accepted(type_name: str, args: dict[str, Any], shape: tuple[int, ...]) -> bool:
    try:
        create_layer(type_name, args, Namer()).infer(shape)
    except (ArgError, ShapeError):
        return False
    return True


@st.composite
def conv_cases(draw: st.DrawFn) -> tuple[str, dict[str, Any], tuple[int, ...]]:
    family = draw(st.sampled_from(["Conv", "ConvTranspose", "DepthwiseConv", "SeparableConv"]))
    rank = draw(st.sampled_from([1, 2] if family in ("DepthwiseConv", "SeparableConv") else [1, 2, 3]))
    type_name = {"Conv": f"Conv{rank}D", "ConvTranspose": f"Conv{rank}DTranspose"}.get(
        family, f"{family}{rank}D"
    )
    channels = draw(st.integers(1, 4))
    spatial = tuple(draw(st.lists(st.integers(1, 7 if rank < 3 else 4), min_size=rank, max_size=rank)))
    args: dict[str, Any] = {
        "kernel_size": tuple(draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)))
    }
    if family != "DepthwiseConv":
        args["filters"] = draw(st.integers(1, 4))
    paddings = ["valid", "same", "causal"] if type_name == "Conv1D" else ["valid", "same"]
    args["padding"] = draw(st.sampled_from(paddings))
    if draw(st.booleans()):
        args["strides"] = tuple(draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank)))
    else:
        args["dilation_rate"] = tuple(draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank)))
    if family == "Conv" and draw(st.booleans()):
        groups = draw(st.sampled_from([g for g in (1, 2, 3, 4) if channels % g == 0]))
        args["groups"] = groups
        args["filters"] = groups * draw(st.integers(1, 2))
    if family == "ConvTranspose" and "strides" in args and draw(st.booleans()):
        args["output_padding"] = tuple(draw(st.integers(0, s - 1)) for s in args["strides"])
    if family in ("DepthwiseConv", "SeparableConv"):
        args["depth_multiplier"] = draw(st.integers(1, 3))
    args["use_bias"] = draw(st.booleans())
    args["activation"] = draw(st.sampled_from([None, "relu", "sigmoid"]))
    data_format = draw(st.sampled_from(["channels_last", "channels_first"]))
    args["data_format"] = data_format
    batch = draw(st.integers(1, 3))
    shape = (batch, *spatial, channels) if data_format == "channels_last" else (batch, channels, *spatial)
    return type_name, args, shape


@settings(max_examples=120, deadline=None, derandomize=True)
@given(conv_cases())
def test_random_convolutions(case: tuple[str, dict[str, Any], tuple[int, ...]]) -> None:
    type_name, args, shape = case
    if not _accepted(type_name, args, shape):
        return  # shapecalc refuses; the layer tests check that Keras refuses too
    assert_kernel_matches_keras(type_name, args, [data(shape)])


def test_block_extents_by_arithmetic_equal_the_blocks_listed() -> None:
    # the memory estimate sizes the lanes' buffers without listing blocks (an output may have
    # billions of rows); the arithmetic must give what listing them gives
    for batch, rows, cols, per_position, chunk, min_rows in itertools.product(
        [1, 2, 7, 16], [1, 5, 13, 64], [1, 3, 8], [1, 27, 576], [1, 50, 4096, 512 * 1024], [1, 7, 256]
    ):
        blocks = list(conv_lanes.chunks(batch, (rows, cols), per_position, chunk, min_rows))
        largest = max(items * len(range(*rs.indices(rows))) for items, _, rs in blocks) * cols * per_position
        extent = conv_lanes.chunk_extent(batch, (rows, cols), per_position, chunk, min_rows)
        assert extent == (len(blocks), largest)


@pytest.mark.parametrize("lanes", [1, 2])
@pytest.mark.parametrize("tile", [0, 2, 4])
@pytest.mark.parametrize(
    "shape, filters", [((2, 13, 11, 16), 8), ((4, 32, 32, 64), 64), ((1, 9, 9, 256), 128)]
)
def test_the_workspace_estimate_is_what_the_kernel_allocates(
    monkeypatch: pytest.MonkeyPatch, lanes: int, tile: int, shape: tuple[int, ...], filters: int
) -> None:
    # --run's memory estimate takes a convolution's temporaries from conv_workspace: the padded
    # input, the kernel's copies or transform and each lane's buffers. Traced, the kernel's peak
    # besides its output is never more than that and a few small arrays (Kronecker matrices,
    # views); Winograd's on one lane is exactly that. (With two lanes, one lane may take every
    # block before the other starts and makes its buffers; im2col's estimate also counts a copy
    # of the kernel, which is a view when the kernel is contiguous: neither can be known ahead.)
    monkeypatch.setattr(conv_lanes.BLAS, "lanes", lambda: lanes)
    monkeypatch.setattr(conv_winograd, "FORCED", tile)
    x, kernel = data(shape), data((3, 3, shape[-1], filters), seed=2)
    tracemalloc.start()
    try:
        y = conv_kernels.conv(x, kernel, (1, 1), "same", (1, 1))
        peak = tracemalloc.get_traced_memory()[1] - y.nbytes
    finally:
        tracemalloc.stop()
    estimate = 4 * conv_kernels.conv_workspace(shape, kernel.shape, (1, 1), "same", (1, 1))
    small_arrays = 32 * 1024
    assert peak <= estimate + small_arrays
    if tile and lanes == 1:
        assert estimate <= peak + small_arrays
