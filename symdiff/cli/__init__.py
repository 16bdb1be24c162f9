"""The ``symdiff`` command line (also ``python -m symdiff``).

Usage::

    symdiff diff "x**2 + 3" --wrt x --at x=7
    symdiff verify "x**3 + 7*x**2 + 5*x + 10" --claim "x=3*x**2 + 14*x + 5"
    symdiff graph "(a+b)*(b+1)" --at a=3,b=1 -o graph.svg   # .dot .svg .png .pdf
    symdiff graph "(a+b)*(b+1)" --at a=3,b=1 -o slide.png --dpi 200 --no-legend --rankdir LR
    symdiff explain "(a+b)*(b+1)" --at a=3,b=1
    symdiff explain "(a+b)*(b+1)" --at a=3,b=1 --html backprop.html   # the stepping page
    symdiff diff "x*y + y**2" --at x=2,y=3              # --wrt defaults to every variable
    symdiff diff "sum(W @ v)" --shape W=2,3 --at "W=[[1,2,3],[4,5,6]]" --at "v=[1,0,2]"
    symdiff verify --code model.py:loss --grad model.py:grad_loss --at w=0.1,0.2 --wrt w

``verify --code FILE:FUNC`` with ``--grad FILE:FUNC`` (gradient code) or ``--vjp
FILE:FUNC`` (a backward pass) checks code in the user's own file, which is imported and
run as Python (``symdiff.cli.code``); ``--at`` may then name things the file defines
(``--at X=X_train``).

``diff`` prints the closed form of ``f`` and of each derivative; with ``--at`` it also
prints the value, the gradient from the numeric reverse mode and the cross-check table of
``sd.check`` (closed form vs reverse mode vs finite differences).

* ``--wrt`` may be repeated or comma-separated; default: all variables, sorted by name.
* ``--at`` takes ``name=value`` pairs separated by commas and may be repeated; a value is a
  number or a nested list (read with ``ast.literal_eval``, never ``eval``).
* ``--shape W=2,3`` declares an array variable; an array value in ``--at`` also implies
  its shape.
* ``--sympy-seconds S`` (every command; default 10) is the time for all of the command's
  SymPy work together, however many closed forms it prints. SymPy's simplification can
  be exponential on nested functions: past the budget, ``diff`` says of each closed form
  it could not finish that it ran out and still prints the value, the gradient and the
  check; ``--latex``/``--code``, whose output is the formula, exit 2. ``0`` skips SymPy.
  Work still running after 2 s is announced by one line on stderr.
* ``--latex`` prints the derivatives as one LaTeX ``aligned`` block instead of the plain
  closed forms; ``--code python`` (``c``, ``jax``, ``pytorch``, ``julia``, ``rust``,
  ``fortran``) prints a gradient function's source instead (both from ``sd.formula``; give
  one of the two); ``--order 2`` makes either the Hessian. With ``--at`` as well, the
  value, gradient and check table follow the formula after a blank line; without it the
  output is exactly the formula, so ``--code python > grad.py`` gives an importable file.

Exit status: 0 when the check passes (or no ``--at`` was given), 1 when it fails (for
instance at a kink such as ``relu(x)`` at ``x=0``), 2 on bad input or when a command
cannot finish (out of time or memory), with one line on stderr starting ``symdiff:
error:``, and 130 after Ctrl-C. A terminal that cannot print ``∂`` gets ASCII.
"""
from __future__ import annotations

import argparse
import re
import sys
from typing import Callable, Optional, Sequence

import numpy as np

import symdiff as sd
from symdiff.budget import SYMPY_SECONDS, OutOfTime, limit, run_in_thread
from symdiff.cli.commands import run_diff, run_explain, run_graph, run_verify
from symdiff.cli.failures import printable, report
from symdiff.cli.values import UsageError, parse_at, parse_seconds, parse_shapes, parse_wrt

__all__ = ["main", "UsageError", "parse_at", "parse_shapes", "parse_wrt"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 check failed, 2 bad input,
    130 interrupted).

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
    seconds = None
    with printable():
        try:
            seconds = args.sympy_seconds = parse_seconds(args.sympy_seconds)
            # numpy's overflow warnings: the check reports values that are not finite.
            # errstate is numpy's context-local state; the warning filters are the
            # process's and a library (main is callable) leaves them alone
            with np.errstate(all="ignore"):
                return _run(args, seconds)
        except BaseException as e:  # every failure is one line (failures.report)
            return report(e, seconds)


