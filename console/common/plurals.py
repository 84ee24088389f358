"""Counts and numbers on the console's pages as each language writes them: CLDR plural rules ("1 case",
"2 cases"; Spanish "1 problema", "7 problemas") and locale-aware digits ("110,000" in English, "110.000" in
Spanish), from Babel (the Unicode CLDR data), never "problem(s)".

A counted message is one gettext plural entry (``msgid``/``msgid_plural`` both the key, one ``msgstr[i]`` per
plural form of the language's ``Plural-Forms``); templates call ``ngettext(key, key, count, **values)`` and
Python ``count_text``; ``{count}`` is filled with the count written in the page's language.
"""

from __future__ import annotations

import jinja2

from civid.web import i18n, pages


def plural_form(count: int, lang: str) -> str:
    """The CLDR plural category of ``count`` in ``lang`` (``one``, ``many`` or ``other`` for en and es)."""
    return str(i18n.locale(lang).plural_form(abs(count)))


def number(value: float, lang: str, digits: int = 0) -> str:
    """``value`` with the language's decimal and grouping separators (``digits`` after the point)."""
    return i18n.number(value, lang, digits)


def count_text(key: str, count: int, lang: str, **values: object) -> str:
    """The message ``key`` in the form for ``count`` (``{count}`` written in ``lang``), other values filled."""
    return i18n.count_text(key, count, lang, **values)


@jinja2.pass_context
def _template_number(context: jinja2.runtime.Context, value: float, digits: int = 0) -> str:
    return number(value, context["lang"], digits)


def install() -> None:
    """Let every page template write ``num(value, digits)``."""
    pages.add_template_global("num", _template_number)
