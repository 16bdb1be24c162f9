"""Bad arguments to the public API get a ``SymdiffError`` that names the argument.

A hostile review found ``sd.const(10**400)`` raising OverflowError,
``sd.value_and_grad(f, ["x"])`` and ``sd.diff(3.0, x)`` AttributeError, ``seed=-1`` a
ValueError from numpy, ``x + None`` a nan constant, ``sd.tensor("1.5")`` accepted as 1.5
and ``sd.var("w", (2.5,))`` a shape (2,). The table below is the family: for each public
function, wrong types and values (None, text, complex numbers, objects, bools and floats
where ints belong, negative and huge dimensions, lists of names where variables belong),
each asserting the error class (always a ``SymdiffError``) and a pattern its message must
match, which names the argument or what is wrong with it. ``test_every_public_function``
then hands every function in ``sd.__all__`` values that are wrong everywhere.
"""
from __future__ import annotations

import inspect

import numpy as np
import pytest
import sympy

import symdiff as sd

x = sd.var("x")
v = sd.var("v", (3,))
A = sd.var("A", (2, 3))
f = sd.sin(x) * x
t = sd.tensor([1.0, 2.0], requires_grad=True, name="t")

Arg, Shape, Var, Base = sd.ArgumentError, sd.ShapeError, sd.VariableError, sd.SymdiffError