GRACE_SECONDS = 60.0
"""Time a command may take beyond its SymPy budget before it is stopped as a whole: the
numeric work is bounded by the size limits of ``--at`` and ``--shape`` and takes far less;
this is the net under a SymPy step a lower layer forgot to budget."""


def _run(args: argparse.Namespace, seconds: float) -> int:
    """The command, under one SymPy budget of ``seconds`` (every SymPy step takes its time
    from it, however many there are) and, as a whole, ``seconds + GRACE_SECONDS``."""
    def command() -> int:
        try:
            with limit(seconds, on_slow=_notice(args.sympy_work)):
                return args.run(args)
        except OutOfTime:  # a step that did not catch it: the budget is spent
            raise CommandTimeout(f"SymPy did not finish within the command's budget of "
                                 f"{seconds:g} s (--sympy-seconds sets it)") from None

    total = seconds + GRACE_SECONDS
    try:
        return run_in_thread(total, command)
    except OutOfTime:
        raise CommandTimeout(f"the command did not finish within {total:g} s (its SymPy "
                             f"budget of {seconds:g} s and {GRACE_SECONDS:g} s for the "
                             "rest)") from None


class CommandTimeout(sd.SymdiffError):
    """A command that ran out of time as a whole (reported with exit status 2)."""


def _notice(what: str) -> Callable[[float], None]:
    def still_working(seconds: float) -> None:
        print(f"symdiff: SymPy is still working on {what} (budget {seconds:g} s; "
              "--sympy-seconds to change)", file=sys.stderr, flush=True)
    return still_working


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

    def error(self, message: str):  # type: ignore[override]
        # argparse quotes the arguments it refuses as they are: a newline in one split its
        # error over lines, and an escape sequence (\x1b[...) reached the terminal
        super().error("".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1]
                              for ch in message))


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
                      help="print a gradient function's source instead: python, c, jax, "
                           "pytorch, julia, rust or fortran")
    diff.add_argument("--order", default=None, metavar="K",
                      help="with --latex or --code: 1 the gradient (the Jacobian of an array "
                           "f; default), 2 the Hessian")
    diff.set_defaults(run=run_diff, sympy_work="the closed forms")

    verify = commands.add_parser(
        "verify", help="check a hand-derived derivative (a formula, or code) against symdiff's",
        description="Compare claimed derivatives with symdiff's, symbolically (SymPy) and "
                    "at points inside the domain; exit 0 when every claim is right, 1 with a "
                    "counterexample when one is wrong. With --code, check gradient code or a "
                    "backward pass in your own Python file instead: FILE IS IMPORTED AND RUN "
                    "AS PYTHON (only use files you trust); formula text, by contrast, is read "
                    "without running anything.",
        epilog='examples: symdiff verify "x**3 + 5*x" --claim "x=3*x**2 + 5"   |   '
               "symdiff verify --code model.py:loss --grad model.py:grad_loss "
               "--at w=0.1,0.2 --at X=X_train,t=t_train --wrt w   |   "
               "symdiff verify --code layers.py:affine_forward --vjp "
               "layers.py:affine_backward --at x=x0,w=w0,b=b0")
    _point_options(verify, 'formula, e.g. "x**3 + 7*x**2 + 5*x + 10" (not with --code)',
                   "also compare at this point (a kink there is reported); with --code the "
                   "point: numbers, lists, w=0.1,0.2 for a vector, or X=NAME for something "
                   "FILE defines", optional=True)
    verify.add_argument("--claim", action="append", default=[], metavar="NAME=FORMULA",
                        help='the claimed df/dNAME, e.g. "x=3*x**2 + 14*x + 5" (repeatable; '
                             "matrix notation as symdiff prints it: 2*A.T*(A*x - b))")
    # -- claim notation (issue 15)
    verify.add_argument("--notation", choices=("auto", "matrix", "numpy"), default="auto",
                        help="how --claim text is read: matrix (as symdiff prints: * of two "
                             "matrices is the matrix product), numpy (as the formula: @ the "
                             "matrix product, * elementwise), or auto (default: numpy when "
                             "the text can only mean that)")
    verify.add_argument("--assume", action="append", default=[], metavar="NAME=KIND",
                        help="what a variable is: S=symmetric (a symmetric matrix), "
                             "t=probability (entries >= 0 summing to 1; also t=simplex) or "
                             "'t=labels(-1, 1)' (every entry one of the values); repeatable")
    # -- gradient code (issue 14)
    verify.add_argument("--code", metavar="FILE:FUNC",
                        help="the function (a loss, or a layer's forward) in your Python file; "
                             "the file is imported and run as Python")
    verify.add_argument("--grad", metavar="FILE:FUNC",
                        help="the gradient code to check: called with the same arguments as "
                             "--code's function, it returns the gradient of the --wrt inputs")
    verify.add_argument("--vjp", metavar="FILE:FUNC",
                        help="a backward pass to check instead: backward(dout, cache) when "
                             "--code's function returns (out, cache), else backward(dout, "
                             "*inputs); it returns the gradients of the --wrt inputs")
    verify.add_argument("--wrt", action="append", default=[], metavar="NAMES",
                        help="with --code: the inputs to differentiate by (repeat or "
                             "comma-separate; default: every number and float array in --at)")
    verify.set_defaults(run=run_verify, sympy_work="the claims")

    graph = commands.add_parser(
        "graph", help="draw the graph: values, gradients and the partial on every edge",
        description="Write the computational graph as Graphviz DOT or a picture rendered by "
                    "Graphviz's dot (.svg, .png, .pdf); with --at, values, gradients and "
                    "numeric edge partials too. Without -o, print the DOT text.")
    _point_options(graph)
    graph.add_argument("-o", "--output", metavar="FILE",
                       help="graph.dot, graph.svg, graph.png or graph.pdf")
    slides = graph.add_argument_group("pictures for slides")
    slides.add_argument("--rankdir", choices=("BT", "TB", "LR", "RL"), default="BT",
                        help="layout direction (BT: inputs at the bottom, the default; LR: "
                             "left to right)")
    slides.add_argument("--no-legend", action="store_true", help="leave the legend out")
    slides.add_argument("--title", metavar="TEXT", help="the picture's title instead of "
                                                        "symdiff's")
    slides.add_argument("--no-title", action="store_true", help="no title")
    slides.add_argument("--hide-constants", action="store_true",
                        help="leave constant nodes out (their values stay in the ops' labels)")
    slides.add_argument("--dpi", type=float, metavar="N", help="resolution of .png pictures")
    graph.set_defaults(run=run_graph, sympy_work="the graph")

    explain = commands.add_parser(
        "explain", help="the backward sweep step by step, with the chain rule in numbers",
        description="Print the forward pass, each step of the backward sweep as the chain "
                    "rule with symbols and numbers, the sum over paths, and forward vs "
                    "reverse mode operation counts.")
    _point_options(explain)
    explain.add_argument("--html", metavar="FILE",
                         help="write the stepping page instead: one self-contained HTML file "
                              "that steps forward, backward and along the paths")
    explain.set_defaults(run=run_explain, sympy_work="the explanation")
    return parser


def _point_options(command: argparse.ArgumentParser,
                   expression_help: str = 'formula, e.g. "(a+b)*(b+1)"',
                   at_help: str = "the point, e.g. a=3,b=1 (repeatable)",
                   optional: bool = False) -> None:
    """The options every command shares: the expression (``optional`` for verify, which
    takes --code instead), ``--at``, ``--shape`` and ``--sympy-seconds``."""
    command.add_argument("expression", help=expression_help, nargs="?" if optional else None)
    command.add_argument("--at", action="append", default=[], metavar="NAME=VALUE,...",
                         help=at_help)
    command.add_argument("--shape", action="append", default=[], metavar="NAME=D1,D2,...",
                         help="shape of an array variable, e.g. W=2,3 (repeatable)")
    # read as text: a bad value must give symdiff's one-line error, not usage text
    command.add_argument("--sympy-seconds", default=str(SYMPY_SECONDS), metavar="S",
                         help=f"time for all of the command's SymPy work together (default "
                              f"{SYMPY_SECONDS:g}); past it, closed forms say they ran out and "
                              "the numbers still print; 0 skips SymPy")
