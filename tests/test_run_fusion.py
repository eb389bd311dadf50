"""--run's fusion (shapecalc/run/fusion.py): a BatchNormalization or activation that only reads a
convolution's or a residual sum's output is applied inside that kernel, block by block.

The claim is that the numbers do not change: the producer's forward with the followers' row
epilogues gives bit for bit what the calls give one after the other (whose outputs equal Keras's:
the differential tests, which save every output and so run unfused). Checked here for every
producer and follower kind, on the im2col, Winograd and pointwise paths and with parallel lanes;
then which calls the plan fuses, the run report, and the memory estimate.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from shapecalc.api import analyze_data
from shapecalc.cli import app
from shapecalc.kernels import conv_lanes, conv_winograd
from shapecalc.layers import Layer, create_layer
from shapecalc.layers.factory import Namer
from shapecalc.run import fusion
from shapecalc.run.estimate import estimate_peak

runner = CliRunner()


Shapes = list[tuple[int, ...]]


def built(type_name: str, args: dict[str, Any], shapes: Shapes, seed: int) -> tuple[Layer, Any]:
    """A layer built for these input shapes, with random weights (positive variances)."""
    layer = create_layer(type_name, args, Namer())
    _, build = layer.infer(list(shapes) if layer.takes_list else shapes[0])
    rng = np.random.default_rng(seed)
    weights = {
        w.path: rng.uniform(0.5, 1.5, w.shape).astype("float32")
        if "variance" in w.path
        else rng.uniform(-0.5, 0.5, w.shape).astype("float32")
        for w in build.weights
    }
    return layer, weights


def data(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


PRODUCERS = {
    "im2col 3x3": ("Conv2D", {"filters": 8, "kernel_size": 3, "padding": "same"}, [(2, 9, 9, 5)]),
    "pointwise": ("Conv2D", {"filters": 16, "kernel_size": 1}, [(2, 6, 6, 7)]),
    "strided relu": (
        "Conv2D", {"filters": 6, "kernel_size": 3, "strides": 2, "activation": "relu"}, [(2, 9, 9, 4)]
    ),
    "groups": ("Conv2D", {"filters": 8, "kernel_size": 3, "groups": 2, "use_bias": False}, [(1, 7, 7, 4)]),
    "causal 1-D": ("Conv1D", {"filters": 5, "kernel_size": 3, "padding": "causal"}, [(3, 11, 4)]),
    "3-D": ("Conv3D", {"filters": 4, "kernel_size": 2}, [(1, 5, 5, 5, 3)]),
    "transposed": ("Conv2DTranspose", {"filters": 6, "kernel_size": 3, "strides": 2}, [(2, 4, 4, 3)]),
    "separable": ("SeparableConv2D", {"filters": 6, "kernel_size": 3, "depth_multiplier": 2}, [(2, 8, 8, 3)]),
    "residual sum": ("Add", {}, [(2, 5, 5, 6), (2, 5, 5, 6)]),
    "sum of three": ("Add", {}, [(3, 4, 6), (3, 4, 6), (3, 4, 6)]),
}  # fmt: skip

FOLLOWERS = {
    "bn": [("BatchNormalization", {})],
    "bn relu": [("BatchNormalization", {"epsilon": 1.001e-5}), ("Activation", {"activation": "relu"})],
    "relu6": [("ReLU", {"max_value": 6.0})],
    "leaky threshold": [("ReLU", {"negative_slope": 0.1, "threshold": 0.5})],
    "swish": [("Activation", {"activation": "swish"})],
    "bare bn gelu": [
        ("BatchNormalization", {"center": False, "scale": False}),
        ("Activation", {"activation": "gelu"}),
    ],
}


def fused_and_one_by_one(
    producer: tuple[str, dict[str, Any], Shapes], chain: list[tuple[str, dict[str, Any]]]
) -> tuple[np.ndarray, np.ndarray]:
    type_name, args, shapes = producer
    layer, weights = built(type_name, args, shapes, seed=1)
    inputs = [data(shape, seed=10 + k) for k, shape in enumerate(shapes)]
    argument = inputs if layer.takes_list else inputs[0]
    assert layer.takes_row_epilogues(shapes)
    expected = layer.forward(argument, weights)
    followers = []
    for k, (name, follower_args) in enumerate(chain):
        follower, follower_weights = built(name, follower_args, [expected.shape], seed=2 + k)
        assert follower.fusable_after(expected.shape)
        followers.append(follower.row_epilogue(follower_weights))
        expected = follower.forward(expected, follower_weights)
    return layer.forward(argument, weights, then=followers), expected


@pytest.mark.parametrize("chain", FOLLOWERS.values(), ids=FOLLOWERS.keys())
@pytest.mark.parametrize("producer", PRODUCERS.values(), ids=PRODUCERS.keys())
def test_fused_followers_give_the_same_numbers(producer: Any, chain: Any) -> None:
    got, expected = fused_and_one_by_one(producer, chain)
    assert got.dtype == expected.dtype == np.float32
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("tile", [2, 4])
@pytest.mark.parametrize("chain", FOLLOWERS.values(), ids=FOLLOWERS.keys())
def test_fused_followers_on_the_winograd_path(chain: Any, tile: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conv_winograd, "FORCED", tile)
    producer = ("Conv2D", {"filters": 8, "kernel_size": 3, "padding": "same"}, [(2, 9, 7, 5)])
    got, expected = fused_and_one_by_one(producer, chain)
    np.testing.assert_array_equal(got, expected)


def test_a_follower_that_splits_its_work_runs_inside_a_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two lanes, each finishing blocks of 4096 rows x 1024 filters: a GELU of 4M values would
    # hand chunks to the lanes' threads, busy with this very convolution. It must do them itself.
    monkeypatch.setattr(conv_lanes.BLAS, "lanes", lambda: 2)
    producer = ("Conv1D", {"filters": 1024, "kernel_size": 1}, [(1, 8192, 8)])
    gelu = [("Activation", {"activation": "gelu"})]
    result: list[tuple[np.ndarray, np.ndarray]] = []
    worker = threading.Thread(target=lambda: result.append(fused_and_one_by_one(producer, gelu)), daemon=True)
    worker.start()
    worker.join(120)
    assert not worker.is_alive(), "the fused GELU waited for the lanes it was running on"
    np.testing.assert_array_equal(*result[0])


# ----------------------------------------------------------------------------- the plan
RESIDUAL = """
inputs:
  image: [8, 8, 4]
