"""Every word on civid's pages exists in every language, every key the code or a template uses is in the
catalogue template, and a new language is one .po file."""

from __future__ import annotations

import shutil
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po
from fastapi import Depends, Request
from fastapi.testclient import TestClient

from civid.errors import Conflict, Forbidden
from civid.web import i18n, pages
from civid.web.csrf import CsrfRejected
from idp import passkeys
from idp.passkey_ceremony import PasskeyRejected
from server.app import create_app

ROOT = Path(__file__).resolve().parents[2]
POT = i18n.LOCALE_DIR / "civid.pot"
# The keywords `make messages` gives pybabel extract (Makefile).
KEYWORDS = {**DEFAULT_KEYWORDS, "translate": None, "plural": None, "count_text": None}


def _template() -> Catalog:
    with POT.open("rb") as pot:
        return read_po(pot)


def _extracted(with_catalogue: bool) -> set[str]:
    """The keys ``pybabel extract -F babel.cfg`` finds (from the code and templates only, or with en.po too)."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    if not with_catalogue:
        method_map = [(pattern, method) for pattern, method in method_map if "locale" not in pattern]
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS)
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def test_every_message_of_the_template_is_translated_in_every_language() -> None:
    keys = {str(m.id[0] if m.pluralizable else m.id) for m in _template() if m.id}
    assert len(keys) > 700
    catalogue = i18n.catalogue()
    assert set(i18n.languages()) >= {"en", "es"}
    for lang in i18n.languages():
        texts = {key: catalogue.get(key, {}).get(lang) for key in keys}
        assert [key for key, text in texts.items() if not text or not all(text)] == [], lang
    untranslated = [
        key for key in keys if catalogue[key]["es"] == catalogue[key]["en"] and len(str(catalogue[key]["en"])) > 12
    ]
    assert untranslated == []
    # Every language's catalogue has exactly the template's keys (none left over from an older version).
    assert all({k for k, texts in catalogue.items() if lang in texts} == keys for lang in i18n.languages())


def test_every_key_the_code_or_a_template_uses_is_in_the_template_and_the_template_is_current() -> None:
    used = _extracted(with_catalogue=False)
    assert {"site.title", "console.title", "console.idle", "cases.count"} <= used
    template = {str(m.id[0] if m.pluralizable else m.id) for m in _template() if m.id}
    assert sorted(used - template) == []
    assert template == _extracted(with_catalogue=True) - {""}, "civid.pot is stale: run `make messages`"


def test_the_extraction_reads_every_package_s_templates() -> None:
    # A package's templates left out of babel.cfg would escape the check above (and `make messages`).
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, _ = parse_mapping_cfg(cfg)
    read = {pattern for pattern, method in method_map if method == "jinja2"}
    folders = {folder.relative_to(ROOT).as_posix() for folder in ROOT.glob("*/templates")}
    assert {"idp/templates", "console/templates", "kyc/templates"} <= folders
    assert sorted(f"{folder}/**.html" for folder in folders if f"{folder}/**.html" not in read) == []
    assert "kyc.releases" in _extracted(with_catalogue=False)


def test_counted_messages_are_plural_entries_with_every_form_of_their_language() -> None:
    for lang, catalog in i18n.catalogues().catalogs.items():
        for message in catalog:
            if message.pluralizable:
                assert len(message.string) == catalog.num_plurals, (lang, message.id)


def test_language_follows_ui_locales_then_accept_language() -> None:
    assert i18n.choose(["es-BZ", "en"]) == "es"
    assert i18n.choose(["fr", "en-GB"]) == "en"
    assert i18n.choose(i18n.from_accept_language("fr;q=1, es;q=0.8, en;q=0.5")) == "es"
    assert i18n.choose(i18n.from_accept_language("en;q=0.2, es;q=0.9")) == "es"
    assert (
        i18n.translate("error.locked", "es", minutes=15)
        == "Demasiados intentos fallidos. Inténtelo de nuevo en 15 minutos."
    )


def test_a_new_language_is_one_po_file_and_no_code(tmp_path: Path, client: TestClient) -> None:
    # Belize Kriol: a folder with one civid.po beside English and Spanish; two words translated, the rest
    # falls back to English.
    for lang in ("en", "es"):
        shutil.copytree(i18n.LOCALE_DIR / lang, tmp_path / lang)
    kriol = Catalog(locale="bzj", domain="civid")
    kriol.add("lang.name", "Kriol")
    kriol.add("site.title", "Nashinal Dijital Aidentiti")
    (tmp_path / "bzj" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "bzj" / "LC_MESSAGES" / "civid.po").open("wb") as po:
        write_po(po, kriol)
    try:
        i18n.load(tmp_path)
        assert i18n.languages() == ("en", "bzj", "es")
        page = client.get("/authorize?client_id=nobody", headers={"Accept-Language": "bzj, en;q=0.5"})
        assert '<html lang="bzj">' in page.text and "Nashinal Dijital Aidentiti" in page.text
        assert "Something went wrong" in page.text  # untranslated: English
        assert '<a href="?lang=bzj" lang="bzj" aria-current="true">Kriol</a>' in page.text
        assert i18n.count_text("console.idle", 2, "bzj").endswith("after 2 minutes without activity.")
    finally:
        i18n.load()
    assert i18n.languages() == ("en", "es")


def test_only_an_error_whose_class_names_its_catalogue_is_said_from_it(services) -> None:
    # A code is a message key only where the error's class says so (message_catalogue): an unrelated error whose
    # code happens to match a key ("title", "expired") keeps its own sentence, never a page label or a passkey's.
    app = create_app(services=services)

    @app.get("/test/refused", dependencies=[Depends(pages.html_page)])
    def refused(kind: str) -> None:
        raise CsrfRejected("csrf detail") if kind == "csrf" else Forbidden("an unrelated refusal", code="title")

    @app.post("/test/explained")
    def explained(request: Request, kind: str) -> None:
        with passkeys._explained(request):
            if kind == "passkey":
                raise PasskeyRejected("passkey detail", code="expired")
            raise Conflict("an unrelated conflict", code="expired")

    with TestClient(app, raise_server_exceptions=False) as client:
        unrelated = client.get("/test/refused?kind=other")
        assert unrelated.status_code == 403 and "an unrelated refusal" in unrelated.text
        assert unrelated.text.count("Something went wrong") == 2  # the page's title and heading, not the message
        assert "This form has expired" in client.get("/test/refused?kind=csrf").text
        assert "message" not in client.post("/test/explained?kind=other").json()
        assert client.post("/test/explained?kind=passkey").json()["message"].startswith("This request has expired")
