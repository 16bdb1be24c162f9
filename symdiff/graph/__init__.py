"""graph: expressions as graphs of Nodes, the layer everything else is built on.

``node`` (the Node, ``apply`` that makes interior nodes from a table row, constants),
``leaves`` (``sd.var``, ``sd.tensor``, ``sd.randn``), ``walks`` (iterative topological
order), ``params`` (axes and index keys in the table's hashable form), ``ops`` (the public
functions ``sd.exp``, ``sd.sum``, ... made from the table), ``grads`` (``.grad`` arrays and
``.grad_fn`` names), ``parse`` (``sd.parse``: text to Nodes, through ``symdiff.text``) and
``claims`` (the matrix notation of claims and printed formulas, read back into Nodes).

May import ``numeric``, ``symdiff.errors``, ``symdiff.budget`` and ``symdiff.text``. The one
exception is the marked late-binding block of ``node.Node`` (``.eval``, ``.sympy``,
``.backward``, the repr), which calls up into lowering and the closed forms when used.
"""
