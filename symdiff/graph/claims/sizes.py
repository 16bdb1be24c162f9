"""Sizes in matrix notation, inferred: a dimension is known or still to be found.

In ``1*b.T``, ``I`` or ``Matrix([[A, 0], [0, B]])`` some sizes are not written: each
is a ``Dim`` that operations unify with others (union-find), and the blocks of an explicit
matrix add up to its size (``sum_rule``). Imports symdiff.errors only.

>>> a, b = Dim(), Dim(3)
>>> unify(a, b), a.get()
(True, 3)
>>> unify(a, Dim(2))
False
"""
from __future__ import annotations

from typing import Optional

from symdiff.errors import ParseError


class Dim:
    """A matrix dimension, known or still to be inferred (union-find)."""

    __slots__ = ("up", "size")

    def __init__(self, size: Optional[int] = None):
        self.up: Optional[Dim] = None
        self.size = size

    def root(self) -> "Dim":
        d = self
        while d.up is not None:
            d = d.up
        n = self   # path compression: later lookups are one step
        while n.up is not None and n.up is not d:
            n.up, n = d, n.up
        return d

    def get(self) -> Optional[int]:
        return self.root().size


def unify(a: Dim, b: Dim) -> bool:
    """Make ``a`` and ``b`` one dimension; False if both are known and differ."""
    ra, rb = a.root(), b.root()
    if ra is rb:
        return True
    if ra.size is not None and rb.size is not None:
        return ra.size == rb.size
    if ra.size is None:
        ra.up = rb
    else:
        rb.up = ra
    return True


def sum_rule(parts: list, total: Dim) -> bool:
    """Sizes ``parts`` add up to ``total``: unify what that decides; True if it did.

    >>> parts, total = [Dim(2), Dim()], Dim(5)
    >>> sum_rule(parts, total), parts[1].get()
    (True, 3)
    """
    known = [d.get() for d in parts]
    if None not in known:
        if total.get() is None:
            return unify(total, Dim(sum(known)))
        if total.get() != sum(known):
            raise ParseError(f"Matrix: blocks of sizes {known} do not add up to {total.get()}")
        return False
    if total.get() is None:
        return False
    rest = total.get() - sum(k for k in known if k is not None)
    roots: dict[int, list] = {}
    for d, k in zip(parts, known):
        if k is None:
            roots.setdefault(id(d.root()), [d.root(), 0])[1] += 1
    count = sum(m for _, m in roots.values())
    if len(roots) == 1:
        root, m = next(iter(roots.values()))
        if rest < m or rest % m:
            raise ParseError(f"Matrix: blocks cannot add up to {total.get()}")
        return unify(root, Dim(rest // m))
    if rest == count:              # every unknown block is 1 wide
        for root, _ in roots.values():
            unify(root, Dim(1))
        return True
    return False


def check_index(k: int, n: Optional[int], what: str) -> None:
    """Refuse the index ``k`` into a size ``n`` (if known) that it is out of range of."""
    if n is not None and not -n <= k < n:
        raise ParseError(f"{what} index {k} is out of range for size {n}")