layers:
  - Conv2D: {name: conv_a, filters: 6, kernel_size: 3, padding: same, inputs: image}
  - BatchNormalization: {name: bn_a}
  - Activation: {name: relu_a, activation: relu}
  - Conv2D: {name: conv_b, filters: 6, kernel_size: 1}
  - BatchNormalization: {name: bn_b}
  - Conv2D: {name: conv_s, filters: 6, kernel_size: 1, inputs: image}
  - BatchNormalization: {name: bn_s}
  - Add: {name: add, inputs: [bn_s, bn_b]}
  - Activation: {name: out, activation: relu}
outputs: [out]
"""


def chains_of(spec: dict[str, Any] | str) -> dict[str, list[str]]:
    analysis = analyze_data(yaml.safe_load(spec) if isinstance(spec, str) else spec)
    return {p.layer.name: [f.layer.name for f in chain] for p, chain in fusion.followers(analysis).items()}


def test_the_plan_fuses_each_sole_reader_in_a_chain() -> None:
    # bn_b and bn_s are read by the Add alone, but the Add has a second input: each chain stops
    assert chains_of(RESIDUAL) == {
        "conv_a": ["bn_a", "relu_a"],
        "conv_b": ["bn_b"],
        "conv_s": ["bn_s"],
        "add": ["out"],
    }


def sequential(*layers: dict[str, Any], dtype: str | None = None, kernel_size: int = 3) -> dict[str, Any]:
    conv: dict[str, Any] = {"name": "conv", "filters": 4, "kernel_size": kernel_size}
    if dtype:
        conv["dtype"] = dtype
    return {"input": [6, 6, 3], "layers": [{"Conv2D": conv}, *layers]}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        # a second reader of the convolution's output needs it as it is
        (
            {
                "inputs": {"x": [6, 6, 3]},
                "layers": [
                    {"Conv2D": {"name": "conv", "filters": 4, "kernel_size": 3, "inputs": "x"}},
                    {"Activation": {"name": "act", "activation": "relu", "inputs": "conv"}},
                    {"Flatten": {"name": "flat", "inputs": "conv"}},
                ],
                "outputs": ["act", "flat"],
            },
            {},
        ),
        (sequential({"BatchNormalization": {"name": "bn", "dtype": "mixed_float16"}}), {}),
        (sequential({"BatchNormalization": {"name": "bn"}}, dtype="mixed_bfloat16"), {}),
        (sequential({"BatchNormalization": {"name": "bn", "axis": 1}}), {}),
        (sequential({"Activation": {"name": "act", "activation": "softmax"}}), {}),
        # a layer normalization makes several temporaries of its rows: measured in BERT, fused
        # into the residual sum before it, it took 4% more time than after it
        (sequential({"LayerNormalization": {"name": "norm"}}), {}),
        (sequential({"Dropout": {"name": "drop", "rate": 0.5}}), {}),
        # a convolution whose own activation runs after its kernel takes no followers
        (
            {
                "input": [6, 6, 3],
                "layers": [
                    {"Conv2D": {"name": "conv", "filters": 4, "kernel_size": 3, "activation": "tanh"}},
                    {"ReLU": {"name": "relu"}},
                ],
            },
            {},
        ),
        (
            sequential({"BatchNormalization": {"name": "bn"}}, {"ReLU": {"name": "relu", "max_value": 6}}),
            {"conv": ["bn", "relu"]},
        ),
    ],
)
def test_the_plan_fuses_only_what_gives_the_same_numbers(spec: dict[str, Any], expected: Any) -> None:
    assert chains_of(spec) == expected


def test_a_normalization_a_keras_mask_may_reach_is_not_fused() -> None:
    # The sum passes its inputs' masks on, and BatchNormalization's call checks a mask's rank:
    # it runs on its own. The activation takes no mask: it is fused.
    spec = """
