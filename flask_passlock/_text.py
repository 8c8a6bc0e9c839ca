"""Usernames and passkey names as people type them: normalised, with nothing invisible.

Both are NFKC-normalised (fullwidth ``ａ`` is ``a``, a ligature its letters), stripped, with
runs of spaces made one. Refused: control, format (zero-width, soft hyphen, direction
overrides), surrogate, private-use and unassigned characters, and the other characters that
display as nothing (Unicode's default-ignorable code points, Hangul fillers, the blank braille
pattern). A username also may not mix Latin, Greek and Cyrillic letters (``аdmin`` with a
Cyrillic ``а`` looks like ``admin``).
"""

from __future__ import annotations

import unicodedata

from .exceptions import InvalidLabel, InvalidUsername

#: Longest username accepted by sign-up and sign-in, and longest passkey name.
MAX_USERNAME = 64
MAX_LABEL = 100

_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}

#: Characters that display as nothing, though not all of them are of a refused category.
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)

_LOOKALIKE_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")


def _invisible(char: str) -> bool:
    point = ord(char)
    return any(low <= point <= high for low, high in _INVISIBLE_RANGES)


def normalise(value: object, *, max_length: int) -> str | None:
    """``value`` normalised, or ``None`` when it is not acceptable text."""
    if not isinstance(value, str):
        return None
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in value):
        return None  # controls (a newline...), format characters, lone surrogates...
    value = " ".join(unicodedata.normalize("NFKC", value).split())
    if not 1 <= len(value) <= max_length:
        return None
    # (NFKC never makes a character of a refused category out of an accepted one.)
    if any(_invisible(ch) for ch in value):
        return None
    return value


def _scripts(value: str) -> set[str]:
    scripts: set[str] = set()
    for char in value:
        if char.isalpha():
            name = unicodedata.name(char, "")
            scripts.update(s for s in _LOOKALIKE_SCRIPTS if name.startswith(s + " "))
    return scripts


def clean_username(value: object, *, max_length: int = MAX_USERNAME) -> str:
    """A username fit to store and look up; :class:`InvalidUsername` otherwise."""
    cleaned = normalise(value, max_length=max_length)
    if cleaned is None or len(_scripts(cleaned)) > 1:
        raise InvalidUsername()
    return cleaned


def clean_label(value: object) -> str:
    """A passkey name fit to store and show; :class:`InvalidLabel` otherwise."""
    cleaned = normalise(value, max_length=MAX_LABEL)
    if cleaned is None:
        raise InvalidLabel()
    return cleaned
