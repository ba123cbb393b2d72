"""A case opened for a project: judged by the warranty card as issued at the handover (not
today's policy), its term and end date on the case, the project id as a search attribute,
and the repair plan free by default only when the repair is in warranty. The 29 February
rule for a term's last day, and the plan's default, as pure rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from conftest import DEFAULT_POLICY
from desk import desk
from test_project_api import AGENT, handed_over

from domain import search_attributes as sa
from domain.warranty import (
    TermEnd,
    WarrantyPolicy,
    WarrantyTerm,
    add_months,
    plan_cost_default,
    status_on_card,
    term_ends,
)

LEAP = date(2028, 2, 29)


def test_a_term_ends_the_day_before_the_same_date_and_29_february_on_the_last_of_february():
    ends = {e.term: e.ends_on for e in term_ends(WarrantyPolicy(), LEAP)}
    assert ends == {"works": date(2030, 2, 28), "waterproofing": date(2033, 2, 28)}  # 1 March less a day
    assert {e.term: e.ends_on for e in term_ends(WarrantyPolicy(), date(2032, 2, 29))}["works"] == date(2034, 2, 28)
    assert {e.term: e.ends_on for e in term_ends(WarrantyPolicy(), date(2026, 3, 10))}["works"] == date(2028, 3, 9)
    assert {e.term: e.ends_on for e in term_ends(WarrantyPolicy(), date(2026, 3, 1))}["works"] == date(2028, 2, 29)
    month = WarrantyPolicy(terms={"works": WarrantyTerm(years=0, months=1, label="one month")})
    assert term_ends(month, date(2026, 1, 31))[0].ends_on == date(2026, 2, 28)  # no 31 February
    assert term_ends(month, date(2026, 1, 15))[0].ends_on == date(2026, 2, 14)
    # Projects handed over before the rule keep the end dates they were planned with.
    assert term_ends(WarrantyPolicy(), LEAP, month_end=False)[0].ends_on == date(2030, 2, 27)


def test_the_card_as_issued_decides_not_todays_policy():
    card = term_ends(WarrantyPolicy(), date(2026, 3, 10))
    leak = status_on_card(card, "leak", "bathroom", date(2029, 3, 10))
    assert (leak.term, leak.ends_on, leak.in_warranty) == ("waterproofing", date(2031, 3, 9), True)
    assert not status_on_card(card, "carpentry", "kitchen", date(2029, 3, 10)).in_warranty
    # A card issued before terms were flagged: its one general term is the catch-all.
    legacy = [TermEnd.model_validate(t.model_dump(exclude={"default"})) for t in card]
    assert status_on_card(legacy, "painting", None, date(2027, 3, 10)).term == "works"


def test_a_plan_without_a_price_is_free_only_in_warranty():
    assert plan_cost_default("yes", "in_warranty") == Decimal(0)
    assert plan_cost_default("yes", None) == Decimal(0)
    assert plan_cost_default("unknown", "in_warranty") == Decimal(0)
    assert plan_cost_default("yes", "user_damage") is None
    assert plan_cost_default("yes", "out_of_warranty") is None
    assert plan_cost_default("no", "in_warranty") is None  # the term has ended, whatever the survey assumed
    assert plan_cost_default("unknown", None) is None


async def _to_planning(d, case_no: str) -> None:
    await d.do(case_no, "respond")
    await d.do(case_no, "book_survey", appointment=await d.later(3600), technician="tech-017")
    await d.do(case_no, "record_survey", role="technician", cause="seal failed", responsibility="in_warranty")


async def test_a_projects_case_by_its_card_with_its_term_the_project_id_and_the_plans_default(env, pg_url, executor, db):
    async with desk(env, pg_url, executor, DEFAULT_POLICY) as d:
        # Three years ago, whenever this runs: the works' 2 years are over, waterproofing's 5
        # are not (the end-date arithmetic, 29 February included, is tested above).
        handover = add_months((await d.now()).astimezone(d.ctx.settings.zone).date(), -36)
        pid = await handed_over(d, handover)
        card = (await d.http.get(f"/projects/{pid}/warranty", headers=AGENT)).json()
        ends = {t["term"]: t["ends_on"] for t in card["terms"]}
        assert ends == {e.term: str(e.ends_on) for e in term_ends(d.ctx.policy.warranty, handover)}

        # Today's policy changes after the handover: one year, no waterproofing term. The case
        # is still judged by the card the customer holds.
        d.ctx.policy = d.ctx.policy.model_copy(
            update={"warranty": WarrantyPolicy(terms={"works": WarrantyTerm(years=1, label="renovation works")})})
        leak = await d.open(project_id=pid, problem_category="leak", area="bathroom", under_warranty="unknown",
                            phone="13912345678", description="卫生间地面渗水到楼下")
        assert leak["under_warranty"] == "yes"
        assert {k: leak["warranty"][k] for k in ("term", "ends_on", "handover_on", "in_warranty")} == {
            "term": "waterproofing", "ends_on": ends["waterproofing"], "handover_on": str(handover), "in_warranty": True}
        door = await d.open(project_id=pid, problem_category="carpentry", area="kitchen", under_warranty="yes",
                            phone="13912345679", description="橱柜门开裂")
        assert door["under_warranty"] == "no" and door["warranty"]["term"] == "works"
        assert door["warranty"]["ends_on"] == ends["works"] and door["warranty"]["in_warranty"] is False
        assert (await d.get(leak["case_no"]))["warranty"]["ends_on"] == ends["waterproofing"]  # the case view too

        described = await env.client.get_workflow_handle(f"case-{leak['case_no']}").describe()
        assert described.typed_search_attributes.get(sa.PROJECT_ID) == pid
        plain = await d.open(phone="13700002222")
        described = await env.client.get_workflow_handle(f"case-{plain['case_no']}").describe()
        assert described.typed_search_attributes.get(sa.PROJECT_ID) is None and plain["warranty"] is None

        # In warranty: a plan without a price is free and goes straight to dispatch.
        await _to_planning(d, leak["case_no"])
        planned = await d.do(leak["case_no"], "propose_plan", cause="seal failed", method="reseal", labour_hours=2)
        assert planned["stage"] == "ready_to_dispatch" and planned["plans"][-1]["status"] == "free"
        assert Decimal(planned["plans"][-1]["cost_estimate"]) == 0
        # Out of warranty: no default; a stated price is a paid plan for the customer to confirm.
        await _to_planning(d, door["case_no"])
        refused = await d.refused(door["case_no"], "propose_plan", cause="hinge", method="replace", labour_hours=1)
        assert "state the cost estimate" in refused
        paid = await d.do(door["case_no"], "propose_plan", cause="hinge", method="replace", labour_hours=1,
                          cost_estimate="380")
        assert paid["stage"] == "awaiting_confirmation"
