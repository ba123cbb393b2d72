"""The words of the service desk: case kinds, severities, channels, and the intake record."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from domain.bounds import SKEW, Instant
from domain.warranty import Area


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
    """Where a case stands. Which actions each stage allows is in ``domain.process``."""

    new = "new"  # recorded and acknowledged; nobody has contacted the customer yet
    # repairs and installations
    diagnosing = "diagnosing"  # contacted: remote guidance or an on-site survey next
    survey_booked = "survey_booked"  # an on-site survey is booked
    planning = "planning"  # cause known: a repair plan is being made (round after round)
    awaiting_confirmation = "awaiting_confirmation"  # a paid plan waits for the customer's yes
    ready_to_dispatch = "ready_to_dispatch"  # plan agreed (free or confirmed), or rework due
    dispatched = "dispatched"  # a work order is out: re-confirm, visit, self-check
    awaiting_acceptance = "awaiting_acceptance"  # work done: the customer inspects it
    awaiting_settlement = "awaiting_settlement"  # accepted paid work: settle and invoice
    awaiting_revisit = "awaiting_revisit"  # revisit due 3–7 days after acceptance
    follow_up = "follow_up"  # a low score at the revisit: the supervisor follows up
    # complaints
    investigating = "investigating"  # apologised: the responsible department finds a solution
    solution_given = "solution_given"  # a solution is given: its result is followed through
    awaiting_verdict = "awaiting_verdict"  # the result is reported: is the customer satisfied?
    # consultations
    handed_over = "handed_over"  # handed over with an expected reply time
    # every kind
    closed = "closed"  # the service file is archived
    cancelled = "cancelled"


class ClockName(StrEnum):
    response = "response"  # first contact (apology for a complaint)
    plan = "plan"  # plan or solution given
    resolution = "resolution"  # the work accepted, the complaint's result reported
    reconfirm = "reconfirm"  # the technician re-confirms the visit before the appointment
    revisit = "revisit"  # the revisit after acceptance
    follow_up = "follow_up"  # the supervisor's follow-up of a low revisit score
    gm_revisit = "gm_revisit"  # the general manager's revisit after a major complaint
    reply = "reply"  # a handed-over consultation's expected reply


SLA_CLOCKS = (ClockName.response, ClockName.plan, ClockName.resolution)


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


# Characters that show nothing on their own: white space, controls, format characters (zero-width
# space and joiners, the BOM, direction marks), combining marks without a letter to sit on, and
# the blank letters (Hangul fillers, the braille blank).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})


def _invisible(ch: str) -> bool:
    return ch.isspace() or ch in _BLANK_LETTERS or unicodedata.category(ch) in _INVISIBLE_CATEGORIES


def clean_text(text: str) -> str:
    """Text any field may hold: no NUL (PostgreSQL stores none, so it was a 500 after the
    request was judged), and, when not empty, at least one character that shows (a name of
    zero-width spaces is no name)."""
    if "\x00" in text:
        raise ValueError("contains a NUL character (\\x00)")
    if text and all(_invisible(ch) for ch in text):
        raise ValueError("has only invisible characters (white space, zero-width spaces, joiners, a BOM)")
    return text


# The one text type of every model a request fills (names, addresses, descriptions, notes, ids).
CleanText = Annotated[str, AfterValidator(clean_text)]

Phone = Annotated[str, AfterValidator(normalize_phone), WithJsonSchema(
    {"type": "string", "examples": ["13812345678", "021-12345678"],
     "description": "a mainland China mobile (11 digits, 1[3-9]…) or landline (area code and number)"})]
# Enough to catch a typo; the mail server has the last word.
Email = Annotated[str, Field(max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
ProjectId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")]


class ProblemCategory(StrEnum):
    """What a problem is about: the trades of seed 002 and the furniture of seed 003. The
    most-frequent-problems report groups by it (``domain.kpi``)."""

    leak = "leak"  # 渗漏、防水
    plumbing_electrical = "plumbing_electrical"  # 水电
    carpentry = "carpentry"  # 木工
    tiling_masonry = "tiling_masonry"  # 瓦工
    painting = "painting"  # 油漆
    doors_windows = "doors_windows"  # 门窗
    furniture = "furniture"  # 家具（板式、实木、软体）
    hardware = "hardware"  # 五金（合页、滑轨、螺丝）
    appliance = "appliance"  # 电器
    other = "other"


# How messages and reports name each category; the one table (the weekly report, project messages).
PROBLEM_CATEGORY_LABELS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "leak": "渗漏", "plumbing_electrical": "水电", "carpentry": "木工", "tiling_masonry": "瓦工", "painting": "油漆",
        "doors_windows": "门窗", "furniture": "家具", "hardware": "五金", "appliance": "电器", "other": "其他",
    },
    "en": {
        "leak": "leak", "plumbing_electrical": "plumbing and electrical", "carpentry": "carpentry",
        "tiling_masonry": "tiling and masonry", "painting": "painting", "doors_windows": "doors and windows",
        "furniture": "furniture", "hardware": "hardware", "appliance": "appliance", "other": "other",
    },
}


# A model number as printed on the product: letters, digits and a few separators. Upper-cased,
# so "bf-1200" and "BF-1200" count as one model in the problem report.
ProductModel = Annotated[
    str, Field(min_length=1, max_length=60, pattern=r"^\w[\w .\-/+#()]*$"), AfterValidator(str.upper)
]


# How long ago a customer may have reported what the desk records now. The clocks start at
# ``reported_at``: a back-dated intake breaches every clock and runs the whole escalation chain
# (supervisor, manager, the general manager for a complaint) within seconds of its recording
# (security review I1). A report that reached us late (a letter, a voicemail or a web form left
# over a holiday, the Spring Festival's week included) is a matter of days; a month covers any
# such backlog, while a date further back is no late report but a typo or a made-up record.
REPORTED_BACK = timedelta(days=30)


class Intake(BaseModel):
    """What the desk records when a request arrives (DOMAIN.md §1.1)."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True,
        json_schema_extra={"examples": [{"kind": "repair", "channel": "hotline", "customer_name": "王女士",
                                         "phone": "13812345678", "address": "上海市浦东新区锦绣路100弄5号",
                                         "description": "卫生间漏水"}]},
    )

    kind: CaseKind
    severity: Severity | None = Field(
        default=None,
        description="Set by the agent; left empty, it is detected from the description "
        "(leaks, electrical or gas hazards make a case an emergency).",
    )
    channel: Channel
    customer_name: CleanText = Field(min_length=1, max_length=100)
    phone: Phone
    email: Email | None = Field(default=None, description="For messages by email; optional")
    preferred_channel: Literal["sms", "email"] | None = Field(
        default=None, description="How the customer wants to hear from us; the policy's order otherwise"
    )
    locale: Literal["zh-CN", "en"] = Field(default="zh-CN", description="The language of the customer's messages")
    address: CleanText = Field(min_length=1, max_length=300, description="Project address")
    house_type: CleanText | None = Field(default=None, max_length=50, description="e.g. 三室两厅")
    description: CleanText = Field(min_length=1, max_length=4000)
    attachments: list[HttpUrl] = Field(default_factory=list, max_length=20, description="Photo or video URLs")
    under_warranty: Literal["yes", "no", "unknown"] = "unknown"
    repaired_before: bool = False
    project_id: ProjectId | None = None
    area: Area | None = Field(
        default=None, description="Where in the home; with project_id and problem_category it decides the warranty term"
    )
    problem_category: ProblemCategory | None = Field(
        default=None, description="What the problem is about, for the most-frequent-problems report"
    )
    product: CleanText | None = Field(
        default=None, min_length=1, max_length=100, description="The product concerned, e.g. 实木床架 or 卫生间防水"
    )
    product_model: ProductModel | None = Field(default=None, description="Its model, e.g. BF-1200 (needs product)")
    reported_at: Instant | None = Field(
        default=None,
        description="When the customer reported it, if earlier than now; the clocks start here. "
        f"With its offset; at most {REPORTED_BACK.days} days ago, and not in the future.",
    )
    major: bool = Field(
        default=False,
        description="A major complaint: a task group, a written solution within 24 h and the "
        "general manager's personal revisit (complaints only).",
    )

    @model_validator(mode="after")
    def _model_of_a_product(self) -> Intake:
        if self.product_model and not self.product:
            raise ValueError("product_model needs the product it is a model of")
        return self

    @model_validator(mode="after")
    def _major_is_a_complaint(self) -> Intake:
        if self.major and self.kind != CaseKind.complaint:
            raise ValueError("only a complaint can be major")
        return self

    @model_validator(mode="after")
    def _email_for_email(self) -> Intake:
        if self.preferred_channel == "email" and not self.email:
            raise ValueError("preferred_channel is email but no email address is given")
        return self

    @field_validator("reported_at")
    @classmethod
    def _reported_lately(cls, reported: datetime | None, info: ValidationInfo) -> datetime | None:
        # Judged against the clock of whoever validates with ``context={"now": …}`` (the
        # console's form); the API judges it against its own clock (``reported_at_refusal``).
        now = info.context.get("now") if isinstance(info.context, dict) else None
        if now is not None and (reason := reported_at_refusal(reported, now)):
            raise ValueError(reason)
        return reported




def reported_at_refusal(reported: datetime | None, now: datetime) -> str | None:
    """Why an intake's ``reported_at`` cannot start its clocks, or None: in the future (beyond
    ``SKEW`` for a clock that runs ahead), or more than ``REPORTED_BACK`` ago."""
    if reported is None:
        return None
    if reported > now + SKEW:
        return f"{reported.isoformat()} is in the future (now: {now.isoformat()})"
    if reported < now - REPORTED_BACK:
        return f"{reported.isoformat()} is more than {REPORTED_BACK.days} days ago"
    return None


def received_at(intake: Intake, now: datetime) -> datetime:
    """The moment the clocks start: the reported time, never later than now."""
    if intake.reported_at is None or intake.reported_at > now:
        return now
    return intake.reported_at
