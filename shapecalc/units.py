"""The suffixes counts and sizes are written with: SI ones (powers of 1000) for counts, as in
1.2G MACs, and binary ones (powers of 1024) for bytes, as in 64M; ``--max-memory``, ``expect:``
and the tables read and write the same."""

SI = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
BINARY = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def binary_size(nbytes: float, units: tuple[str, ...], decimals: int) -> str:
    """``nbytes`` in the first of ``units`` (each 1024 times the one before, the last taking any
    size) in which it is under 1024, with ``decimals`` decimals. A size past a float's range (of
    weights no machine could hold, which a spec can still declare) is divided exactly."""
    power = 0
    while power < len(units) - 1 and nbytes >= 1024 ** (power + 1):
        power += 1
    unit = 1024**power
    if isinstance(nbytes, int) and nbytes.bit_length() > 1000:
        scale = 10**decimals
        rounded = (2 * nbytes * scale + unit) // (2 * unit)
        return f"{rounded // scale}.{rounded % scale:0{decimals}d} {units[power]}"
    return f"{nbytes / unit:.{decimals}f} {units[power]}"
