"""symbolic: graph <-> SymPy.

``closed_form`` (``node.sympy()``: scalar and explicit forms, validation), ``matrix_form``
(the matrix closed form), ``partials`` (a row's SymPy partial), ``functions`` (the table's
SymPy side), ``constants`` (numbers SymPy is never asked to compute), ``bounded`` (SymPy
under the time budget, its failures as ``ClosedFormError``), ``display`` (a Node's
``repr`` and LaTeX), ``notation``, ``matrix_eval`` and ``from_sympy``. May import: ``numeric``,
``symdiff.errors``, ``symdiff.budget``, ``symdiff.text``, ``symdiff.graph``,
``symdiff.lowering``; never derivatives, checking or teaching.
"""
