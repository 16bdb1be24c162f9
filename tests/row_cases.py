"""The cases every row of the table of primitives is tested on: shapes and params per row
(``CASES``: every non-elementwise row and every row with params must have an entry),
shapes a row must refuse (``BAD_CASES``), and pytest parameter lists over the table.

Shared by the table sweep (``table/test_primitives.py``), the code generator's tests and
the PyTorch oracle, so a new row's cases are written once.
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from numeric import PRIMITIVES
from numeric.linalg import Indices as I
from numeric.primitives import Positions as P

INF = float("inf")


UNARY_SHAPES = [((),), ((2,),), ((3, 2),), ((1, 2),)]
BINARY_SHAPES = [((), ()), ((2,), (2,)), ((3, 2), (3, 2)), ((1, 2), (1, 2)), ((3, 1), (2,)),
                 ((3, 2), ()), ((), (3, 2)), ((1, 2), (3, 1)), ((2,), (3, 2))]
TERNARY_SHAPES = [((), (), ()), ((3, 2), (3, 2), (3, 2)), ((3, 1), (2,), ()),
                  ((2,), (3, 1), (3, 2)), ((), (2,), (3, 1))]
ELEMENTWISE_SHAPES = {1: UNARY_SHAPES, 2: BINARY_SHAPES, 3: TERNARY_SHAPES}
INCOMPATIBLE = {2: ((3,), (2,)), 3: ((3,), (2,), ())}


def S(start=None, stop=None, step=None):
    """A slice in the table's hashable key form."""
    return ("slice", start, stop, step)


