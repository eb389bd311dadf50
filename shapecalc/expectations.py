"""A spec's ``expect:``: values the model must have, checked by ``summary`` and ``lint``.

```yaml
expect:
  output_shape: [null, 10]          # a list of shapes for several outputs
  total_params: 3369                # and trainable_params, non_trainable_params, total_macs
  max_params: 5M                    # budgets: max_params, max_macs (1.2G), max_activation_bytes (64M)
  layers:
    conv2d_5: {output_shape: [null, 28, 28, 16], params: 1168}
```

A value that differs is an error located at the expectation (E007), a budget exceeded too
(E008); both say expected against actual. Counts take SI suffixes (K, M, G, T: powers of 1000),
byte budgets binary ones (K, M, G, T: powers of 1024, as ``--max-memory``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

from .analysis import Analysis
from .costs import Costs, model_costs
from .errors import SpecError
from .layers.args import describe, did_you_mean
from .layers.base import Layer, fmt_shapes
from .source import Node
from .units import BINARY, SI

MODEL_KEYS = (
    "output_shape",
    "total_params",
    "trainable_params",
    "non_trainable_params",
    "total_macs",
    "max_params",
    "max_macs",
    "max_activation_bytes",
    "layers",
)
LAYER_KEYS = ("output_shape", "params", "trainable_params", "non_trainable_params", "macs")
_DECIMAL = re.compile(r"\d+(\.\d+)?")  # before a unit: 1.2G (no sign, no exponent)


def check_expectations(node: Node | None, analysis: Analysis, costs: Costs | None = None) -> list[SpecError]:
    """Every expectation the model breaks (an empty list when it keeps them all), and every
    malformed one. ``costs`` are computed if an expectation needs them and none are given."""
    if node is None:
        return []
    if not isinstance(node.value, dict):
        return [SpecError("expect is a mapping such as {total_params: 3369}", node.loc)]
    lazily: list[Costs] = [costs] if costs is not None else []

    def model_figures() -> Costs:
        if not lazily:
            lazily.append(model_costs(analysis))
        return lazily[0]

    problems: list[SpecError] = []
    for key, value in node.value.items():
        if key not in MODEL_KEYS:
            problems.append(SpecError(f"expect has no '{key}'{did_you_mean(key, MODEL_KEYS)}", value.key_loc))
            continue
        try:
            if key == "layers":
                problems += _check_layers(value, analysis, model_figures)
            else:
                problem = _check_model(key, value, analysis, model_figures)
                if problem is not None:
                    problems.append(problem)
        except SpecError as err:
            problems.append(err)
    return problems


def _check_model(key: str, node: Node, analysis: Analysis, figures: Callable[[], Costs]) -> SpecError | None:
    if key == "output_shape":
        actual = [analysis.output_shapes(call)[k] for call, k in analysis.output_refs()]
        wanted = _shapes(node, len(actual))
        if wanted != actual:
            return _differs(node, "output_shape", fmt_shapes(wanted), fmt_shapes(actual))
        return None
    if key in ("total_params", "trainable_params", "non_trainable_params"):
        return _exact(node, key, getattr(analysis, key))
    if key == "total_macs":
        return _exact(node, key, _known(node, key, figures().total_macs, "E007"))
    if key == "max_params":
        return _budget(node, key, _count(node, key), analysis.total_params, "parameters")
    if key == "max_macs":
        macs = _known(node, key, figures().total_macs, "E008")
        return _budget(node, key, _count(node, key), macs, "MACs for one example")
    nbytes = _known(node, key, figures().activation_bytes, "E008")
    return _budget(node, key, _bytes(node, key), nbytes, "bytes of activations for one example")


def _check_layers(node: Node, analysis: Analysis, figures: Callable[[], Costs]) -> list[SpecError]:
    if not isinstance(node.value, dict):
        return [SpecError("expect: layers maps layer names to what they must have", node.loc)]
    layers: dict[str, Layer] = {layer.name: layer for layer in analysis.layers}
    problems: list[SpecError] = []
    for name, wanted in node.value.items():
        layer = layers.get(name)
        if layer is None:
            message = f"expect: the model has no layer '{name}'{did_you_mean(name, layers)}"
            problems.append(SpecError(message, wanted.key_loc, code="E007", layer=name))
            continue
        if not isinstance(wanted.value, dict):
            problems.append(SpecError(f"expect: {name} maps keys such as params to values", wanted.loc))
            continue
        for key, value in wanted.value.items():
            try:
                problem = _check_layer(name, layer, key, value, analysis, figures)
            except SpecError as err:
                problem = err
            if problem is not None:
                problem.layer = name
                problems.append(problem)
    return problems


def _check_layer(
    name: str, layer: Layer, key: str, node: Node, analysis: Analysis, figures: Callable[[], Costs]
) -> SpecError | None:
    what = f"{name}'s {key}"
    if key == "output_shape":
        shapes = analysis.output_shapes(analysis.first_call(layer))
        wanted = _shapes(node, len(shapes))
        return _differs(node, what, fmt_shapes(wanted), fmt_shapes(shapes)) if wanted != shapes else None
    trainable, non_trainable = analysis.params_of(layer)
    actual = {"params": trainable + non_trainable, "trainable_params": trainable}
    actual["non_trainable_params"] = non_trainable
    if key in actual:
        return _exact(node, what, actual[key])
    if key == "macs":
        return _exact(node, what, _known(node, what, figures().layer_macs(layer), "E007"))
    raise SpecError(f"expect: a layer has no '{key}'{did_you_mean(key, LAYER_KEYS)}", node.key_loc)


# ----------------------------------------------------------------------------- values
def _shapes(node: Node, outputs: int) -> list[tuple[int | None, ...]]:
    """One shape, or a list of shapes (one per output)."""
    value = node.plain()
    several = isinstance(value, list) and value and all(isinstance(v, list) for v in value)
    shapes = value if several else [value]
    for shape in shapes:
        if not isinstance(shape, list) or not all(d is None or _is_int(d) for d in shape):
            raise SpecError(
                "an output_shape is a list of sizes (null for unknown), or a list of them; got "
                + describe(value),
                node.loc,
            )
    return [tuple(s) for s in shapes]


class Amount(NamedTuple):
    """A count or size as written. ``15.47G`` stands for every count that shows as 15.47G:
    ``value`` 15,470,000,000, ``step`` 10,000,000 (a unit of its last digit); a plain integer
    is exact (``step`` 0)."""

    value: Decimal
    step: Decimal

    def covers(self, actual: int) -> bool:
        if not self.step:
            return actual == self.value
        return self.value - self.step / 2 <= actual < self.value + self.step / 2


def _count(node: Node, what: str) -> Amount:
    return _amount(node, what, SI, "a count such as 3369, 5M or 1.2G")


def _bytes(node: Node, what: str) -> Amount:
    return _amount(node, what, BINARY, "a size such as 64M (MiB) or 1G")


def _amount(node: Node, what: str, units: dict[str, int], form: str) -> Amount:
    value = node.value
    if _is_int(value) and value >= 0:
        return Amount(Decimal(value), Decimal(0))
    if isinstance(value, str) and value[-1:].upper() in units and _DECIMAL.fullmatch(value[:-1]):
        number = Decimal(value[:-1])
        unit = units[value[-1].upper()]
        exponent = number.as_tuple().exponent
        assert isinstance(exponent, int)  # a plain decimal is finite
        return Amount(number * unit, Decimal(10) ** exponent * unit)
    raise SpecError(f"{what} is {form}; got {describe(value)}", node.loc)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _known(node: Node, what: str, value: int | None, code: str) -> int:
    if value is None:
        raise SpecError(
            f"{what} cannot be checked: an input size is unknown (null); give it in the spec",
            node.loc,
            code=code,
        )
    return value


def _exact(node: Node, what: str, actual: int) -> SpecError | None:
    wanted = _count(node, what)
    if wanted.covers(actual):
        return None
    if not wanted.step:
        return _differs(node, what, f"{wanted.value:,}", f"{actual:,}")
    # the actual count in the written form: 15.47G against 15.52G
    unit = SI[node.value[-1].upper()]
    places = max(0, -(wanted.step / unit).adjusted())
    shown = f"{Decimal(actual) / unit:.{places}f}{node.value[-1]}"  # exact: a count may pass a float's range
    return _differs(node, what, node.value, f"{actual:,} ({shown})")


def _differs(node: Node, what: str, wanted: str, actual: str) -> SpecError:
    return SpecError(f"expected {what} {wanted}, the model has {actual}", node.loc, code="E007")


def _budget(node: Node, key: str, limit: Amount, actual: int, unit: str) -> SpecError | None:
    if actual <= limit.value:
        return None
    written = f"{node.value} ({limit.value.normalize():,f})" if limit.step else f"{int(limit.value):,}"
    return SpecError(f"{key} is {written}, the model has {actual:,} {unit}", node.loc, code="E008")
