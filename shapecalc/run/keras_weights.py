"""The weights Keras saves (``model.weights.h5``, inside a ``.keras`` archive or on its own), for
``--run``: read with h5py, an optional dependency (``pip install 'shapecalc[keras-files]'``).

Keras stores a model's variables by where they sit, not by their names
(keras/src/saving/saving_lib.py): ``layers/<the layer's class, snake_case>[_k]/vars/<i>``, the
layers in the model's order, numbered by class in that order (``dense``, ``dense_1``, ...; an
InputLayer takes its number too), and each layer's variables in the order it holds them: those
made trainable first, then the others, each in the order they were made. A layer whose
variables belong to sublayers (recurrent cells, wrappers, attention's projections) stores them
under the attributes that hold them (an RNN's ``cell``, Bidirectional's ``forward_layer``,
TimeDistributed's ``layer``, a stack's ``cells/<class>``, MultiHeadAttention's ``query_dense``
... ``output_dense``, GroupedQueryAttention's ``_query_dense`` ...).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis import Analysis
from ..blocks import MODEL_CLASSES
from ..errors import RunRefused
from ..graph import unique_layers
from ..layers.base import Weight, fmt_shape

WEIGHTS_MEMBER = "model.weights.h5"


class KerasWeightStore:
    """The arrays of a Keras weights file, keyed as --run asks for them (``conv2d/kernel``)."""

    def __init__(self, path: Path, handle: Any, arrays: dict[str, Any]) -> None:
        self.path, self.handle, self.arrays = path, handle, arrays

    @classmethod
    def open(cls, path: Path, analysis: Analysis) -> KerasWeightStore:
        try:
            import h5py
        except ImportError:
            raise RunRefused(
                f"reading the weights Keras saved in {path} needs h5py: pip install 'shapecalc[keras-files]'"
            ) from None
        try:
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as archive:
                    data = archive.read(WEIGHTS_MEMBER)
                handle = h5py.File(io.BytesIO(data), "r")
            else:
                handle = h5py.File(path, "r")
        except (OSError, KeyError) as err:
            raise RunRefused(f"--weights {path}: no Keras weights file in it ({err})") from None
        arrays, problems = _arrays(handle, analysis)
        if problems:
            handle.close()
            listed = "\n  ".join(problems[:50]) + ("\n  ..." if len(problems) > 50 else "")
            raise RunRefused(f"the weights in {path} do not fit the model:\n  {listed}")
        return cls(path, handle, arrays)

    def load(self, key: str, weight: Weight) -> np.ndarray:
        array = np.asarray(self.arrays[key])
        return np.ascontiguousarray(
            array, dtype=np.float32 if weight.dtype in ("bfloat16", "float32") else weight.dtype
        )

    def close(self) -> None:
        self.handle.close()


def _arrays(handle: Any, analysis: Analysis) -> tuple[dict[str, Any], list[str]]:
    """Each weight's dataset, keyed ``layer/path``, and what does not fit."""
    arrays: dict[str, Any] = {}
    problems: list[str] = []
    numbering = _Numbering()
    for layer in unique_layers(analysis.layers):
        if layer.is_operation:
            continue  # a keras.ops call: not one of the model's layers, and without variables
        models = tuple(
            (name, shown) for name, shown in analysis.calls_of(layer)[0].blocks if shown in MODEL_CLASSES
        )
        level = numbering.level(models)
        where = level + numbering.take(level, _snake_case(type(layer).type_name()))
        built = analysis.built.get(layer)
        made = list(built.weights) if built else []
        places = _places(layer)
        by_place: dict[str, list[Weight]] = {}
        for weight in made:
            prefix = weight.path.rpartition("/")[0]
            by_place.setdefault(prefix + "/" if prefix else "", []).append(weight)
        unknown = [prefix for prefix in by_place if prefix not in places]
        if unknown:
            problems.append(
                f"{layer.label}: the weights of its sublayer {unknown[0].rstrip('/')!r} are not read yet"
            )
            continue
        for prefix, weights in by_place.items():
            problems += _read_group(handle, f"{where}/{places[prefix]}vars", layer, weights, arrays)
    return arrays, problems