CASES = [
    # ---- leaves: names ---------------------------------------------------------------
    ("var name None", lambda: sd.var(None), Arg, r"sd\.var: variable name must be a str"),
    ("var name int", lambda: sd.var(3), Arg, "name must be a str, not int 3"),
    ("var name empty", lambda: sd.var(""), Arg, "name '' is not a valid identifier"),
    ("var name underscore", lambda: sd.var("_x"), Arg, "name '_x' is not a valid"),
    ("var name keyword", lambda: sd.var("lambda"), Arg, "'lambda' is not a valid"),
    ("var name with a space", lambda: sd.var("x y"), Arg, "'x y' is not a valid"),
    ("var name fullwidth", lambda: sd.var("\uff58"), Arg, "FULLWIDTH.*reads as 'x'"),
    ("var name fullwidth numpy", lambda: sd.var("\uff4e\uff55\uff4d\uff50\uff59"), Arg,
     "write 'numpy'"),
    ("var name bold math x", lambda: sd.var("\U0001d431"), Arg, "MATHEMATICAL BOLD"),
    ("var name Cyrillic look-alike", lambda: sd.var("\u0455in"), Arg, "look-alike"),
    ("var name middle dot", lambda: sd.var("x\u00b7y"), Arg, "one name in Python"),
    ("var name superscript", lambda: sd.var("x\u207f"), Arg, "superscripts"),
    ("var name not an identifier", lambda: sd.var("x\u00b2"), Arg, "not a valid identifier"),
    ("tensor name int", lambda: sd.tensor(1.0, name=3), Arg, r"sd\.tensor: tensor name"),
    ("tensor name fullwidth", lambda: sd.tensor(1.0, name="\uff58"), Arg, "FULLWIDTH"),
    ("parse shapes name", lambda: sd.parse("x", {"\uff58": (2,)}), Arg, "FULLWIDTH"),
    # ---- leaves: shapes --------------------------------------------------------------
    ("var shape float", lambda: sd.var("w", 2.5), Shape, r"sd\.var 'w': shape must be"),
    ("var shape float dim", lambda: sd.var("w", (2.5,)), Shape, r"\(2\.5,\) has float 2\.5"),
    ("var shape whole float dim", lambda: sd.var("w", (2.0,)), Shape, "has float 2.0"),
    ("var shape numpy float dim", lambda: sd.var("w", (np.float64(2),)), Shape, "float"),
    ("var shape bool dim", lambda: sd.var("w", (True,)), Shape, "has bool True"),
    ("var shape bool", lambda: sd.var("w", True), Shape, "shape must be a tuple of ints"),
    ("var shape negative", lambda: sd.var("w", (-1,)), Shape, "negative dimension"),
    ("var shape huge", lambda: sd.var("w", (10**30,)), Shape, "more elements than"),
    ("var shape huge product", lambda: sd.var("w", (2**31,) * 3), Shape, "more elements"),
    ("var shape many axes", lambda: sd.var("w", (1,) * 40), Shape, "40 axes"),
    ("var shape text", lambda: sd.var("w", "23"), Shape, "not str '23'"),
    ("var shape None", lambda: sd.var("w", None), Shape, "not NoneType"),
    ("var shape nested", lambda: sd.var("w", ((2,),)), Shape, "has tuple"),
    ("var shape complex", lambda: sd.var("w", (2j,)), Shape, "has complex"),
    ("randn float", lambda: sd.randn(2.5), Shape, r"sd\.randn: shape"),
    ("randn negative", lambda: sd.randn(-1), Shape, "negative dimension"),
    ("randn text", lambda: sd.randn("a"), Shape, r"sd\.randn: shape"),
    ("randn rng", lambda: sd.randn(2, rng=3), Arg, "rng must be a numpy.random.Generator"),
    ("parse shapes list", lambda: sd.parse("x", ["x"]), Arg, r"sd\.parse: shapes must be"),
    ("parse shape float", lambda: sd.parse("x", {"x": 2.5}), Shape,
     r"sd\.parse: shapes\['x'\]"),
    ("parse shape float matrix", lambda: sd.parse("x", {"x": (2.5,)}, matrix=True), Shape,
     r"shapes\['x'\]"),
    # ---- leaves: values ----------------------------------------------------------------
    ("tensor text", lambda: sd.tensor("1.5"), Arg, r"sd\.tensor: data is the text '1\.5'"),
    ("tensor list of text", lambda: sd.tensor(["1", "2"]), Arg, "data: text"),
    ("tensor None", lambda: sd.tensor(None), Arg, "data is None"),
    ("tensor list with None", lambda: sd.tensor([1.0, None]), Arg, "an element is None"),
    ("tensor complex", lambda: sd.tensor(1j), Arg, "complex"),
    ("tensor complex array", lambda: sd.tensor(np.ones(2, complex)), Arg, "complex"),
    ("tensor object array", lambda: sd.tensor(np.array([object()])), Arg, "not a number"),
    ("tensor dict", lambda: sd.tensor({"a": 1.0}), Arg, "dict"),
    ("tensor ragged", lambda: sd.tensor([[1.0], [1.0, 2.0]]), Arg, "cannot read list"),
    ("tensor huge int", lambda: sd.tensor(10**400), Arg, "too large for a float64"),
    ("tensor huge int in a list", lambda: sd.tensor([1, 10**400]), Arg, "too large"),
    ("tensor of variables", lambda: sd.tensor([x, x]), Base, "var 'x' has no value"),
    ("const of variables", lambda: sd.const([x, 1.0]), Base, "has no value"),
    ("tensor datetime", lambda: sd.tensor(np.datetime64("2020-01-01")), Arg, "dtype"),
    ("tensor requires_grad text", lambda: sd.tensor(1.0, requires_grad="no"), Arg,
     "requires_grad must be True or False"),
    ("const huge int", lambda: sd.const(10**400), Arg, r"sd\.const: value: the integer"),
    ("const None", lambda: sd.const(None), Arg, r"sd\.const: value is None"),
    ("const text", lambda: sd.const("abc"), Arg, "the text 'abc'"),
    ("const complex", lambda: sd.const(1 + 2j), Arg, "complex number"),
    ("const sympy symbol", lambda: sd.const(sympy.Symbol("x")), Arg, "Symbol"),
    ("manual_seed negative", lambda: sd.manual_seed(-1), Arg, "seed must be at least 0"),
    ("manual_seed float", lambda: sd.manual_seed(1.5), Arg, "seed must be an int"),
    ("manual_seed text", lambda: sd.manual_seed("a"), Arg, "seed must be an int"),
    ("manual_seed None", lambda: sd.manual_seed(None), Arg, "seed must be an int"),
    ("tensor data text", lambda: setattr(t, "data", "2.0"), Arg, "tensor 't': new data"),
    ("tensor grad text", lambda: setattr(t, "grad", ["a", "b"]), Arg, "grad of tensor 't'"),
    ("backward gradient text", lambda: (t * 2).backward("a"), Arg, "gradient is the text"),
    # ---- operators and ops ---------------------------------------------------------------
    ("x + None", lambda: x + None, Arg, "add: input 2 is None"),
    ("None + x", lambda: None + x, Arg, "add: input 1 is None"),
    ("x + [None]", lambda: x + [None], Arg, "add: input 2: an element is None"),
    ("x * text", lambda: x * "a", Arg, "mul: input 2 is the text 'a'"),
    ("x ** None", lambda: x ** None, Arg, "input 2 is None"),
    ("x ** text", lambda: x ** "2", Arg, "the text '2'"),
    ("x - complex", lambda: x - 1j, Arg, "sub: input 2 is the complex number"),
    ("x / huge int", lambda: x / 10**400, Arg, "div: input 2: the integer"),
    ("x > text", lambda: x > "a", Arg, "greater: input 2"),
    ("sin of text", lambda: sd.sin("x"), Arg, "sin: input 1 is the text 'x'.*sd.parse"),
    ("exp of None", lambda: sd.exp(None), Arg, "exp: input 1 is None"),
    ("maximum with text", lambda: sd.maximum(x, "a"), Arg, "maximum: input 2"),
    ("minimum with None", lambda: sd.minimum(x, None), Arg, "minimum: input 2 is None"),
    ("trace of text", lambda: sd.trace("A"), Arg, "trace: input 1 is the text"),
    ("det of None", lambda: sd.det(None), Arg, "det: input 1 is None"),
    ("logdet of complex", lambda: sd.logdet(np.eye(2) * 1j), Arg, "logdet: input 1: complex"),
    ("inv of objects", lambda: sd.inv([[None]]), Arg, "inv: input 1: an element is None"),
    ("where with text", lambda: sd.where("x > 0", x, 1.0), Arg, "where: input 1"),
    ("where with a number", lambda: sd.where(1.0, x, 1.0), Base, "condition must be"),
    ("matmul with text", lambda: sd.matmul(A, "b"), Arg, "matmul: input 2"),
    ("norm of None", lambda: sd.norm(None), Arg, r"sd\.norm: x is None"),
    ("norm ord array", lambda: sd.norm(v, ord=np.array([1])), Base, "ord must be"),
    ("norm ord text", lambda: sd.norm(v, ord="nuc"), Base, "ord='nuc'"),
    # -- p14 linear algebra, contraction, indexing
    ("norm ord unknown text", lambda: sd.norm(v, ord="max"), Arg, "ord must be None, a number"),
    ("norm ord 0", lambda: sd.norm(v, ord=0), sd.UnsupportedError, "ord=0 counts"),
    ("norm spectral", lambda: sd.norm(A, ord=2), sd.UnsupportedError, "singular values"),
    ("norm axis float", lambda: sd.norm(A, axis=0.5), Shape, "axis must be None, an int"),
    ("norm axis out of range", lambda: sd.norm(A, axis=2), Shape, "axis 2 is out of range"),
    ("norm fro of a vector", lambda: sd.norm(v, ord="fro"), Shape, "'fro' is a matrix norm"),
    ("norm keepdims text", lambda: sd.norm(v, keepdims="yes"), Arg, "keepdims must be True"),
    ("einsum subscripts None", lambda: sd.einsum(None, v), Arg, "subscripts must be a str"),
    ("einsum sublist form", lambda: sd.einsum(v, [0], v, [0]), Arg, "sublist form"),
    ("einsum no operands", lambda: sd.einsum("ij"), Arg, "no operands"),
    ("einsum operand count", lambda: sd.einsum("i,i->", v), Shape, "name 2 operand"),
    ("einsum bad character", lambda: sd.einsum("i$->i", v), Shape, "character '\$'"),
    ("einsum letter sizes", lambda: sd.einsum("ij,jk->ik", A, A), Shape,
     "letter 'j'.*size 3.*and 2"),
    ("einsum letter count", lambda: sd.einsum("ijk->i", A), Shape, "2 dimension"),
    ("einsum output letter", lambda: sd.einsum("ij->k", A), Shape, "'k' is in no input"),
    ("einsum operand None", lambda: sd.einsum("i->", None), Arg, "operand 0 is None"),
    ("tensordot axes float", lambda: sd.tensordot(A, A, 1.5), Arg, "axes must be an int"),
    ("tensordot axes range", lambda: sd.tensordot(A, A, ([2], [0])), Shape, "out of range"),
    ("tensordot sizes", lambda: sd.tensordot(A, A, 1), Shape, "letter"),
    ("tensordot b None", lambda: sd.tensordot(A, None), Arg, "sd.tensordot: b is None"),
    ("outer text", lambda: sd.outer("a", v), Arg, "sd.outer: a is the text"),
    ("inner shapes", lambda: sd.inner(A, sd.var("w2", (2,))), Shape, "letter"),
    ("inner None", lambda: sd.inner(v, None), Arg, "sd.inner: b is None"),
    ("solve not square", lambda: sd.solve(A, v), Shape, "solve: needs a square matrix A"),
    ("solve b length", lambda: sd.solve(sd.var("S", (2, 2)), v), Shape,
     "b must be a vector of length 2"),
    ("solve None", lambda: sd.solve(None, v), Arg, "sd.solve: a is None"),
    ("slogdet vector", lambda: sd.slogdet(v), Shape, "logabsdet: needs a square matrix"),
    ("slogdet None", lambda: sd.slogdet(None), Arg, "sd.slogdet: a is None"),
    ("cholesky not square", lambda: sd.cholesky(A), Shape, "cholesky: needs a square matrix"),
    ("cholesky upper text", lambda: sd.cholesky(sd.var("S", (2, 2)), upper="no"), Arg,
     "upper must be True or False"),
    ("index float array", lambda: A[np.array([0.5])], Shape, "must hold integers"),
    ("index out of bounds", lambda: A[np.arange(2), [0, 3]], Shape, "out of bounds"),
    ("index by a Node", lambda: v[sd.var("i", (2,))], Shape, "cannot be an index"),
    ("index by a boolean Node", lambda: v[v > 0], Shape, "use sd.where"),
    ("index shape mismatch", lambda: A[[0, 1], [0, 1, 2]], Shape, "could not be broadcast"),
    ("sum axis text", lambda: sd.sum(v, axis="a"), Shape, r"sd\.sum: axis must be"),
    ("sum axis float", lambda: sd.sum(v, axis=1.5), Shape, "axis must be.*float 1.5"),
    ("sum axis bool", lambda: sd.sum(v, axis=True), Shape, "axis must be.*bool"),
    ("sum keepdims text", lambda: sd.sum(v, keepdims="no"), Arg, "keepdims must be True or"),
    ("mean axis float", lambda: sd.mean(v, axis=0.0), Shape, r"sd\.mean: axis"),
    ("method sum axis text", lambda: v.sum(axis="a"), Shape, "sum: axis must be"),
    ("method mean keepdims", lambda: v.mean(keepdims=0.5), Arg, "keepdims"),
    ("logsumexp axis float", lambda: sd.logsumexp(v, axis=1.5), Shape, r"sd\.logsumexp"),
    ("softmax axis text", lambda: sd.softmax(v, axis="a"), Shape, r"sd\.softmax: axis"),
    ("reshape float", lambda: sd.reshape(v, (2.5,)), Shape, r"sd\.reshape: shape"),
    ("reshape text", lambda: sd.reshape(v, "3"), Shape, "not str"),
    ("reshape two -1", lambda: sd.reshape(v, (-1, -1)), Shape, "one -1 is allowed"),
    ("method reshape float", lambda: v.reshape(3.5), Shape, "reshape: shape"),
    ("method reshape float tuple", lambda: v.reshape((3.0,)), Shape, "has float"),
    ("broadcast_to float", lambda: sd.broadcast_to(v, (2.0, 3)), Shape, r"sd\.broadcast_to"),
    ("broadcast_to negative", lambda: sd.broadcast_to(v, (-2, 3)), Shape, "negative"),
    ("transpose float axes", lambda: sd.transpose(A, (1.0, 0.0)), Shape, r"sd\.transpose"),
    ("transpose text axes", lambda: sd.transpose(A, "10"), Shape, "axes must be"),
    ("method transpose float", lambda: A.transpose(1.0, 0.0), Shape, "transpose: axes"),
    ("step h0 text", lambda: sd.step(x, "a"), Arg, r"sd\.step: h0 must be a real number"),
    ("step h0 None", lambda: sd.step(x, None), Arg, "h0 must be a real number"),
    ("step h0 nan", lambda: sd.step(x, float("nan")), Arg, "h0 must be finite"),
    ("index float", lambda: v[1.5], Shape, "index: only basic indexing"),
    ("index text", lambda: v["a"], Shape, "index: only basic indexing"),
    ("index bool", lambda: v[True], Shape, "index"),
    # ---- evaluation ------------------------------------------------------------------
    ("evaluate text", lambda: sd.evaluate("x**2", x=1.0), Arg,
     r"sd\.evaluate needs a symdiff Node as f.*sd\.parse"),
    ("evaluate None", lambda: sd.evaluate(None), Arg, "sd.evaluate needs a symdiff Node"),
    ("eval values list", lambda: f.eval([1.0]), Base, "values must be a mapping"),
    ("eval value text", lambda: f.eval(x="1.0"), Base, "variable 'x': value '1.0'"),
    ("eval value None", lambda: f.eval(x=None), Base, "variable 'x': value None"),
    ("eval value complex", lambda: f.eval(x=1j), Base, "variable 'x'.*complex"),
    ("eval key int", lambda: f.eval({3: 1.0}), Arg, "keyed by variable names.*int 3"),
    ("eval key interior node", lambda: f.eval({x * 2: 1.0}), Arg, "keyed by variable"),
    ("eval unknown name", lambda: f.eval(y=1.0), sd.ExtraVariableError, "'y'"),
    ("vg f text", lambda: sd.value_and_grad("x**2", [x]), Arg,
     r"sd\.value_and_grad needs a symdiff Node as f"),
    ("vg wrt names", lambda: sd.value_and_grad(f, ["x"]), Arg,
     r"wrt\[0\] must be a variable node, not str 'x'.*sd\.var\('x'\)"),
    ("vg wrt name", lambda: sd.value_and_grad(f, "x"), Arg, "wrt must be a variable node"),
    ("vg wrt None", lambda: sd.value_and_grad(f, None), Arg, "wrt must be"),
    ("vg wrt number", lambda: sd.value_and_grad(f, 3), Arg, "wrt must be.*int 3"),
    ("vg wrt interior", lambda: sd.value_and_grad(f, [x * 2]), Var, r"variables or tensors"),
    ("vg wrt dict", lambda: sd.value_and_grad(f, {x: 1}), Arg, "wrt must be"),
    ("vg call values text", lambda: sd.value_and_grad(f, [x])(x="1"), Base, "variable 'x'"),
    # ---- derivatives -------------------------------------------------------------------
    ("diff f number", lambda: sd.diff(3.0, x), Arg, r"sd\.diff needs a symdiff Node as f"),
    ("diff f text", lambda: sd.diff("x**2", x), Arg, r"sd\.diff\(sd\.parse\('x\*\*2'\)"),
    ("diff f None", lambda: sd.diff(None, x), Arg, "sd.diff needs a symdiff Node"),
    ("diff f sympy unknown", lambda: sd.diff(sympy.Function("g")(sympy.Symbol("x")), x),
     sd.UnsupportedError, r"sd\.diff: no symdiff primitive"),
    ("from_sympy text", lambda: sd.from_sympy("x**2"), Arg, "expected a SymPy expression"),
    ("from_sympy shapes", lambda: sd.from_sympy(sympy.Symbol("x"), {"x": "big"}), Base,
     "the symbol 'x'"),
    ("diff f list", lambda: sd.diff([f], x), Arg, "not list"),
    ("diff x name", lambda: sd.diff(f, "x"), Arg, "x must be one variable node.*str 'x'"),
    ("diff x list", lambda: sd.diff(f, [x]), Arg, r"one variable node.*sd\.grad"),
    ("diff x None", lambda: sd.diff(f, None), Arg, "x must be one variable node"),
    ("diff x interior", lambda: sd.diff(f, x * 2), Var, "variables or tensors"),
    ("diff x constant", lambda: sd.diff(f, sd.const(1.0)), Var, "variables or tensors"),
    ("grad one node", lambda: sd.grad(f, x), Arg, r"wrt must be a list of variables.*\[x\]"),
    ("grad wrt None", lambda: sd.grad(f, None), Arg, "wrt must be a list of variable"),
    ("grad wrt name", lambda: sd.grad(f, "x"), Arg, "wrt must be a list"),
    ("grad wrt names", lambda: sd.grad(f, ["x"]), Arg, r"wrt\[0\]"),
    ("grad wrt numbers", lambda: sd.grad(f, [1.0]), Arg, r"wrt\[0\] must be a variable"),
    ("grad f text", lambda: sd.grad("x", [x]), Arg, "sd.grad needs a symdiff Node"),
    ("jacobian f text", lambda: sd.jacobian("x", x), Arg, "sd.jacobian needs"),
    ("jacobian x None", lambda: sd.jacobian(f, None), Arg, r"sd\.jacobian: x must be"),
    ("jacobian x names", lambda: sd.jacobian(f, ["x"]), Arg, r"x\[0\] must be"),
    ("hessian f text", lambda: sd.hessian("x", x), Arg, "sd.hessian needs"),
    ("hessian x None", lambda: sd.hessian(f, None), Arg, r"sd\.hessian: x must be"),
    ("hessian sparse text", lambda: sd.hessian(f, x, sparse="yes"), Base, "sparse must be"),
    ("formula f text", lambda: sd.formula("x**2"), Base, "needs a symdiff Node"),
    ("formula wrt name", lambda: sd.formula(f, "x"), Arg, "wrt"),
    ("formula lang", lambda: sd.formula(f, x, lang=3), Base, "unknown language 3"),
    ("formula name", lambda: sd.formula(f, x, name=None), Base, "name None"),
    # ---- checking --------------------------------------------------------------------
    ("check f text", lambda: sd.check("x**2"), Arg, r"sd\.check needs a symdiff Node as f"),
    ("check at list", lambda: sd.check(f, at=[1.0]), Arg, r"sd\.check: at must be a mapping"),
    ("check at value text", lambda: sd.check(f, at={"x": "1"}), Base, "variable 'x'"),
    ("check wrt name", lambda: sd.check(f, at={"x": 1.0}, wrt="x"), Arg, "wrt must be"),
    ("check wrt names", lambda: sd.check(f, at={"x": 1.0}, wrt=["x"]), Arg, r"wrt\[0\]"),
    ("check wrt interior", lambda: sd.check(f, at={"x": 1.0}, wrt=[x * 2]), Var, "variab"),
    ("check eps negative", lambda: sd.check(f, at={"x": 1.0}, eps=-1e-6), Arg,
     "eps must be greater than 0"),
    ("check eps text", lambda: sd.check(f, at={"x": 1.0}, eps="a"), Arg, "eps must be a real"),
    ("check atol None", lambda: sd.check(f, at={"x": 1.0}, atol=None), Arg, "atol must be"),
    ("check rtol nan", lambda: sd.check(f, at={"x": 1.0}, rtol=float("nan")), Arg,
     "rtol must be finite"),
    ("check seed negative", lambda: sd.check(f, at={"x": 1.0}, seed=-1), Arg,
     r"sd\.check: seed must be at least 0"),
    ("check seed float", lambda: sd.check(f, at={"x": 1.0}, seed=1.5), Arg, "seed must be an"),
    ("check sympy_seconds", lambda: sd.check(f, at={"x": 1.0}, sympy_seconds=-1), Arg,
     "sympy_seconds must be at least 0"),
    ("check sympy_seconds inf", lambda: sd.check(f, at={"x": 1.0},
                                                 sympy_seconds=float("inf")), Arg, "finite"),
    ("verify f number", lambda: sd.verify(3.0, {"x": "1"}), Base, "needs a symdiff Node"),
    ("verify claims list", lambda: sd.verify(f, ["x"]), Base, "claims must be"),
    # -- verifying gradient code (issue 14)
    ("verify function without at", lambda: sd.verify(lambda w: (w * w).sum(), lambda w: 2 * w),
     Arg, r"sd\.verify: f is the function .*give at="),
    ("verify function wrt unknown", lambda: sd.verify(lambda w: (w * w).sum(), lambda w: 2 * w,
                                                     at={"w": np.ones(2)}, wrt=["v"]),
     Var, "wrt names 'v', which is not a parameter"),
    ("verify_vjp forward not a function", lambda: sd.verify_vjp(3.0, lambda d, c: d,
                                                               at={"x": 1.0}), Arg,
     r"sd\.verify_vjp: forward must be a function"),
    ("verify_vjp at list", lambda: sd.verify_vjp(lambda x: x, lambda d: d, at=[1.0]), Arg,
     "at must be a mapping"),
    ("verify_vjp *args", lambda: sd.verify_vjp(lambda *xs: xs[0], lambda d: d, at={"x": 1.0}),
     Arg, r"takes \*xs"),
    # ---- text and pictures ---------------------------------------------------------------
    ("parse None", lambda: sd.parse(None), Arg, r"sd\.parse: text must be a str"),
    ("parse bytes", lambda: sd.parse(b"x"), Arg, "not bytes"),
    ("to_dot text", lambda: sd.to_dot("x"), Base, "expected a symdiff Node, got str"),
    ("explain None", lambda: sd.explain(None), Base, "expected a symdiff Node"),
    ("show text", lambda: sd.show("x**2"), Arg, r"sd\.show needs a symdiff Node as f"),
    ("render path None", lambda: sd.render(f, None), sd.RenderError, "path must be a file"),
    # ---- your own numpy code ---------------------------------------------------------
    ("from_function not a function", lambda: sd.from_function(3.0), Arg, "expected a function"),
    ("from_function *args", lambda: sd.from_function(lambda *a: a[0], ()), Arg, r"takes \*a"),
    ("from_function missing parameter", lambda: sd.from_function(lambda w, X: X @ w, w=(2,)),
     Arg, "missing a required argument: 'X'"),
    ("from_function extra parameter", lambda: sd.from_function(lambda w: w, w=(2,), Z=1),
     Arg, "unexpected keyword argument 'Z'"),
    ("from_function returns text", lambda: sd.from_function(lambda w: "w", w=()), Arg,
     "returned str"),
]
# every elementwise function made from the table, given text
UNARY = ["exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sqrt", "abs", "sign"]
# -- issue 14: the elementwise functions named as numpy's
UNARY += ["log1p", "expm1", "square", "reciprocal", "cbrt", "exp2", "log2", "log10", "arcsin",
          "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "erf",
          "softplus"]
