"""Test set-up shared by every test module: the oracle's Keras runs on the numpy backend
unless KERAS_BACKEND says otherwise (set before any module imports keras)."""

import os

os.environ.setdefault("KERAS_BACKEND", "numpy")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """How many answers this run took from real Keras, by kind."""
    import sys

    oracle = sys.modules.get("oracle")
    if oracle is None:
        return
    counts = ", ".join(f"{n:,} {kind}" for kind, n in oracle.CALLS.items())
    terminalreporter.write_line(f"Keras comparisons: {sum(oracle.CALLS.values()):,} ({counts})")
