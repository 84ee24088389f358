"""UINs: the Verhoeff check digit and the random generator."""

from __future__ import annotations

import itertools
import random

import pytest

from civid.errors import InvalidUin
from civid.uin import UIN_LENGTH, normalise_uin, verhoeff_check_digit, verhoeff_valid
from enrollment.uin import generate_uin


@pytest.mark.parametrize(
    "body, check",
    [("236", "3"), ("12345", "1"), ("142857", "0"), ("123456789012", "0"), ("8473643095483728456789", "2")],
)
def test_verhoeff_check_digit_matches_published_vectors(body, check):
    assert verhoeff_check_digit(body) == check
    assert verhoeff_valid(body + check)


def test_verhoeff_rejects_a_wrong_check_digit():
    assert verhoeff_valid("2363")
    assert not any(verhoeff_valid("236" + str(d)) for d in range(10) if d != 3)


@pytest.fixture(scope="module")
def sample_uins() -> list[str]:
    return [generate_uin() for _ in range(200)]


def test_every_single_digit_substitution_is_detected(sample_uins):
    for uin in sample_uins:
        assert verhoeff_valid(uin)
        for position in range(len(uin)):
            for digit in "0123456789":
                if digit != uin[position]:
                    mistyped = uin[:position] + digit + uin[position + 1 :]
                    assert not verhoeff_valid(mistyped), (uin, mistyped)


def test_every_adjacent_transposition_is_detected(sample_uins):
    for uin in sample_uins:
        for position in range(len(uin) - 1):
            a, b = uin[position], uin[position + 1]
            if a != b:
                swapped = uin[:position] + b + a + uin[position + 2 :]
                assert not verhoeff_valid(swapped), (uin, swapped)


def test_every_digit_pair_swapped_at_every_position_is_detected():
    # Deterministic coverage of all 90 ordered pairs at each body position, whatever the other digits.
    rng = random.Random(2024)
    for position in range(UIN_LENGTH - 2):
        for a, b in itertools.permutations("0123456789", 2):
            digits = [str(rng.randrange(1, 10))] + [str(rng.randrange(10)) for _ in range(UIN_LENGTH - 2)]
            digits[position], digits[position + 1] = a, b
            uin = "".join(digits) + verhoeff_check_digit("".join(digits))
            swapped = uin[:position] + b + a + uin[position + 2 :]
            assert not verhoeff_valid(swapped), (uin, swapped)


def test_generated_uins_are_ten_digits_never_start_with_zero_and_rarely_repeat():
    uins = [generate_uin() for _ in range(10_000)]
    assert all(len(u) == UIN_LENGTH == 10 and u.isdigit() and u[0] != "0" and verhoeff_valid(u) for u in uins)
    # 10,000 draws from 9 * 10**8 bodies repeat about 0.06 times on average (the birthday bound), so an
    # occasional repeat is expected -- issuance retries it against the database (test_workflow). Four or
    # more repeats has a probability below 1e-6 for a uniform generator and means a broken one.
    assert len(uins) - len(set(uins)) <= 3
    # Every digit appears in every position after the first: the generator is not stuck.
    assert all(len({u[i] for u in uins}) == 10 for i in range(1, UIN_LENGTH))


def test_normalise_uin_strips_spaces_and_hyphens():
    uin = generate_uin()
    assert normalise_uin(f" {uin[:3]}-{uin[3:6]} {uin[6:]} ") == uin


@pytest.mark.parametrize("text", ["", "12345", "12345678901", "0123456789", "12345abcde"])
def test_normalise_uin_refuses_malformed_numbers(text):
    with pytest.raises(InvalidUin, match="10 digits"):
        normalise_uin(text)


def test_normalise_uin_refuses_a_wrong_check_digit():
    uin = generate_uin()
    wrong = uin[:-1] + str((int(uin[-1]) + 1) % 10)
    with pytest.raises(InvalidUin, match="check digit"):
        normalise_uin(wrong)
