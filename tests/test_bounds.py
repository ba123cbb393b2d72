"""Every date a request gives is bounded in the domain (``domain.bounds``): an absurd one is a
422 naming the field at the API and a refusal in the workflow's validator (the Temporal UI's
and CLI's path), never an overflow after it was accepted; one merely too far from now is the
step's refusal (409). The intake's ``reported_at`` is a recent past (security review I1, the
fuzz run's year-1 poison pill, I2, R1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from conftest import act, eventually
from desk import desk
from pydantic import ValidationError
from sqlalchemy import func, select
from temporalio.client import WorkflowUpdateFailedError
from test_scenarios import outbox

from adapters.storage.field_tables import BookingSlot
from adapters.storage.tables import Case, Customer
from api.console import forms
from domain import steps as st
from domain.bounds import AHEAD, FIRST_DAY, LAST_DAY, instant_refusal
from domain.case import ActionRequest, workflow_id
from domain.casework import Refused, parse
from domain.models import REPORTED_BACK, Intake, clean_text, reported_at_refusal
from domain.process import STEPS
from workflows.case import AfterSalesCase

AGENT = {"Authorization": "Bearer t-agent"}
ABSURD = ("0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z", "8000-01-01T00:00:00+08:00",
          "9999-12-31T20:00:00-04:00")
INTAKE = {"kind": "repair", "channel": "hotline", "customer_name": "王女士", "phone": "13812345678",
          "address": "上海市浦东新区锦绣路100弄5号", "description": "门把手松了"}


def count(ctx, table) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(table))


def locs(answer) -> set[tuple]:
    assert answer.status_code == 422, (answer.status_code, answer.text)
    assert isinstance(answer.json()["detail"], list)
    return {tuple(e["loc"]) for e in answer.json()["detail"]}


# -- the bounds themselves ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ABSURD + ("2101-01-01T00:00:00+08:00", "1999-12-31T23:59:59+08:00"))
def test_instants_outside_the_days_a_request_may_name_are_refused_without_overflowing(text):
    at = datetime.fromisoformat(text)
    assert f"not between {FIRST_DAY} and {LAST_DAY}" in instant_refusal(at)


def test_every_datetime_a_case_step_takes_is_bounded_by_its_model():
    """The static bound is the model's: the API's 422 and the workflow validator's refusal alike."""
    found = 0
    for step in STEPS.values():
        for name, field in step.payload.model_fields.items():
            if "datetime" not in str(field.annotation).lower():
                continue
            found += 1
            example = STEPS[step.name].payload.model_config["json_schema_extra"]["examples"][0]
            with pytest.raises(Refused, match=f"invalid {step.name}: {name}: .*not between"):
                parse(step, ActionRequest(action=step.name, by="a", role="admin",
                                          payload={**example, name: "9999-12-31T20:00:00-04:00"}))
    assert found >= 7  # appointment, confirmed_at (twice), window_start/end (twice), signed_at, reply_by


def test_text_holds_no_nul_and_something_visible():
    for bad in ("a\x00b", "\u200b\u200b", "\ufeff\u200d", "\u2060", "\u3164", " \u200b "):
        with pytest.raises(ValueError):
            clean_text(bad)
    for good in ("", "王女士", "O'Brien", "a\u200bb", "emoji 🙂"):
        assert clean_text(good) == good
    with pytest.raises(ValidationError) as refused:
        st.AddNote(note="\u200b")
    assert refused.value.errors()[0]["loc"] == ("note",)


def test_reported_at_is_a_recent_past():
    now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert reported_at_refusal(None, now) is None
    assert reported_at_refusal(now - REPORTED_BACK, now) is None
    assert reported_at_refusal(now + timedelta(minutes=5), now) is None  # a clock a little ahead
    assert "in the future" in reported_at_refusal(now + timedelta(minutes=6), now)
    assert "more than 30 days ago" in reported_at_refusal(now - REPORTED_BACK - timedelta(seconds=1), now)
    # With a "now" in the validation context (the console's form), the model says so itself.
    with pytest.raises(ValidationError) as refused:
        Intake.model_validate({**INTAKE, "reported_at": "2020-01-01T09:00:00+08:00"}, context={"now": now})
    assert refused.value.errors()[0]["loc"] == ("reported_at",)


