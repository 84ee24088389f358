"""Counted messages and numbers on the console's pages follow each language's rules (CLDR, via Babel)."""

from __future__ import annotations

import re
from pathlib import Path

import console.app  # its folder holds the templates read below
from civid.web import i18n

TEMPLATES = Path(console.app.__file__).parent / "templates"
COUNTED_USE = re.compile(r"""\bngettext\(\s*["']([a-z0-9_.-]+)["']""")


def test_counts_take_the_plural_form_of_their_language():
    assert (
        i18n.count_text("console.idle", 1, "en") == "For security you are signed out after 1 minute without activity."
    )
    assert i18n.count_text("console.idle", 15, "es").endswith("tras 15 minutos sin actividad.")
    assert i18n.count_text("console.idle", 1, "es").endswith("tras 1 minuto sin actividad.")
    assert [i18n.plural_form(n, "es") for n in (0, 1, 2, 1_000_000)] == ["other", "one", "other", "many"]
    assert i18n.count_text("console.idle", 1_000_000, "es").startswith("Por seguridad")  # many → other


def test_numbers_use_the_languages_separators():
    assert i18n.number(110_000, "en") == "110,000" and i18n.number(110_000, "es") == "110.000"
    assert i18n.number(2.5, "es", digits=1) == "2,5" and i18n.number(2.5, "en", digits=1) == "2.5"


def test_every_counted_message_a_template_uses_has_its_forms_in_both_languages():
    from fastapi import FastAPI

    from console.app import install as install_console
    from idp.app import install as install_idp

    app = FastAPI()
    install_idp(app)
    install_console(app)
    used = {key for path in TEMPLATES.glob("*.html") for key in COUNTED_USE.findall(path.read_text())}
    assert {"console.enrol.errors_title", "cases.count", "audit.results"} <= used
    catalogue = i18n.catalogue()
    # A counted message has every plural form of each language (English one/other, Spanish one/many/other).
    missing = [
        (key, lang)
        for key in used
        for lang in ("en", "es")
        if not i18n.is_counted(key) or not all(catalogue[key].get(lang) or ())
    ]
    assert missing == []
    assert len(catalogue["cases.count"]["en"]) == 2 and len(catalogue["cases.count"]["es"]) == 3
