"""``--weights FILE.npz`` in, ``--save-outputs FILE.npz`` out, without holding everything in memory.

Weights are keyed by Keras 3 variable paths (``conv2d/kernel``); the file is checked against
the model before anything runs (missing, extra and wrongly shaped keys are all reported), and
each array is read only when its layer runs. Outputs are streamed into the archive as they are
produced.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..analysis import Analysis
from ..errors import RunRefused
from ..graph import Call, unique_layers
from ..layers.base import Weight, fmt_shape


class WeightStore:
    def __init__(self, path: Path, archive: zipfile.ZipFile) -> None:
        self.path = path
        self.archive = archive

    @classmethod
    def open(cls, path: Path, analysis: Analysis) -> WeightStore:
        try:
            archive = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as err:
            raise RunRefused(f"--weights {path}: not a readable .npz archive ({err})") from None
        store = cls(path, archive)
        try:
            problems = store._check(analysis)
        except (OSError, ValueError) as err:
            archive.close()
            raise RunRefused(f"--weights {path}: cannot read it ({err})") from None
        if problems:
            archive.close()
            listed = "\n  ".join(problems[:50]) + ("\n  ..." if len(problems) > 50 else "")
            raise RunRefused(f"--weights {path} does not fit the model:\n  {listed}")
        return store

    def _shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = {}
        for info in self.archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with self.archive.open(info) as handle:
                shapes[info.filename[: -len(".npy")]] = _header_shape(handle)
        return shapes

    def _check(self, analysis: Analysis) -> list[str]:
        found = self._shapes()
        expected = {
            f"{layer.name}/{w.path}": w.shape
            for layer in unique_layers(analysis.layers)
            for w in analysis.weights_of(layer)
        }
        problems = [
            f"missing: {key} {fmt_shape(shape)}" for key, shape in expected.items() if key not in found
        ]
        problems += [f"not a weight of this model: {key}" for key in found if key not in expected]
        problems += [
            f"wrong shape: {key} is {fmt_shape(found[key])}, the model needs {fmt_shape(shape)}"
            for key, shape in expected.items()
            if key in found and found[key] != shape
        ]
        return problems

    def load(self, key: str, weight: Weight) -> np.ndarray:
        with self.archive.open(f"{key}.npy") as handle:
            array = np.lib.format.read_array(handle, allow_pickle=False)
        # C order whatever the file holds: it is Keras's layout, and BLAS runs it fastest
        return np.ascontiguousarray(
            array, dtype=np.float32 if weight.dtype in ("bfloat16", "float32") else weight.dtype
        )

    def close(self) -> None:
        self.archive.close()


class OutputWriter:
    """Writes each layer's output into an .npz as it is produced (``NAME`` or ``NAME.K``)."""

    def __init__(self, path: Path) -> None:
        self.archive = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
        self.written: set[str] = set()

    def add(self, call: Call, outputs: list[np.ndarray]) -> None:
        """A call's outputs under the layer's name (its first call that runs) and, for a Reuse
        call, under the name the Reuse gave it too."""
        names = [call.layer.name] + ([call.alias] if call.alias else [])
        for name in names:
            self._add(name, outputs)

    def _add(self, name: str, outputs: list[np.ndarray]) -> None:
        keys = [name] if len(outputs) == 1 else [f"{name}.{k}" for k in range(len(outputs))]
        for key, array in zip(keys, outputs, strict=False):
            if key in self.written:
                continue
            with self.archive.open(f"{key}.npy", "w", force_zip64=True) as handle:
                _write(handle, array)
            self.written.add(key)

    def close(self) -> None:
        self.archive.close()


def _header_shape(handle: IO[bytes]) -> tuple[int, ...]:
    """An .npy member's shape from its header alone, without reading the data."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, _, _ = np.lib.format.read_array_header_1_0(handle)
    elif version == (2, 0):
        shape, _, _ = np.lib.format.read_array_header_2_0(handle)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    return tuple(shape)


def _write(handle: IO[bytes], array: Any) -> None:
    np.lib.format.write_array(handle, np.asarray(array), allow_pickle=False)
