"""Regenerate tests/keras_summaries/<spec stem>.txt from real Keras, via the oracle.

Each golden file is exactly the text Keras 3 prints for ``model.summary()`` of the model
built from ``specs/<stem>.yaml`` (for a zoo spec, of the keras.applications model it
reproduces; captured with ``print_fn``, so rich renders it with
``color_system=None``: plain text, box-drawing characters, no ANSI codes; the file ends
with the single newline Keras prints).

Width: captured with COLUMNS=200 (``oracle.SUMMARY_COLUMNS``). Keras sizes the table as
``min(default, terminal columns - 4)``, so at 200 columns the table is Keras's default
width: 88 characters for a sequential-like model (columns Layer/Output Shape/Param #) and
108 for a model with the "Connected to" column. A narrower terminal gives a narrower,
differently wrapped table; these files are the wide-terminal form.

Usage:  python tests/regen_keras_summaries.py [--check] [SPEC.yaml ...]
        --check: write nothing; exit 1 if any golden file differs from Keras.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import keras_custom  # noqa: E402, F401 - the Keras twins of spec-declared custom layers
from oracle import SUMMARY_COLUMNS, Refusal, keras_spec_facts  # noqa: E402

ROOT = HERE.parent
SPECS = ROOT / "specs"
OUT = HERE / "keras_summaries"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a) for a in argv if a != "--check"] or sorted(SPECS.glob("*.yaml"))
    OUT.mkdir(exist_ok=True)
    status = 0
    for path in paths:
        spec = yaml.safe_load(path.read_text())
        facts = keras_spec_facts(path.name, spec, columns=SUMMARY_COLUMNS)
        if isinstance(facts, Refusal):
            print(f"{path}: Keras refused: {facts.message}", file=sys.stderr)
            status = 1
            continue
        target = OUT / f"{path.stem}.txt"
        if check:
            same = target.exists() and target.read_text(encoding="utf-8") == facts.summary
            print(f"{'ok  ' if same else 'DIFF'} {target.relative_to(ROOT)}")
            status |= 0 if same else 1
        else:
            target.write_text(facts.summary, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)} ({facts.total_params:,} params)")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
