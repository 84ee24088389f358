"""The citizen-facing pages' words in English and Spanish (Belize), and how the language is chosen.

Each page module registers its own messages (``register``) next to the code that uses them; a key
missing in Spanish falls back to English, and a test checks that none is missing.
"""

from __future__ import annotations

from typing import Iterable

LANGUAGES = ("en", "es")
DEFAULT = "en"
_MESSAGES: dict[str, dict[str, str]] = {}


def register(messages: dict[str, dict[str, str]]) -> None:
    """Add ``{key: {"en": ..., "es": ...}}`` to the catalogue (both languages required)."""
    for key, texts in messages.items():
        missing = set(LANGUAGES) - set(texts)
        if missing:
            raise ValueError(f"message {key!r} lacks {', '.join(sorted(missing))}")
        _MESSAGES[key] = texts


def translate(key: str, lang: str, **values: object) -> str:
    """The message in ``lang`` (English if absent), with ``{name}`` placeholders filled."""
    texts = _MESSAGES.get(key)
    if texts is None:
        return key
    text = texts.get(lang) or texts[DEFAULT]
    return text.format(**values) if values else text


def catalogue() -> dict[str, dict[str, str]]:
    """Every registered message (for tests and translators)."""
    return dict(_MESSAGES)


def has(key: str) -> bool:
    """Whether a message ``key`` is registered (without copying the catalogue, as ``catalogue`` does)."""
    return key in _MESSAGES


def choose(preferences: Iterable[str]) -> str:
    """The first supported language among ``preferences`` (BCP 47 tags like ``es-BZ``), else English."""
    for tag in preferences:
        primary = tag.strip().split(";")[0].split("-")[0].lower()
        if primary in LANGUAGES:
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


register({
    "lang.name": {"en": "English", "es": "Español"},
    "site.title": {"en": "National Digital Identity", "es": "Identidad Digital Nacional"},
    "site.skip": {"en": "Skip to main content", "es": "Saltar al contenido principal"},
    "error.title": {"en": "Something went wrong", "es": "Algo salió mal"},
    "error.back": {"en": "Return to the service you came from and try again.",
                   "es": "Vuelva al servicio del que venía e inténtelo de nuevo."},
    "error.code": {"en": "Error code", "es": "Código de error"},
    "error.csrf": {"en": "This form has expired or was not sent by this site. Reload the page and try again.",
                   "es": "Este formulario ha caducado o no fue enviado por este sitio. Recargue la página e "
                         "inténtelo de nuevo."},
    "error.locked": {"en": "Too many failed attempts. Try again in {minutes} minutes.",
                     "es": "Demasiados intentos fallidos. Inténtelo de nuevo en {minutes} minutos."},
})
