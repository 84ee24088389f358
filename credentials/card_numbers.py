"""ID card numbers: 9 random digits and a check letter, e.g. ``481 207 593 K``.

Random (``secrets``), not sequential: a number says nothing of when a card was issued or of the card before it,
and cannot be guessed from a neighbour's. The letter is the digits' value modulo 23 in the table Spain's DNI uses,
which catches every single mistyped digit and most swapped pairs when the number is read out on the phone to report
a card lost. Nine digits and a letter cannot be mistaken for a UIN (10 digits) or a VID (16 digits).
"""

from __future__ import annotations

import re
import secrets

from civid.errors import InvalidInput

DIGITS = 9
LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"  # value mod 23 -> letter
PATTERN = re.compile(rf"[1-9]\d{{{DIGITS - 1}}}[{LETTERS}]")


def check_letter(digits: str) -> str:
    """The check letter of nine digits."""
    return LETTERS[int(digits) % len(LETTERS)]


def new_number() -> str:
    """A fresh random card number (the first digit never 0, so it reads the same with or without zeros)."""
    digits = str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(DIGITS - 1))
    return digits + check_letter(digits)


def normalise(text: str) -> str:
    """A typed card number without spaces or hyphens, upper case; InvalidInput when malformed or mistyped."""
    number = re.sub(r"[\s-]", "", text or "").upper()
    if not PATTERN.fullmatch(number):
        raise InvalidInput("a card number is 9 digits and a letter", code="card_number_format")
    if check_letter(number[:DIGITS]) != number[DIGITS]:
        raise InvalidInput("the card number's check letter is wrong (mistyped?)", code="card_number_check")
    return number


def grouped(number: str) -> str:
    """``481 207 593 K``: how the number is printed."""
    return f"{number[0:3]} {number[3:6]} {number[6:9]} {number[9:]}"
