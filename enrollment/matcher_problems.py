"""matcher's refusals (plain ``ValueError`` subclasses) as the civid problems the API answers with.

Every call from enrolment into matcher code that may refuse its input runs inside ``matcher_problems()``, so a
client sees the same status, problem type and message as when matcher raised civid's errors itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from civid.errors import InvalidFingerprintTemplate, InvalidImage
from matcher import errors


@contextmanager
def matcher_problems() -> Iterator[None]:
    """Re-raise matcher's ``InvalidTemplate`` and ``InvalidImage`` as civid's (422 problems), message unchanged."""
    try:
        yield
    except errors.InvalidTemplate as exc:
        raise InvalidFingerprintTemplate(str(exc)) from exc
    except errors.InvalidImage as exc:
        raise InvalidImage(str(exc)) from exc