CASES += [
    ("arctan2 text", lambda: sd.arctan2(x, "y"), Arg, "arctan2: input 2 is the text 'y'"),
    ("logaddexp None", lambda: sd.logaddexp(None, x), Arg, "logaddexp: input 1 is None"),
    ("hypot shapes", lambda: sd.hypot(v, A.T), Shape, r"hypot: shapes \(3,\) and \(3, 2\)"),
    ("clip text bound", lambda: sd.clip(x, "0", 1.0), Arg, "clip: input 2 is the text '0'"),
    ("clip no bound", lambda: sd.clip(x, None, None), Base, "a_min and a_max are both None"),
    ("clip shapes", lambda: sd.clip(v, A.T, 1.0), Shape, "clip: shapes"),
]
CASES += [(f"sd.{name} of text", lambda name=name: getattr(sd, name)("x"), Arg,
           f"{name}: input 1 is the text 'x'") for name in UNARY]


# -- reductions and shapes: sd.max ... sd.diag ------------------------------------------
Unsupported = sd.UnsupportedError
CASES += [
    ("max axis float", lambda: sd.max(v, axis=1.5), Shape, r"sd\.max: axis must be.*1\.5"),
    ("max of text", lambda: sd.max("v"), Arg, r"sd\.max: x is the text 'v'"),
    ("max keepdims text", lambda: sd.max(v, keepdims="yes"), Arg, "keepdims must be True"),
    ("max over an empty axis", lambda: sd.max(sd.var("E", (0, 2)), axis=0), Shape,
     "maximum over axis 0 of length 0"),
    ("min axis out of range", lambda: sd.min(A, axis=2), Shape, "axis 2 is out of range"),
    ("prod of None", lambda: sd.prod(None), Arg, r"sd\.prod: x is None"),
    ("prod axis repeated", lambda: sd.prod(A, axis=(0, 0)), Shape, r"repeated axis"),
    ("cumsum axis tuple", lambda: sd.cumsum(A, axis=(0, 1)), Shape,
     r"sd\.cumsum: axis must be an int"),
    ("cumsum axis out of range", lambda: sd.cumsum(v, axis=1), Shape, "axis 1 is out of"),
    ("variance ddof too large", lambda: sd.variance(v, ddof=3), Shape,
     r"sd\.variance: ddof=3 leaves no degrees of freedom"),
    ("variance ddof text", lambda: sd.variance(v, ddof="1"), Arg, "ddof must be a real"),
    ("std axis text", lambda: sd.std(A, axis="0"), Shape, r"sd\.std: axis must be"),
    ("log_softmax axis float", lambda: sd.log_softmax(v, axis=0.5), Shape,
     r"sd\.log_softmax: axis"),
    ("concatenate not a list", lambda: sd.concatenate(3.0), Arg,
     r"sd\.concatenate: arrays must be a list"),
    ("concatenate nothing", lambda: sd.concatenate([]), Arg, "at least one array"),
    ("concatenate scalars", lambda: sd.concatenate([x, x]), Shape, "scalars cannot be"),
    ("concatenate shapes", lambda: sd.concatenate([A, v]), Shape,
     r"arrays\[1\] has shape \(3,\), which does not fit"),
    ("concatenate text", lambda: sd.concatenate([v, "a"]), Arg, r"arrays\[1\] is the text"),
    ("stack shapes", lambda: sd.stack([A, v]), Shape, r"sd\.stack: all arrays must have"),
    ("stack axis", lambda: sd.stack([v, v], axis=3), Shape, "axis 3 is out of range"),
    ("split unequal", lambda: sd.split(v, 2), Shape, "does not split into 2 equal"),
    ("split float", lambda: sd.split(v, 1.5), Arg, "indices_or_sections must be an int"),
    ("split zero", lambda: sd.split(v, 0), Arg, "must be at least 1"),
    ("split scalar", lambda: sd.split(x, 1), Shape, "a scalar cannot be split"),
    ("expand_dims axis", lambda: sd.expand_dims(v, 3), Shape, r"sd\.expand_dims: axis 3"),
    ("expand_dims repeated", lambda: sd.expand_dims(v, (0, 0)), Shape, "repeated axis"),
    ("squeeze not one", lambda: sd.squeeze(A, 0), Shape, "has length 2, not 1"),
    ("swapaxes float", lambda: sd.swapaxes(A, 0, 1.0), Shape, "axis2 must be an int"),
    ("moveaxis lengths", lambda: sd.moveaxis(A, (0, 1), 0), Shape,
     "different numbers of axes"),
    ("flip axis", lambda: sd.flip(v, 1), Shape, r"sd\.flip: axis 1 is out of range"),
    ("pad negative", lambda: sd.pad(v, -1), Arg, "pad_width must be at least 0"),
    ("pad float", lambda: sd.pad(v, 1.5), Arg, "pad_width must be an int"),
    ("pad mode", lambda: sd.pad(v, 1, mode="reflect"), Unsupported, "mode='reflect'"),
    ("pad widths per axis", lambda: sd.pad(A, ((1, 1), (1, 1), (1, 1))), Shape,
     "does not fit the 2 axes"),
    ("pad values text", lambda: sd.pad(v, 1, constant_values="a"), Arg, "constant_values"),
    ("pad values vector node", lambda: sd.pad(v, 1, constant_values=v), Shape,
     "must be a scalar"),
    ("tile negative", lambda: sd.tile(v, -1), Arg, "reps must be at least 0"),
    ("tile float", lambda: sd.tile(v, 2.0), Arg, "reps must be an int"),
    ("repeat counts", lambda: sd.repeat(v, [1, 2]), Shape, "2 counts for an axis of length 3"),
    ("repeat negative", lambda: sd.repeat(v, -1), Arg, "repeats must be at least 0"),
    ("diagonal of a vector", lambda: sd.diagonal(v), Shape, "at least two dimensions"),
    ("diagonal same axes", lambda: sd.diagonal(A, 0, 1, 1), Shape, "the same axis"),
    ("diagonal offset float", lambda: sd.diagonal(A, 0.5), Arg, "offset must be an int"),
    ("diag of 3-D", lambda: sd.diag(sd.var("T", (2, 2, 2))), Shape, "must be 1-D .* or 2-D"),
    ("diag k text", lambda: sd.diag(v, "1"), Arg, "k must be an int"),
    ("diag k huge", lambda: sd.diag(v, 10**12), Shape, "more elements than"),
]

