"""The four commands of the ``symdiff`` command line: diff, verify, graph, explain.

Each ``run_*`` takes argparse's namespace and returns the exit status (0 ok, 1 a check or
claim failed); bad input raises a ``SymdiffError``, which ``symdiff.cli.main`` prints as
one line with status 2. ``main`` runs each command under one SymPy budget
(``symdiff.budget.limit``, ``--sympy-seconds``): every SymPy step here and in ``sd.check``
and ``sd.verify`` takes its time from it. Imports the public ``symdiff`` API and the
budget.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional

import numpy as np

import symdiff as sd
from symdiff.budget import OutOfTime, run_within
from symdiff.cli.values import UsageError, parse_at, parse_shapes, parse_wrt, quoted
from symdiff.derivatives.formula import formula


def run_verify(args: argparse.Namespace) -> int:
    """``symdiff verify``: exit 0 when every claim is right, 1 otherwise."""
    if args.code is not None or args.grad is not None or args.vjp is not None:
        if args.code is None:
            raise UsageError(f"{'--grad' if args.grad else '--vjp'} goes with --code FILE:FUNC, "
                             "the function whose gradient it computes")
        from symdiff.cli.code import run_verify_code
        return run_verify_code(args)
    if args.expression is None:
        raise UsageError("verify: give a formula and --claim, or --code FILE:FUNC with "
                         "--grad or --vjp")
    if args.wrt:
        raise UsageError("--wrt goes with --code; a formula's --claim names the variables")
    f, point, variables = _expression(args)
    _assume(args.assume, variables)
    if not args.claim:
        raise UsageError("verify: give at least one --claim NAME=FORMULA")
    claims: dict[str, str] = {}
    for item in args.claim:
        name, sep, text = (part.strip() for part in item.partition("="))
        if not sep or not name.isidentifier() or not text:
            raise UsageError(f"--claim: expected NAME=FORMULA, got {item!r}")
        if name not in variables:
            raise UsageError(f"--claim: '{name}' is not a variable of the expression "
                             f"(its variables: {', '.join(sorted(variables)) or 'none'})")
        if name in claims:
            raise UsageError(f"--claim: '{name}' is given twice")
        claims[name] = text
    report = sd.verify(f, claims, at=point or None, sympy_seconds=args.sympy_seconds,
                       notation=args.notation)
    print(report)
    if report.ok:
        return 0
    print(f"symdiff: verify: {report.status}", file=sys.stderr)
    return 1


def run_graph(args: argparse.Namespace) -> int:
    """``symdiff graph``: DOT text on stdout, or a file with ``-o``."""
    f, point, _ = _expression(args)
    at = point or None
    if args.title is not None and args.no_title:
        raise UsageError("--title and --no-title: give one of them")
    style = {"rankdir": args.rankdir, "legend": not args.no_legend,
             "hide_constants": args.hide_constants}
    if args.no_title or args.title is not None:
        style["title"] = None if args.no_title else args.title
    if not args.output:
        print(sd.to_dot(f, at=at, **style).rstrip("\n"))
        return 0
    try:
        path = sd.render(f, args.output, at=at, dpi=args.dpi, **style)
    except sd.SymdiffError:
        raise
    except (OSError, ValueError) as e:   # a directory that does not exist, a null byte
        raise UsageError(f"-o {quoted(args.output)}: cannot write the file "
                         f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") \
            from None
    print(f"wrote {path}")
    return 0


def run_explain(args: argparse.Namespace) -> int:
    """``symdiff explain``: the chain-rule steps of the backward sweep; with ``--html`` the
    stepping page instead."""
    f, point, _ = _expression(args)
    text = sd.explain(f, at=point or None)
    if not args.html:
        print(text.rstrip("\n"))
        return 0
    print(f"wrote {text.save(args.html)}")
    return 0


def _assume(items: list, variables: dict) -> None:
    """``--assume S=symmetric`` / ``t=probability`` / ``t=labels(-1, 1)`` (issue 15): the
    parsed variable carries the assumption, as ``sd.var(..., symmetric=True)`` makes it."""
    from symdiff.graph.assumptions import assume, spelled
    for item in items or []:
        name, sep, kind = (part.strip() for part in item.partition("="))
        if not sep or name not in variables:
            raise UsageError(f"--assume: expected NAME=symmetric, NAME=probability or "
                             f"'NAME=labels(-1, 1)' for a variable of the expression, got "
                             f"{item!r}")
        try:
            assume(variables[name], *spelled(kind, variables[name].shape, name))
        except sd.SymdiffError as e:
            raise UsageError(f"--assume: {e}") from None


def _expression(args: argparse.Namespace) -> tuple:
    """The parsed expression, the point of ``--at`` and the variables by name."""
    point = parse_at(args.at)
    shapes = {name: np.shape(v) for name, v in point.items()}
    for name, shape in parse_shapes(args.shape).items():
        if name in point and shapes[name] != shape:
            raise UsageError(f"--at {name}: value has shape {shapes[name]}, "
                             f"but --shape says {shape}")
        shapes[name] = shape
    f = sd.parse(args.expression, shapes)
    variables = {n.name: n for n in f.nodes() if n.op == "var"}
    for name in shapes:
        if name not in variables:
            option = "--at" if name in point else "--shape"
            raise UsageError(f"{option}: '{name}' is not a variable of the expression "
                             f"(its variables: {', '.join(sorted(variables)) or 'none'})")
    return f, point, variables


def run_diff(args: argparse.Namespace) -> int:
    """``symdiff diff``: closed forms; with ``--at`` the value, gradient and check table."""
    f, point, variables = _expression(args)
    wrt = [variables[name] for name in parse_wrt(args.wrt, variables)]
    # all the work first, so that bad input stops before anything is printed; the closed
    # forms before the check, as they are the command's first answer: the check's own
    # SymPy step gets what is left of the budget (and falls back to sd.grad without it)
    text = _formula_text(f, wrt, args)
    forms = [] if text is not None else \
        [_closed_form(f, args)] + [_closed_form(sd.diff(f, w), args) for w in wrt]
    if args.at:
        value, grads = sd.value_and_grad(f, wrt)(point)
        report = sd.check(f, at=point, wrt=wrt, sympy_seconds=args.sympy_seconds)

    if text is not None:
        print(text.rstrip("\n"))
    else:
        for label, form in zip(["f"] + [f"df/d{w.name}" for w in wrt], forms):
            _show(label, form)
    if not args.at:
        return 0
    if any(np.ndim(v) for v in point.values()):
        print("\nat:")
        for name, v in point.items():
            _show(name, v, indent="  ")
    else:
        print("\nat " + ", ".join(f"{name} = {v:.10g}" for name, v in point.items()))
    print("value and gradient (reverse mode):")
    _show("f", value, indent="  ")
    for w, g in zip(wrt, grads):
        _show(f"df/d{w.name}", g, indent="  ")
    print(f"\n{report}")
    if report.ok:
        return 0
    reasons = report.problems or sorted({e.verdict for e in report.entries if e.verdict != "ok"})
    print(f"symdiff: check failed: {'; '.join(reasons)}", file=sys.stderr)
    return 1


CODE_LANGUAGES = ("python", "c", "jax", "pytorch", "julia", "rust", "fortran")
"""The values ``--code`` accepts."""


def _formula_text(f: sd.Node, wrt: list, args: argparse.Namespace) -> Optional[str]:
    """The text ``--latex`` or ``--code`` asks for, or None for the plain closed forms."""
    if args.latex and args.code is not None:
        raise UsageError("--latex and --code each replace the closed forms; give only one")
    order = getattr(args, "order", None)
    if order is not None:
        if not (args.latex or args.code is not None):
            raise UsageError("--order goes with --latex or --code (the formula it prints)")
        if order.strip() not in ("1", "2"):
            raise UsageError(f"--order: expected 1 (the gradient or Jacobian) or 2 (the "
                             f"Hessian), got {order!r}")
        args.order = int(order)
    if args.code is not None:
        lang = args.code.strip().lower()
        if lang not in CODE_LANGUAGES:
            raise UsageError(f"--code: expected one of {', '.join(CODE_LANGUAGES)}, "
                             f"got {args.code!r}")
        return _budgeted_formula(f, wrt, lang, args)
    return _budgeted_formula(f, wrt, "latex", args) if args.latex else None


def _budgeted_formula(f: sd.Node, wrt: list, lang: str, args: argparse.Namespace) -> str:
    # SymPy's simplification can be exponential on nested functions: a command must not
    # hang on any text, so the formula takes its time from the command's budget
    try:
        order = getattr(args, "order", None) or 1
        return run_within(args.sympy_seconds, lambda: formula(f, wrt, lang=lang, order=order))
    except OutOfTime:
        raise sd.ClosedFormError(f"SymPy did not finish the formula within the command's "
                                 f"budget of {args.sympy_seconds:g} s (its simplification of "
                                 "nested functions can be exponential; --sympy-seconds sets "
                                 "the budget); run without --latex/--code for the numbers"
                                 ) from None
    except RecursionError:
        raise sd.ClosedFormError("the formula is nested too deeply for SymPy's printers; "
                                 "run without --latex/--code for the numbers") from None


def _closed_form(node: sd.Node, args: argparse.Namespace) -> str:
    """The closed form as text, or why there is none: the budget of the whole command
    (``main``'s limit) is shared by all of them, and once it is spent the rest say so
    at once."""
    try:
        return run_within(args.sympy_seconds, lambda: str(node.sympy()))
    except sd.ClosedFormError as e:
        return f"(no closed form: {str(e).splitlines()[0]})"
    except OutOfTime:
        return (f"(no closed form: SymPy did not finish within the command's budget of "
                f"{args.sympy_seconds:g} s; --sympy-seconds sets it)")
    except RecursionError:   # SymPy's printer recurses once per level of the formula
        return "(no closed form: nested too deeply for SymPy's printer)"


def _show(label: str, v: object, indent: str = "") -> None:
    """Print ``label = v``; arrays line up under their first row."""
    if isinstance(v, str):
        print(f"{indent}{label} = {v}")
        return
    arr = np.asarray(v)
    prefix = f"{indent}{label} = "
    text = f"{float(arr):.10g}" if arr.ndim == 0 else \
        np.array2string(arr, precision=10, prefix=prefix)
    print(prefix + text)
