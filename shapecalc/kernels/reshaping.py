"""Image resizing as Keras's ``ops.image.resize`` computes it (the jax.image.resize algorithm).

Every resized axis is one matrix product with a (input, output) weight matrix: output sample j
sits at input coordinate (j + 0.5) / scale - 0.5, and its weights are the interpolation kernel
at the distances to every input sample, renormalised to sum to 1 (which clamps the borders).
Used by UpSampling2D's non-nearest interpolations and by Resizing/CenterCrop; with ``antialias``
a downsampling kernel is widened by the scale (its support covers every input sample it averages).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import CallFailure

Array = np.ndarray
Kernel = Callable[[Array], Array]
RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic")


def _triangle(x: Array) -> Array:
    return np.maximum(0.0, 1.0 - np.abs(x))


def _keys_cubic(x: Array) -> Array:
    # Keys cubic convolution with a = -0.5, on |x| (x is already a distance here).
    near = ((1.5 * x - 2.5) * x) * x + 1.0
    far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return np.where(x >= 2.0, 0.0, np.where(x >= 1.0, far, near))


def _lanczos(radius: float) -> Kernel:
    def kernel(x: Array) -> Array:
        numerator = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius)
        safe = np.where(x != 0, np.pi**2 * x**2, 1.0)
        # Near 0 the sinc ratio is 1; the threshold is the one jax and Keras use.
        value = np.where(x > 1e-3, numerator / safe, 1.0)
        return np.where(x > radius, 0.0, value)

    return kernel


KERNELS: dict[str, Kernel] = {
    "bilinear": _triangle,
    "bicubic": _keys_cubic,
    "lanczos3": _lanczos(3.0),
    "lanczos5": _lanczos(5.0),
}


def resize_weights(in_size: int, out_size: int, kernel: Kernel, antialias: bool = False) -> Array:
    """The (in_size, out_size) float64 matrix taking one axis from in_size to out_size samples."""
    scale = out_size / in_size
    centres = (np.arange(out_size, dtype=np.float64) + 0.5) / scale - 0.5
    # Antialiasing stretches the kernel by 1/scale when downsampling (never shrinks it).
    stretch = max(1.0 / scale, 1.0) if antialias else 1.0
    distances = np.abs(centres[np.newaxis, :] - np.arange(in_size, dtype=np.float64)[:, np.newaxis])
    weights = kernel(distances / stretch)
    total = weights.sum(axis=0, keepdims=True)
    # A column whose weights nearly cancel is zeroed rather than blown up (jax's rule).
    weights = np.where(
        np.abs(total) > 1000.0 * np.finfo(np.float32).eps, weights / np.where(total != 0, total, 1.0), 0.0
    )
    inside = (centres >= -0.5) & (centres <= in_size - 0.5)
    return np.where(inside[np.newaxis, :], weights, 0.0)


def resize(
    x: Array, size: Sequence[int], axes: Sequence[int], interpolation: str, antialias: bool = False
) -> Array:
    """Resize ``x`` along ``axes`` to ``size`` with Keras's interpolation named ``interpolation``.

    ``antialias`` widens the kernel when downsampling; nearest ignores it, as Keras does.
    """
    if interpolation not in RESIZE_INTERPOLATIONS:
        names = ", ".join(RESIZE_INTERPOLATIONS)
        raise CallFailure(f"interpolation must be one of {names}; got {interpolation!r}")
    if interpolation == "nearest":
        for axis, n in zip(axes, size, strict=True):
            m = x.shape[axis]
            if m != n:
                # The input sample whose cell holds the output sample's centre.
                index = np.floor((np.arange(n, dtype=np.float32) + 0.5) * m / n).astype(np.int64)
                x = np.take(x, index, axis=axis)
        return x
    integer = np.issubdtype(x.dtype, np.integer)
    out = x.astype(np.float32) if integer else x
    for axis, n in zip(axes, size, strict=True):
        m = x.shape[axis]
        if m == n:
            continue  # Keras leaves an axis whose size does not change untouched
        w = resize_weights(m, n, KERNELS[interpolation], antialias).astype(out.dtype)
        out = np.moveaxis(np.tensordot(out, w, axes=(axis, 0)), -1, axis)
    if integer:
        out = np.clip(np.round(out), x.min(), x.max()).astype(x.dtype)
    return out
