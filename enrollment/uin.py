"""Issuing unique identity numbers: 9 random digits and a Verhoeff check digit (the format is ``civid.uin``).

Random (``secrets``), so a UIN says nothing about the person nor about when or where they enrolled,
and cannot be guessed from a neighbour's. Uniqueness is enforced by the database; UIN rows are never
deleted, so a number is never reused.
"""

from __future__ import annotations

import secrets

from civid.uin import UIN_LENGTH, verhoeff_check_digit


def generate_uin() -> str:
    """A fresh random UIN (first digit never 0, so it survives being read as a number)."""
    body = str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(UIN_LENGTH - 2))
    return body + verhoeff_check_digit(body)
