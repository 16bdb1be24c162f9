"""How the command line ends when a command cannot: one line on stderr and a status.

``report`` turns every exception a command can raise into one line ``symdiff: error:
...`` and exit status 2 (130 for Ctrl-C), never a traceback: symdiff's own errors, the
time budget, memory, SymPy's RecursionError and OverflowError, a closed pipe, and, as a
last resort, any other ``Exception``, named as an internal error. ``printable`` makes a
terminal that cannot print symdiff's symbols (``∂``, ``ᵀ``, ``↦`` in cp1252 or ASCII)
print ASCII spellings of them instead of failing with UnicodeEncodeError.

Imports the public ``symdiff`` API and the budget.
"""
from __future__ import annotations

import codecs
import contextlib
import os
import sys
from typing import Iterator, Optional

import symdiff as sd
from symdiff.budget import OutOfTime

INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT, as shells report it)."""


def report(e: BaseException, seconds: Optional[float]) -> int:
    """Print the one line for ``e`` (raised by a command run with a SymPy budget of
    ``seconds``) and return the exit status; re-raises what is not a failure (SystemExit).

    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     status = report(RecursionError("maximum recursion depth exceeded"), 10.0)
    >>> status, err.getvalue().startswith("symdiff: error: the expression is nested")
    (2, True)
    """
    if isinstance(e, BrokenPipeError):  # piped into head & co.: quiet, the status of SIGPIPE
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13
    if isinstance(e, KeyboardInterrupt):
        _error_line("symdiff: interrupted")
        return INTERRUPTED
    if not isinstance(e, Exception) and not isinstance(e, OutOfTime):
        raise e
    _error_line(f"symdiff: error: {_message(e, seconds)}")
    return 2


def _message(e: BaseException, seconds: Optional[float]) -> str:
    if isinstance(e, sd.SymdiffError):
        message = (str(e).splitlines() or [type(e).__name__])[0]
        text = getattr(e, "text", "")  # a ParseError shows where in the text, on one line
        if text and "\n" not in text and len(text) <= 80:
            message += f" in {text!r}"
        return message
    if isinstance(e, OutOfTime):
        budget = f" of {seconds:g} s" if seconds is not None else ""
        return f"SymPy did not finish within the command's budget{budget} (--sympy-seconds " \
               "sets it)"
    if isinstance(e, MemoryError):  # shapes and values are bounded; a formula can be huge
        return "out of memory (the expression, its shapes or its values are too large)"
    if isinstance(e, RecursionError):
        return "the expression is nested too deeply for SymPy (RecursionError); " \
               "write it with fewer levels"
    if isinstance(e, OverflowError):
        return f"a number is too large for a float (OverflowError: {_first_line(e)})"
    return f"internal error ({type(e).__name__}: {_first_line(e)}); please report it " \
           "with the command line that caused it"


def _first_line(e: BaseException) -> str:
    lines = str(e).splitlines()
    return lines[0][:200] if lines else "no message"


def _error_line(line: str) -> None:
    try:
        print(line, file=sys.stderr)
    except (OSError, ValueError):  # stderr closed: the status still tells
        pass


ASCII_SPELLINGS = {
    "∂": "d", "×": "x", "·": "*", "↦": "|->", "→": "->", "ᵀ": "^T", "‖": "||", "⁻": "^-",
    "ⁿ": "^n", "…": "...", "ʹ": "'", "±": "+/-", "µ": "u", "≈": "~", "≤": "<=", "≥": ">=",
    "−": "-", "⁰": "^0", "¹": "^1", "²": "^2", "³": "^3", "⁴": "^4", "⁵": "^5", "⁶": "^6",
    "⁷": "^7", "⁸": "^8", "⁹": "^9",
}
"""ASCII for the symbols symdiff prints, on a terminal that cannot print them; any other
character it cannot print (from the user's own text) is written as a ``\\u`` escape."""

_ERRORS = "symdiff-ascii"


def _ascii_spelling(e: UnicodeError) -> tuple[str, int]:
    if not isinstance(e, UnicodeEncodeError):
        raise e
    text = e.object[e.start:e.end]
    return "".join(ASCII_SPELLINGS.get(ch) or ch.encode("ascii", "backslashreplace").decode()
                   for ch in text), e.end


codecs.register_error(_ERRORS, _ascii_spelling)


@contextlib.contextmanager
def printable() -> Iterator[None]:
    """While a command runs, stdout and stderr fall back to ASCII spellings for what their
    encoding cannot print (``PYTHONIOENCODING=cp1252``, an ASCII terminal); streams that
    can print everything are left alone, and every stream is restored afterwards.

    >>> with printable():
    ...     print("∂f/∂x")
    ∂f/∂x
    """
    changed = []
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None)
        if encoding is None or not hasattr(stream, "reconfigure"):
            continue
        try:
            "".join(ASCII_SPELLINGS).encode(encoding)
            continue
        except UnicodeEncodeError:
            pass
        except LookupError:  # an encoding Python does not know: leave the stream be
            continue
        changed.append((stream, stream.errors))
        stream.reconfigure(errors=_ERRORS)
    try:
        yield
    finally:
        for stream, errors in changed:
            with contextlib.suppress(Exception):
                stream.reconfigure(errors=errors)
