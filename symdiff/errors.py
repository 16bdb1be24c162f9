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


class ArgumentError(SymdiffError, TypeError, ValueError):
    """An argument of the wrong type or value for a public function (the message names the
    function and the argument): text where a Node is expected, ``None`` or a complex
    number where a number is, a float where an int is, a negative seed.  It is a
    ``TypeError`` and a ``ValueError`` too, so code catching either keeps working."""


class VariableError(SymdiffError, ValueError):
    """A problem with the variables a call was given: a name that is not a variable of
    the graph, or two different leaves under one name (``var("x")`` beside
    ``var("x", (2,))``, or a tensor named ``x``)."""


class MissingVariableError(VariableError):
    """A variable the graph needs was given no value."""


class ExtraVariableError(VariableError):
    """A value was given for a name the graph does not have."""


class ClosedFormError(SymdiffError):
    """No closed form can be built (too large, or no matrix expression exists)."""


class BackwardError(SymdiffError, RuntimeError):
    """``.backward()`` cannot run (nothing requires grad, a non-scalar without ``gradient``)."""


class UnsupportedError(SymdiffError, TypeError):
    """A numpy function (or method, or Python construct) symdiff cannot differentiate was
    applied to a Node; ``sd.supported_numpy()`` lists what works."""
