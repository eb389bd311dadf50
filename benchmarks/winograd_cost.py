"""The constants of the cost model that chooses Winograd or im2col for a 3x3 convolution.

    python benchmarks/winograd_cost.py [--repeats N]

Times both paths of ``shapecalc.kernels.conv.conv`` (the fastest of ``--repeats`` calls each) on
20 convolution shapes, fits each path's time by least squares to the work the cost model counts
(shapecalc/kernels/conv_winograd.py: multiply-adds, patch values copied, kernel and input
transform values), prints the constants next to the ones in the code, and for each shape the
measured and the predicted ratio Winograd / im2col with the path the code's model picks (Winograd
where the predicted ratio is under WINOGRAD_MARGIN). Run it on a quiet machine: the fit is only
as good as the timings.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

# isort: off
import shapecalc.run  # noqa: F401  (first: --run's BLAS thread policy, set before NumPy loads)
import numpy as np

# isort: on
from shapecalc.kernels import conv, conv_winograd

# (batch, height = width, input channels, filters): ResNet50's, VGG's and other 3x3 layers
SHAPES = [
    (8, 56, 64, 64), (8, 28, 128, 128), (8, 14, 256, 256), (8, 7, 512, 512), (16, 64, 64, 64),
    (16, 32, 128, 128), (16, 16, 256, 256), (64, 32, 64, 64), (64, 16, 128, 128), (1, 56, 64, 64),
    (1, 7, 512, 512), (2, 28, 128, 128), (4, 14, 256, 256), (32, 8, 256, 256), (8, 28, 256, 128),
    (8, 14, 512, 256), (8, 32, 32, 32), (4, 64, 128, 128), (8, 7, 256, 256), (2, 112, 64, 64),
]  # fmt: skip


def fastest_ms(call: Callable[..., object], args: tuple[object, ...], repeats: int) -> float:
    call(*args)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        call(*args)
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    rng = np.random.default_rng(0)
    im2col_work, im2col_ms, winograd_work, winograd_ms = [], [], [], []
    for batch, size, channels, filters in SHAPES:
        x = rng.standard_normal((batch, size, size, channels), dtype=np.float32)
        kernel = rng.standard_normal((3, 3, channels, filters), dtype=np.float32)
        times = {}
        for forced in (False, True):
            conv_winograd.FORCED = forced
            times[forced] = fastest_ms(conv.conv, (x, kernel, (1, 1), "same", (1, 1)), options.repeats)
        conv_winograd.FORCED = None
        positions, tiles = batch * size * size, batch * (-(-size // 2)) ** 2
        im2col_work.append([9 * positions * channels * filters, 9 * positions * channels])
        winograd_work.append(
            [16 * tiles * channels * filters, 16 * channels * filters, 16 * tiles * channels]
        )
        im2col_ms.append(times[False])
        winograd_ms.append(times[True])
    # picoseconds per unit of work (ms * 1e9)
    im2col_fit = np.linalg.lstsq(np.array(im2col_work, float), np.array(im2col_ms) * 1e9, rcond=None)[0]
    winograd_fit = np.linalg.lstsq(np.array(winograd_work, float), np.array(winograd_ms) * 1e9, rcond=None)[0]
    in_code = [
        conv_winograd.IM2COL_PS_PER_MAC,
        conv_winograd.IM2COL_PS_PER_PATCH_VALUE,
        conv_winograd.WINOGRAD_PS_PER_MAC,
        conv_winograd.WINOGRAD_PS_PER_KERNEL_VALUE,
        conv_winograd.WINOGRAD_PS_PER_INPUT_VALUE,
    ]
    names = [
        "im2col per MAC",
        "im2col per patch value",
        "Winograd per MAC",
        "per kernel value",
        "per input value",
    ]
    print(f"{'picoseconds':24} {'measured':>10} {'in the code':>12}")
    for name, measured, coded in zip(names, [*im2col_fit, *winograd_fit], in_code, strict=True):
        print(f"{name:24} {measured:10.1f} {coded:12.1f}")
    header = f"{'shape (B, H=W, C, F)':24} {'im2col ms':>10} {'Winograd ms':>12} {'ratio':>6} {'model':>6}"
    print(f"\n{header}  picks")
    right = 0
    for (batch, size, channels, filters), mine, theirs in zip(SHAPES, im2col_ms, winograd_ms, strict=True):
        padded = (batch, size + 2, size + 2, channels)
        model = conv_winograd.winograd_cost(padded, filters) / conv_winograd.im2col_cost(padded, filters)
        picks_winograd = model < conv_winograd.WINOGRAD_MARGIN
        right += picks_winograd == (theirs < mine)
        shape = f"{batch}, {size}, {channels}, {filters}"
        print(
            f"{shape:24} {mine:10.2f} {theirs:12.2f} {theirs / mine:6.2f} {model:6.2f}  "
            f"{'Winograd' if picks_winograd else 'im2col'}"
        )
    print(f"\nthe code's model picks the faster path for {right} of {len(SHAPES)} shapes")


if __name__ == "__main__":
    main()
