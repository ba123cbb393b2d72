"""Every message renders for a real case in both locales, and a broken template fails loudly."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import outbox_for, sample_intake
from sqlalchemy import select

from adapters.notify.outbox import queue
from adapters.notify.templates import TEMPLATES, Renderer, TemplateError
from adapters.storage import cases as case_file
from adapters.storage.tables import Customer, Notification
from domain.case import NotificationRequest
from domain.delivery import LOCALES
from domain.messages import MESSAGES
from domain.models import Severity

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai
LATER = (NOW + timedelta(hours=26)).isoformat()  # 2026-11-24 12:00 in Shanghai

# What the workflow and the stage model put in each message's context (domain.casework,
# workflows.case); the outbox adds the case number, labels, the customer's name.
CONTEXTS = {
    "acknowledgement": {"reply_by": LATER},
    "survey_booked": {"appointment": LATER},
    "plan_to_confirm": {"round": 2, "cost": "380.00"},
    "appointment": {"window_start": LATER, "window_end": (NOW + timedelta(hours=28)).isoformat(), "visit": 1},
    "amendment_to_confirm": {"cost_delta": "120.00"},
    "handed_over": {"reply_by": LATER},
    "sla_warning": {"clock": "response", "deadline": LATER},
    "sla_breach": {"clock": "plan", "deadline": LATER, "level": 1, "at": LATER, "reason": "plan overdue", "source": "clock",
                   "by": "system"},
    "escalation": {"clock": "resolution", "level": 2, "at": LATER, "reason": "客户多次来电催促", "source": "supervisor",
                   "by": "supervisor"},
    "low_score": {"satisfaction": "dissatisfied", "follow_up_by": LATER},
    "major_complaint": {"revisit_by": LATER},
    "revisit_due": {"clock": "revisit", "deadline": LATER},
    "work_completed": {"visit": 1},
    "revisit": {"clock": "revisit", "deadline": LATER},
    "technician_suspended": {"technician": "tech-017", "complaints": 2, "jobs": 40,
                             "reason": "complaint rate 2/40 = 5.0% over 90 days exceeds 3.0%: suspended until retrained"},
    "technician_suspended_on_review": {"technician": "tech-017", "complaints": 2, "jobs": 40},
    "needs_attention": {"what": "event #3 (respond) was not recorded", "error": "record failed: DataError"},
}


def test_every_message_has_a_template_in_every_locale_and_nothing_else():
    assert set(CONTEXTS) == set(MESSAGES)
    for locale in LOCALES:
        assert {p.stem for p in (TEMPLATES / locale).glob("*.j2")} == set(MESSAGES), locale


@pytest.mark.parametrize("locale", LOCALES)
def test_every_template_renders_for_a_real_case(db, locale):
    with db.session() as session:
        case = case_file.open_case(
            session, intake=sample_intake(locale=locale), severity=Severity.normal, received_at=NOW, now=NOW,
            prefix="AS", zone=SHANGHAI,
        )
        case_no = case.case_no
    box = outbox_for(Renderer(SHANGHAI, "安心家装", "400-820-8820"), channels={"sms", "wecom"})
    for name, context in CONTEXTS.items():
        recipient = "customer" if MESSAGES[name].audience == "customer" else "supervisor"
        request = NotificationRequest(case_no=case_no, key=f"{locale}:{name}", template=name, recipient=recipient,
                                      context=context, at=NOW)
        with db.session() as session:
            queue(session, box, request, NOW)
    with db.session() as session:
        rows = session.scalars(select(Notification).order_by(Notification.id)).all()
        customer_locale = session.scalars(select(Customer.locale)).one()
    assert customer_locale == locale
    assert [r.template for r in rows] == list(CONTEXTS)
    for row in rows:
        texts = (row.subject, row.short_text, row.body)
        where = f"{locale}/{row.template}"
        assert all(texts), f"{where}: an empty part"
        assert not any("None" in t or "{{" in t or "{%" in t for t in texts), f"{where}: {texts}"
        if MESSAGES[row.template].per_case:
            assert case_no in row.subject + row.short_text or case_no in row.body, where
        assert len(row.short_text) <= 160, f"{where}: short text of {len(row.short_text)} characters"
        assert "\n" not in row.subject, where
        if row.recipient == "customer":
            assert row.locale == locale and "王女士" in row.short_text and "王女士" in row.body, where
        else:
            assert row.locale == "zh-CN", where  # staff read the policy's staff locale
    english = [r for r in rows if r.recipient == "customer" and r.locale == "en"]
    assert all(not any("\u4e00" <= ch <= "\u9fff" for ch in r.subject.replace("安心家装", "")) for r in english)
    breach = next(r for r in rows if r.template == "sla_breach")
    assert "2026-11-24 12:00" in breach.body  # deadlines in Shanghai time
    low = next(r for r in rows if r.template == "low_score")
    assert "不满意" in low.body  # the satisfaction label, not the code
    revisit = next(r for r in rows if r.template == "revisit")
    assert "400-820-8820" in revisit.short_text  # whom to call back


def test_a_missing_variable_fails_loudly():
    renderer = Renderer(SHANGHAI, "安心家装")
    with pytest.raises(TemplateError, match="reply_by"):
        renderer.render("acknowledgement", "zh-CN", {"case_no": "AS1", "kind_label": "报修", "customer_name": "王女士",
                                                     "received_at": NOW})


def test_a_variable_that_is_none_fails_instead_of_saying_none():
    renderer = Renderer(SHANGHAI, "安心家装")
    context = {"case_no": "AS1", "kind_label": "报修", "customer_name": None, "received_at": NOW, "reply_by": LATER}
    with pytest.raises(TemplateError, match="None"):
        renderer.render("acknowledgement", "en", context)


def test_an_unknown_locale_is_refused():
    with pytest.raises(TemplateError, match="unknown locale"):
        Renderer(SHANGHAI, "安心家装").render("acknowledgement", "fr", {})
