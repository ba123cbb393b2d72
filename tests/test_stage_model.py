"""The stage model of domain/process.py, table-driven: every action in every stage of every
kind is either allowed or refused with the stage's reason; every role outside an action's
roles is refused; every stage can be reached; the README's diagram is the model's."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import DEMO_POLICY, action
from desk import example

from domain.calendar import WorkingCalendar
from domain.case import CaseState
from domain.casework import Refused, check
from domain.clocks import plan_clocks
from domain.models import CaseKind, Channel, Severity, Stage
from domain.policy import load_policy
from domain.process import KIND_STAGES, NEXT_STEP, STEPS, mermaid, refusal
from domain.rules import Rules

POLICY = load_policy(DEMO_POLICY)
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
CALENDAR = WorkingCalendar.for_zone(POLICY.working_time, timezone(timedelta(hours=8)), NOW)
RULES = Rules(POLICY, CALENDAR)
ROLES = ("agent", "supervisor", "manager", "admin", "technician")


def case_in(kind: CaseKind, stage: Stage) -> CaseState:
    return CaseState(
        case_no="AS20261125-0001", kind=kind, severity=Severity.normal, channel=Channel.hotline, received_at=NOW,
        policy=POLICY.name, stage=stage, clocks=plan_clocks(POLICY, CALENDAR, kind, Severity.normal, NOW),
    )


TABLE = [(kind, stage, name) for kind in CaseKind for stage in KIND_STAGES[kind] for name in STEPS]


@pytest.mark.parametrize("kind, stage, name", TABLE, ids=lambda v: getattr(v, "value", v))
def test_every_action_in_every_stage_is_allowed_or_refused_with_the_reason(kind, stage, name):
    reason = refusal(STEPS[name], kind, stage)
    try:
        check(case_in(kind, stage), action(name, "admin", **example(name)), RULES, NOW)
    except Refused as refused:
        if reason is not None:
            assert refused.reason == reason
            assert not refused.forbidden
            assert NEXT_STEP[stage] in reason or "only" in reason
        else:  # allowed by the stage model; only a guard may still say no, naming the case
            assert refused.reason.startswith(f"cannot {STEPS[name].verb} case AS20261125-0001: "), refused.reason
    else:
        assert reason is None, f"{name} in {kind.value}/{stage.value} should be refused: {reason}"


@pytest.mark.parametrize("name", list(STEPS))
def test_roles_outside_an_action_are_refused(name):
    step = STEPS[name]
    kind = next(iter(sorted(step.kinds)))
    stage = next(iter(sorted(step.sources)))
    for role in ROLES:
        if role in step.roles:
            continue
        with pytest.raises(Refused) as refused:
            check(case_in(kind, stage), action(name, role, **example(name)), RULES, NOW)
        assert refused.value.forbidden and f"role '{role}' may not {step.verb}" in refused.value.reason


def test_every_stage_of_every_kind_can_be_reached():
    for kind, stages in KIND_STAGES.items():
        reached, frontier = {Stage.new}, [Stage.new]
        while frontier:
            stage = frontier.pop()
            for step in STEPS.values():
                if kind in step.kinds and stage in step.sources:
                    for target in step.targets:
                        if target in stages and target not in reached:
                            reached.add(target)
                            frontier.append(target)
        assert reached == set(stages), (kind, set(stages) - reached)


def test_the_readme_shows_the_stage_model():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert f"```mermaid\n{mermaid()}```" in readme, "README's diagram differs: paste domain.process.mermaid()"
