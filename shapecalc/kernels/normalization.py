"""The normalization layers' arithmetic, as Keras's numpy backend computes it."""

from __future__ import annotations

import numpy as np

from .parallel import by_rows

Array = np.ndarray


def affine(x: Array, scale: Array, offset: Array) -> Array:
    """``x * scale + offset`` in float32, as one new array (the product's, added to in place);
    by blocks of rows on all cores where scale and offset are vectors along the last axis."""
    out = np.empty(np.broadcast_shapes(x.shape, scale.shape, offset.shape), np.float32)
    last = x.shape[-1] if x.ndim else 1
    along_last = all(a.size == a.shape[-1] == last for a in (scale, offset) if a.ndim)
    if out.shape == x.shape and x.ndim and scale.ndim and offset.ndim and along_last:
        vector_scale, vector_offset = scale.reshape(-1), offset.reshape(-1)

        def rows(part: Array, into: Array) -> None:
            np.multiply(part, vector_scale, out=into)
            into += vector_offset

        return by_rows(rows, out, x)
    np.multiply(x, scale, out=out)
    out += offset
    return out


def moments(x: Array, axes: tuple[int, ...]) -> tuple[Array, Array]:
    """Keras's numpy-backend moments (keepdims): the variance as E[x^2] - E[x]^2."""
    mean = np.mean(x, axis=axes, keepdims=True)
    return mean, np.mean(np.square(x), axis=axes, keepdims=True) - np.square(mean)


def layer_normalized(
    x: Array, axes: tuple[int, ...], epsilon: Array, gamma: Array | None, beta: Array | None
) -> Array:
    """Keras's layer normalization: x * inv + (beta - mean * inv), inv = gamma / sqrt(var + eps)."""
    mean, variance = moments(x, axes)
    inv = np.float32(1.0) / np.sqrt(variance + epsilon)
    if gamma is not None:
        inv = inv * gamma
    offset = -mean * inv
    if beta is not None:
        offset = offset + beta
    return affine(x, inv, offset)


def layer_normalized_rows(x: Array, epsilon: Array, gamma: Array | None, beta: Array | None) -> Array:
    """:func:`layer_normalized` over the last axis of a C-ordered float32 ``x`` (``gamma`` and
    ``beta``: vectors along it), the same arithmetic in blocks of rows that stay in cache, on
    all cores, each block's temporaries written into its rows of the output."""

    def rows(part: Array, out: Array) -> None:
        mean = np.mean(part, axis=-1, keepdims=True)
        variance = np.mean(np.square(part, out=out), axis=-1, keepdims=True) - np.square(mean)
        scale = np.float32(1.0) / np.sqrt(variance + epsilon)
        if gamma is not None:
            scale = scale * gamma
        offset = np.multiply(-mean, scale)
        if beta is not None:
            offset = np.add(offset, beta, out=offset if gamma is not None else None)
        np.multiply(part, scale, out=out)
        out += offset

    return by_rows(rows, np.empty(x.shape, np.float32), x)
