"""Keras's weight initializers in NumPy, seeded: same distributions as Keras, own random stream."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import RunRefused

Array = np.ndarray


def compute_fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """keras.src.initializers.random_initializers.compute_fans."""
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive_field = math.prod(shape[:-2])
    return float(shape[-2] * receptive_field), float(shape[-1] * receptive_field)


def _truncated_normal(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    stddev: float,
    mean: float = 0.0,
    dtype: Any = np.float32,
) -> Array:
    """Normal samples redrawn until within two standard deviations, as Keras truncates."""
    out = rng.standard_normal(shape, dtype=dtype)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()), dtype=dtype)
        bad = np.abs(out) > 2.0
    return _scaled(out, stddev, mean)


def _scaled(values: Array, scale: float, shift: float) -> Array:
    """``values * scale + shift`` in place: a weight's draw is its only full-size array."""
    values *= scale
    values += shift
    return values


def variance_scaling(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "truncated_normal",
    dtype: Any = np.float32,
) -> Array:
    fan_in, fan_out = compute_fans(shape)
    denominator = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    variance = scale / max(1.0, denominator)
    if distribution == "truncated_normal":
        # 0.8796... is the stddev of a unit normal truncated to two standard deviations
        return _truncated_normal(rng, shape, math.sqrt(variance) / 0.87962566103423978, dtype=dtype)
    if distribution == "untruncated_normal":
        return _scaled(rng.standard_normal(shape, dtype=dtype), math.sqrt(variance), 0.0)
    limit = math.sqrt(3.0 * variance)
    return _scaled(rng.random(shape, dtype=dtype), 2 * limit, -limit)


def orthogonal(rng: np.random.Generator, shape: tuple[int, ...], gain: float = 1.0) -> Array:
    rows = math.prod(shape[:-1])
    cols = shape[-1]
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return gain * q.reshape(shape)


def identity(shape: tuple[int, ...], gain: float = 1.0) -> Array:
    return gain * np.eye(*shape)


_VARIANCE = {
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "he_normal": (2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
    "lecun_normal": (1.0, "fan_in", "truncated_normal"),
}
_CLASS_NAMES = {
    "GlorotUniform": "glorot_uniform",
    "GlorotNormal": "glorot_normal",
    "HeUniform": "he_uniform",
    "HeNormal": "he_normal",
    "LecunUniform": "lecun_uniform",
    "LecunNormal": "lecun_normal",
    "Zeros": "zeros",
    "zero": "zeros",
    "Ones": "ones",
    "one": "ones",
    "Constant": "constant",
    "RandomNormal": "random_normal",
    "normal": "random_normal",
    "RandomUniform": "random_uniform",
    "uniform": "random_uniform",
    "TruncatedNormal": "truncated_normal",
    "Orthogonal": "orthogonal",
    "OrthogonalInitializer": "orthogonal",
    "Identity": "identity",
    "IdentityInitializer": "identity",
    "VarianceScaling": "variance_scaling",
    "STFTInitializer": "STFT",
    "stft": "STFT",
}


def initialize(
    identifier: Any, shape: tuple[int, ...], rng: np.random.Generator, dtype: str = "float32"
) -> Array:
    """Values for a weight from a Keras initializer identifier (name or {class_name, config}).

    Drawn in float32 for float32 and float16 weights (float64 for float64 ones), so that the
    largest weight (BERT's token table: 94 MB) needs no float64 draw twice its size."""
    draw = np.float64 if dtype == "float64" else np.float32
    config: dict[str, Any] = {}
    name = identifier
    if isinstance(identifier, dict):
        name, config = identifier["class_name"], dict(identifier.get("config") or {})
    name = _CLASS_NAMES.get(name, name)
    if name in _VARIANCE:
        scale, mode, distribution = _VARIANCE[name]
        values = variance_scaling(rng, shape, scale, mode, distribution, draw)
    elif name == "variance_scaling":
        values = variance_scaling(
            rng,
            shape,
            config.get("scale", 1.0),
            config.get("mode", "fan_in"),
            config.get("distribution", "truncated_normal"),
            draw,
        )
    elif name == "zeros":
        values = np.zeros(shape, draw)
    elif name == "ones":
        values = np.ones(shape, draw)
    elif name == "constant":
        values = np.full(shape, config.get("value", 0.0), draw)
    elif name == "random_normal":
        # scaled standard draws, not rng.normal: a negative stddev scales as JAX's does, not refused
        values = _scaled(
            rng.standard_normal(shape, draw), config.get("stddev", 0.05), config.get("mean", 0.0)
        )
    elif name == "random_uniform":
        low, high = config.get("minval", -0.05), config.get("maxval", 0.05)
        values = _scaled(rng.random(shape, draw), high - low, low)  # maxval below minval too, as JAX's
    elif name == "truncated_normal":
        values = _truncated_normal(rng, shape, config.get("stddev", 0.05), config.get("mean", 0.0), draw)
    elif name == "orthogonal":
        values = orthogonal(rng, shape, config.get("gain", 1.0))
    elif name == "identity":
        values = identity(shape, config.get("gain", 1.0))
    elif name in ("STFT", "stft", "STFTInitializer"):
        from ..kernels import spectral

        values = spectral.stft_kernel(
            config.get("side", "real"),
            config.get("window", "hann"),
            config.get("scaling", "density"),
            config.get("periodic", False),
            shape,
        )
    else:
        raise RunRefused(f"initializer '{name}' has no NumPy version here; give the weights with --weights")
    # C order (orthogonal's values come transposed): Keras's layout, and what BLAS runs fastest
    return np.ascontiguousarray(values, dtype=dtype)
