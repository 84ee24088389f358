"""System errors on console pages in the reader's language.

Lower layers explain themselves in English (``CividError.detail``, the sentence problem+json sends); where a
person can cause an error from a console form, its raise site also gives a stable ``code`` and the values of
the sentence (``params``). A page looks the code up in its own catalogue (``<catalogue>.<code>``, in the gettext
catalogues, ``civid.web.i18n``) and falls back to the English sentence for a code it does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from civid.errors import CividError
from civid.web import i18n


def coded_text(catalogue: str, code: str | None, params: Mapping[str, Any], lang: str, fallback: str) -> str:
    """The text ``<catalogue>.<code>`` in ``lang`` filled with ``params``; ``fallback`` when the code is unknown
    or the values its text names are missing (a record stored before it had them)."""
    if not code:
        return fallback
    key = f"{catalogue}.{code}"
    text = i18n.translate(key, lang)
    if i18n.is_counted(key):
        # A counted sentence: its plural form follows the count (the first whole number among its values).
        count = next((v for v in params.values() if isinstance(v, int) and not isinstance(v, bool)), None)
        if count is not None:
            try:
                return i18n.count_text(key, count, lang, **{k: v for k, v in params.items() if k != "count"})
            except (KeyError, IndexError, ValueError):
                return fallback
    if text == key:
        return fallback
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return fallback


def error_text(exc: CividError, catalogue: str, lang: str) -> str:
    """What to tell the person about ``exc``, in ``lang`` when its code is in the catalogue, else in English."""
    return coded_text(catalogue, exc.code, exc.params, lang, exc.detail)
