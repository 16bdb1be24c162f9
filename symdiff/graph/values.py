"""What users hand to symdiff, checked before it enters a graph: numbers and arrays (read
as float64), names of leaves, seeds, counts, tolerances and flags.

Each check raises ``ArgumentError`` (a ``SymdiffError`` that is also a ``TypeError`` and a
``ValueError``) naming the function and the argument, so a wrong type never surfaces as
an ``AttributeError`` from deep inside, and never quietly becomes a number: ``None`` is
not nan, ``"1.5"`` is not 1.5, ``2.5`` is not the dimension 2.

Imports numpy, symdiff's errors and ``symdiff.text.hygiene`` (so ``sd.var`` refuses the
spellings the parser refuses); never a Node (``symdiff.graph.node`` imports this module).

>>> real_array([1, 2], "sd.tensor(data)").dtype
dtype('float64')
>>> try:
...     real_array(None, "add: input 2")
... except ArgumentError as e:
...     print(e)
add: input 2 is None, not a number
"""
from __future__ import annotations

import keyword
import math
import numbers
from typing import Any, Optional

import numpy as np

from symdiff.errors import ArgumentError
from symdiff.text.hygiene import clip_text, spelling_problem

_TEXT = (str, bytes, bytearray, np.str_, np.bytes_)


def shown(value: Any) -> str:
    """A value for a message: its repr, clipped (a 400-digit integer is not printed whole).
    A value whose repr fails (an integer past Python's 4,300 digits, a list nested past
    the recursion limit, a user's ``__repr__`` that raises) is named by its type.

    >>> shown(10**5000), shown("y" * 100)
    ('<an integer of about 5000 digits>', "'yyyyyyyyyyyyyyyyyyy...(102 characters)")
    """
    if isinstance(value, int) and value.bit_length() > 14000:   # repr would raise
        return f"<an integer of about {round(value.bit_length() * math.log10(2))} digits>"
    try:
        return clip_text(repr(value))
    except Exception:   # noqa: BLE001 - the message must be made whatever the value is
        return f"<a {type(value).__name__} that cannot be printed>"


def _element_problem(e: Any) -> Optional[str]:
    """Why one element of an object array is not a real number, or None."""
    if isinstance(e, (bool, np.bool_)) or (isinstance(e, numbers.Real)
                                           and not isinstance(e, _TEXT)):
        return None
    if e is None:
        return "None, not a number"
    if isinstance(e, _TEXT):
        return f"the text {shown(e)}, not a number (formula text is read by sd.parse)"
    if isinstance(e, numbers.Complex):
        return f"the complex number {shown(e)}: symdiff works with real numbers only"
    if hasattr(e, "op") and hasattr(e, "args"):
        return ("a symdiff Node: an array of numbers cannot hold expressions (combine "
                "nodes with operators and sd functions instead)")
    return f"{type(e).__name__} {shown(e)}, not a number"


MAX_NDIM = 32
"""Most dimensions of a value (numpy's own functions stop at 32, ``np.where`` among them)."""


def real_array(value: Any, what: str, copy: bool = True, keep_bool: bool = False) -> np.ndarray:
    """``value`` (a number, nested lists, an array) as a float64 array; ``what`` names it in
    the message. Booleans and integers are converted (``keep_bool`` keeps a boolean array);
    None, text, complex numbers, objects and integers beyond float64's range are refused.

    >>> real_array(True, "x").tolist(), real_array([[1], [2]], "x").shape
    (1.0, (2, 1))
    """
    t = type(value)
    if t is float:
        return np.array(value)
    if t is int:
        try:
            return np.array(float(value))
        except OverflowError:
            raise ArgumentError(f"{what}: the integer {shown(value)} is too large for a "
                                "float64 (at most about 1.8e308)") from None
    problem = _element_problem(value) if isinstance(value, (_TEXT, complex)) or value is None \
        else None
    if problem is not None:
        raise ArgumentError(f"{what} is {problem}")
    try:
        raw = np.asarray(value)
    except MemoryError:
        raise
    except Exception as e:   # also what a foreign __array__ or __float__ raises (torch, ...)
        raise ArgumentError(f"{what}: cannot read {type(value).__name__} as an array of "
                            f"numbers ({type(e).__name__}: "
                            f"{(str(e).splitlines() or [''])[0][:200]})") from None
    if raw.ndim > MAX_NDIM:
        raise ArgumentError(f"{what}: an array of {raw.ndim} dimensions; symdiff takes at "
                            f"most {MAX_NDIM}")
    kind = raw.dtype.kind
    if kind == "b" and keep_bool:
        return raw.copy() if copy else raw
    if kind in "biuf":
        return raw.astype(np.float64, copy=copy)
    if kind == "O":
        for e in raw.flat:
            problem = _element_problem(e)
            if problem is not None:
                raise ArgumentError(f"{what} is {problem}" if raw.ndim == 0
                                    else f"{what}: an element is {problem}")
        try:
            return np.array(raw, dtype=np.float64)
        except OverflowError:
            raise ArgumentError(f"{what}: an integer is too large for a float64 (at most "
                                "about 1.8e308)") from None
        except (TypeError, ValueError, ArithmeticError, RuntimeError) as e:  # a __float__
            raise ArgumentError(f"{what}: an element cannot be read as a float64 "
                                f"({type(e).__name__}: {(str(e).splitlines() or [''])[0][:200]})"
                                ) from None
    if kind == "c":
        raise ArgumentError(f"{what}: complex values (dtype {raw.dtype}) are not supported: "
                            "symdiff works with real numbers only")
    if kind in "US":
        raise ArgumentError(f"{what}: text (dtype {raw.dtype}) is not a number (formula "
                            "text is read by sd.parse)")
    raise ArgumentError(f"{what}: values of dtype {raw.dtype} are not real numbers")


