"""The image augmentations Keras applies in inference mode too: AutoContrast and CLAHE.

Both work on a batch of channels_last images in the (0, 255) range: the layer's ``value_range``
is mapped to it and back with Keras's linear map computed in float32.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import CallFailure

Array = np.ndarray
FULL_RANGE = (0, 255)


def to_range(images: Array, source: Sequence[float], target: Sequence[float]) -> Array:
    """Map ``source`` linearly onto ``target``; equal ranges leave the images as they are (dtype too)."""
    if source[0] == target[0] and source[1] == target[1]:
        return images
    low, high = np.float32(source[0]), np.float32(source[1])
    target_low, target_high = np.float32(target[0]), np.float32(target[1])
    with np.errstate(divide="ignore", invalid="ignore"):  # a degenerate range gives inf/NaN as in Keras
        unit = (images.astype(np.float32) - low) / (high - low)
    return unit * (target_high - target_low) + target_low


def auto_contrast(images: Array, value_range: Sequence[float]) -> Array:
    """Stretch each image's values so its min and max become the ends of ``value_range``.

    The min and max are taken over axes 1 and 2 of the (batch, ...) array whatever the data
    format, as Keras does; where they are equal (a constant slice) the 0 * inf of the stretch
    gives NaN, and Keras puts the original values back there. Returns float32.
    """
    x = to_range(images, value_range, FULL_RANGE).astype(np.float32)
    low = x.min(axis=(1, 2), keepdims=True)
    high = x.max(axis=(1, 2), keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.float32(255.0) / (high - low)
        stretched = np.clip(x * scale - low * scale, 0.0, 255.0)
    out = to_range(stretched, FULL_RANGE, value_range)
    return np.where(np.isnan(out), images.astype(np.float32), out).astype(np.float32)


def clahe(images: Array, value_range: Sequence[float], clip_limit: float, grid: Sequence[int]) -> Array:
    """Contrast-limited adaptive histogram equalisation of (batch, height, width, channels) images.

    The image is padded (symmetric) to a whole number of ``grid`` tiles; each tile and channel
    gets a 256-bin histogram of its integer levels, clipped at ``clip_limit`` * tile area / 256
    with the excess spread over every bin, whose normalised CDF maps levels to values. Each
    pixel blends the maps of the four tiles around it bilinearly (tile centres as nodes, the
    border tiles repeated outwards). The result has the input's dtype.
    """
    dtype = images.dtype
    x = to_range(images, value_range, FULL_RANGE)
    batch, height, width, channels = x.shape
    grid_h, grid_w = int(grid[0]), int(grid[1])
    tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
    pad_h, pad_w = tile_h * grid_h - height, tile_w * grid_w - width
    if pad_h or pad_w:
        x = np.pad(x, [(0, 0), (0, pad_h), (0, pad_w), (0, 0)], mode="symmetric")
    levels = np.clip(x.astype(np.int32), 0, 255)

    # Histogram of every (image, tile row, tile column, channel): one bincount over flat bins.
    tiles = levels.reshape(batch, grid_h, tile_h, grid_w, tile_w, channels)
    tile_id = (
        np.arange(batch)[:, None, None, None, None, None] * grid_h
        + np.arange(grid_h)[:, None, None, None, None]
    ) * grid_w + np.arange(grid_w)[:, None, None]
    flat = (tile_id * channels + np.arange(channels)) * 256 + tiles
    hists = np.bincount(flat.ravel(), minlength=batch * grid_h * grid_w * channels * 256)
    hists = hists.astype(np.float32).reshape(batch, grid_h, grid_w, channels, 256)

    area = tile_h * tile_w
    if clip_limit > 0:
        try:
            limit = np.float32(clip_limit * area / 256.0)
        except OverflowError:  # an integer past any float: Keras's call fails alike
            raise CallFailure(
                f"clip_limit {clip_limit} is past any float: it cannot clip a histogram"
            ) from None
        clipped = np.clip(hists, 0, limit)
        excess = (hists - clipped).sum(axis=-1, keepdims=True)
        hists = clipped + excess / np.float32(256.0)
    cdf = np.cumsum(hists, axis=-1)
    cdf_min = cdf.min(axis=-1, keepdims=True)
    denominator = np.float32(area) - cdf_min
    denominator = np.where(denominator == 0, np.float32(1.0), denominator)
    mapping = np.clip((cdf - cdf_min) * np.float32(255.0) / denominator, 0, 255)
    mapping = np.pad(mapping, [(0, 0), (1, 1), (1, 1), (0, 0), (0, 0)], mode="edge")

    def nodes(size: int, tile: int, count: int) -> tuple[Array, Array, Array]:
        # Position in tile units, shifted by the repeated border tile; its two neighbours.
        position = (np.arange(size, dtype=np.float32) - np.float32(tile / 2.0)) / np.float32(tile) + 1
        below = np.floor(position)
        weight = position - below
        return (
            np.clip(below, 0, count + 1).astype(np.intp),
            np.clip(below + 1, 0, count + 1).astype(np.intp),
            weight,
        )

    y0, y1, wy = nodes(tile_h * grid_h, tile_h, grid_h)
    x0, x1, wx = nodes(tile_w * grid_w, tile_w, grid_w)
    b = np.arange(batch)[:, None, None, None]
    c = np.arange(channels)
    y0, y1, wy = y0[:, None, None], y1[:, None, None], wy[:, None, None]
    x0, x1, wx = x0[:, None], x1[:, None], wx[:, None]
    top = mapping[b, y0, x0, c, levels] * (1 - wx) + mapping[b, y0, x1, c, levels] * wx
    bottom = mapping[b, y1, x0, c, levels] * (1 - wx) + mapping[b, y1, x1, c, levels] * wx
    result = (top * (1 - wy) + bottom * wy)[:, :height, :width, :]
    return to_range(result, FULL_RANGE, value_range).astype(dtype)
