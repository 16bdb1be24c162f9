"""checking: ``sd.check`` (check.py) and ``sd.verify`` (verify.py, with its steps in
claims.py, points.py and difference.py), printed by report.py.

May import every layer below it (errors, budget, text, graph, lowering, symbolic,
derivatives) but never ``teaching`` or the CLI.
"""