def leaf_name(name: Any, what: str) -> str:
    """``name`` if a variable or tensor may have it: a Python identifier, not a keyword,
    not starting with ``_``, and spelled as the parser accepts it (no name Python's NFKC
    normalisation would merge into another, such as a fullwidth ``ｘ`` beside ``x``, no
    look-alikes of Latin letters: ``symdiff.text.hygiene.spelling_problem``).

    >>> leaf_name("W1", "variable")
    'W1'
    """
    if not isinstance(name, str):
        raise ArgumentError(f"{what} name must be a str, not {type(name).__name__} "
                            f"{shown(name)}")
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        raise ArgumentError(f"{what} name {shown(name)} is not a valid identifier "
                            "(letters, digits and _, not starting with a digit or _, "
                            "not a Python keyword)")
    problem = spelling_problem(name)
    if problem is not None:
        raise ArgumentError(f"{what} name: {problem[1]}")
    return name


def as_int(value: Any, who: str, arg: str, minimum: Optional[int] = None) -> int:
    """An integer argument (not a bool, not a float even if whole), at least ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ArgumentError(f"{who}: {arg} must be an int, not {type(value).__name__} "
                            f"{shown(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ArgumentError(f"{who}: {arg} must be at least {minimum}, got {shown(value)}")
    return value


def as_seed(seed: Any, who: str, arg: str = "seed") -> int:
    """A random seed: a non-negative int (numpy's generators refuse negative ones).

    >>> as_seed(7, "sd.manual_seed")
    7
    """
    return as_int(seed, who, arg, minimum=0)


def as_real(value: Any, who: str, arg: str, minimum: Optional[float] = None,
            strict: bool = False) -> float:
    """A finite real-number argument as a float, at least ``minimum`` (above it when
    ``strict``). Text, None, booleans, complex numbers and nan or inf are refused.

    >>> as_real(1e-6, "sd.check", "eps", 0.0, strict=True)
    1e-06
    """
    bad = value is None or isinstance(value, (bool, np.bool_, complex, np.complexfloating,
                                               *_TEXT))
    number = None
    if not bad:
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            bad = True
    if bad or number is None:
        raise ArgumentError(f"{who}: {arg} must be a real number, not {type(value).__name__} "
                            f"{shown(value)}")
    if not math.isfinite(number):
        raise ArgumentError(f"{who}: {arg} must be finite, got {number}")
    if minimum is not None and (number < minimum or (strict and number == minimum)):
        relation = "greater than" if strict else "at least"
        raise ArgumentError(f"{who}: {arg} must be {relation} {minimum:g}, got {number:g}")
    return number


def as_flag(value: Any, who: str, arg: str) -> bool:
    """A True/False argument (or the int 0 or 1); ``"no"`` or ``0.5`` is not silently true.

    >>> as_flag(False, "sd.sum", "keepdims")
    False
    """
    if not isinstance(value, (bool, np.bool_)) and not (
            isinstance(value, (int, np.integer)) and value in (0, 1)):
        raise ArgumentError(f"{who}: {arg} must be True or False, not {type(value).__name__} "
                            f"{shown(value)}")
    return bool(value)
