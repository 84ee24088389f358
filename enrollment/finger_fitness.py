"""Refuse an imported finger record the matchers cannot use (``matcher.record_fitness``), naming each finger and why.

An ISO/IEC 19794-2 record from another system is taken as it is: its coordinates go to the matchers as 500 ppi
pixels. A record that declares another resolution, or whose minutiae were rescaled into a frame that does not fit
them (squeezed into a corner, stretched thin, pressed together), would compare as a different finger and could
match strangers (issue 12: such a set gave most of the high-LLR impostors). The whole request is refused (422,
``unfit-fingerprint-record``), nothing is stored: the person is at the desk, so the officer scans those fingers
instead, or asks the sending system for a 500 ppi record. Storing the enrolment without the finger would lose a
finger the person has without an officer's reason; storing it with the finger would put it in the 1:N index.
A record with too few minutiae stays what it was, a finger that fails the quality gate (its report says why).
"""

from __future__ import annotations

from typing import Any

from civid.errors import UnfitFingerprintRecord
from civid.settings_groups import FingerQualityParams
from matcher import iso19794, record_fitness
from matcher.iso19794 import FingerprintRecord
from matcher.record_fitness import Finding, Fitness, FitnessLimits

# Geometry and resolution: what refuses the record. TOO_FEW is the quality gate's own issue, reported per finger.
REFUSING = frozenset(record_fitness.CODES) - {record_fitness.TOO_FEW}


def fitness_limits(limits: FingerQualityParams) -> FitnessLimits:
    """The record-fitness limits of ``settings.finger_quality``."""
    return FitnessLimits(
        ppi_tolerance=limits.ppi_tolerance,
        min_minutiae=limits.min_minutiae,
        min_frame_coverage=limits.min_frame_coverage,
        min_minutiae_per_cm2=limits.min_minutiae_per_cm2,
        max_minutiae_per_cm2=limits.max_minutiae_per_cm2,
    )


def finding_params(finding: Finding) -> dict[str, str]:
    """The values a page needs to say ``finding`` in its language (``console.quality.file.<code>``)."""
    if finding.code == record_fitness.RESOLUTION:
        return {"value": f"{finding.measured:.0f}", "limit": f"{finding.limit:.0f}"}
    if finding.code == record_fitness.COVERAGE:
        return {"value": f"{100 * finding.measured:.0f}", "limit": f"{100 * finding.limit:.0f}"}
    return {"value": f"{finding.measured:.1f}", "limit": f"{finding.limit:g}"}


def check_record(record: FingerprintRecord, limits: FingerQualityParams) -> dict[int, Fitness]:
    """Each finger view's fitness (by position, 1-10 only: other views are refused by position already); raise
    ``UnfitFingerprintRecord`` naming every unfit finger and every reason when any view has a refusing finding."""
    checked = {
        view.position: record_fitness.assess_view(record, view, fitness_limits(limits))
        for view in record.views
        if 1 <= view.position <= 10
    }
    unfit: list[dict[str, Any]] = []
    for position, fitness in checked.items():
        findings = [f for f in fitness.findings if f.code in REFUSING]
        if findings:
            unfit.append(
                {
                    "position": position,
                    "finger": iso19794.FINGER_POSITIONS[position],
                    "reasons": [
                        {"code": f.code, "message": f.message, "measured": f.measured, "limit": f.limit}
                        for f in findings
                    ],
                }
            )
    if unfit:
        first = unfit[0]
        detail = "; ".join(
            f"finger {u['position']} ({u['finger']}): " + "; ".join(r["message"] for r in u["reasons"]) for u in unfit
        )
        finding = next(f for f in checked[first["position"]].findings if f.code in REFUSING)
        raise UnfitFingerprintRecord(
            f"the finger record cannot be used for matching: {detail}; scan these fingers instead, or send a "
            "record of 500 ppi coordinates",
            code=finding.code,
            params={"finger": first["position"], "file": "finger_record", **finding_params(finding)},
            fingers=unfit,
        )
    return checked
