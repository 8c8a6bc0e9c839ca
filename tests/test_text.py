"""The username and passkey-name rules, each alone: what is normalised, what is refused."""

from __future__ import annotations

import pytest

from flask_passlock._text import (
    _INVISIBLE_RANGES,
    MAX_LABEL,
    MAX_USERNAME,
    clean_label,
    clean_username,
    normalise,
)
from flask_passlock.exceptions import InvalidLabel, InvalidUsername

NORMALISED = {
    "plain": ("alice", "alice"),
    "one character": ("a", "a"),
    "fullwidth": ("\uff41lice", "alice"),
    "ligature": ("\ufb01sh", "fish"),
    "stripped": ("  alice \u3000", "alice"),
    "inner runs of spaces made one": ("alice  \u00a0 smith", "alice smith"),
    "hangul syllables": ("\ud55c\uad6d", "\ud55c\uad6d"),
    "greek only": ("\u03b1\u03b2\u03b3", "\u03b1\u03b2\u03b3"),
    "cyrillic only": ("\u0430\u0431\u0432", "\u0430\u0431\u0432"),
    "latin with digits and marks": ("caf\u00e9-42_x", "caf\u00e9-42_x"),
    "a letter of no script checked, with latin": ("a\u05d0", "a\u05d0"),
    "a letter with no name, with latin": ("a\U00017000", "a\U00017000"),
    "a cyrillic sign that is no letter, with latin": ("ab\u0482", "ab\u0482"),
    "just below an invisible range": ("a\u115e", "a\u115e"),
    "just above an invisible range": ("a\u1161", "a\u1161"),
}


@pytest.mark.parametrize("value, expected", NORMALISED.values(), ids=NORMALISED.keys())
def test_usernames_are_normalised(value, expected):
    assert clean_username(value) == expected
    assert clean_label(value) == expected


def _invisible_examples() -> dict[str, str]:
    examples = {}
    for low, high in _INVISIBLE_RANGES:
        for point in {low, high}:
            examples[f"U+{point:04X}"] = f"ali{chr(point)}ce"
    return examples


REFUSED = {
    "empty": "",
    "spaces only": " \u3000 ",
    "newline": "ali\nce",
    "tab": "ali\tce",
    "unit separator": "ali\x1fce",
    "next line (C1)": "ali\x85ce",
    "DEL": "ali\x7fce",
    "zero width joiner": "ali\u200dce",
    "line separator": "ali\u2028ce",
    "paragraph separator": "ali\u2029ce",
    "lone surrogate": "ali\ud800ce",
    "private use": "ali\ue000ce",
    "unassigned": "ali\u0378ce",
    "halfwidth hangul filler (NFKC: U+1160)": "alice\uffa0",
    **_invisible_examples(),
}


def refused_everywhere(value: object) -> None:
    """``value`` is neither a normal text, nor a username, nor a passkey name."""
    assert normalise(value, max_length=100) is None
    with pytest.raises(InvalidUsername):
        clean_username(value)
    with pytest.raises(InvalidLabel):
        clean_label(value)


@pytest.mark.parametrize("value", REFUSED.values(), ids=REFUSED.keys())
def test_invisible_and_control_characters_are_refused(value):
    refused_everywhere(value)


@pytest.mark.parametrize("value", [None, 5, b"alice", ["alice"], True])
def test_non_strings_are_refused(value):
    refused_everywhere(value)


MIXED = {
    "cyrillic a in latin": "\u0430dmin",
    "greek omicron in latin": "r\u03bfot",
    "latin in greek": "\u03b1\u03b2c",
    "latin in cyrillic": "\u0430\u0431c",
    "all three": "a\u03b1\u0430",
}


@pytest.mark.parametrize("value", MIXED.values(), ids=MIXED.keys())
def test_usernames_may_not_mix_look_alike_scripts(value):
    with pytest.raises(InvalidUsername):
        clean_username(value)
    assert clean_label(value) == value  # a passkey name may


def test_lengths_are_counted_after_normalising():
    assert clean_username("a" * MAX_USERNAME) == "a" * MAX_USERNAME
    assert clean_username(" " + "a" * MAX_USERNAME + " ") == "a" * MAX_USERNAME
    with pytest.raises(InvalidUsername):
        clean_username("a" * (MAX_USERNAME + 1))
    assert clean_username("a" * 100, max_length=100) == "a" * 100
    with pytest.raises(InvalidUsername):
        clean_username("a" * 101, max_length=100)
    assert clean_label("a" * MAX_LABEL) == "a" * MAX_LABEL
    with pytest.raises(InvalidLabel):
        clean_label("a" * (MAX_LABEL + 1))
    assert normalise("\ufb03", max_length=3) == "ffi"  # one character, three after NFKC
    assert normalise("\ufb03", max_length=2) is None
