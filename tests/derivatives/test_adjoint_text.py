"""The adjoint rules in words (``derivatives.adjoint_text``) and the one SymPy partial of an
elementwise row (``symbolic.partials``): each stated once, and held to what they describe.

* every row that is not elementwise and has a symbolic adjoint (``ADJOINTS``) has a text
  entry, or is one of the rows documented to read as ``the VJP rule of <display>``;
* the texts are those the teaching pictures print (pinned here on one node per row);
* ``row_partial`` is ``sympy.diff`` of the row's formula over the template's dummies,
  computed once per row and parameters, and the recipes of ``sd.diff`` are built from it.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy

import symdiff as sd
from numeric import PRIMITIVES
from numeric.linalg import Indices
from symdiff.derivatives.adjoint_text import (ADJOINT_TEXT, TEXT_FALLBACK, structural_partial_text)
from symdiff.graph.params import key_text
from symdiff.derivatives.adjoints import ADJOINTS
from symdiff.derivatives.recipes import partial_recipe
from symdiff.graph.node import apply
from symdiff.graph.ops import scatter
from symdiff.symbolic.functions import template
from symdiff.symbolic.partials import row_formula, row_partial


def test_every_structural_row_with_an_adjoint_has_text_or_the_documented_fallback():
    rows = {op for op, row in PRIMITIVES.items() if row.kind != "elementwise"}
    with_adjoint = rows & set(ADJOINTS)
    assert with_adjoint == set(ADJOINTS)            # no adjoint for a row the table lacks
    missing = {op for op in with_adjoint if op not in ADJOINT_TEXT}
    assert missing == set(TEXT_FALLBACK), missing
    assert set(ADJOINT_TEXT) <= with_adjoint        # no text for a rule that does not exist
    assert not set(ADJOINT_TEXT) & TEXT_FALLBACK


def _named(f: sd.Node) -> dict:
    return {id(n): f"n{k}" for k, n in enumerate(f.nodes())}


W, x, v, A = sd.var("W", (2, 3)), sd.var("x", (3,)), sd.var("v", (3,)), sd.var("A", (3, 3))
T = sd.var("T", (2, 3, 4))

CASES = [
    (sd.sum(W), 0, ("1 for each summed entry", False)),
    (sd.mean(W), 0, ("1/6 for each averaged entry", False)),
    (sd.mean(W, axis=1), 0, ("1/3 for each averaged entry", False)),
    (sd.logsumexp(x), 0, ("softmax(n0) = exp(n0 - n1)", False)),
    (sd.norm(x), 0, ("n0/n1", False)),
    (sd.trace(A), 0, ("I (the identity)", False)),
    (sd.det(A), 0, ("n1·n0⁻ᵀ", False)),
    (sd.logdet(A), 0, ("n0⁻ᵀ", False)),
    (sd.inv(A), 0, ("g ↦ -n1ᵀ @ g @ n1ᵀ", True)),
    (apply("cofactor", A), 0, ("g ↦ the derivative of cof(n0) along g", True)),
    (W @ x, 0, ("g ↦ g @ n1ᵀ", True)),
    (W @ x, 1, ("g ↦ n0ᵀ @ g", True)),
    (W.T, 0, ("g ↦ gᵀ", True)),
    (sd.transpose(T, (1, 0, 2)), 0, ("g ↦ g transposed back", True)),
    (sd.reshape(W, (3, 2)), 0, ("g ↦ reshape(g, (2, 3))", True)),
    (W[0], 0, ("g ↦ zeros(2, 3) with g at [0]", True)),
    (W[:, 1:], 0, ("g ↦ zeros(2, 3) with g at [:, 1:]", True)),
    (x[::2], 0, ("g ↦ zeros(3,) with g at [::2]", True)),
    (apply("unindex", x, key=(0,), shape=(2, 3)), 0, ("g ↦ g[0]", True)),
    (sd.broadcast_to(x, (2, 3)), 0, ("g ↦ g summed back to shape (3,)", True)),
    (scatter(sd.tensor([1.0, 2.0]), src=[0, 1, 1], pos=[0, 3, 3], shape=(2, 2)), 0,
     ("the VJP rule of scatter", True)),
]


# -- reductions and shapes: max/min, prod, cumsum, concatenate, diagonal/diag ---------
B = sd.var("B", (1, 3))
CASES += [
    (apply("amax", W, axis=1, keepdims=False), 0,
     ("1/k at each of the k entries of n0 equal to its maximum n1 (ties split evenly), "
      "0 elsewhere", False)),
    (apply("amin", x, axis=None, keepdims=False), 0,
     ("1/k at each of the k entries of n0 equal to its minimum n1 (ties split evenly), "
      "0 elsewhere", False)),
    (apply("prod", x, axis=None, keepdims=False), 0,
     ("the product of the other entries of n0 (no division: exact at 0)", False)),
    (apply("cumsum", W, axis=1), 0, ("g ↦ running sums of g from the end along axis 1", True)),
    (apply("concatenate", W, B, axis=0), 0, ("g ↦ g[0:2]", True)),
    (apply("concatenate", W, B, axis=0), 1, ("g ↦ g[2:]", True)),
    (apply("concatenate", x, v, axis=0), 1, ("g ↦ g[3:]", True)),
    (apply("diagonal", A, offset=1, axis1=0, axis2=1), 0,
     ("g ↦ zeros(3, 3) with g on diagonal 1", True)),
    (apply("diag", v, offset=0, axis1=0, axis2=1, shape=(3, 3)), 0,
     ("g ↦ diagonal 0 of g", True)),
]


# -- p14 linear algebra, contraction, indexing: einsum, solve, log|det|, cholesky, gather;
# norm by its ord
M = sd.var("M", (3, 2))
CASES += [
    (sd.einsum("ij,jk->ik", W, M), 0, ("g ↦ einsum('ik,jk->ij', g, n1)", True)),
    (sd.einsum("ij,jk->ik", W, M), 1, ("g ↦ einsum('ik,ij->jk', g, n0)", True)),
    (sd.outer(x, v), 1, ("g ↦ einsum('ij,i->j', g, n0)", True)),
    (apply("einsum", x, v, subscripts="i,i->"), 0, ("g ↦ g·n1", True)),
    (apply("einsum", W, A, subscripts="ij,jj->"), 0,
     ("g ↦ g·einsum('jj->j', n1) repeated along i", True)),
    (apply("einsum_unary", W, subscripts="ij->ji"), 0, ("g ↦ einsum('ji->ij', g)", True)),
    (apply("einsum_unary", W, subscripts="ij->i"), 0, ("g ↦ g repeated along j", True)),
    (apply("einsum_unary", A, subscripts="ii->"), 0, ("g ↦ g on the diagonal ii, 0 off it", True)),
    (apply("einsum_unary", A, subscripts="ii->i"), 0,
     ("g ↦ g on the diagonal ii, 0 off it", True)),
    (sd.solve(A, x), 0, ("g ↦ -outer(solve(n0ᵀ, g), n2)", True)),
    (sd.solve(A, M), 0, ("g ↦ -solve(n0ᵀ, g) @ n2ᵀ", True)),
    (sd.solve(A, M), 1, ("g ↦ solve(n0ᵀ, g)", True)),
    (apply("logabsdet", A), 0, ("n0⁻ᵀ", False)),
    (sd.cholesky(A), 0, ("g ↦ sym(n1⁻ᵀ Φ(n1ᵀ @ tril(g)) n1⁻¹), sym(S) = (S + Sᵀ)/2, Φ the "
                         "lower triangle with its diagonal halved (Murray 2016)", True)),
    (W[[0, 1, 1], [2, 0, 0]], 0,
     ("g ↦ zeros(2, 3) with the entries of g added at flat positions [2, 3, 3] "
      "(repeats add up)", True)),
    (apply("gather", x, pos=Indices([[0, 1, 2]] * 3)), 0,
     ("g ↦ zeros(3,) with the entries of g added at their flat positions (repeats add up)",
      True)),
    (sd.norm(x, ord=1), 0, ("sign(n0)", False)),
    (sd.norm(W, ord=-np.inf, axis=1), 0,
     ("sign(n0)/k at each of the k entries of |n0| equal to its minimum n1 (ties split "
      "evenly), 0 elsewhere", False)),
]

@pytest.mark.parametrize("node, j, want", CASES, ids=[f"{c[0].op}-{c[1]}" for c in CASES])
def test_structural_partial_text(node, j, want):
    assert structural_partial_text(node, j, _named(node)) == want


def test_the_cases_cover_every_structural_row():
    covered = {node.op for node, _, _ in CASES}
    assert covered == {op for op, row in PRIMITIVES.items() if row.kind != "elementwise"}


def test_key_text():
    assert key_text((0, ("slice", None, None, None), Ellipsis)) == "0, :, ..."
    assert key_text((("slice", 1, 5, 2),)) == "1:5:2"


@pytest.mark.parametrize("op", sorted(op for op, row in PRIMITIVES.items()
                                      if row.kind == "elementwise"))
def test_row_partial_is_sympy_diff_of_the_row_formula(op):
    row = PRIMITIVES[op]
    params = {"pow": {"p": 3.0}, "step": {"h0": 0.5}}.get(op, {})
    t = template(op)
    for j in range(row.arity):
        expr, dummies = row_partial(op, params, j)
        assert dummies == t.args
        assert expr == sympy.diff(t.instantiate(t.args, params), t.args[j])
        assert row_partial(op, dict(params), j)[0] is expr      # one cache
    assert row_formula(op, params) == t.instantiate(t.args, params)


def test_row_partial_over_other_symbols_is_a_one_liner():
    a, b = sympy.symbols("a b", real=True)
    expr, dummies = row_partial("mul", {}, 0)
    assert expr.xreplace(dict(zip(dummies, (a, b)))) == b


def test_recipes_are_built_from_row_partial():
    y = sd.var("y")
    assert partial_recipe(sd.sin(y) * y, 0).expr == row_partial("mul", {}, 0)[0]
    assert partial_recipe(sd.sin(y), 0).expr == row_partial("sin", {}, 0)[0]
    # a formula that is not a sum reuses its output: exp' = out
    assert str(partial_recipe(sd.exp(y), 0).expr) == "_out"
