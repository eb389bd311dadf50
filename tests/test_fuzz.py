"""The fuzz in the suite: seeded hostile mutations of valid specs through every command (fuzz.py).

A small campaign runs by default; SHAPECALC_FUZZ=N runs N mutated specs instead (from seed
SHAPECALC_FUZZ_SEED, default 0), e.g. ``SHAPECALC_FUZZ=20000 pytest tests/test_fuzz.py``.
A finding is fixed where it arises in shapecalc, and its spec kept in test_hostile_inputs.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fuzz import SECONDS, Case, campaign, make_case, positions

CASES = int(os.environ.get("SHAPECALC_FUZZ") or 300)
FIRST = int(os.environ.get("SHAPECALC_FUZZ_SEED") or 0)


def test_mutated_specs_end_cleanly(tmp_path: Path) -> None:
    done = campaign(FIRST, CASES, tmp_path)
    assert done.cases >= CASES * 0.95  # a few cases YAML cannot write are skipped
    shown = "\n\n".join(finding.report() for finding in done.findings[:5])
    assert not done.findings, f"{len(done.findings)} finding(s) in {done.cases} cases:\n\n{shown}"
    # the commands did more than refuse: valid specs, refusals and runs all came up
    assert {0, 1, 2} <= set(done.exits)
    print(f"{done.cases} mutated specs, {done.commands} commands in {done.seconds:.1f} s ({done.exits})")


@pytest.mark.parametrize("seed", range(5))
def test_a_case_is_the_same_for_the_same_seed(seed: int) -> None:
    first, again = make_case(seed), make_case(seed)
    assert isinstance(first, Case)
    assert (first.changes, first.text(), first.suffix) == (again.changes, again.text(), again.suffix)
    assert first.text() != first.text(first.original) or first.changes == ["nothing to change"]


def test_every_value_of_a_spec_is_a_place_to_change() -> None:
    doc = {"input": [4, None], "layers": [{"Dense": {"units": 3}}]}
    assert list(positions(doc)) == [
        ("input",),
        ("input", 0),
        ("input", 1),
        ("layers",),
        ("layers", 0),
        ("layers", 0, "Dense"),
        ("layers", 0, "Dense", "units"),
    ]
    assert SECONDS <= 30
