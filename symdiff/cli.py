"""The ``symdiff`` command line (also ``python -m symdiff``).

Usage::

    symdiff diff "x**2 + 3" --wrt x --at x=7
    symdiff verify "x**3 + 7*x**2 + 5*x + 10" --claim "x=3*x**2 + 14*x + 5"
    symdiff graph "(a+b)*(b+1)" --at a=3,b=1 -o graph.svg   # .dot .svg .png .pdf
    symdiff explain "(a+b)*(b+1)" --at a=3,b=1
    symdiff diff "x*y + y**2" --at x=2,y=3              # --wrt defaults to every variable
    symdiff diff "sum(W @ v)" --shape W=2,3 --at "W=[[1,2,3],[4,5,6]]" --at "v=[1,0,2]"

``diff`` prints the closed form of ``f`` and of each derivative; with ``--at`` it also
prints the value, the gradient from the numeric reverse mode and the cross-check table of
``sd.check`` (closed form vs reverse mode vs finite differences).

* ``--wrt`` may be repeated or comma-separated; default: all variables, sorted by name.
* ``--at`` takes ``name=value`` pairs separated by commas and may be repeated; a value is a
  number or a nested list (read with ``ast.literal_eval``, never ``eval``).
* ``--shape W=2,3`` declares an array variable; an array value in ``--at`` also implies
  its shape.
* ``--latex`` prints the derivatives as one LaTeX ``aligned`` block instead of the plain
  closed forms; ``--code python`` / ``--code c`` prints a gradient function's source
  instead (both from ``sd.formula``; give one of the two). With ``--at`` as well, the
  value, gradient and check table follow the formula after a blank line; without it the
  output is exactly the formula, so ``--code python > grad.py`` gives an importable file.

Exit status: 0 when the check passes (or no ``--at`` was given), 1 when it fails (for
instance at a kink such as ``relu(x)`` at ``x=0``), 2 on bad input, with one line on
stderr starting ``symdiff: error:``.
"""
from __future__ import annotations

import argparse
import ast
import math
import os
import re
import sys
from typing import Optional, Sequence

import numpy as np

import symdiff as sd
from symdiff.derivatives.formula import formula
from symdiff.text.numbers import fits_float
from symdiff.budget import SYMPY_SECONDS, OutOfTime, run_within


