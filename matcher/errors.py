"""What matcher refuses, as plain ``ValueError`` subclasses: matcher knows nothing of HTTP.

The package that takes templates and images from clients (enrollment) turns these into its problems.
"""

from __future__ import annotations


class MatcherError(ValueError):
    """Base of every refusal of matcher's: the input cannot be read or compared."""


class InvalidTemplate(MatcherError):
    """A finger minutiae record (ISO/IEC 19794-2) is malformed (bad header, truncated, a field out of range), or
    a finger view cannot be compared (no minutiae, refused by NBIS)."""


class InvalidImage(MatcherError):
    """A fingerprint image NBIS cannot take: not 2-D 8-bit grey, too small or too large, or refused by MINDTCT."""
