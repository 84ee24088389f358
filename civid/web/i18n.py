"""The words of civid's pages in every language under ``locale/``, and how a page's language is chosen.

The catalogues are gettext ``.po`` files, one per language (``locale/<lang>/LC_MESSAGES/civid.po``), keyed by
a stable message key (``console.title``); the English text lives in ``en.po``. They are read with Babel when
first needed and compiled in memory, so there is no ``.mo`` to build or to go stale; a language is a folder,
so adding one (Belize Kriol, ``bzj``) is one new ``.po`` file. A key a language lacks falls back to English.
Placeholders are ``{name}`` (python-brace-format); plural forms are the language's CLDR rules (the catalogue's
``Plural-Forms``), and numbers are written with the language's separators (Babel's CLDR data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, get_decimal_symbol
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "civid"
DEFAULT = "en"


class Catalogues:
    """Every language's translations found under one locale folder (``<lang>/LC_MESSAGES/civid.po``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        files = sorted(folder.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
        self.catalogs: dict[str, Catalog] = {}
        for path in files:
            lang = path.parent.parent.name
            with path.open("rb") as po:
                self.catalogs[lang] = read_po(po, locale=lang, domain=DOMAIN)
        if DEFAULT not in self.catalogs:
            raise FileNotFoundError(f"no {DEFAULT}/LC_MESSAGES/{DOMAIN}.po under {folder}")
        # English first: the language of a request that names none civid has.
        self.languages = (DEFAULT, *sorted(set(self.catalogs) - {DEFAULT}))
        default = _compiled(self.catalogs[DEFAULT])
        self.translations = {
            lang: default if lang == DEFAULT else _compiled(catalog, fallback=default)
            for lang, catalog in self.catalogs.items()
        }
        self.counted = frozenset(str(m.id[0]) for m in self.catalogs[DEFAULT] if m.id and m.pluralizable)

    def has(self, key: str) -> bool:
        """Whether the English catalogue has a message ``key``."""
        return key in self.catalogs[DEFAULT]


def _compiled(catalog: Catalog, fallback: Translations | None = None) -> Translations:
    """``catalog`` as gettext translations, compiled in memory (an untranslated message falls back)."""
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    translations = Translations(buffer, domain=DOMAIN)
    if fallback is not None:
        translations.add_fallback(fallback)
    return translations


_catalogues: Catalogues | None = None


def load(folder: Path = LOCALE_DIR) -> Catalogues:
    """Read the catalogues under ``folder`` and use them from now on (start-up, or a test's own folder)."""
    global _catalogues
    _catalogues = Catalogues(folder)
    return _catalogues


def catalogues() -> Catalogues:
    """The catalogues in use (read from ``LOCALE_DIR`` on first use)."""
    return _catalogues or load()


def languages() -> tuple[str, ...]:
    """Every language civid speaks: the folders of the locale directory, English first."""
    return catalogues().languages


def translations(lang: str) -> Translations:
    """The gettext translations of ``lang`` (English for a language civid does not have)."""
    found = catalogues().translations
    return found.get(lang) or found[DEFAULT]


def translate(key: str, lang: str, /, **values: object) -> str:
    """The message ``key`` in ``lang`` (English if absent, the key itself if unknown), ``{name}`` filled."""
    text = translations(lang).gettext(key)
    return text.format(**values) if values else text


def plural(key: str, count: int, lang: str, /, **values: object) -> str:
    """The counted message ``key`` in the plural form of ``count`` in ``lang`` (gettext ``ngettext``), values
    filled (the count too, when the text names it: ``{n}`` or ``{count}``)."""
    text = translations(lang).ngettext(key, key, abs(count))
    return text.format(**values) if values else text


def count_text(key: str, count: int, lang: str, /, **values: object) -> str:
    """The counted message ``key`` for ``count``, with ``{count}`` written in ``lang`` (``110.000`` in Spanish)."""
    return plural(key, count, lang, count=number(count, lang), **values)


def catalogue() -> dict[str, dict[str, str | tuple[str, ...]]]:
    """Every message by key and language (a counted one as its plural forms), for tests and translators."""
    found: dict[str, dict[str, str | tuple[str, ...]]] = {}
    for lang, catalog in catalogues().catalogs.items():
        for message in catalog:
            if message.id:
                key = str(message.id[0] if message.pluralizable else message.id)
                string = message.string
                text = tuple(string) if isinstance(string, (tuple, list)) else str(string or "")
                found.setdefault(key, {})[lang] = text
    return found


def has(key: str) -> bool:
    """Whether a message ``key`` exists."""
    return catalogues().has(key)


def is_counted(key: str) -> bool:
    """Whether ``key`` is a counted message (one with plural forms)."""
    return key in catalogues().counted


@lru_cache(maxsize=32)
def locale(lang: str) -> Locale:
    """Babel's CLDR locale of ``lang``; English's for a language CLDR does not describe (Belize Kriol)."""
    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT)


def plural_form(count: int, lang: str) -> str:
    """The CLDR plural category of ``count`` in ``lang`` (``one``, ``many`` or ``other`` for en and es)."""
    return str(locale(lang).plural_form(abs(count)))


def number(value: float, lang: str, digits: int = 0) -> str:
    """``value`` with the language's decimal and grouping separators (``digits`` after the point)."""
    if not digits:  # CLDR's own pattern: Spanish writes 1000 but 110.000 (minimum grouping digits)
        return format_decimal(round(value), locale=locale(lang))
    return format_decimal(value, format="#,##0." + "0" * digits, locale=locale(lang))


def size_text(n_bytes: int, lang: str) -> str:
    """A size in binary units as people read them: ``8 MiB``, ``9.5 MiB`` (``9,5 MiB`` in Spanish), ``64 KiB``."""
    value, unit = float(n_bytes), "bytes"
    for step in ("KiB", "MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, step
    if unit == "bytes":
        return f"{n_bytes} bytes"
    text = f"{value:.0f}" if value >= 100 or value == int(value) else f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', get_decimal_symbol(locale(lang)))} {unit}"


def template_callables(lang: str) -> dict[str, Callable[..., str]]:
    """``gettext`` and ``ngettext`` in ``lang`` for a page's render context: what ``jinja2.ext.i18n``'s ``_``,
    ``gettext`` and ``ngettext`` call in templates (``_('key', name=value)``, ``ngettext('key', 'key', n)``)."""

    def gettext(key: str, **values: object) -> str:
        return translate(key, lang, **values)

    def ngettext(singular: str, plural_key: str, n: int, **values: object) -> str:
        return count_text(singular, n, lang, **values)

    return {"gettext": gettext, "ngettext": ngettext}


def choose(preferences: Iterable[str]) -> str:
    """The first supported language among ``preferences`` (BCP 47 tags like ``es-BZ``), else English."""
    supported = languages()
    for tag in preferences:
        primary = tag.strip().split(";")[0].split("-")[0].lower()
        if primary in supported:
            return primary
    return DEFAULT


def from_accept_language(header: str | None) -> list[str]:
    """Accept-Language tags ordered by their q weight (RFC 9110 §12.5.4)."""
    weighted = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]
