"""The resident's data download as a readable PDF (fpdf2): a heading per section, a two-column table (field,
value) per record, in the resident's language.

The PDF core fonts (Helvetica) cover Latin-1 only, which holds Spanish (á, ñ, ¿); any other character is
written as its base letter where it has one (ő -> o) and as "?" otherwise, so a name from another script never
stops the download — the JSON download keeps it exactly.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from fpdf import FPDF

from civid.web import i18n

SECTION_KEY = "my_data.section."
FIELD_KEY = "my_data.field."
SKIPPED = ("format", "version", "generated_at")
# Letters with no decomposition to a Latin-1 base (NFKD leaves them whole).
BASE_LETTERS = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Œ": "OE", "œ": "oe", "Ħ": "H", "ħ": "h", "ı": "i"}
LABEL_WIDTH = 55  # mm; the value column takes the rest of the page


def latin1(text: str) -> str:
    """``text`` in Latin-1: accents kept, other characters by their base letter, else "?"."""
    out: list[str] = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        if char in BASE_LETTERS:
            out.append(BASE_LETTERS[char])
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if ord(c) < 256 and not unicodedata.combining(c))
        out.append(base or "?")
    return "".join(out)


def _label(prefix: str, name: str, lang: str) -> str:
    key = prefix + name
    return i18n.translate(key, lang) if i18n.has(key) else name.replace("_", " ")


def _text(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items() if v not in (None, "", [], {}))
    return str(value)


def _nested(value: Any) -> bool:
    return isinstance(value, Mapping) or (isinstance(value, list) and any(isinstance(i, Mapping) for i in value))


class _Writer:
    def __init__(self, lang: str, compress: bool) -> None:
        self.lang = lang
        self.pdf = FPDF(format="A4")
        self.pdf.set_compression(compress)
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.pdf.add_page()

    def heading(self, text: str, size: int) -> None:
        self.pdf.set_font("Helvetica", "B", size)
        self.pdf.multi_cell(0, size * 0.6, latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def paragraph(self, text: str) -> None:
        self.pdf.set_font("Helvetica", "", 10)
        self.pdf.multi_cell(0, 5, latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(2)

    def record(self, record: Mapping[str, Any]) -> None:
        """A table of the record's plain fields, then a sub-heading and the records of each nested one."""
        plain = [(name, value) for name, value in record.items() if not _nested(value)]
        if plain:
            self.pdf.set_font("Helvetica", "", 9)
            width = self.pdf.epw
            with self.pdf.table(col_widths=(LABEL_WIDTH, width - LABEL_WIDTH), first_row_as_headings=False) as table:
                for name, value in plain:
                    row = table.row()
                    row.cell(latin1(_label(FIELD_KEY, name, self.lang)))
                    row.cell(latin1(_text(value)))
            self.pdf.ln(2)
        for name, value in record.items():
            if _nested(value):
                self.heading(_label(FIELD_KEY, name, self.lang), 10)
                self.records(value)

    def records(self, value: Any) -> None:
        items = value if isinstance(value, list) else [value]
        if not items:
            self.paragraph(i18n.translate("my_data.none", self.lang))
        for item in items:
            if isinstance(item, Mapping):
                self.record(item)
            else:
                self.paragraph(_text(item))


def render_pdf(document: Mapping[str, Any], lang: str, *, compress: bool = True) -> bytes:
    """The PDF of a data download (``idp.my_data``), its words in ``lang``."""
    writer = _Writer(lang, compress)
    writer.heading(i18n.translate("my_data.pdf.title", lang), 16)
    writer.paragraph(i18n.translate("my_data.pdf.generated", lang, when=document.get("generated_at", "")))
    writer.paragraph(i18n.translate("my_data.pdf.biometrics", lang))
    for name, value in document.items():
        if name in SKIPPED:
            continue
        writer.heading(_label(SECTION_KEY, name, lang), 13)
        writer.records(value)
    return bytes(writer.pdf.output())
