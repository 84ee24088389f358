"""The ID card as a PDF to print: ISO/IEC 7810 ID-1 (85.60 x 53.98 mm), page 1 the front, page 2 the back.

Front: the authority and country, the portrait, names, the UIN (or VID), date of birth, sex, issue and expiry
dates and the card number. Back: the signed Claim 169 QR and where to verify it.

The QR is drawn by ``segno`` at error-correction level M at least (raised while the symbol does not grow): MOSIP's
PixelPass defaults to L, but a card in a wallet gets scratched and bent, and M recovers 15 % of the symbol where L
recovers 7 %; the Claim 169 photo guidance sizes payloads for level M. Base45 is exactly QR's alphanumeric
alphabet, so the symbol uses alphanumeric mode (5.5 bits a character). The quiet zone is the 4 modules ISO/IEC
18004 requires. Core fonts only (Helvetica, Latin-1: ``idp.my_data_pdf.latin1`` spells other letters by their
base letter; the QR keeps the name exactly).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

import segno
from fpdf import FPDF

from idp.my_data_pdf import latin1

WIDTH_MM, HEIGHT_MM = 85.60, 53.98  # ISO/IEC 7810 ID-1
MARGIN_MM = 3.0
PHOTO_W_MM, PHOTO_H_MM = 22.0, 29.33  # 3:4, as credentials.card_photo crops it
QR_ERROR = "m"
QR_QUIET_ZONE = 4  # modules, ISO/IEC 18004 §6.3.8
QR_PNG_SCALE = 8  # pixels per module of the embedded image: sharp at any print resolution
VALUE_PT, MIN_VALUE_PT = 7.5, 5.0  # a value's font size, and the smallest a long name shrinks to


@dataclass(frozen=True)
class CardFace:
    """Everything printed on the card (plain values: this module knows neither the database nor the keys)."""

    authority: str
    country: str
    given_names: str
    family_name: str
    identifier_label: str  # "UIN" | "VID"
    identifier: str  # grouped for reading
    date_of_birth: date
    sex: str
    issued_on: date
    expires_on: date
    card_number: str  # grouped for reading
    photo_jpeg: bytes
    qr_text: str
    verify_url: str


def qr_symbol(text: str) -> segno.QRCode:
    """The card's QR symbol (level M or better, never a Micro QR)."""
    return segno.make_qr(text, error=QR_ERROR, boost_error=True)


def qr_png(text: str, scale: int = QR_PNG_SCALE) -> bytes:
    """The QR as a black-on-white PNG with its quiet zone (what the back prints)."""
    buffer = io.BytesIO()
    qr_symbol(text).save(buffer, kind="png", scale=scale, border=QR_QUIET_ZONE)
    return buffer.getvalue()


def fitted(pdf: FPDF, text: str, width: float, size: float, smallest: float = MIN_VALUE_PT) -> tuple[str, float]:
    """``text`` and the font size at which it fits ``width`` mm: smaller down to ``smallest`` pt, then cut with an
    ellipsis (a long name is still printed whole in the QR)."""
    while size > smallest and pdf.get_string_width(text) > width:
        size = max(smallest, size - 0.25)
        pdf.set_font_size(size)
    if pdf.get_string_width(text) <= width:
        return text, size
    while len(text) > 1 and pdf.get_string_width(text + "...") > width:
        text = text[:-1]
    return text.rstrip() + "...", size


def _field(pdf: FPDF, x: float, y: float, label: str, value: str, width: float) -> None:
    pdf.set_xy(x, y)
    pdf.set_font("Helvetica", "", 5)
    pdf.set_text_color(90, 90, 90)
    pdf.cell(width, 2.2, latin1(label))
    pdf.set_xy(x, y + 2.2)
    pdf.set_font("Helvetica", "B", VALUE_PT)
    pdf.set_text_color(0, 0, 0)
    shown, _ = fitted(pdf, latin1(value), width - 0.5, VALUE_PT)
    pdf.cell(width, 3.2, shown)


def _front(pdf: FPDF, face: CardFace) -> None:
    pdf.add_page()
    pdf.set_fill_color(28, 63, 110)
    pdf.rect(0, 0, WIDTH_MM, 8.5, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_xy(MARGIN_MM, 1.2)
    pdf.set_font("Helvetica", "B", 8)
    pdf.cell(WIDTH_MM - 2 * MARGIN_MM - 10, 3.4, latin1(face.authority))
    pdf.set_xy(WIDTH_MM - MARGIN_MM - 10, 1.2)
    pdf.cell(10, 3.4, face.country, align="R")
    pdf.set_xy(MARGIN_MM, 4.6)
    pdf.set_font("Helvetica", "", 5.5)
    pdf.cell(40, 2.6, "IDENTITY CARD / DOCUMENTO DE IDENTIDAD")
    pdf.image(io.BytesIO(face.photo_jpeg), x=MARGIN_MM, y=11.0, w=PHOTO_W_MM, h=PHOTO_H_MM)
    x = MARGIN_MM + PHOTO_W_MM + 3.0
    column = WIDTH_MM - x - MARGIN_MM
    half = column / 2
    _field(pdf, x, 10.5, "Surname / Apellidos", face.family_name, column)
    _field(pdf, x, 16.3, "Given names / Nombres", face.given_names, column)
    _field(pdf, x, 22.1, f"{face.identifier_label} / Número", face.identifier, column)
    _field(pdf, x, 27.9, "Date of birth / Nacimiento", face.date_of_birth.isoformat(), half)
    _field(pdf, x + half, 27.9, "Sex / Sexo", face.sex, half)
    _field(pdf, x, 33.7, "Issued / Expedición", face.issued_on.isoformat(), half)
    _field(pdf, x + half, 33.7, "Expires / Vencimiento", face.expires_on.isoformat(), half)
    _field(pdf, MARGIN_MM, 44.5, "Card number / Número de tarjeta", face.card_number, WIDTH_MM - 2 * MARGIN_MM)


def _back(pdf: FPDF, face: CardFace) -> None:
    pdf.add_page()
    side = HEIGHT_MM - 2 * MARGIN_MM - 4.0  # the QR square, its quiet zone included; a text line below
    pdf.image(io.BytesIO(qr_png(face.qr_text)), x=(WIDTH_MM - side) / 2, y=MARGIN_MM, w=side, h=side)
    pdf.set_xy(MARGIN_MM, MARGIN_MM + side + 0.6)
    pdf.set_font("Helvetica", "", 6)
    pdf.set_text_color(0, 0, 0)
    pdf.cell(WIDTH_MM - 2 * MARGIN_MM, 3, latin1(f"Verify at / Verifique en {face.verify_url}"), align="C")


def render(face: CardFace) -> bytes:
    """The two-page PDF (front, back) at ID-1 size."""
    pdf = FPDF(orientation="L", unit="mm", format=(HEIGHT_MM, WIDTH_MM))
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(0, 0, 0)
    pdf.set_title("Identity card")
    pdf.set_creator("civid")
    _front(pdf, face)
    _back(pdf, face)
    return bytes(pdf.output())