CASES: dict[str, list] = {
    # elementwise rows with params: every shape set, every param value
    "pow": [(shapes, {"p": p}) for p in (2, 3, 0.5, -1, -2.5, 1, 0, 1.5)
            for shapes in UNARY_SHAPES],
    "step": [(shapes, {"h0": h0}) for h0 in (0.0, 0.5) for shapes in UNARY_SHAPES],
    # reductions
    "sum": [(((3, 2),), {"axis": a, "keepdims": k})
            for a in (None, 0, 1, (0, 1), -1) for k in (False, True)]
    + [(((),), {"axis": None, "keepdims": False}), (((4,),), {"axis": 0, "keepdims": False}),
       (((2, 3, 4),), {"axis": (0, 2), "keepdims": False}),
       (((2, 3, 4),), {"axis": 1, "keepdims": True})],
    "mean": [(((3, 2),), {"axis": a, "keepdims": k})
             for a in (None, 0, 1, (0, 1), -1) for k in (False, True)]
    + [(((),), {"axis": None, "keepdims": False}), (((4,),), {"axis": 0, "keepdims": False}),
       (((2, 3, 4),), {"axis": (0, 2), "keepdims": True})],
    "logsumexp": [(((3, 2),), {"axis": a, "keepdims": k})
                  for a in (None, 0, 1, (0, 1), -1) for k in (False, True)]
    + [(((),), {"axis": None, "keepdims": False}), (((4,),), {"axis": 0, "keepdims": False}),
       (((2, 3, 4),), {"axis": (0, 2), "keepdims": True})],
    "norm": [(((4,),), {}), (((3, 2),), {}), (((2, 3, 4),), {}), (((1,),), {})]
    + [(((4,),), {"ord": o}) for o in (1.0, INF, -INF)]
    + [(((3, 4),), {"ord": o, "axis": a, "keepdims": k})
       for o in (2.0, 1.0, INF, -INF) for a, k in ((1, False), (0, True), ((0, 1), False))]
    + [(((2, 3, 4),), {"ord": 2.0, "axis": (0, 2), "keepdims": False}),
       (((2, 3),), {"ord": INF, "axis": -1, "keepdims": True})],
    "trace": [(((3, 3),), {}), (((1, 1),), {})],
    "det": [(((3, 3),), {}), (((2, 2),), {}), (((1, 1),), {})],
    "logdet": [(((3, 3),), {}), (((2, 2),), {})],
    "inv": [(((3, 3),), {}), (((2, 2),), {}), (((1, 1),), {})],
    "cofactor": [(((3, 3),), {}), (((2, 2),), {}), (((1, 1),), {}), (((2, 3, 3),), {}),
                 (((4, 4),), {})],
    # structural. Regression cases: 1-D @ batched (x (2,) @ y (5,2,4)) had wrong VJPs in
    # numeric and wrong adjoints in symdiff; negative transpose axes (-1, 0, 1) likewise;
    # transpose axes (0, 1) printed as .T; unindex of a 0-d value nested an array.
    "matmul": [(((3, 2), (2, 4)), {}), (((2,), (2, 4)), {}), (((3, 2), (2,)), {}),
               (((2,), (2,)), {}), (((5, 3, 2), (2, 4)), {}), (((3, 2), (5, 2, 4)), {}),
               (((5, 3, 2), (5, 2, 4)), {}), (((5, 3, 2), (2,)), {}), (((2,), (5, 2, 4)), {}),
               (((1, 3, 2), (4, 2, 3)), {})],
    "transpose": [(((3, 2),), {"axes": None}), (((2, 3, 4),), {"axes": None}),
                  (((3, 2),), {"axes": (1, 0)}), (((3, 2),), {"axes": (0, 1)}),
                  (((2, 3, 4),), {"axes": (1, 2, 0)}), (((2, 3, 4),), {"axes": (2, 0, 1)}),
                  (((2, 3, 4),), {"axes": (-1, 0, 1)}), (((4,),), {"axes": None})],
    "reshape": [(((3, 2),), {"shape": (6,)}), (((3, 2),), {"shape": (2, -1)}),
                (((6,),), {"shape": (1, 2, 3)}), (((),), {"shape": (1,)}),
                (((1,),), {"shape": ()}), (((2, 3, 4),), {"shape": (-1, 4)})],
    "index": [(((4, 3),), {"key": (0,)}), (((4, 3),), {"key": (0, S(None, None, 2))}),
              (((4, 3),), {"key": (None, Ellipsis)}), (((4, 3),), {"key": (Ellipsis, 1)}),
              (((4, 3),), {"key": (S(1, None), -1)}), (((4, 3),), {"key": (S(None, None, -2),)}),
              (((5,),), {"key": (S(1, 4),)}), (((5,),), {"key": (-1,)}),
              (((2, 3, 4),), {"key": (1, None, S(None, None, 2), Ellipsis)})],
    "unindex": [(((3,),), {"key": (0,), "shape": (4, 3)}),
                (((2, 3),), {"key": (S(None, None, 2),), "shape": (4, 3)}),
                (((1, 4, 3),), {"key": (None, Ellipsis), "shape": (4, 3)}),
                ((( ),), {"key": (1, 2), "shape": (4, 3)}),
                (((2,),), {"key": (S(1, None), 0), "shape": (3, 2)})],
    "broadcast_to": [(((3,),), {"shape": (2, 3)}), (((3, 1),), {"shape": (3, 4)}),
                     (((),), {"shape": (2, 2)}), (((1, 3),), {"shape": (2, 1, 3)}),
                     (((2,),), {"shape": (2,)})],
    # sparse Hessians' decompression: repeated targets add up, repeated sources copy, an
    # empty map gives zeros, 0-d to 0-d adds x len(pos) times
    "scatter": [(((3,),), {"src": P([0, 1, 2, 2]), "pos": P([0, 0, 3, 1]), "shape": (2, 2)}),
                (((2, 3),), {"src": P([5, 0, 3]), "pos": P([1, 4, 4]), "shape": (6,)}),
                (((4,),), {"src": P([0, 1, 2, 3, 1]), "pos": P([0, 5, 10, 15, 1]),
                           "shape": (4, 4)}),
                (((3, 2),), {"src": P([]), "pos": P([]), "shape": (2,)}),
                (((),), {"src": P([0, 0]), "pos": P([0, 0]), "shape": ()}),
                (((2,),), {"src": P([1]), "pos": P([5]), "shape": (2, 1, 3)})],
    # -- p14 linear algebra, contraction, indexing. einsum: matrix and batched products,
    # outer products, row-wise dots, traces, a letter only one operand has (summed, so its
    # cotangent is broadcast), a repeated letter (its cotangent is written on a diagonal)
    "einsum": [(((3, 2), (2, 4)), {"subscripts": "ij,jk->ik"}),
               (((5, 3, 2), (5, 2, 4)), {"subscripts": "bij,bjk->bik"}),
               (((3,), (4,)), {"subscripts": "i,j->ij"}),
               (((3, 4), (3, 4)), {"subscripts": "ij,ij->i"}),
               (((3,), (3,)), {"subscripts": "i,i->"}),
               (((3, 2), (4, 2)), {"subscripts": "ij,kj->ki"}),
               (((3, 3), (3,)), {"subscripts": "ii,i->"}),
               (((3, 3), ()), {"subscripts": "ij,->ji"}),
               (((2, 3), (3, 4)), {"subscripts": "ij,jk->"}),
               (((3, 3), (3, 2)), {"subscripts": "ii,ij->ij"}),
               (((2, 3), (4,)), {"subscripts": "ij,k->ikj"})],
    "einsum_unary": [(((3, 3),), {"subscripts": "ii->"}), (((3, 2),), {"subscripts": "ij->ji"}),
                     (((3, 2),), {"subscripts": "ij->i"}), (((3, 3),), {"subscripts": "ii->i"}),
                     (((2, 3, 4),), {"subscripts": "ijk->kij"}), (((4,),), {"subscripts": "i->"}),
                     (((2, 2, 3),), {"subscripts": "iij->j"}), (((),), {"subscripts": "->"})],
    "solve": [(((3, 3), (3,)), {}), (((3, 3), (3, 2)), {}), (((1, 1), (1,)), {}),
              (((2, 2), (2, 2)), {})],
    "logabsdet": [(((3, 3),), {}), (((2, 2),), {}), (((1, 1),), {})],
    "cholesky": [(((3, 3),), {}), (((2, 2),), {}), (((1, 1),), {})],
    # gather: p[arange(n), y], p[idx] with a repeated index, p[:, idx], a 2-D index, none
    "gather": [(((3, 4),), {"pos": I([2, 4, 11])}), (((5,),), {"pos": I([4, 0, 4, 2])}),
               (((3, 4),), {"pos": I([[1, 3], [5, 7], [9, 11]])}),
               (((2, 3),), {"pos": I([[0, 0], [5, 1]])}), (((3,),), {"pos": I([])}),
               (((),), {"pos": I([0, 0])})],
}
"""name -> list of (input shapes, params); elementwise rows without params default to
``ELEMENTWISE_SHAPES`` of their arity."""

