"""CBEFF XML (ISO/IEC 19785-3, MOSIP's BIR profile, docs.mosip.io "CBEFF XML"): the biometric records in it.

A MOSIP record is one outer ``BIR`` holding one inner ``BIR`` per sample. Each inner BIR's ``BDBInfo`` says what
its ``BDB`` (base64) holds: ``Type`` (Finger, Face, Iris), ``Subtype`` ("Left IndexFinger", "Right Thumb"...) and
``Format/Type``, the BDB format identifier of patron 257 (ISO/IEC JTC 1 SC 37): 7 finger image (19794-4),
2 finger minutiae (19794-2), 8 face image (19794-5), 9 iris image. The document comes from another system, so it
is parsed with defusedxml: no DTD, no entity expansion (billion laughs), no external entity (a file or URL read on
civid's side).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from abis.messages import AbisFailure, FailureReason

NAMESPACE = "http://standards.iso.org/iso-iec/19785/-3/ed-2/"
FORMAT_FINGER_MINUTIAE = 2
FORMAT_FINGER_IMAGE = 7
FORMAT_FACE_IMAGE = 8
FORMAT_IRIS_IMAGE = 9
# MOSIP's finger subtypes (BDBInfo/Subtype) and their ISO/IEC 19794 finger position codes.
FINGER_SUBTYPES = {
    "right thumb": 1,
    "right indexfinger": 2,
    "right middlefinger": 3,
    "right ringfinger": 4,
    "right littlefinger": 5,
    "left thumb": 6,
    "left indexfinger": 7,
    "left middlefinger": 8,
    "left ringfinger": 9,
    "left littlefinger": 10,
}


@dataclass(frozen=True)
class BiometricRecord:
    """One inner BIR: its modality (``Type``), ``Subtype``, BDB format type and the decoded BDB bytes."""

    modality: str  # Finger | Face | Iris | ...
    subtype: str
    format_type: int
    data: bytes

    @property
    def finger_position(self) -> int | None:
        """The ISO finger position the subtype names, or None (an unknown subtype, or not a finger)."""
        return FINGER_SUBTYPES.get(" ".join(self.subtype.lower().split()))


def parse(document: bytes) -> list[BiometricRecord]:
    """Every inner BIR that carries a BDB; AbisFailure 16 if the XML is not a CBEFF BIR, 11 if it holds no BDB."""
    try:
        root = safe_xml.fromstring(document, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise AbisFailure(FailureReason.INVALID_CBEFF, f"the CBEFF is not well-formed XML ({exc})") from exc
    if _local(root.tag) != "BIR":
        raise AbisFailure(FailureReason.INVALID_CBEFF, f"the CBEFF's root is <{_local(root.tag)}>, not <BIR>")
    records = []
    for bir in root.iter():
        if bir is root or _local(bir.tag) != "BIR":
            continue
        bdb = _child(bir, "BDB")
        info = _child(bir, "BDBInfo")
        if bdb is None or not (bdb.text or "").strip():
            continue
        if info is None:
            raise AbisFailure(FailureReason.INVALID_CBEFF, "a BIR has a BDB but no BDBInfo")
        records.append(_record(info, bdb.text or ""))
    if not records:
        raise AbisFailure(FailureReason.CBEFF_HAS_NO_DATA, "the CBEFF holds no BIR with biometric data (BDB)")
    return records


def _record(info: Element, bdb_text: str) -> BiometricRecord:
    format_element = _child(info, "Format")
    format_type = _text(_child(format_element, "Type")) if format_element is not None else ""
    if not format_type.isdigit():
        raise AbisFailure(FailureReason.INVALID_CBEFF, f"BDBInfo/Format/Type {format_type!r} is not a number")
    try:
        data = base64.b64decode("".join(bdb_text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AbisFailure(FailureReason.INVALID_CBEFF, "a BDB is not base64") from exc
    return BiometricRecord(
        modality=_text(_child(info, "Type")),
        subtype=_text(_child(info, "Subtype")),
        format_type=int(format_type),
        data=data,
    )


def _local(tag: str) -> str:
    """An element's name without its namespace (MOSIP's records carry the 19785-3 one; some tools drop it)."""
    return tag.rsplit("}", 1)[-1]


def _child(element: Element | None, name: str) -> Element | None:
    if element is None:
        return None
    return next((child for child in element if _local(child.tag) == name), None)


def _text(element: Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""
