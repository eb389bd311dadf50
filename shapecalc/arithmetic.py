"""Length arithmetic shared by layers: convolution, pooling, transposed convolution.

Pure functions of integers, after keras/src/ops/operation_utils.py and
keras/src/backend/common/backend_utils.py. Each ``*_rule`` returns the output length and the
formula with the numbers substituted, so errors and explanations show their working, and
raises :class:`ShapeError` where Keras refuses.
An unknown length (None) stays unknown and never raises. Only valid padding can refuse an
axis (an output <= 0); same padding of a 0-long axis gives 0, as in Keras.
"""

from __future__ import annotations

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