@pytest.mark.parametrize("label, call, error, pattern", CASES, ids=[c[0] for c in CASES])
def test_bad_argument(label, call, error, pattern):
    with pytest.raises(error, match=pattern) as e:
        call()
    assert isinstance(e.value, sd.SymdiffError)


def test_the_table_covers_the_public_functions():
    """Each public function (and Node's argument-taking methods) has a row above."""
    text = inspect.getsource(inspect.getmodule(test_bad_argument))
    labels = {c[0] for c in CASES}
    takes_nothing = ("hessian_info", "supported_numpy")   # no argument to get wrong
    missing = [name for name in _public_functions() if name not in takes_nothing
               and f"sd.{name}(" not in text and f"sd.{name} of text" not in labels]
    assert missing == []


def test_argument_errors_are_type_and_value_errors():
    with pytest.raises(TypeError):
        sd.const(None)
    with pytest.raises(ValueError):
        sd.manual_seed(-1)
    assert issubclass(sd.ArgumentError, sd.SymdiffError)


# ---- every public function, values that are wrong everywhere -----------------------------

WRONG_EVERYWHERE = [None, 1 + 2j, object(), np.array([object()]), [None], {"a": 1.0}]

FILL = {"x": x, "y": x, "a": A, "b": v, "cond": x > 0, "wrt": [x], "claims": {"x": "1"},
        "path": "unused.svg", "shape": (3,), "at": None}


def _public_functions() -> list[str]:
    return [name for name in sd.__all__ if inspect.isfunction(getattr(sd, name))]


def _calls():
    for name in _public_functions():
        if name == "hessian_info":    # documented: None for anything not from sd.hessian
            continue
        fn = getattr(sd, name)
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                          p.POSITIONAL_OR_KEYWORD)]
        if not params and not any(p.kind is p.VAR_POSITIONAL
                                  for p in inspect.signature(fn).parameters.values()):
            continue   # takes no arguments: there is nothing to get wrong
        for i in range(max(len(params), 1)):
            for k, bad in enumerate(WRONG_EVERYWHERE):
                args = [FILL.get(p.name, x) for p in params]
                if args:
                    args[i] = bad
                else:
                    args = [bad]
                where = params[i].name if params else "*args"
                yield pytest.param(fn, args, id=f"{name}-{where}-{k}")


@pytest.mark.parametrize("fn, args", list(_calls()))
def test_every_public_function(fn, args):
    with pytest.raises(sd.SymdiffError):
        fn(*args)
