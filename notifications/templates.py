"""Message templates: ``<lang>/<kind>.txt`` for email (first line ``Subject: …``) and ``<lang>/<kind>.sms.txt`` for
SMS (the text alone), shipped here and overridable from ``CIVID_NOTIFICATION_TEMPLATES_DIR`` without code, rendered
in Jinja2's sandbox with only masked values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

SHIPPED = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Message:
    """A rendered notification."""

    subject: str
    body: str


def mask_uin(uin: str) -> str:
    """Only the last four digits: a message may be read by someone else (``******1234``)."""
    return "*" * max(0, len(uin) - 4) + uin[-4:]


def environment(override_dir: Path | None) -> SandboxedEnvironment:
    """The sandboxed environment: the override folder first, then the shipped templates."""
    loaders = [FileSystemLoader(str(override_dir))] if override_dir else []
    loaders.append(FileSystemLoader(str(SHIPPED)))
    return SandboxedEnvironment(loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False)


# Three segments of a Unicode SMS (70 characters each): a longer text is cut rather than sent as many.
SMS_MAX_CHARS = 210


def render(
    env: SandboxedEnvironment, language: str, kind: str, uin: str, channel: str = "email", **values: object
) -> Message:
    """Render ``kind`` for ``channel`` in ``language``; templates see the masked UIN and ``values`` (never the full
    UIN)."""
    suffix = ".sms.txt" if channel == "sms" else ".txt"
    template = env.get_template(f"{language}/{kind}{suffix}")
    text = template.render(uin_masked=mask_uin(uin), uin_last4=uin[-4:], **values)
    if channel == "sms":
        return Message(subject="", body=" ".join(text.split())[:SMS_MAX_CHARS])
    first, _, rest = text.partition("\n")
    subject = first.removeprefix("Subject:").strip()
    return Message(subject=subject[:200], body=rest.strip() + "\n")
