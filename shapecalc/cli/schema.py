"""``shapecalc schema``: the JSON Schema of the spec format, for editors."""

from __future__ import annotations

import sys

from .common import app


@app.command()
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) of the spec format, so that editors check spec files
    as you type and complete layer types and their arguments, with Keras's defaults.

    It is made from shapecalc itself: every layer type and alias it supports, every argument,
    every top-level key. It catches names (an unknown key, layer type or argument); values are
    left to shapecalc, since a $name or $(expression) may stand for any of them. An entry that
    names a block or a custom layer cannot be checked by a schema: in a spec that declares
    blocks or custom_layers, unknown layer types are accepted.

    In VS Code (the YAML extension) or any editor with yaml-language-server:

    * `shapecalc schema > shapecalc.schema.json`
    * make `# yaml-language-server: $schema=shapecalc.schema.json` the first line of a spec
      (the path is relative to the spec), or map files to it in the settings:
      `"yaml.schemas": {"./shapecalc.schema.json": "specs/*.yaml"}`
    * for JSON specs, `"json.schemas"` in the settings: a spec has no `$schema` key of its own.
    """
    import json  # not loaded by the other commands: start-up is measured

    from ..schema import spec_schema

    sys.stdout.write(json.dumps(spec_schema(), indent=2) + "\n")
