"""Length arithmetic shared by layers: convolution, pooling, transposed convolution.

Pure functions of integers, after keras/src/ops/operation_utils.py and
keras/src/backend/common/backend_utils.py. Each ``*_rule`` returns the output length and the
formula that gives it with the numbers substituted (``floor((28 + 2*0 - 1*(3-1) - 1) / 2) + 1``),
so errors and explanations show their working, and raises :class:`ShapeError` where Keras
refuses.
An unknown length (None) stays unknown and never raises. Only valid padding can refuse an
axis (an output <= 0); same padding of a 0-long axis gives 0, as in Keras.
"""

from __future__ import annotations

from typing import NamedTuple

from .errors import ShapeError

Length = int | None


def conv_rule(length: Length, kernel: int, stride: int, dilation: int, padding: str) -> tuple[Length, str]:
    """Keras's convolution output length, in the guide's notation
    ``floor((n + 2p - d*(k-1) - 1) / s) + 1``: valid padding adds p = 0 on each side, causal
    padding d*(k-1) before the sequence only, and same padding whatever makes it ``ceil(n / s)``."""
    n = _show(length)
    if padding == "same":
        out = None if length is None else (length - 1) // stride + 1
        return out, f"ceil({n} / {stride})"
    added = "2*0" if padding == "valid" else str(dilation * (kernel - 1))
    formula = f"floor(({n} + {added} - {dilation}*({kernel}-1) - 1) / {stride}) + 1"
    if length is None:
        return None, formula
    if padding == "causal":
        return (length - 1) // stride + 1, formula
    out = (length - dilation * (kernel - 1) - 1) // stride + 1
    if out <= 0:
        raise ShapeError(f"valid padding needs input >= dilated kernel: {formula} = {out}")
    return out, formula


def pool_rule(length: Length, pool: int, stride: int, padding: str) -> tuple[Length, str]:
    """Keras's pooling output length: ``floor((n - k) / s) + 1`` (valid), ``ceil(n / s)`` (same)."""
    n = _show(length)
    if padding == "same":
        out = None if length is None else (length - 1) // stride + 1
        return out, f"ceil({n} / {stride})"
    formula = f"floor(({n} - {pool}) / {stride}) + 1"
    if length is None:
        return None, formula
    out = (length - pool) // stride + 1
    if out <= 0:
        raise ShapeError(f"valid pooling needs input >= pool size: {formula} = {out}")
    return out, formula


def same_padding(length: int, out: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """The zeros ``same`` padding adds before and after an axis, as XLA's SAME (which Keras's
    backends use) splits them: the total the last window needs, the odd one after."""
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - length, 0)
    return total // 2, total - total // 2


def conv_transpose_rule(
    length: Length, kernel: int, stride: int, dilation: int, padding: str, output_padding: int | None
) -> tuple[Length, str]:
    """Keras's transposed convolution output length. With ``output_padding`` given, the guide's
    ``(n - 1)*s + k - 2p + a`` with p = 0 (valid) or k // 2 (same), k the dilated kernel; without
    it, Keras picks the length a strided convolution would shrink back to n."""
    dilated = (kernel - 1) * dilation + 1
    k = str(dilated) if dilation == 1 else f"({kernel}-1)*{dilation} + 1"
    n = _show(length)
    if output_padding is None:
        if padding == "valid":
            formula = f"({n} - 1)*{stride} + max({k}, {stride})"
            out = None if length is None else (length - 1) * stride + max(dilated, stride)
        else:
            formula = f"{n} * {stride}"
            out = None if length is None else length * stride
    else:
        pad = 0 if padding == "valid" else dilated // 2
        formula = f"({n} - 1)*{stride} + {k} - 2*{pad} + {output_padding}"
        out = None if length is None else (length - 1) * stride + dilated - 2 * pad + output_padding
    if out is not None and out < 0:
        raise ShapeError(f"transposed convolution output length would be negative: {formula} = {out}")
    return out, formula


def _show(length: Length) -> str:
    return "None" if length is None else str(length)


# ----------------------------------------------------------------------------- receptive fields
class Window(NamedTuple):
    """What one position of a tensor sees along one axis of the model's input: ``size`` input
    positions (the receptive field) and ``jump`` input positions between neighbouring positions
    (the effective stride)."""

    size: int
    jump: int

    def through(self, kernel: int, stride: int = 1, dilation: int = 1) -> Window:
        """After a window of ``kernel`` taps ``dilation`` apart moving by ``stride``:
        r_out = r_in + (k_eff - 1) * j_in and j_out = j_in * s, with k_eff = (k - 1) * d + 1."""
        effective = (kernel - 1) * dilation + 1
        return Window(self.size + (effective - 1) * self.jump, self.jump * stride)


class Field(NamedTuple):
    """The windows of a tensor: one per axis after the batch axis, None where one position of
    that axis depends on every position of an input axis (a channel axis after a convolution, a
    sequence after a recurrent layer) or where no window describes it; and which axes (0-based,
    after the batch axis) are spatial, for reporting."""

    windows: tuple[Window | None, ...]
    spatial: tuple[int, ...]

    @classmethod
    def of_input(cls, rank: int) -> Field:
        """A model input of ``rank`` (batch axis included): each position sees itself; its
        spatial axes are those between the batch and the last (channels_last) axis."""
        return cls((Window(1, 1),) * (rank - 1), tuple(range(rank - 2)))

    def mixing(self, *axes: int) -> Field:
        """This field with ``axes`` (positions in the batch shape, negative ones from the end)
        undefined: each output position along them reads every input position along them."""
        windows = list(self.windows)
        for axis in axes:
            if axis != 0 and -len(windows) <= (axis - 1 if axis > 0 else axis) < len(windows):
                windows[axis - 1 if axis > 0 else axis] = None
        return Field(tuple(windows), self.spatial)

    def spatial_windows(self) -> list[Window] | None:
        """The windows of the spatial axes, or None where there are none or one is undefined."""
        windows = [self.windows[i] for i in self.spatial]
        if not windows or any(w is None for w in windows):
            return None
        return windows  # type: ignore[return-value]


def widest(fields: list[Field], rank: int) -> Field:
    """A merge's field: per axis (aligned on the right, as merges broadcast) the largest window
    and jump of its inputs; undefined where any input's is."""
    windows: list[Window | None] = []
    for back in range(rank - 1, 0, -1):
        column = [f.windows[len(f.windows) - back] for f in fields if len(f.windows) >= back]
        defined = [w for w in column if w is not None]
        largest = Window(max(w.size for w in defined), max(w.jump for w in defined)) if defined else None
        windows.append(largest if len(defined) == len(column) else None)
    spatial = next((f.spatial for f in fields if len(f.windows) == rank - 1), ())
    return Field(tuple(windows), spatial)
