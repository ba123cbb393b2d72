"""The words of the service desk: case kinds, severities, channels, and the intake record."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl


class CaseKind(StrEnum):
    repair = "repair"  # 报修
    complaint = "complaint"  # 投诉
    consultation = "consultation"  # 咨询
    installation = "installation"  # 安装


class Severity(StrEnum):
    emergency = "emergency"  # water/electrical hazard, serious leak, danger to people or property
    normal = "normal"


class Channel(StrEnum):
    hotline = "hotline"
    website = "website"
    wechat = "wechat"
    account_manager = "account_manager"
    online = "online"
    store = "store"
    app = "app"


class Stage(StrEnum):
    new = "new"  # recorded, acknowledgement sent, nobody has contacted the customer yet
    responded = "responded"  # first contact made (apology for a complaint)
    planned = "planned"  # plan or solution given
    resolved = "resolved"  # the problem is solved
    closed = "closed"  # the file is closed


class ClockName(StrEnum):
    response = "response"
    plan = "plan"
    resolution = "resolution"


_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Area codes: 010 and 02x have two digits after the trunk 0, every other code three.
_LANDLINE = re.compile(r"^0?(10|2\d|[3-9]\d{2})-?([1-9]\d{6,7})(?:-(\d{1,6}))?$")


def normalize_phone(raw: str) -> str:
    """A mainland mobile (13812345678) or a landline with its area code (021-12345678).

    Spaces, brackets, dashes and a +86 prefix are accepted; the result is written as the
    desk writes it: the mobile as 11 digits, a landline as 0AREA-NUMBER[-EXTENSION].
    """
    text = re.sub(r"[\s()]", "", raw)
    text = re.sub(r"^(\+86|0086)-?", "", text)
    if _MOBILE.match(text.replace("-", "")):
        return text.replace("-", "")
    match = _LANDLINE.match(text)
    if match:
        area, number, ext = match.groups()
        return f"0{area}-{number}" + (f"-{ext}" if ext else "")
    raise ValueError(
        "not a mainland China phone number: expected a mobile (11 digits starting with 1) "
        "or a landline with its area code (e.g. 021-12345678)"
    )


# Phone-like runs inside free text: a mobile, or a landline with its area code.
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(?:1[3-9]\d(?:[\s-]?\d){8}|0\d{2,3}[\s-]?[1-9]\d{6,7})(?!\d)")


def redact_phones(text: str) -> str:
    """Free text (notes, reasons) travels through Temporal's history: phones stay out of it.
    The customer's number is in the case file, where the desk reads it."""
    return _PHONE_IN_TEXT.sub("[电话]", text)


Phone = Annotated[str, AfterValidator(normalize_phone)]
ProjectId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")]


class Intake(BaseModel):
    """What the desk records when a request arrives (DOMAIN.md §1.1)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: CaseKind
    severity: Severity | None = Field(
        default=None,
        description="Set by the agent; left empty, it is detected from the description "
        "(leaks, electrical or gas hazards make a case an emergency).",
    )
    channel: Channel
    customer_name: str = Field(min_length=1, max_length=100)
    phone: Phone
    address: str = Field(min_length=1, max_length=300, description="Project address")
    house_type: str | None = Field(default=None, max_length=50, description="e.g. 三室两厅")
    description: str = Field(min_length=1, max_length=4000)
    attachments: list[HttpUrl] = Field(default_factory=list, max_length=20, description="Photo or video URLs")
    under_warranty: Literal["yes", "no", "unknown"] = "unknown"
    repaired_before: bool = False
    project_id: ProjectId | None = None
    reported_at: AwareDatetime | None = Field(
        default=None,
        description="When the customer reported it, if earlier than now; the clocks start here.",
    )


def received_at(intake: Intake, now: datetime) -> datetime:
    """The moment the clocks start: the reported time, never later than now."""
    if intake.reported_at is None or intake.reported_at > now:
        return now
    return intake.reported_at
