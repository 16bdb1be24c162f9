"""Reading ``sd.verify``'s inputs when code is involved: f as a Python function (traced at
the shapes of ``at``), and claims that are functions (one for all of ``wrt``, or one per
variable in the dict form).

A claim function is called with the same arguments as f: for a traced function, exactly
as f is called (the wrt inputs at the point compared, the others as given in ``at``); for
a Node f, by keyword, its parameters named after f's variables (and after values in
``at`` that are not variables of f, passed as they are). It returns the gradient: one
array, or a tuple or list (in the order of ``wrt``), or a dict by name.

May import numpy, ``symdiff.errors``, ``symdiff.graph`` and ``symdiff.checking``
(claims, code, report).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

import numpy as np

from symdiff.checking.claims import read_claims
from symdiff.checking.code import (CodeClaim, GradientCodeError, as_graph, call_text, choose_wrt,
                                   is_float_value, name_of, parameters, run, scalar, trace,
                                   unpack)
from symdiff.errors import ArgumentError
from symdiff.graph.node import Node
from symdiff.graph.walks import graph_leaves, topological


@dataclass
class Inputs:
    """f, the variables claimed, the claims (Nodes or ``CodeClaim``) and what code needs."""

    f: Node
    wrt: list
    claims: list
    texts: dict
    calls: list = field(default_factory=list)      # values -> {name: array}
    code_names: list = field(default_factory=list)
    held: dict = field(default_factory=dict)       # inputs outside the graph, by name
    at_graph: Optional[dict] = None                # the point asked, graph variables only
    held_names: list = field(default_factory=list)  # for the report: inputs outside wrt
    order: list = field(default_factory=list)       # how the report lists a point
    title: str = ""
    truth_texts: dict = field(default_factory=dict)


def is_function(f: Any) -> bool:
    """A Python function given as f (not a Node, not formula text, not a SymPy object)."""
    return callable(f) and not isinstance(f, (Node, str, type)) and \
        (type(f).__module__ or "").split(".")[0] != "sympy"


def has_code(claims: Any) -> bool:
    if isinstance(claims, Mapping):
        return any(is_function(v) for v in claims.values())
    return is_function(claims)


def read_traced(fn: Any, claims: Any, at: Optional[Mapping], wrt: Any, who: str,
                notation: str = "auto") -> Inputs:
    """f a Python function: traced with a variable for each wrt input."""
    fname = name_of(fn)
    if at is None:
        raise ArgumentError(f"{who}: f is the function {fname}; give at={{...}} with a value "
                            "for each of its parameters (the wrt ones set the variables' "
                            "shapes; the others are held at their values)")
    at = {k.name if isinstance(k, Node) else k: v for k, v in at.items()}
    params = parameters(fn, at, who)
    if isinstance(claims, Mapping):
        keys = [k.name if isinstance(k, Node) else str(k) for k in claims]
        if wrt is not None and sorted(choose_wrt(wrt, at, params, fn, who)) != sorted(keys):
            raise ArgumentError(f"{who}: wrt names {wrt!r}, but the claims are for "
                                f"{', '.join(keys)}; give one of the two")
        names = choose_wrt(keys, at, params, fn, who)
    else:
        names = choose_wrt(wrt, at, params, fn, who)
    result, variables = trace(fn, at, names, who)
    f = scalar(as_graph(result, fn, who), fn, who)
    candidates = [p for p in params if p in at and is_float_value(at[p])]
    shapes = {v.name: v.shape for v in variables}
    given = list(at)

    def arguments(values: dict) -> tuple:
        bound = inspect.signature(fn).bind(**{p: values[p] for p in given})
        return bound.args, bound.kwargs

    inputs = Inputs(f, variables, [], {})
    if isinstance(claims, Mapping):
        keyed = {v: claims[k] for v, k in zip(variables, claims)}
        inputs.wrt, inputs.claims, inputs.texts = read_claims(keyed, graph_leaves(
            topological([f])), notation)
        for c in inputs.claims:
            if isinstance(c, CodeClaim):
                inputs.calls.append(_positional(c.function, [c.name], shapes, arguments, []))
                inputs.texts[c.name] = call_text(c.function, _params(c.function, params))
    else:
        claim_params = _params(claims, params)
        inputs.calls.append(_positional(claims, names, shapes, arguments, candidates,
                                        defaulted=wrt is None))
        inputs.claims = [CodeClaim(claims, n) for n in names]
        inputs.texts = {n: call_text(claims, claim_params, k if len(names) > 1 else None)
                        for k, n in enumerate(names)}
    inputs.code_names = [c.name for c in inputs.claims if isinstance(c, CodeClaim)]
    graph = {leaf.name for leaf in topological([f]) if leaf.op == "var"}
    inputs.held = {k: v for k, v in at.items() if k not in graph}
    inputs.at_graph = {k: v for k, v in at.items() if k in graph}
    inputs.held_names = [p for p in given if p not in names]
    inputs.order = params
    codes = sorted({name_of(c.function) for c in inputs.claims if isinstance(c, CodeClaim)})
    inputs.title = f"{', '.join(codes) or 'the claims'}, the gradient of {fname}"
    inputs.truth_texts = {n: f"d {fname}/d{n} (reverse mode of the traced {fname})"
                          for n in names}
    return inputs


def read_node_claims(f: Node, claims: Any, at: Optional[Mapping], wrt: Any,
                     who: str, notation: str = "auto") -> Inputs:
    """f a Node; claims a function (for ``wrt``, default every variable of f) or a dict
    with functions among its values: called by keyword."""
    leaves = graph_leaves(topological([f]))
    if not isinstance(claims, Mapping):
        if wrt is None:
            names = [n for n, leaf in leaves.items() if leaf.op == "var"]
        else:
            names = [w.name if isinstance(w, Node) else w
                     for w in ([wrt] if isinstance(wrt, (str, Node)) else wrt)]
        claims = {n: CodeClaim(claims, n) for n in names}
    keyed = {k: (v.function if isinstance(v, CodeClaim) else v) for k, v in claims.items()}
    wrt_nodes, nodes, texts = read_claims(keyed, leaves, notation)
    inputs = Inputs(f, wrt_nodes, nodes, texts)
    point = {} if at is None else {k.name if isinstance(k, Node) else str(k): v
                                   for k, v in at.items()}
    inputs.held = {k: v for k, v in point.items() if k not in leaves}
    inputs.at_graph = None if at is None else {k: v for k, v in point.items() if k in leaves}
    inputs.held_names = list(inputs.held)
    shapes = {w.name: w.shape for w in wrt_nodes}
    by_function: dict[int, list] = {}
    for c in nodes:
        if isinstance(c, CodeClaim):
            by_function.setdefault(id(c.function), []).append(c)
    for group in by_function.values():
        fn, names = group[0].function, [c.name for c in group]
        known = set(leaves) | set(inputs.held)
        inputs.calls.append(_keyword(fn, names, shapes, known, who))
        for k, n in enumerate(names):
            inputs.texts[n] = call_text(fn, _params(fn, []), k if len(names) > 1 else None)
    inputs.code_names = [c.name for c in nodes if isinstance(c, CodeClaim)]
    return inputs


def _params(fn: Any, fallback: list) -> list:
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return list(fallback)


def _expected(names: list, defaulted: bool = False) -> str:
    many = len(names) > 1
    return (f"{'a tuple of ' + str(len(names)) + ' arrays, ' if many else 'one array, '}"
            f"the gradient{'s' if many else ''} of {', '.join(names)}"
            + (" in that order (or a dict by name)" if many else "")
            + ("; wrt defaults to every float array in at: pass wrt=[...] to name the inputs "
               "the code returns gradients for" if defaulted else ""))


def _positional(fn: Callable, names: list, shapes: dict, arguments: Callable,
                candidates: list, defaulted: bool = False) -> Callable[[dict], tuple]:
    """The claim called with f's own arguments."""
    what = name_of(fn)
    expected = _expected(names, defaulted)

    def call(values: dict) -> tuple:
        args, kwargs = arguments(values)
        result = run(fn, args, kwargs, {n: values[n] for n in names}, what)
        return unpack(result, names, shapes, what, expected,
                      candidates if len(candidates) > len(names) else ())
    return call


