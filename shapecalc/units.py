"""The suffixes counts and sizes are written with: SI ones (powers of 1000) for counts, as in
1.2G MACs, and binary ones (powers of 1024) for bytes, as in 64M; ``--max-memory``, ``expect:``
and the tables read and write the same."""

SI = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
BINARY = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
