"""Counts and numbers on the console's pages as each language writes them: CLDR plural rules ("1 case",
"2 cases"; Spanish "1 problema", "7 problemas") and locale-aware digits ("110,000" in English, "110.000" in
Spanish), from Babel (the Unicode CLDR data), never "problem(s)".

A counted message is registered as one entry per CLDR plural category, ``<key>.one``, ``<key>.other`` (and
``<key>.many`` where a language has it); a missing category falls back to ``other``. Templates call
``tn(key, count, **values)`` (a Jinja global registered by ``install``); ``{count}`` is filled with the count
written in the page's language.
"""

from __future__ import annotations

from functools import lru_cache

import jinja2
from babel import Locale
from babel.numbers import format_decimal

from idp import i18n, pages


@lru_cache(maxsize=16)
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def plural_form(count: int, lang: str) -> str:
    """The CLDR plural category of ``count`` in ``lang`` (``one``, ``many`` or ``other`` for en and es)."""
    return _locale(lang).plural_form(abs(count))


def number(value: float, lang: str, digits: int = 0) -> str:
    """``value`` with the language's decimal and grouping separators (``digits`` after the point)."""
    if not digits:  # CLDR's own pattern: Spanish writes 1000 but 110.000 (minimum grouping digits)
        return format_decimal(round(value), locale=_locale(lang))
    return format_decimal(value, format="#,##0." + "0" * digits, locale=_locale(lang))


def count_text(key: str, count: int, lang: str, **values: object) -> str:
    """The message ``key`` in the form for ``count`` (``{count}`` written in ``lang``), other values filled."""
    form = f"{key}.{plural_form(count, lang)}"
    chosen = form if i18n.has(form) else f"{key}.other"
    return i18n.translate(chosen, lang, count=number(count, lang), **values)


@jinja2.pass_context
def _template_count_text(context: jinja2.runtime.Context, key: str, count: int, **values: object) -> str:
    return count_text(key, count, context["lang"], **values)


@jinja2.pass_context
def _template_number(context: jinja2.runtime.Context, value: float, digits: int = 0) -> str:
    return number(value, context["lang"], digits)


def install() -> None:
    """Let every page template write ``tn(key, count, ...)`` and ``num(value, digits)``."""
    pages.add_template_global("tn", _template_count_text)
    pages.add_template_global("num", _template_number)
