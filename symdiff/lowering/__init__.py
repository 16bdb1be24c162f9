"""lowering: a graph becomes a ``numeric.Program`` once; calling it is the hot path.

``lower`` (number the leaves, fold equal nodes, hand the instructions to ``numeric``;
``bind`` values by name; ``evaluate``, ``value_and_grad``), ``fast`` (the Python-float
fast path of ``vg(x=7.0)``), ``backward`` (PyTorch's ``.backward()`` into ``.grad``) and
``domain`` (which op of a graph is outside its domain or at a kink at a point, read from
the program's values).

May import ``numeric``, ``symdiff.errors``, ``symdiff.budget``, ``symdiff.text`` and
``symdiff.graph``.
"""
