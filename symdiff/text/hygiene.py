"""Text hygiene for formulas: the characters and spellings refused, and what to write instead.

Controls, null bytes, lone surrogates and invisible format characters are refused anywhere
in a text (``character_problem``); a name Python would NFKC-normalise into another one, or
one written with look-alikes of Latin letters, is refused (``spelling_problem``); a
character Python itself refuses is named with a hint (``character_hint``). The functions
say what is wrong and where; the reader (``symdiff.text.reader``) raises the
``ParseError``.

Imports only the standard library.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Optional

_LOOKALIKES = dict(zip(
    "аАВеЕКМНоОрРсСТуХхѕЅіІјЈԁһӏԛԝүҮοΟΑΒΕΖΗΙΚΜΝΡΤΥΧϳɡ",
    "aABeEKMHoOpPcCTyXxsSiIjJdhlqwyYoOABEZHIKMNPTYXjg"))
"""Cyrillic and Greek letters (and the Latin script g) that look like a Latin letter: a
name written only with these and ASCII is refused (``ѕin`` with a Cyrillic dze reads as
``sin`` but is another name)."""
_WEAK_LOOKALIKES = dict(zip("ρνχικυϲ", "pvxikuc"))
"""Greek letters that are names of their own in mathematics (ρ, ν, χ) but look like a
Latin letter: refused only in a name that also has Latin letters (``ρi`` reads as ``pi``)."""
_MIDDLE_DOTS = "\u00b7\u0387"    # Python reads x·y as one name
_MAX_SHOWN = 40                  # longest name or number quoted whole in a message
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_CONTROL_ASCII = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_CHARACTER_HINTS = {
    "-": "\u2212\u2010\u2011\u2012\u2013\u2014\u2015\ufe63\uff0d",
    "*": "\u00d7\u2217\u22c5\u2219\u2022\u00b7\u0387\u2715\u2716",
    "/": "\u00f7\u2215\u2044\u2236",
    "<=": "\u2264\u2266", ">=": "\u2265\u2267", "!= (not supported)": "\u2260",
    "sqrt(x)": "\u221a", "sum(...)": "\u2211",
    "a plain space": "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                     "\u2009\u200a\u202f\u205f\u3000\u2028\u2029",
    "no quotes: formulas have no strings": "\u2018\u2019\u201a\u201b\u201c\u201d\u201e"
                                           "\u201f\u00ab\u00bb\u2032\u2033",
}
_HINT_OF = {ch: what for what, chars in _CHARACTER_HINTS.items() for ch in chars}


def clip_text(name: str) -> str:
    """A name or number for a message: whole when short, else its start and its length.

    >>> clip_text("x1"), clip_text("y" * 100)
    ('x1', 'yyyyyyyyyyyyyyyyyyyy...(100 characters)')
    """
    if len(name) <= _MAX_SHOWN:
        return name
    return f"{name[:_MAX_SHOWN // 2]}...({len(name)} characters)"


def first_line(e: BaseException) -> str:
    """The first line of an exception's message, at most 200 characters (for a message
    that must be one line)."""
    lines = str(e).splitlines()
    return lines[0][:200] if lines else ""


def char_name(ch: str) -> str:
    """A character's code point and Unicode name, for a message.

    >>> char_name("\u2212")
    'U+2212 MINUS SIGN'
    """
    return f"U+{ord(ch):04X} {unicodedata.name(ch, '')}".rstrip()


def character_hint(ch: str) -> str:
    """What to write instead of a character Python refuses, for the message.

    >>> character_hint("\u00d7"), character_hint("\u00b2")
    (": write '*'", ': superscripts are not powers, write x**2')
    """
    if ch in _HINT_OF:
        what = _HINT_OF[ch]
        return f": write {what}" if " " in what else f": write '{what}'"
    name = unicodedata.name(ch, "")
    if "SUPERSCRIPT" in name:
        return ": superscripts are not powers, write x**2"
    if "SUBSCRIPT" in name:
        return ": subscripts are not part of names, write x1 or x_1"
    plain = unicodedata.normalize("NFKC", ch)
    if plain != ch and plain.isascii() and plain.isprintable():
        return f": write '{plain}'"
    return ""


def spelling_problem(original: str) -> Optional[tuple[int, str]]:
    """Why the name ``original`` (as written in the text) is refused, and where in it, or
    None.  Python reads a name through NFKC normalisation, so ``ｅｘｐ``, ``𝐱`` and ``xⁿ``
    would silently become ``exp``, ``x`` and ``xn``: symdiff refuses them instead, and names
    made of Latin look-alikes (``ѕin`` with a Cyrillic dze), and ``x·y``, one name.

    >>> spelling_problem("x") is None
    True
    >>> where, message = spelling_problem("\uff45xp")   # a fullwidth e
    >>> where, message.endswith("which Python reads as 'e': write 'exp'")
    (0, True)
    """
    if original.isascii():
        return None
    shown = clip_text(original)
    for i, ch in enumerate(original):
        if ch in _MIDDLE_DOTS:
            return i, (f"'{shown}' is one name in Python ({char_name(ch)} is a letter "
                       "there): write '*' for a product")
    plain = unicodedata.normalize("NFKC", original)
    if plain != original:
        i = next((i for i, ch in enumerate(original)
                  if unicodedata.normalize("NFKC", ch) != ch), None)
        if i is None:
            return _composed(original, shown, plain)
        ch = original[i]
        if "SUPERSCRIPT" in unicodedata.name(ch, ""):
            return i, (f"the name '{shown}' contains {char_name(ch)}: superscripts are "
                       "not powers, write x**2")
        return i, (f"the name '{shown}' is written with {char_name(ch)}, which Python "
                   f"reads as '{unicodedata.normalize('NFKC', ch)}': write "
                   f"'{clip_text(plain)}'")
    table = _LOOKALIKES
    if any("a" <= ch.lower() <= "z" for ch in original):   # mixed with Latin letters
        table = {**_WEAK_LOOKALIKES, **_LOOKALIKES}
    latin = "".join(table.get(ch, ch) for ch in original)
    if latin.isascii():
        i = next(i for i, ch in enumerate(original) if ch in table)
        return i, (f"the name '{shown}' is written with {char_name(original[i])}, a "
                   f"look-alike of the Latin '{latin[i]}': write '{clip_text(latin)}'")
    return None


def _composed(original: str, shown: str, plain: str) -> tuple[int, str]:
    """A name that NFKC changes although no character of it changes alone: a combining
    mark (or a Hangul jamo) that joins the character before it (``e`` + U+0301 is read as
    ``é``). Where: the first character whose pair with the one before changes."""
    i = next((i for i in range(1, len(original))
              if unicodedata.normalize("NFKC", original[i - 1:i + 1]) != original[i - 1:i + 1]),
             0)
    return i, (f"the name '{shown}' is written with {char_name(original[i])}, which Python "
               f"joins with the character before it: write '{clip_text(plain)}'")


def character_problem(text: str) -> Optional[tuple[int, str]]:
    """The first character of ``text`` refused anywhere, comments included, before Python
    sees the text, and why, or None: controls and null bytes, lone surrogates (not
    characters: they cannot be encoded), and invisible format characters (zero-width
    joiners, byte-order marks, and the bidirectional controls that make text display in
    another order than it reads).

    >>> character_problem("x + 1") is None
    True
    >>> character_problem("x\u200b+ 1")
    (1, 'an invisible formatting character (U+200B ZERO WIDTH SPACE) is not allowed')
    """
    m = _CONTROL_ASCII.search(text)
    if m:
        ch = m.group()
        what = "a null character" if ch == "\0" else "a control character"
        return m.start(), f"{what} (U+{ord(ch):04X}) is not allowed"
    if text.isascii():
        return None
    for m in _NON_ASCII.finditer(text):
        ch = m.group()
        category = unicodedata.category(ch)
        if category == "Cs":
            return m.start(), f"a lone surrogate (U+{ord(ch):04X}) is not a character"
        if category == "Cc":
            return m.start(), f"a control character ({char_name(ch)}) is not allowed"
        if category == "Cf":
            return m.start(), (f"an invisible formatting character ({char_name(ch)}) is not "
                               "allowed" + (": it changes the order in which text is "
                                            "displayed" if ch in _BIDI else ""))
    return None
