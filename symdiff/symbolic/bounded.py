"""SymPy work under the time budget, and SymPy's own failures as ``ClosedFormError``.

Everything a user can ask of SymPy through symdiff (``.sympy()``, ``sd.formula``,
``sd.show``; a Node's ``repr`` and LaTeX in ``symdiff.symbolic.display``) runs through
``within``: the work runs under
``symdiff.budget.run_within``, and past the budget, or when SymPy fails in its own way
(an ``OverflowError`` from mpmath, a ``ValueError`` printing a long integer, a
``RecursionError`` on a deep expression), the caller gets one ``ClosedFormError`` saying
what happened and how to change the budget, never a raw exception from inside SymPy.

May import: ``symdiff.errors`` and ``symdiff.budget``.

>>> import symdiff as sd
>>> x = sd.var("x")
>>> within(5.0, "a sum", lambda: x.sympy() + 1)
x + 1
"""
from __future__ import annotations

from typing import Any, Callable, Optional, TypeVar

from symdiff import budget
from symdiff.budget import OutOfTime, run_within
from symdiff.errors import ClosedFormError, SymdiffError

T = TypeVar("T")

SYMPY_FAILURES = (ArithmeticError, ValueError, TypeError, RecursionError, MemoryError,
                  NotImplementedError, AttributeError, IndexError, KeyError)
"""Exception families SymPy (and mpmath under it) raise on expressions it cannot handle:
overflowing numbers, integers too long to print, recursion past Python's limit."""

def seconds_or_default(seconds: Optional[float]) -> float:
    """``seconds``, or ``symdiff.budget.SYMPY_SECONDS`` (read at the call) when None.

    >>> seconds_or_default(None) == budget.SYMPY_SECONDS, seconds_or_default(2)
    (True, 2.0)
    """
    return budget.SYMPY_SECONDS if seconds is None else float(seconds)


def within(seconds: Optional[float], what: str, work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` under the SymPy budget (``None``: ``SYMPY_SECONDS``); past it, or
    when SymPy fails, a ``ClosedFormError`` about ``what``. symdiff's own errors pass
    through unchanged.

    >>> try:
    ...     within(5.0, "a number", lambda: int("9" * 5000))
    ... except ClosedFormError as e:
    ...     print(str(e)[:42])
    SymPy failed on a number (ValueError: Exce
    """
    limit = seconds_or_default(seconds)
    try:
        return run_within(limit, work, *args)
    except OutOfTime:
        raise ClosedFormError(
            f"SymPy did not finish {what} within {limit:g} s (its work can grow exponentially "
            "with nesting and matrix size). Pass sympy_seconds= to give it longer (the "
            f"default is symdiff.budget.SYMPY_SECONDS = {budget.SYMPY_SECONDS:g} s), or "
            "evaluate the graph numerically (f.eval, sd.value_and_grad, sd.check)") from None
    except SymdiffError:
        raise
    except SYMPY_FAILURES as e:
        raise ClosedFormError(f"SymPy failed on {what} ({failure_text(e)}); evaluate the "
                              "graph numerically instead") from None


def failure_text(e: BaseException) -> str:
    """``TypeName: first line of the message``, cut short (SymPy puts expressions in them).

    >>> failure_text(ValueError("too long\\nsecond line"))
    'ValueError: too long'
    """
    try:
        first = str(e).splitlines()[0] if str(e) else ""
    except Exception:  # noqa: BLE001 - a message that cannot even be printed
        first = ""
    first = first if len(first) <= 120 else first[:119] + "…"
    return f"{type(e).__name__}: {first}" if first else type(e).__name__