def _keyword(fn: Callable, names: list, shapes: dict, known: set, who: str
             ) -> Callable[[dict], tuple]:
    """The claim called by keyword with the values of its parameters' names."""
    what = name_of(fn)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as e:
        raise GradientCodeError(f"{who}: cannot read the parameters of {what} ({e})") from None
    takes_all = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    wanted = [p.name for p in sig.parameters.values()
              if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    missing = [p.name for p in sig.parameters.values()
               if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
               and p.name not in known]
    if missing:
        raise GradientCodeError(
            f"{who}: {what} is called with f's variables by name, but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} neither a variable of f nor given in at "
            f"(f's variables and the values at gives: {', '.join(sorted(known)) or 'none'})")
    expected = _expected(names)

    def call(values: dict) -> dict:
        kwargs = {k: v for k, v in values.items() if takes_all or k in wanted}
        result = run(fn, (), kwargs, {n: values[n] for n in names if n in values}, what)
        if isinstance(result, (tuple, list)) and len(result) == 1 and len(names) == 1:
            result = result[0]
        return unpack(result, names, shapes, what, expected)
    return call


def no_claims(claims: Any) -> bool:
    return claims is None or (isinstance(claims, Mapping) and not claims) or \
        (isinstance(claims, np.ndarray) and claims.size == 0)