# -- reductions and shapes: max/min, prod, cumsum, concatenate, diagonal/diag ---------
_REDUCE_CASES = [(((3, 2),), {"axis": a, "keepdims": k})
                 for a in (None, 0, 1, (0, 1), -1) for k in (False, True)] + [
    (((),), {"axis": None, "keepdims": False}), (((4,),), {"axis": 0, "keepdims": False}),
    (((1,),), {"axis": None, "keepdims": False}),
    (((2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
    (((2, 3, 4),), {"axis": 1, "keepdims": False})]
CASES.update({
    "amax": _REDUCE_CASES,
    "amin": _REDUCE_CASES,
    # prod: group sizes 5, 6 and 9 are padded to a power of two in its symbolic adjoint
    "prod": _REDUCE_CASES + [(((5,),), {"axis": 0, "keepdims": False}),
                             (((6, 2),), {"axis": 0, "keepdims": True}),
                             (((3, 3),), {"axis": None, "keepdims": False})],
    "cumsum": [(((4,),), {"axis": 0}), (((3, 2),), {"axis": 0}), (((3, 2),), {"axis": 1}),
               (((3, 2),), {"axis": -1}), (((2, 3, 4),), {"axis": 1}), (((1,),), {"axis": 0})],
    "concatenate": [(((2,), (3,)), {"axis": 0}), (((3, 2), (1, 2)), {"axis": 0}),
                    (((3, 2), (3, 4)), {"axis": 1}), (((2, 2), (2, 2)), {"axis": -1}),
                    (((2, 3, 4), (2, 1, 4)), {"axis": -2}), (((1,), (1,)), {"axis": 0})],
    "diagonal": [(((3, 3),), {"offset": 0, "axis1": 0, "axis2": 1}),
                 (((3, 4),), {"offset": 1, "axis1": 0, "axis2": 1}),
                 (((4, 3),), {"offset": -1, "axis1": 0, "axis2": 1}),
                 (((3, 4),), {"offset": 2, "axis1": 1, "axis2": 0}),
                 (((2, 3, 4),), {"offset": 0, "axis1": 1, "axis2": 2}),
                 (((2, 3, 4),), {"offset": 1, "axis1": 2, "axis2": 0}),
                 (((1, 1),), {"offset": 0, "axis1": 0, "axis2": 1})],
    "diag": [(((3,),), {"offset": 0, "axis1": 0, "axis2": 1, "shape": (3, 3)}),
             (((2,),), {"offset": 1, "axis1": 0, "axis2": 1, "shape": (3, 3)}),
             (((2,),), {"offset": -1, "axis1": 0, "axis2": 1, "shape": (3, 3)}),
             (((3,),), {"offset": 1, "axis1": 0, "axis2": 1, "shape": (3, 4)}),
             (((1,),), {"offset": 2, "axis1": 1, "axis2": 0, "shape": (3, 4)}),
             (((2, 3),), {"offset": 0, "axis1": 1, "axis2": 2, "shape": (2, 3, 3)}),
             (((2, 2),), {"offset": -1, "axis1": 2, "axis2": 0, "shape": (4, 2, 3)})],
})


BAD_CASES: dict[str, list] = {
    "logsumexp": [(((3, 2),), {"axis": 2, "keepdims": False})],
    "norm": [(((),), {}), (((3,),), {"ord": 3.0}), (((3, 2),), {"ord": 2.0, "axis": 2}),
             (((3, 0),), {"ord": INF, "axis": 1})],
    "trace": [(((3, 2),), {}), (((3,),), {})],
    "det": [(((3, 2),), {}), (((2, 3, 3),), {})],
    "logdet": [(((2, 3),), {})],
    "inv": [(((3,),), {}), (((2, 3),), {})],
    "cofactor": [(((3,),), {}), (((2, 3),), {}), (((),), {})],
    "sum": [(((3, 2),), {"axis": 2, "keepdims": False}), (((3, 2),), {"axis": (0, 0)})],
    "mean": [(((3, 2),), {"axis": -3, "keepdims": False})],
    "matmul": [(((3, 2), (3, 2)), {}), (((), (2,)), {}), (((2,), (3,)), {}),
               (((2, 3, 4), (3, 4, 5)), {})],
    "transpose": [(((3, 2),), {"axes": (0, 0)}), (((3, 2),), {"axes": (0,)})],
    "reshape": [(((3, 2),), {"shape": (4,)}), (((3, 2),), {"shape": (-1, -1)}),
                (((3, 2),), {"shape": (-1, 4)})],
    "index": [(((4, 3),), {"key": (4,)}), (((4,),), {"key": (0, 0)})],
    "unindex": [(((2,),), {"key": (0,), "shape": (4, 3)})],
    "broadcast_to": [(((3,),), {"shape": (2, 4)}), (((2, 3),), {"shape": (3,)})],
    "scatter": [(((3,),), {"src": P([0, 3]), "pos": P([0, 1]), "shape": (2,)}),
                (((3,),), {"src": P([0]), "pos": P([4]), "shape": (2, 2)}),
                (((3,),), {"src": P([0, 1]), "pos": P([0]), "shape": (2,)}),
                (((3,),), {"src": P([-1]), "pos": P([0]), "shape": (2,)})],
    # -- p14 linear algebra, contraction, indexing
    "einsum": [(((3, 2), (3, 4)), {"subscripts": "ij,jk->ik"}),
               (((3, 2), (2, 4)), {"subscripts": "ij->ik"}),
               (((3, 2), (2, 4)), {"subscripts": "ij,jk->iz"}),
               (((3, 2), (2, 4)), {"subscripts": "ij,jk->ii"}),
               (((3, 2), (2, 4)), {"subscripts": "ijk,jk->i"}),
               (((3, 2), (2, 4)), {"subscripts": "i.,jk->i"})],
    "einsum_unary": [(((3, 2),), {"subscripts": "ii->"}), (((3, 2),), {"subscripts": "ij"})],
    "solve": [(((3, 2), (3,)), {}), (((3, 3), (2,)), {}), (((3, 3), (3, 2, 1)), {}),
              (((2, 3, 3), (3,)), {})],
    "logabsdet": [(((3, 2),), {}), (((3,),), {})],
    "cholesky": [(((3, 2),), {}), (((2, 2, 2),), {})],
    "gather": [(((3,),), {"pos": I([3])}), (((2, 2),), {"pos": I([0, -1])})],
}
"""Shapes/params each non-elementwise row's shape rule must reject."""

# -- reductions and shapes: max/min, prod, cumsum, concatenate, diagonal/diag ---------
BAD_CASES.update({
    "amax": [(((3, 2),), {"axis": 2, "keepdims": False}),
             (((0, 3),), {"axis": 0, "keepdims": False})],
    "amin": [(((3, 2),), {"axis": (0, 0), "keepdims": False}),
             (((2, 0),), {"axis": None, "keepdims": True})],
    "prod": [(((3, 2),), {"axis": 3, "keepdims": False})],
    "cumsum": [(((),), {"axis": 0}), (((3,),), {"axis": 1}), (((3, 2),), {"axis": None})],
    "concatenate": [(((), (2,)), {"axis": 0}), (((2,), (2, 3)), {"axis": 0}),
                    (((3, 2), (3, 4)), {"axis": 0}), (((3, 2), (3, 2)), {"axis": 2})],
    "diagonal": [(((3,),), {"offset": 0, "axis1": 0, "axis2": 1}),
                 (((3, 3),), {"offset": 0, "axis1": 0, "axis2": -2}),
                 (((3, 3),), {"offset": 0, "axis1": 0, "axis2": 2})],
    "diag": [(((2,),), {"offset": 0, "axis1": 0, "axis2": 1, "shape": (3, 3)}),
             (((3,),), {"offset": 0, "axis1": 0, "axis2": 1, "shape": (3,)})],
})



def cases_for(name: str) -> list:
    row = PRIMITIVES[name]
    if name in CASES:
        return CASES[name]
    return [(shapes, {}) for shapes in ELEMENTWISE_SHAPES[row.arity]]


def _case_id(name: str, shapes: tuple, params: dict) -> str:
    sh = "+".join(str(s).replace(" ", "") for s in shapes)
    pa = ",".join(f"{k}={v}" for k, v in params.items()).replace(" ", "")
    return f"{name}-{sh}" + (f"-{pa}" if pa else "")


ROWS = [pytest.param(row, id=name) for name, row in PRIMITIVES.items()]
ROW_CASES = [pytest.param(row, shapes, params, id=_case_id(name, shapes, params))
             for name, row in PRIMITIVES.items() for shapes, params in cases_for(name)]
ELEMENTWISE = [pytest.param(row, id=name) for name, row in PRIMITIVES.items()
               if row.kind == "elementwise"]


def rng_for(*key: object) -> np.random.Generator:
    """A generator seeded from the test case, so failures reproduce."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def params_for(name: str) -> list:
    """The distinct param dicts a row is tested with."""
    out: list = []
    for _, params in cases_for(name):
        if params not in out:
            out.append(params)
    return out