class UsageError(sd.SymdiffError):
    """A command-line argument symdiff cannot use (reported with exit status 2)."""


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 check failed, 2 bad input).

    >>> main(["diff", "x**2 + 3", "--wrt", "x"])
    f = x**2 + 3
    df/dx = 2*x
    0
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed usage and its message already
        return e.code if isinstance(e.code, int) else 2
    try:
        return args.run(args)
    except sd.SymdiffError as e:
        print(f"symdiff: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except MemoryError:  # shapes and values are bounded, but a formula can still be huge
        print("symdiff: error: out of memory (the expression, its shapes or its values are "
              "too large)", file=sys.stderr)
        return 2
    except BrokenPipeError:  # piped into head & co.: stop quietly, with the status of SIGPIPE
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13


def _one_line(e: sd.SymdiffError) -> str:
    message = (str(e).splitlines() or [type(e).__name__])[0]
    text = getattr(e, "text", "")  # a ParseError shows where in the text, on one line
    if text and "\n" not in text and len(text) <= 80:
        message += f" in {text!r}"
    return message


_OPTION_LIKE = re.compile(r"--?[A-Za-z][A-Za-z0-9_-]*(=.*)?", re.DOTALL)


class _Parser(argparse.ArgumentParser):
    """argparse, except that an argument starting with '-' that cannot be an option, such
    as the expression "-x**2" or "-2*x", is positional (argparse took it for an unknown
    option and printed usage; "-h*x" was even read as -h)."""

    def _parse_optional(self, arg_string: str):  # type: ignore[override]
        if arg_string[:1] == "-" and arg_string != "--" and len(arg_string) > 1 \
                and not _OPTION_LIKE.fullmatch(arg_string):
            return None
        return super()._parse_optional(arg_string)

    def _get_values(self, action, arg_strings):  # type: ignore[override]
        # Python < 3.12 drops a "--" given as an option's own value (--wrt=--), handing the
        # action an empty list instead of the text; keep it as text so it is judged as one
        if action.option_strings and action.nargs is None and arg_strings == ["--"]:
            value = self._get_value(action, "--")
            self._check_value(action, value)
            return value
        return super()._get_values(action, arg_strings)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="symdiff", description="Symbolic plus numeric differentiation on one graph.")
    parser.add_argument("--version", action="version", version=f"symdiff {sd.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="command", required=True)
    diff = commands.add_parser(
        "diff", help="closed forms, value, gradient and the cross-check table",
        description="Print f's closed form and its derivatives; with --at, also the value, "
                    "the reverse-mode gradient and sd.check's table (exit 1 if it fails).")
    _point_options(diff, 'formula, e.g. "x**2 + 3"',
                   'the point, e.g. x=7,y=2 or "W=[[1,2],[3,4]]" (repeatable)')
    diff.add_argument("--wrt", action="append", default=[], metavar="NAMES",
                      help="variables to differentiate by (repeat or comma-separate; "
                           "default: all)")
    diff.add_argument("--latex", action="store_true",
                      help="print the derivatives as LaTeX instead of the plain closed forms")
    # no argparse choices: a bad value must give symdiff's one-line error, not usage text
    diff.add_argument("--code", metavar="LANG",
                      help="print a gradient function's source instead: python or c")
    diff.set_defaults(run=run_diff)

    verify = commands.add_parser(
        "verify", help="check a hand-derived derivative against symdiff's",
        description="Compare claimed derivatives with symdiff's, symbolically (SymPy) and "
                    "at points inside the domain; exit 0 when every claim is right, 1 with a "
                    "counterexample when one is wrong.")
    _point_options(verify, 'formula, e.g. "x**3 + 7*x**2 + 5*x + 10"',
                   "also compare at this point (a kink there is reported)")
    verify.add_argument("--claim", action="append", default=[], metavar="NAME=FORMULA",
                        help='the claimed df/dNAME, e.g. "x=3*x**2 + 14*x + 5" (repeatable; '
                             "matrix notation as symdiff prints it: 2*A.T*(A*x - b))")
    verify.set_defaults(run=run_verify)

    graph = commands.add_parser(
        "graph", help="draw the graph: values, gradients and the partial on every edge",
        description="Write the computational graph as Graphviz DOT or a picture rendered by "
                    "Graphviz's dot (.svg, .png, .pdf); with --at, values, gradients and "
                    "numeric edge partials too. Without -o, print the DOT text.")
    _point_options(graph)
    graph.add_argument("-o", "--output", metavar="FILE",
                       help="graph.dot, graph.svg, graph.png or graph.pdf")
    graph.set_defaults(run=run_graph)

    explain = commands.add_parser(
        "explain", help="the backward sweep step by step, with the chain rule in numbers",
        description="Print the forward pass, each step of the backward sweep as the chain "
                    "rule with symbols and numbers, the sum over paths, and forward vs "
                    "reverse mode operation counts.")
    _point_options(explain)
    explain.set_defaults(run=run_explain)
    return parser


def _point_options(command: argparse.ArgumentParser,
                   expression_help: str = 'formula, e.g. "(a+b)*(b+1)"',
                   at_help: str = "the point, e.g. a=3,b=1 (repeatable)") -> None:
    """The options every command shares: the expression, ``--at`` and ``--shape``."""
    command.add_argument("expression", help=expression_help)
    command.add_argument("--at", action="append", default=[], metavar="NAME=VALUE,...",
                         help=at_help)
    command.add_argument("--shape", action="append", default=[], metavar="NAME=D1,D2,...",
                         help="shape of an array variable, e.g. W=2,3 (repeatable)")


def run_verify(args: argparse.Namespace) -> int:
    """``symdiff verify``: exit 0 when every claim is right, 1 otherwise."""
    f, point, variables = _expression(args)
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
    report = sd.verify(f, claims, at=point or None)
    print(report)
    if report.ok:
        return 0
    print(f"symdiff: verify: {report.status}", file=sys.stderr)
    return 1


def run_graph(args: argparse.Namespace) -> int:
    """``symdiff graph``: DOT text on stdout, or a file with ``-o``."""
    f, point, _ = _expression(args)
    at = point or None
    if not args.output:
        print(sd.to_dot(f, at=at).rstrip("\n"))
        return 0
    try:
        path = sd.render(f, args.output, at=at)
    except sd.SymdiffError:
        raise
    except (OSError, ValueError) as e:   # a directory that does not exist, a null byte
        raise UsageError(f"-o {_quoted(args.output)}: cannot write the file "
                         f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") \
            from None
    print(f"wrote {path}")
    return 0


def run_explain(args: argparse.Namespace) -> int:
    """``symdiff explain``: the chain-rule steps of the backward sweep."""
    f, point, _ = _expression(args)
    print(sd.explain(f, at=point or None).rstrip("\n"))
    return 0


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
    # all the work first, so that bad input stops before anything is printed
    text = _formula_text(f, wrt, args)
    derivatives = [] if text is not None else [sd.diff(f, w) for w in wrt]
    if args.at:
        value, grads = sd.value_and_grad(f, wrt)(point)
        report = sd.check(f, at=point, wrt=wrt)

    if text is not None:
        print(text.rstrip("\n"))
    else:
        _show("f", _closed_form(f))
        for w, d in zip(wrt, derivatives):
            _show(f"df/d{w.name}", _closed_form(d))
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


CODE_LANGUAGES = ("python", "c")
"""The values ``--code`` accepts."""


def _formula_text(f: sd.Node, wrt: list, args: argparse.Namespace) -> Optional[str]:
    """The text ``--latex`` or ``--code`` asks for, or None for the plain closed forms."""
    if args.latex and args.code is not None:
        raise UsageError("--latex and --code each replace the closed forms; give only one")
    if args.code is not None:
        lang = args.code.strip().lower()
        if lang not in CODE_LANGUAGES:
            raise UsageError(f"--code: expected one of {', '.join(CODE_LANGUAGES)}, "
                             f"got {args.code!r}")
        return _budgeted_formula(f, wrt, lang)
    return _budgeted_formula(f, wrt, "latex") if args.latex else None


def _budgeted_formula(f: sd.Node, wrt: list, lang: str) -> str:
    # SymPy's simplification can be exponential on nested functions: a command must not
    # hang on any text, so it gets the budget sd.check gives SymPy
    try:
        return run_within(SYMPY_SECONDS, lambda: formula(f, wrt, lang=lang))
    except OutOfTime:
        raise sd.ClosedFormError(f"SymPy did not finish the formula within {SYMPY_SECONDS:g} "
                                 "s (its simplification of nested functions can be "
                                 "exponential); run without --latex/--code for the numbers"
                                 ) from None


MAX_DIMENSIONS = 32
"""Most dimensions a ``--shape`` or an ``--at`` array may have (numpy's limit is 64)."""
MAX_SIZE = 10**6
"""Most elements a ``--shape`` or an ``--at`` array may have: the commands compute values,
gradients, constants and numeric checks of that size (``sum(W@W)`` with W 3000×3000 took
over 30 s)."""
_INF_OR_NAN = re.compile(r"[+-]?(inf|infinity|nan)", re.IGNORECASE)


def parse_at(items: Sequence[str]) -> dict[str, object]:
    """``["x=7,y=2", "W=[[1,2],[3,4]]"]`` -> ``{"x": 7.0, "y": 2.0, "W": array}``.

    A value is a number (``inf`` and ``nan`` too, as ``float()`` reads them) or a nested
    list of numbers (read with ``ast.literal_eval``, never ``eval``), ASCII only; True,
    False, None, strings, and numbers beyond the float range are refused.
    """
    point: dict[str, object] = {}
    for item in items:
        for pair in _split_top_level(item):
            name, sep, text = (s.strip() for s in pair.partition("="))
            if not sep or not name.isidentifier() or not text:
                raise UsageError(f"--at: expected name=value, got {_quoted(pair.strip())}")
            value = _value(name, text)
            if name in point:
                raise UsageError(f"--at: '{name}' is given twice")
            point[name] = float(value) if value.ndim == 0 else value
    return point


def _value(name: str, text: str) -> np.ndarray:
    """The value of ``--at name=text`` as a float64 array."""
    bad = UsageError(f"--at {name}: {_quoted(text)} is not a number or a nested list of "
                     "numbers")
    if not text.isascii():   # float() would read fullwidth and other digits
        raise bad
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if math.isinf(number) and not _INF_OR_NAN.fullmatch(text.strip()):
            raise _too_large(name, text)
        return np.asarray(number)
    try:
        literal = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise bad from None
    size = 0   # the numbers in it, checked without recursion (nesting is bounded below)
    stack = [literal]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        elif type(v) is int or type(v) is float:
            if type(v) is int and v.bit_length() > 1023 and not fits_float(v) \
                    or type(v) is float and math.isinf(v):
                raise _too_large(name, text)
            size += 1
        else:   # True, None, strings, complex numbers, dicts, sets, Ellipsis
            raise bad
    if size > MAX_SIZE:
        raise UsageError(f"--at {name}: {size} numbers; at most {MAX_SIZE} are accepted")
    try:
        value = np.asarray(literal, dtype=np.float64)
    except (ValueError, TypeError, MemoryError):   # ragged, or too deep for numpy
        raise bad from None
    if value.ndim > MAX_DIMENSIONS:
        raise UsageError(f"--at {name}: {value.ndim} dimensions; at most {MAX_DIMENSIONS} "
                         "are accepted")
    return value


def _too_large(name: str, text: str) -> UsageError:
    return UsageError(f"--at {name}: {_quoted(text)} is beyond the float range (at most about "
                      "1.8e308; write inf for infinity)")


def _quoted(text: str, limit: int = 60) -> str:
    """``repr`` of a piece of the command line, shortened if long."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


_DIMENSION = re.compile(r"\s*[+-]?[0-9]+\s*")


def parse_shapes(items: Sequence[str]) -> dict[str, tuple]:
    """``["W=2,3", "v=(3,)"]`` -> ``{"W": (2, 3), "v": (3,)}``; ASCII digits, at most
    ``MAX_DIMENSIONS`` dimensions and ``MAX_SIZE`` elements."""
    shapes: dict[str, tuple] = {}
    for item in items:
        name, sep, dims = (s.strip() for s in item.partition("="))
        dims = dims.strip("()[] ")
        parts = [d for d in dims.split(",") if d.strip()] if dims else []
        if not sep or not name.isidentifier() or \
                not all(_DIMENSION.fullmatch(d) and len(d.strip()) <= 20 for d in parts):
            raise UsageError(f"--shape: expected name=d1,d2,... (e.g. W=2,3), "
                             f"got {_quoted(item)}")
        shapes[name] = tuple(int(d) for d in parts)
        if any(d < 0 for d in shapes[name]):
            raise UsageError(f"--shape {name}: dimensions must not be negative")
        if len(shapes[name]) > MAX_DIMENSIONS:
            raise UsageError(f"--shape {name}: {len(shapes[name])} dimensions; at most "
                             f"{MAX_DIMENSIONS} are accepted")
        if math.prod(shapes[name]) > MAX_SIZE:
            raise UsageError(f"--shape {name}: {math.prod(shapes[name])} elements; at most "
                             f"{MAX_SIZE} are accepted")
    return shapes


def parse_wrt(items: Sequence[str], variables: dict) -> list[str]:
    """Names from repeated / comma-separated ``--wrt``; default: every variable, sorted."""
    names = [n.strip() for item in items for n in item.split(",") if n.strip()]
    for name in names:
        if name not in variables:
            raise UsageError(f"--wrt: unknown variable '{name}'; the expression's variables "
                             f"are: {', '.join(sorted(variables)) or 'none'}")
    return list(dict.fromkeys(names)) if names else sorted(variables)


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside brackets: ``"x=1,W=[[1,2],[3,4]]"`` -> two pairs."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "[("
        depth -= ch in "])"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _closed_form(node: sd.Node) -> str:
    try:
        return run_within(SYMPY_SECONDS, lambda: str(node.sympy()))
    except sd.ClosedFormError as e:
        return f"(no closed form: {str(e).splitlines()[0]})"
    except OutOfTime:
        return (f"(no closed form: SymPy did not finish within {SYMPY_SECONDS:g} s; its "
                "simplification of nested functions can be exponential)")


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


if __name__ == "__main__":
    sys.exit(main())
