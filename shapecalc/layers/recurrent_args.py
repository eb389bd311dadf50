"""Argument parsers of the recurrent family (recurrent.py, recurrent_cells.py, conv_lstm.py):
flags, rates, seeds, cells."""

from __future__ import annotations

from typing import Any

from ..errors import ArgError
from . import args as A
from .base import Layer


def flag(value: Any) -> Any:
    """A flag Keras only tests for truth, kept as written: Bidirectional compares flags with ==."""
    A.truthy(value)
    return value


def rate(value: Any) -> float:
    """dropout / recurrent_dropout: Keras clamps any number into [0, 1] rather than refusing it."""
    if not isinstance(value, (int, float)):
        raise ArgError(f"expected a number (Keras clamps it into [0, 1]), got {A.describe(value)}")
    return float(min(1.0, max(0.0, value)))


def seed(value: Any) -> int | None:
    """A SeedGenerator seed: an integer that fits the generator's uint32 state, or null."""
    if value is None:
        return None
    if not isinstance(value, int):
        raise ArgError(f"seed must be an integer, got {A.describe(value)}")
    if not 0 <= value < 2**32:
        raise ArgError(f"seed must be between 0 and 2**32 - 1 (it is stored as uint32), got {value}")
    return int(value)


def use_cudnn(value: Any) -> Any:
    # Keras tests `use_cudnn not in ("auto", True, False)`, so 1 and 0 pass as True and False
    if isinstance(value, (dict, list)) or value not in ("auto", True, False):
        raise ArgError(f"expected one of 'auto', true, false, got {A.describe(value)}")
    return value


def is_cell(value: Any) -> bool:
    """Keras's test for a cell: the object has a ``state_size``."""
    return isinstance(value, Layer) and hasattr(value, "state_size")


def cell_argument(value: Any) -> Any:
    """RNN's ``cell``: a layer with a state size, or a list of them (stacked into StackedRNNCells)."""
    cells = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        raise ArgError("a list of cells must not be empty")
    for cell in cells:
        if not is_cell(cell):
            what = cell.type_name() if isinstance(cell, Layer) else A.describe(cell)
            raise ArgError(
                f"a cell must have a state size (SimpleRNNCell, GRUCell, LSTMCell, or a recurrent layer); "
                f"{what} has none"
            )
    return value


def cell_list(value: Any) -> list[Layer]:
    """StackedRNNCells's ``cells``: Keras iterates it, so a single cell is refused."""
    if not isinstance(value, list):
        raise ArgError(f"cells must be a list of cells, got {A.describe(value)}")
    return cell_argument(value)


def check_forget_bias_initializer(cell: Any) -> None:
    """An LSTM cell's unit_forget_bias bias is made by calling bias_initializer in Keras's own
    code (then adding the forget gate's ones), not through add_weight: None cannot be called."""
    if cell.use_bias and cell.unit_forget_bias and cell.bias_initializer is None:
        raise ArgError(
            "bias_initializer: null cannot start a bias with unit_forget_bias (Keras's build calls "
            "the initializer itself: 'NoneType' object is not callable); name an initializer, or "
            "set unit_forget_bias: false",
            argument="bias_initializer",
        )
