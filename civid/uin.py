"""The UIN's format: 10 digits, the last a Verhoeff check digit; checking and normalising what people type.

Verhoeff catches every single-digit error and every swap of adjacent digits, the two mistakes people make when
typing a number. Every package reads UINs (routes, login hints, the audit filter); only enrolment issues them
(``enrollment.uin``).
"""

from __future__ import annotations

import re

from civid.errors import InvalidUin

UIN_LENGTH = 10
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]
_INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]


def verhoeff_check_digit(digits: str) -> str:
    """The Verhoeff check digit to append to ``digits``."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[(i + 1) % 8][int(ch)]]
    return str(_INV[c])


def verhoeff_valid(number: str) -> bool:
    """True when the last digit of ``number`` is its correct Verhoeff check digit."""
    c = 0
    for i, ch in enumerate(reversed(number)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c == 0


def normalise_uin(text: str) -> str:
    """Strip spaces and hyphens and check length, digits and check digit; raise InvalidUin if wrong."""
    uin = re.sub(r"[\s-]", "", text or "")
    if not re.fullmatch(rf"[1-9]\d{{{UIN_LENGTH - 1}}}", uin):
        raise InvalidUin(
            f"a UIN is {UIN_LENGTH} digits, not starting with 0",
            uin=text,
            code="uin_format",
            params={"length": UIN_LENGTH},
        )
    if not verhoeff_valid(uin):
        raise InvalidUin("the UIN's check digit is wrong (mistyped?)", uin=text, code="uin_check_digit")
    return uin
