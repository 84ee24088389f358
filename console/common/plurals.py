"""The console templates' ``num(value, digits)``: a number with the page language's decimal and grouping
separators ("110,000" in English, "110.000" in Spanish), from Babel (the Unicode CLDR data).

Counted messages and numbers in Python come from ``civid.web.i18n`` (``count_text``, ``number``,
``plural_form``); templates call ``ngettext(key, key, count, **values)`` for counted words, never "problem(s)".
"""

from __future__ import annotations

import jinja2

from civid.web import i18n, pages


@jinja2.pass_context
def _template_number(context: jinja2.runtime.Context, value: float, digits: int = 0) -> str:
    return i18n.number(value, context["lang"], digits)


def install() -> None:
    """Let every page template write ``num(value, digits)``."""
    pages.add_template_global("num", _template_number)
