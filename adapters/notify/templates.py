"""Messages rendered from Jinja2 templates, one per message and locale.

``templates/<locale>/<message>.j2`` defines three blocks: ``subject``, ``short`` (SMS and chat
robots) and ``long`` (email and webhooks). Rendering is sandboxed and strict: a missing
variable raises, and so does a variable that is ``None``, so a message never says "None".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from domain.delivery import LOCALES

TEMPLATES = Path(__file__).parent / "templates"

LABELS: dict[str, dict[str, dict[str, str]]] = {
    "zh-CN": {
        "kind": {"repair": "报修", "complaint": "投诉", "consultation": "咨询", "installation": "安装"},
        "severity": {"emergency": "紧急", "normal": "一般"},
        "clock": {
            "response": "响应", "plan": "方案", "resolution": "解决", "reconfirm": "上门前确认", "revisit": "回访",
            "follow_up": "低分跟进", "gm_revisit": "总经理回访", "reply": "咨询答复",
        },
        "satisfaction": {
            "very_satisfied": "非常满意", "satisfied": "满意", "neutral": "一般", "dissatisfied": "不满意",
            "very_dissatisfied": "非常不满意",
        },
    },
    "en": {
        "kind": {"repair": "repair request", "complaint": "complaint", "consultation": "enquiry", "installation": "installation"},
        "severity": {"emergency": "emergency", "normal": "normal"},
        "clock": {
            "response": "response", "plan": "plan", "resolution": "resolution", "reconfirm": "visit re-confirmation",
            "revisit": "revisit", "follow_up": "low-score follow-up", "gm_revisit": "general manager's revisit",
            "reply": "reply",
        },
        "satisfaction": {
            "very_satisfied": "very satisfied", "satisfied": "satisfied", "neutral": "neutral",
            "dissatisfied": "dissatisfied", "very_dissatisfied": "very dissatisfied",
        },
    },
}


class TemplateError(ValueError):
    """A template cannot be rendered with the data given (a bug, not a delivery problem)."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    short: str
    long: str


def _no_none(value: object) -> object:
    if value is None:
        raise TemplateError("a template variable is None")
    return value


class Renderer:
    def __init__(self, zone: ZoneInfo, company: str, phone: str = ""):
        self.zone = zone
        self.company = company
        self.phone = phone
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, finalize=_no_none, autoescape=False
        )
        self.env.filters["local"] = self._local

    def _local(self, value: datetime | str) -> str:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def names(self, locale: str) -> set[str]:
        return {p.stem for p in (TEMPLATES / locale).glob("*.j2")}

    def label(self, locale: str, group: str, value: str) -> str:
        return LABELS[locale][group].get(value, value)

    def render(self, name: str, locale: str, context: dict) -> Rendered:
        if locale not in LOCALES:
            raise TemplateError(f"unknown locale {locale!r} (known: {', '.join(LOCALES)})")
        template = self.env.get_template(f"{locale}/{name}.j2")
        variables = template.new_context({"company": self.company, "company_phone": self.phone, **context})
        try:
            parts = {block: "".join(template.blocks[block](variables)).strip() for block in ("subject", "short", "long")}
        except KeyError as exc:
            raise TemplateError(f"{locale}/{name}.j2 has no block {exc}") from None
        except (UndefinedError, TemplateError) as exc:
            raise TemplateError(f"{locale}/{name}.j2: {exc}") from None
        return Rendered(subject=parts["subject"], short=parts["short"], long=parts["long"])
