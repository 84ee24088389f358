"""A Babel extraction method for the message keys that code completes at run time.

Most keys are named literally where they are used (``translate("console.title", lang)``, ``_('site.title')``)
and ``pybabel extract`` finds them there. Some are built from a stable code (``f"{catalogue}.{code}"``, a
batch reason, an OAuth error, ``_("cases.decision." ~ decision)``); those exist only in the English catalogue,
where their text is written. This method reads ``en.po`` so that ``civid.pot`` lists every key translators
must translate, plural entries included (see ``babel.cfg``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.pofile import read_po


def extract_catalogue(
    fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str], options: Mapping[str, Any]
) -> Iterator[tuple[int, str, str | tuple[str, str], list[str]]]:
    """Yield every message of a ``.po`` file as Babel's extractors do: ``(line, function, message, comments)``."""
    for message in read_po(fileobj):
        if not message.id:
            continue  # the header
        line = message.lineno or 0
        if message.pluralizable:
            singular, plural = message.id[0], message.id[1]
            yield line, "ngettext", (str(singular), str(plural)), []
        else:
            yield line, "gettext", str(message.id), []
