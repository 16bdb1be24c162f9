"""The tests mirror the package: one folder per layer of ``symdiff`` (``text/``, ``graph/``,
``lowering/``, ``symbolic/``, ``derivatives/``, ``checking/``, ``teaching/``, ``cli/``) and of
``numeric`` (``numeric/``), and folders for what crosses the layers:

* ``table/``: sweeps over every row of the table of primitives, and random graphs of them,
  against SymPy, finite differences and PyTorch (``test_primitives``, ``test_properties``,
  ``test_torch_oracle``);
* ``reliability/``: numerical edge cases, concurrency, huge and deep graphs;
* ``benchmarks/``: smoke tests of ``python -m benchmarks`` and ``benchmarks.swell``;
* at the top: the layering rules, packaging, the time budget, and the code in the docs
  and examples.

Shared helpers live beside this file: ``strategies`` (hypothesis strategies for graphs and
points, used by the table sweeps and several layers) and ``cli_util`` (running the command
line in-process). pytest puts this folder on ``sys.path`` (it holds the root conftest), so
every test imports them as ``from strategies import ...``, from whichever folder it is in.
"""