inputs:
  ids: {shape: [5], dtype: int32}
layers:
  - Embedding: {name: embed, input_dim: 10, output_dim: 4, mask_zero: true, inputs: ids}
  - Dense: {name: dense, units: 4}
  - Add: {name: add, inputs: [embed, dense]}
  - BatchNormalization: {name: bn}
  - Add: {name: add_2, inputs: [bn, dense]}
  - Activation: {name: act, activation: relu}
outputs: [act]
"""
    assert chains_of(spec) == {"add_2": ["act"]}


def test_a_training_call_and_a_shared_layer_are_not_fused() -> None:
    spec = """
inputs:
  x: [6, 6, 3]
layers:
  - Conv2D: {name: conv, filters: 4, kernel_size: 3, inputs: x}
  - BatchNormalization: {name: bn, call: {training: true}}
  - Conv2D: {name: conv2, filters: 4, kernel_size: 1}
  - ReLU: {name: relu}
  - Reuse: {layer: relu, name: relu_again}
outputs: [relu_again]
"""
    assert chains_of(spec) == {}


# ----------------------------------------------------------------------------- runs
def test_a_run_reports_the_fused_calls_and_confirms_their_shapes(tmp_path: Path) -> None:
    path = tmp_path / "residual.yaml"
    path.write_text(RESIDUAL)
    result = runner.invoke(app, ["summary", str(path), "--run", "--batch", "2", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    layers = {entry["name"]: entry for entry in json.loads(result.stdout)["layers"]}
    assert {name: e["fused_into"] for name, e in layers.items() if "fused_into" in e} == {
        "bn_a": "conv_a",
        "relu_a": "conv_a",
        "bn_b": "conv_b",
        "bn_s": "conv_s",
        "out": "add",
    }
    assert all(e["ok"] for name, e in layers.items() if name != "image")
    assert layers["out"]["run_shape"] == [2, 8, 8, 6]
    text = runner.invoke(app, ["summary", str(path), "--run", "--batch", "2"], env={"COLUMNS": "150"})
    assert text.exit_code == 0
    run_check = text.stdout[text.stdout.index("Run check") :].splitlines()
    row = next(line for line in run_check if line.lstrip("│ ").startswith("relu_a "))
    assert "in conv_a" in row


def test_saving_every_output_fuses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "residual.yaml"
    path.write_text(RESIDUAL)
    saved = tmp_path / "outputs.npz"
    args = ["summary", str(path), "--run", "--batch", "2", "--format", "json", "--save-outputs", str(saved)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert not any("fused_into" in entry for entry in json.loads(result.stdout)["layers"])
    with np.load(saved) as outputs:  # the convolution's own output, before its normalization
        assert not np.array_equal(outputs["conv_a"], outputs["bn_a"])


def test_fused_followers_take_no_memory_of_their_own() -> None:
    # Followers without weights, fused, allocate nothing: the run's estimate is the convolution's
    # alone. Unfused, each makes an output of the convolution's size, which the freed input (3 of
    # its 4 channels) cannot take: the heap grows.
    alone = estimate_peak(analyze_data(sequential(kernel_size=1)), 8, fuse=True)
    followers = ({"ReLU": {"name": "relu", "max_value": 6}}, {"Activation": {"activation": "relu"}})
    chain = sequential(*followers, kernel_size=1)
    fused = estimate_peak(analyze_data(chain), 8, fuse=True)
    unfused = estimate_peak(analyze_data(chain), 8, fuse=False)
    assert fused.nbytes == alone.nbytes
    assert unfused.nbytes > fused.nbytes


def test_a_fused_run_equals_keras(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The model-level differential tests save every output, so they run unfused: here the same
    # weights and inputs go through a run that fuses, and the arrays the producers' kernels
    # return (their followers applied) are compared with Keras's outputs of the last followers.
    from run_check import keras_reference

    from shapecalc.run import engine

    spec = yaml.safe_load(RESIDUAL)
    inputs = {"image": data((3, 8, 8, 4), seed=7)}
    weights, want, _ = keras_reference(spec, inputs)
    np.savez(tmp_path / "weights.npz", **weights)
    np.save(tmp_path / "image.npy", inputs["image"])
    (tmp_path / "residual.yaml").write_text(RESIDUAL)
    made: dict[str, np.ndarray] = {}
    kernel = engine._call_kernel

    def recording(call: Any, *args: Any) -> Any:
        outs, masks = kernel(call, *args)
        made[call.layer.name] = outs[0].copy()
        return outs, masks

    monkeypatch.setattr(engine, "_call_kernel", recording)
    args = ["summary", str(tmp_path / "residual.yaml"), "--run", "--format", "json"]
    args += ["--weights", str(tmp_path / "weights.npz"), "--input", f"image={tmp_path / 'image.npy'}"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert sum("fused_into" in entry for entry in json.loads(result.stdout)["layers"]) == 5
    for producer, last in [("conv_a", "relu_a"), ("conv_b", "bn_b"), ("conv_s", "bn_s"), ("add", "out")]:
        scale = max(1.0, float(np.abs(want[last]).max()))
        np.testing.assert_allclose(made[producer], want[last], rtol=1e-3, atol=1e-3 * scale, err_msg=last)
