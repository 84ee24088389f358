"""civid's one error hierarchy. Each class carries its HTTP status and a problem type (RFC 9457).

Code raises these; ``civid.problems`` turns any of them into ``application/problem+json`` in one place,
and the CLI turns them into a message and a non-zero exit.
"""

from __future__ import annotations

from typing import Any


class CividError(Exception):
    """Base of every expected failure: carries what a client needs to understand and fix it."""

    status: int = 400
    type_slug: str = "bad-request"
    title: str = "Bad request"
    # The stable code of this kind of failure, when every instance says the same sentence (``csrf``, ``locked``).
    code: str | None = None
    # The catalogue in which this class's codes name their sentences (``<message_catalogue>.<code>``): the citizen
    # pages' ``error``, the passkey ceremonies' ``passkey.error``. Those pages translate an error only when its
    # class opts in so, never on a code that merely matches a key: an unrelated error whose code happens to be
    # ``expired`` or ``title`` must not say a passkey sentence or a page label.
    message_catalogue: str | None = None

    def __init__(
        self, detail: str, *, code: str | None = None, params: dict[str, Any] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        # A stable code for this sentence (finer than the problem type) and its values, so a page can say it in
        # the reader's language (the one way an error names its message: a page looks ``<catalogue>.<code>`` up
        # in its own catalogue, a citizen page only in the one the class names, ``message_catalogue``); kept apart
        # from ``extra``, so problem+json bodies do not change.
        self.code = code if code is not None else type(self).code
        self.params = dict(params or {})
        self.extra = extra

    @property
    def type_uri(self) -> str:
        return f"https://civid.dev/problems/{self.type_slug}"

    def message_key(self, *catalogues: str) -> str | None:
        """The key of this error's sentence when its class names its sentences in one of ``catalogues``."""
        if self.code and self.message_catalogue in catalogues:
            return f"{self.message_catalogue}.{self.code}"
        return None


class InvalidInput(CividError):
    """The request is well-formed HTTP but its content is not acceptable (missing or wrong fields)."""

    status = 422
    type_slug = "invalid-input"
    title = "Invalid input"


class InvalidImage(InvalidInput):
    """An uploaded file is not a decodable JPEG/PNG (corrupt, truncated, other format)."""

    type_slug = "invalid-image"
    title = "Invalid image"


class NotAFingerprint(InvalidImage):
    """A finger image shows no friction ridges (a face, a document, a blank scan): refused before any extraction."""

    type_slug = "not-a-fingerprint"
    title = "Not a fingerprint"


class InvalidFingerprintTemplate(InvalidInput):
    """A finger minutiae record (ISO/IEC 19794-2) is malformed: bad header, truncated, or a field out of range."""

    type_slug = "invalid-fingerprint-template"
    title = "Invalid fingerprint template"


class UnfitFingerprintRecord(InvalidFingerprintTemplate):
    """A well-formed finger minutiae record the matchers cannot use: its declared resolution, or where its minutiae
    lie in the frame it declares, does not fit a 500 ppi fingertip (``matcher.record_fitness``)."""

    type_slug = "unfit-fingerprint-record"
    title = "Fingerprint record unfit for matching"


class UnsupportedMediaType(CividError):
    status = 415
    type_slug = "unsupported-media-type"
    title = "Unsupported media type"


class PayloadTooLarge(CividError):
    """A file or image is over the configured size or pixel limits (decompression bombs included)."""

    status = 413
    type_slug = "payload-too-large"
    title = "Payload too large"


class IdempotencyKeyReused(InvalidInput):
    """An Idempotency-Key already stored with a different request: replaying it would answer with another
    request's result (draft-ietf-httpapi-idempotency-key-header §2.7: 422)."""

    type_slug = "idempotency-key-reused"
    title = "Idempotency key reused"


class InvalidUin(InvalidInput):
    type_slug = "invalid-uin"
    title = "Invalid UIN"


class Unauthenticated(CividError):
    status = 401
    type_slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(CividError):
    status = 403
    type_slug = "forbidden"
    title = "Forbidden"


class NotFound(CividError):
    status = 404
    type_slug = "not-found"
    title = "Not found"


class Conflict(CividError):
    """The request contradicts the current state (a case already decided, an idempotency key reused)."""

    status = 409
    type_slug = "conflict"
    title = "Conflict"


class ConfigurationError(CividError):
    """The deployment is misconfigured (a missing key, an unreadable key ring)."""

    status = 500
    type_slug = "configuration"
    title = "Server misconfigured"
