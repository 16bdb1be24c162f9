"""derivatives: ``sd.diff``/``sd.grad``, Jacobians and Hessians, sparsity, ``sd.formula``.

Modules, bottom to top: ``build`` (the simplifying node constructor), ``recipes``
(elementwise partials replayed as nodes), ``adjoints`` (structural adjoint rules,
``contribution``, ``unbroadcast``) and ``adjoint_text`` (the same rules in words),
``forward`` (one scalar variable), ``reverse`` (grad, diff), ``sparsity``, ``jacobian``,
``printers`` and ``formula``. May import: ``numeric``, ``symdiff.errors``,
``symdiff.budget``, ``symdiff.text``, ``symdiff.graph``, ``symdiff.lowering``,
``symdiff.symbolic``.
"""
