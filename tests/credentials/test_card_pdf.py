"""The card's PDF drawing alone (no database): a long name shrinks, then is cut, never runs off the card; a name
outside Latin-1 is printed by its base letters."""

from __future__ import annotations

import re
from datetime import date

from fpdf import FPDF

from credentials.card_pdf import MIN_VALUE_PT, CardFace, fitted, render
from tests.conftest import fixture_bytes


def test_a_long_name_shrinks_to_fit_and_is_cut_only_past_the_smallest_size():
    pdf = FPDF(unit="mm")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 7.5)
    assert fitted(pdf, "Obama", 50, 7.5) == ("Obama", 7.5)
    long = "Wolfeschlegelsteinhausenbergerdorff-Ñúñez de la Santísima Trinidad"
    text, size = fitted(pdf, long, 50, 7.5)
    assert size == MIN_VALUE_PT and text.endswith("...") and pdf.get_string_width(text) <= 50


def test_a_card_with_a_long_name_from_another_script_still_renders_two_pages():
    face = CardFace(
        authority="National Identity Register",
        country="BLZ",
        given_names="Łukasz Đorđe Ő " * 4,
        family_name="Wolfeschlegelsteinhausenbergerdorff " * 3,
        identifier_label="VID",
        identifier="1234 5678 9012 3456",
        date_of_birth=date(1988, 3, 14),
        sex="X",
        issued_on=date(2026, 12, 7),
        expires_on=date(2036, 12, 5),
        card_number="481 207 593 K",
        photo_jpeg=fixture_bytes("obama_2012_portrait.jpg"),
        qr_text="NCF" * 400,
        verify_url="https://id.example.bz/verify",
    )
    pdf = render(face)
    assert pdf.startswith(b"%PDF-") and len(re.findall(rb"/Type /Page\b", pdf)) == 2