def test_console_json_nested_too_deep_is_a_form_error():
    """A revisit's ``trades`` typed as thousands of "[" was a RecursionError (a 500)."""
    spec = forms.FieldSpec("trades", "json", False)
    data, errors = forms.to_data([spec], {"trades": "[" * 100_000}, ZoneInfo("Asia/Shanghai"))
    assert errors == {"trades": ["error.json"]} and data == {}


# -- through the API, with a real worker ------------------------------------------------------


async def test_I1_reported_at_bounded(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        now = await d.now()
        for when, why in ((now - timedelta(days=31), "more than 30 days ago"),
                          (now + timedelta(hours=1), "in the future")):
            answer = await d.http.post("/cases", json={**INTAKE, "reported_at": when.isoformat()}, headers=AGENT)
            assert locs(answer) == {("body", "reported_at")} and why in answer.text
        naive = await d.http.post("/cases", json={**INTAKE, "reported_at": "2026-11-20T09:00:00"}, headers=AGENT)
        assert locs(naive) == {("body", "reported_at")}
        assert count(d.ctx, Case) == 0
        # Two days ago (a late letter): taken, and the clocks start there.
        reported = (now - timedelta(days=2)).replace(microsecond=0)
        case = await d.open(reported_at=reported.isoformat())
        assert datetime.fromisoformat(case["received_at"]) == reported


async def test_poison_pill_year_one_intake_is_422_and_writes_nothing(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        for year_one in ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00+14:00"):
            answer = await d.http.post("/cases", json={**INTAKE, "reported_at": year_one}, headers=AGENT)
            assert locs(answer) == {("body", "reported_at")}, answer.text
        assert count(d.ctx, Case) == 0 and count(d.ctx, Customer) == 0
        # The case board and the next intake are as if it never came.
        assert (await d.http.get("/cases", headers=AGENT)).json()["total"] == 0
        assert (await d.open())["stage"] == "new"


async def test_I2_reply_by_far_future_refused(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        no = (await d.open(kind="consultation", description="保修期多久"))["case_no"]
        for far in ("8000-01-01T00:00:00+08:00", "9999-12-31T23:00:00-08:00"):
            answer = await d.http.post(f"/cases/{no}/hand-over", json={"to": "design", "reply_by": far}, headers=AGENT)
            assert locs(answer) == {("body", "reply_by")}
        # In range, but further ahead than any reply is promised: the step's refusal.
        late = (await d.now() + AHEAD + timedelta(days=1)).isoformat()
        assert "more than 366 days ahead" in await d.refused(no, "hand_over", to="design", reply_by=late)
        # The Temporal UI's and CLI's path: the workflow's validator refuses it before its history.
        handle = d.env.client.get_workflow_handle_for(AfterSalesCase.run, workflow_id(no))
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await act(handle, "hand_over", to="design", reply_by="8000-01-01T00:00:00+08:00")
        assert "reply_by" in str(refused.value.cause)
        case = await d.do(no, "hand_over", to="design", reply_by=await d.later(3600))
        assert case["stage"] == "handed_over"
        assert "WorkflowTaskFailed" not in (await handle.fetch_history()).to_json()


async def _ready(d) -> str:
    no = (await d.open(description="水龙头滴水"))["case_no"]
    await d.do(no, "respond")
    await d.do(no, "book_survey", appointment=await d.later(60), technician="tech-017")
    await d.do(no, "record_survey", "technician", cause="worn washer", responsibility="in_warranty")
    await d.do(no, "propose_plan", cause="worn washer", method="replace the washer", labour_hours=1, cost_estimate="0")
    return no


async def test_R1_dispatch_window_year_9999_refused(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        no = await _ready(d)
        end_of_time = {"task": "replace the washer", "technician": "tech-017",
                       "window_start": "9999-12-31T20:00:00-04:00", "window_end": "9999-12-31T21:00:00-04:00"}
        answer = await d.http.post(f"/cases/{no}/dispatch", json=end_of_time, headers=AGENT)
        assert locs(answer) == {("body", "window_start"), ("body", "window_end")}
        handle = d.env.client.get_workflow_handle_for(AfterSalesCase.run, workflow_id(no))
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await act(handle, "dispatch", **end_of_time)
        assert "window_start" in str(refused.value.cause)
        start = await d.now() + AHEAD + timedelta(days=1)
        far = {**end_of_time, "window_start": start.isoformat(), "window_end": (start + timedelta(hours=1)).isoformat()}
        assert "more than 366 days ahead" in await d.refused(no, "dispatch", **far)
        assert count(d.ctx, BookingSlot) == 0  # nothing was held for the refused windows
        case = await d.do(no, "dispatch", **{**end_of_time, "window_start": await d.later(100),
                                              "window_end": await d.later(1900)})
        assert case["stage"] == "dispatched"
        moved = {"reason": "the customer is away", "window_start": "9999-12-31T20:00:00-04:00",
                 "window_end": "9999-12-31T21:00:00-04:00"}
        assert locs(await d.http.post(f"/cases/{no}/reschedule", json=moved, headers=AGENT)) == {
            ("body", "window_start"), ("body", "window_end")}
        assert "more than 366 days ahead" in await d.refused(no, "reschedule", **{**moved, **{
            k: far[k] for k in ("window_start", "window_end")}})
        # The case goes on: it is cancelled, and its workflow archives it and ends.
        await d.do(no, "cancel", "supervisor", reason="customer fixed it")
        await eventually(lambda: _stage(d, no) == "cancelled")


def _stage(d, no) -> str:
    with d.ctx.db.session() as session:
        return session.scalar(select(Case.stage).where(Case.case_no == no))


async def test_survey_appointment_year_one_refused(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        no = (await d.open())["case_no"]
        await d.do(no, "respond")
        for year_one in ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00"):
            answer = await d.http.post(f"/cases/{no}/book-survey", json={"appointment": year_one, "technician": "tech-017"},
                                       headers=AGENT)
            assert locs(answer) == {("body", "appointment")}
        now = await d.now()
        assert "in the past" in await d.refused(no, "book_survey", appointment=(now - timedelta(days=2)).isoformat(),
                                                technician="tech-017")
        assert "more than 366 days ahead" in await d.refused(
            no, "book_survey", appointment=(now + timedelta(days=400)).isoformat(), technician="tech-017")
        case = await d.do(no, "book_survey", appointment=await d.later(3600), technician="tech-017")
        assert case["stage"] == "survey_booked"
        # The customer's message is queued: no overflow on the way (it was retried forever).
        await eventually(lambda: ("survey_booked", "customer") in outbox(d.ctx, no), timeout=30)


async def test_a_signature_and_a_consent_are_past_events_of_the_case(env, pg_url, executor, db):
    """S4: accept-work's signed_at (and a plan's confirmed_at) was unbounded: 2000-01-01 was taken."""
    async with desk(env, pg_url, executor) as d:
        no = (await d.open())["case_no"]
        await d.do(no, "respond")
        await d.do(no, "solve_remotely", guidance="reset the breaker")
        received = datetime.fromisoformat((await d.get(no))["received_at"])
        before = (received - timedelta(days=1)).astimezone(timezone(timedelta(hours=8))).isoformat()
        assert "before the case was received" in await d.refused(no, "accept_work", signed_by="customer", signed_at=before)
        assert "in the future" in await d.refused(no, "accept_work", signed_by="customer", signed_at=await d.later(3600))
        assert locs(await d.http.post(f"/cases/{no}/accept-work", json={"signed_by": "customer",
                                                                        "signed_at": "2000-01-01T00:00:00"},
                                      headers=AGENT)) == {("body", "signed_at")}
        case = await d.do(no, "accept_work", signed_by="customer", signed_at=await d.later(0))
        assert case["stage"] == "awaiting_revisit"
