"""Every word on the citizen pages exists in English and Spanish, and every key a template uses is defined."""

from __future__ import annotations

import re
from pathlib import Path

import idp.app  # noqa: F401 - imports every page module, which register their messages
from civid.web import i18n

TEMPLATES = Path(idp.app.__file__).parent / "templates"
KEY_USE = re.compile(r"""\bt\(\s*["']([a-z0-9_.-]+)["']""")


def test_every_message_has_english_and_a_spanish_translation() -> None:
    catalogue = i18n.catalogue()
    assert len(catalogue) > 50
    untranslated = [key for key, texts in catalogue.items()
                    if not texts["es"].strip() or (texts["es"] == texts["en"] and len(texts["en"]) > 12)]
    assert untranslated == []


def test_every_key_used_by_a_template_is_defined() -> None:
    used = {key for path in TEMPLATES.glob("*.html") for key in KEY_USE.findall(path.read_text())}
    assert used, "no t('…') calls found: the pattern is wrong"
    defined = set(i18n.catalogue())
    # A key ending in "." is a prefix completed at run time (t("account.consent.status." ~ status)).
    missing = [key for key in used if (not any(d.startswith(key) for d in defined) if key.endswith(".")
                                       else key not in defined)]
    assert sorted(missing) == []


def test_language_follows_ui_locales_then_accept_language() -> None:
    assert i18n.choose(["es-BZ", "en"]) == "es"
    assert i18n.choose(["fr", "en-GB"]) == "en"
    assert i18n.choose(i18n.from_accept_language("fr;q=1, es;q=0.8, en;q=0.5")) == "es"
    assert i18n.choose(i18n.from_accept_language("en;q=0.2, es;q=0.9")) == "es"
    assert i18n.translate("error.locked", "es", minutes=15) == "Demasiados intentos fallidos. Inténtelo de nuevo en 15 minutos."