class _Numbering:
    """Keras's paths for the layers of a model and of the models it uses as layers
    (``layers/sequential/layers/conv2d``): each model numbers its own layers by class, in its
    order, a nested model among them as ``sequential`` or ``functional``."""

    def __init__(self) -> None:
        self.used: dict[str, dict[str, int]] = {}
        self.levels: dict[tuple[tuple[str, str], ...], str] = {(): "layers/"}

    def take(self, level: str, kind: str) -> str:
        used = self.used.setdefault(level, {})
        seen = used.get(kind)
        used[kind] = 0 if seen is None else seen + 1
        return kind if seen is None else f"{kind}_{seen + 1}"

    def level(self, models: tuple[tuple[str, str], ...]) -> str:
        """The path of the layers of the innermost of ``models`` (outermost first)."""
        for depth in range(1, len(models) + 1):
            chain = models[:depth]
            if chain not in self.levels:
                parent = self.levels[chain[:-1]]
                self.levels[chain] = f"{parent}{self.take(parent, _snake_case(chain[-1][1]))}/layers/"
        return self.levels[models]


def _read_group(
    handle: Any, path: str, layer: Any, weights: list[Weight], arrays: dict[str, Any]
) -> list[str]:
    """One object's variables: Keras's save_own_variables writes those made trainable first,
    then the others, each in the order they were made."""
    ordered = [w for w in weights if w.trainable] + [w for w in weights if not w.trainable]
    group = handle.get(path)
    stored = 0 if group is None else len(group)
    if stored != len(ordered):
        return [f"{layer.label}: {stored} stored variables at {path}, the model has {len(ordered)}"]
    problems = []
    for i, weight in enumerate(ordered):
        dataset = group[str(i)]
        if tuple(dataset.shape) != tuple(weight.shape):
            problems.append(
                f"{layer.label}: {weight.path} is {fmt_shape(tuple(dataset.shape))} in the file, "
                f"the model needs {fmt_shape(weight.shape)}"
            )
        arrays[f"{layer.name}/{weight.path}"] = dataset
    return problems


def _places(layer: Any) -> dict[str, str]:
    """Where each sublayer's variables are stored, from our weight-path prefix
    (``forward_gru/gru_cell/``) to Keras's path in the layer's group (``forward_layer/cell/``):
    Keras names a sublayer by the attribute that holds it, a list's items by their class."""
    from ..layers.recurrent import RNN
    from ..layers.recurrent_cells import StackedRNNCells
    from ..layers.rnn_wrappers import Bidirectional, TimeDistributed

    places = {"": ""}

    def visit(obj: Any, ours: str, theirs: str) -> None:
        children: list[tuple[str, Any]] = []
        if isinstance(obj, RNN):
            children = [("cell", obj.cell)]
        elif isinstance(obj, Bidirectional):
            children = [("forward_layer", obj.forward_layer), ("backward_layer", obj.backward)]
        elif isinstance(obj, TimeDistributed):
            children = [("layer", obj.layer)]
        elif isinstance(obj, StackedRNNCells):
            used: dict[str, int] = {}
            for cell in obj.cells:
                kind = _snake_case(type(cell).type_name())
                seen = used.get(kind)
                used[kind] = 0 if seen is None else seen + 1
                children.append((f"cells/{kind if seen is None else f'{kind}_{seen + 1}'}", cell))
        for attribute, child in children:
            inner_ours, inner_theirs = f"{ours}{child.name}/", f"{theirs}{attribute}/"
            places[inner_ours] = inner_theirs
            visit(child, inner_ours, inner_theirs)

    visit(layer, "", "")
    kind = type(layer).type_name()
    if kind in _ATTENTION_PROJECTIONS:
        # attention's projections are EinsumDense sublayers, kept under the attributes that hold them
        prefix = "_" if kind == "GroupedQueryAttention" else ""
        for ours, theirs in _ATTENTION_PROJECTIONS[kind]:
            places[f"{ours}/"] = f"{prefix}{theirs}/"
    return places


# our weight-path prefixes of attention's projections, and Keras's attributes for them
_PROJECTIONS = (
    ("query", "query_dense"),
    ("key", "key_dense"),
    ("value", "value_dense"),
    ("attention_output", "output_dense"),
)
_ATTENTION_PROJECTIONS = {"MultiHeadAttention": _PROJECTIONS, "GroupedQueryAttention": _PROJECTIONS}


def _snake_case(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: Conv2D -> conv2d, BatchNormalization -> batch_normalization."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
