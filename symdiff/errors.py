"""symdiff's exceptions: one hierarchy rooted at ``SymdiffError``.

Every message says what was wrong and where (the op, the shapes, the variable, the
position in the text), so users never have to read a traceback from inside SymPy or numpy.

>>> import symdiff as sd
>>> try:
...     sd.parse("x +* 2")
... except sd.ParseError as e:
...     print(isinstance(e, ValueError), e.position)
True 3
"""
from __future__ import annotations

from typing import Optional


class SymdiffError(Exception):
    """Base class of every error symdiff raises on purpose."""


class ParseError(SymdiffError, ValueError):
    """Text that ``sd.parse`` (or a claim, or the CLI) refuses, with the 0-based position."""

    def __init__(self, message: str, text: str = "", position: Optional[int] = None):
        self.message = message
        self.text = text
        self.position = position
        where = f" at position {position}" if position is not None else ""
        shown = ""
        if text and position is not None and len(text) <= 200 and "\n" not in text:
            shown = f"\n  {text}\n  {' ' * position}^"
        super().__init__(f"{message}{where}{shown}")


class ShapeError(SymdiffError, ValueError):
    """Shapes that do not fit an op (the message names the op and the shapes)."""


class VariableError(SymdiffError, ValueError):
    """A problem with the variables a call was given."""


class MissingVariableError(VariableError):
    """A variable the graph needs was given no value."""


class ExtraVariableError(VariableError):
    """A value was given for a name the graph does not have."""


class ClosedFormError(SymdiffError):
    """No closed form can be built (too large, or no matrix expression exists)."""


class BackwardError(SymdiffError, RuntimeError):
    """``.backward()`` cannot run (nothing requires grad, a non-scalar without ``gradient``)."""
