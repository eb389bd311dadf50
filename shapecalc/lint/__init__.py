"""``shapecalc lint``: every problem of every spec in a tree, for CI.

runner.py finds and checks the files (errors, then warnings and expectations), checks.py
holds the warning rules, problems.py the problem record and the rule catalog, formats.py the
output forms (text, GitHub annotations, JSON, SARIF).
"""
