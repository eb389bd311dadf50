"""The constants of the cost model that chooses im2col or a Winograd tiling for a 3x3 convolution.

    python benchmarks/winograd_cost.py [--repeats N]

Times the three paths of ``shapecalc.kernels.conv.conv`` (im2col, Winograd F(2x2) and F(4x4), the
fastest of ``--repeats`` calls each) on 20 convolution shapes, fits each path's time by least
squares to the work the cost model counts (shapecalc/kernels/conv_winograd.py: multiply-adds,
patch values copied; kernel, input and output transform values), prints the constants next to
the ones in the code, and for each shape the three times, the fastest path and the one the code's
model picks (a Winograd tiling only where it is expected to take under WINOGRAD_MARGIN of
im2col's time). Run it on a quiet machine: the fit is only as good as the timings.
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
# what a Winograd path's constants are per (conv_winograd.winograd_work's units)
WINOGRAD_KINDS = ("per MAC", "per kernel value", "per input value", "per output value")


def fastest_ms(call: Callable[..., object], args: tuple[object, ...], repeats: int) -> float:
    call(*args)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        call(*args)
        best = min(best, time.perf_counter() - started)
    return best * 1000


def nonnegative_fit(work: list[tuple[int, ...]], ms: list[float]) -> list[float]:
    """Picoseconds per unit of each kind of work, by least squares with no negative cost: a
    column that would get one is dropped and the rest fitted again."""
    a, b = np.array(work, float), np.array(ms) * 1e9
    kept = list(range(a.shape[1]))
    while True:
        fit = np.linalg.lstsq(a[:, kept], b, rcond=None)[0]
        if (fit >= 0).all():
            constants = [0.0] * a.shape[1]
            for column, value in zip(kept, fit, strict=True):
                constants[column] = float(value)
            return constants
        kept.pop(int(np.argmin(fit)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    rng = np.random.default_rng(0)
    paths = [0, *conv_winograd.TILINGS]  # 0: im2col
    work: dict[int, list[tuple[int, ...]]] = {path: [] for path in paths}
    ms: dict[int, list[float]] = {path: [] for path in paths}
    for batch, size, channels, filters in SHAPES:
        x = rng.standard_normal((batch, size, size, channels), dtype=np.float32)
        kernel = rng.standard_normal((3, 3, channels, filters), dtype=np.float32)
        padded = (batch, size + 2, size + 2, channels)
        for path in paths:
            conv_winograd.FORCED = path
            ms[path].append(fastest_ms(conv.conv, (x, kernel, (1, 1), "same", (1, 1)), options.repeats))
            if path:
                work[path].append(conv_winograd.winograd_work(padded, filters, conv_winograd.TILINGS[path]))
            else:
                patch_values = 9 * batch * size * size * channels
                work[path].append((patch_values * filters, patch_values))
        conv_winograd.FORCED = None
    print(f"{'picoseconds':28} {'measured':>10} {'in the code':>12}")
    fitted = {path: nonnegative_fit(work[path], ms[path]) for path in paths}
    in_code = {0: (conv_winograd.IM2COL_PS_PER_MAC, conv_winograd.IM2COL_PS_PER_PATCH_VALUE)}
    in_code |= {m: conv_winograd.WINOGRAD_PS[m] for m in conv_winograd.TILINGS}
    for path in paths:
        kinds = ("per MAC", "per patch value") if not path else WINOGRAD_KINDS
        label = "im2col" if not path else f"F({path}x{path})"
        for kind, measured, coded in zip(kinds, fitted[path], in_code[path], strict=True):
            print(f"{label + ' ' + kind:28} {measured:10.1f} {coded:12.1f}")
    names = ["im2col" if not path else f"F{path}" for path in paths]
    columns = "".join(f"{name + ' ms':>11}" for name in names)
    print(f"\n{'shape (B, H=W, C, F)':22}{columns}  fastest  picks")
    right = 0
    for index, (batch, size, channels, filters) in enumerate(SHAPES):
        padded = (batch, size + 2, size + 2, channels)
        tiling = conv_winograd.tiling_for(padded, (3, 3, channels, filters), (1, 1), (1, 1), 1)
        picked = names[paths.index(tiling.m if tiling else 0)]
        fastest = names[paths.index(min(paths, key=lambda path: ms[path][index]))]
        right += picked == fastest
        shape = f"{batch}, {size}, {channels}, {filters}"
        times = "".join(f"{ms[path][index]:11.2f}" for path in paths)
        print(f"{shape:22}{times}  {fastest:7}  {picked}")
    print(f"\nthe code's model picks the fastest path for {right} of {len(SHAPES)} shapes")


if __name__ == "__main__":
    main()
