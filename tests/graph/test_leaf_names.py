"""``sd.var`` and ``sd.tensor`` accept exactly the names the parser accepts.

Both ask ``symdiff.text.hygiene.spelling_problem``: a name Python's NFKC normalisation
would read as another (fullwidth, mathematical alphanumerics, ligatures, superscripts,
subscripts), a name written with look-alikes of Latin letters, ``x·y`` (one name in
Python) and a leading underscore are refused by both, with the same reason.
"""
from __future__ import annotations

import pytest

import symdiff as sd

NAMES = ["x", "W1", "x_1", "\u03b8", "\u03c1", "\u00df", "\u0130", "x\u0663", "x\u0301",
         "\uff58", "\U0001d431", "\u0455in", "x\u00b7y", "x\u207f", "x\u2081", "\u03c1i",
         "\ufb01", "\u2168", "\u210c", "\u00b5", "_x", "\u01c5", "\u017f", "\u212f",
         "\u0663", "\u1d62", "x\u1d62", "\u212a", "lambda_", "match", "type"]


def _refused(call) -> bool:
    try:
        call()
    except sd.SymdiffError:
        return True
    return False


@pytest.mark.parametrize("name", NAMES, ids=[ascii(n) for n in NAMES])
def test_sd_var_and_the_parser_agree(name):
    by_var = _refused(lambda: sd.var(name))
    assert by_var == _refused(lambda: sd.parse(name))
    assert by_var == _refused(lambda: sd.tensor(1.0, name=name))


def test_the_agreement_test_sees_both_answers():
    verdicts = {_refused(lambda: sd.var(n)) for n in NAMES}
    assert verdicts == {True, False}


def test_a_combining_sequence_nfkc_composes_is_refused():
    # e + COMBINING ACUTE ACCENT: Python reads the precomposed e-acute
    with pytest.raises(sd.ArgumentError, match="joins with the character before it"):
        sd.var("e\u0301")
    assert sd.var("\u00e9").name == "\u00e9"


@pytest.mark.parametrize("name, where", [("e\u0301", 1), ("xe\u0301", 2),
                                         ("\u1100\u1161", 1)])   # Hangul L + V jamo
def test_spelling_problem_of_a_composed_sequence_says_where(name, where):
    # spelling_problem raised StopIteration here (it looked for one character NFKC changes)
    from symdiff.text.hygiene import spelling_problem
    i, message = spelling_problem(name)
    assert i == where and "joins with the character before it" in message
    with pytest.raises(sd.ParseError) as e:
        sd.parse(name + " + 1")
    assert e.value.position == where


def test_the_message_is_the_parsers():
    with pytest.raises(sd.ParseError) as parsed:
        sd.parse("\uff58 + 1")
    with pytest.raises(sd.ArgumentError) as made:
        sd.var("\uff58")
    assert parsed.value.message in str(made.value)
