"""Length arithmetic shared by layers: convolution, pooling, transposed convolution.

Pure functions of integers, after keras/src/ops/operation_utils.py and
keras/src/backend/common/backend_utils.py. Each ``*_rule`` returns the output length and the
formula with the numbers substituted, so errors and explanations show their working, and
raises :class:`ShapeError` where Keras refuses.
An unknown length (None) stays unknown and never raises. Only valid padding can refuse an
axis (an output <= 0); same padding of a 0-long axis gives 0, as in Keras.
"""

from __future__ import annotations

from typing import NamedTuple

from .errors import ShapeError

Length = int | None


def conv_rule(length: Length, kernel: int, stride: int, dilation: int, padding: str) -> tuple[Length, str]:
    if padding == "valid":
        if length is None:
            return None, f"floor((None - {dilation}*({kernel}-1) - 1)/{stride}) + 1 = None"
        out = (length - dilation * (kernel - 1) - 1) // stride + 1
        formula = f"floor(({length} - {dilation}*({kernel}-1) - 1)/{stride}) + 1 = {out}"
        if out <= 0:
            raise ShapeError(f"valid padding needs input >= dilated kernel: {formula}")
        return out, formula
    # "same" and "causal" pad so that the kernel and dilation do not matter.
    if length is None:
        return None, f"floor((None - 1)/{stride}) + 1 = None"
    out = (length - 1) // stride + 1
    return out, f"floor(({length} - 1)/{stride}) + 1 = {out}"


def pool_rule(length: Length, pool: int, stride: int, padding: str) -> tuple[Length, str]:
    if padding == "valid":
        if length is None:
            return None, f"floor((None - {pool})/{stride}) + 1 = None"
        out = (length - pool) // stride + 1
        formula = f"floor(({length} - {pool})/{stride}) + 1 = {out}"
        if out <= 0:
            raise ShapeError(f"valid pooling needs input >= pool size: {formula}")
        return out, formula
    if length is None:
        return None, f"floor((None - 1)/{stride}) + 1 = None"
    out = (length - 1) // stride + 1
    return out, f"floor(({length} - 1)/{stride}) + 1 = {out}"


def conv_transpose_rule(
    length: Length, kernel: int, stride: int, dilation: int, padding: str, output_padding: int | None
) -> tuple[Length, str]:
    dilated = (kernel - 1) * dilation + 1
    size = "None" if length is None else str(length)
    if padding == "valid":
        if output_padding is None:
            formula = f"({size}-1)*{stride} + max({dilated}, {stride})"
            out = None if length is None else (length - 1) * stride + max(dilated, stride)
        else:
            formula = f"({size}-1)*{stride} + {dilated} + {output_padding}"
            out = None if length is None else (length - 1) * stride + dilated + output_padding
    elif output_padding is None:
        formula = f"{size}*{stride}"
        out = None if length is None else length * stride
    else:
        formula = f"({size}-1)*{stride} + {dilated} mod 2 + {output_padding}"
        out = None if length is None else (length - 1) * stride + dilated % 2 + output_padding
    formula = f"{formula} = {'None' if out is None else out}"
    if out is not None and out < 0:
        raise ShapeError(f"transposed convolution output length would be negative: {formula}")
    return out, formula


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
