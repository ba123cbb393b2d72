"""The project file on PostgreSQL: events recorded out of order never move the projection
back, the project's row nor its revisit tasks (``project_revisits``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from adapters.storage import projects as project_file
from adapters.storage.project_tables import RevisitTaskRow
from domain.calendar import WorkingCalendar
from domain.policy import load_policy
from domain.project import Handover, ProjectEvent, ProjectStage, ProjectState, Warranty
from domain.revisit import project_revisits

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 12, 10, 10, 0, tzinfo=SHANGHAI)
POLICY = load_policy("policies/default.toml")


def _state(project_id: str, status: str) -> ProjectState:
    handover = date(2026, 12, 7)
    calendar = WorkingCalendar.for_zone(POLICY.working_time, SHANGHAI, NOW, years=3)
    revisits = project_revisits(POLICY.project.revisits, calendar, handover)
    revisits[0].status = status
    revisits[0].recorded_at = NOW if status == "done" else None
    return ProjectState(
        project_id=project_id, package="full", opened_at=NOW - timedelta(days=60), policy="default",
        stage=ProjectStage.warranty,
        handover=Handover(handover_on=handover, documents=["report"], care_instructions=True, recorded_at=NOW),
        warranty=Warranty(handover_on=handover, until=date(2031, 12, 6), ends_at=datetime(2031, 12, 7, tzinfo=SHANGHAI),
                          terms=[], revisits=revisits, greetings=[]),
    )


def _event(project_id: str, seq: int, status: str) -> ProjectEvent:
    return ProjectEvent(project_id=project_id, seq=seq, type="revisit_due" if status == "due" else "record_revisit",
                        at=NOW + timedelta(minutes=seq), actor="system", data={"revisit": "initial"},
                        state=_state(project_id, status))


def test_an_older_event_committed_last_leaves_a_done_revisit_done(db):
    with db.session() as session:
        project = project_file.open_project(session, name="李先生", phone="13912345678", address="上海市徐汇区",
                                            house_type=None, package="full", channel="store", now=NOW)
        pid, pk = project.project_id, project.id
    # seq 2 (the revisit recorded) commits before seq 1 (it fell due): activities race.
    with db.session() as session:
        assert project_file.record_event(session, _event(pid, 2, "done"))
    with db.session() as session:
        assert project_file.record_event(session, _event(pid, 1, "due"))
    with db.session() as session:
        rows = {r.kind: r for r in session.scalars(select(RevisitTaskRow).where(RevisitTaskRow.project_pk == pk))}
        project = project_file.get_project(session, pid)
        assert project.last_seq == 2
        assert project.state["warranty"]["revisits"][0]["status"] == "done"
        assert rows["initial"].status == "done" and rows["initial"].recorded_at is not None
        assert {k: r.status for k, r in rows.items()} == {"initial": "done", "mid_term": "scheduled", "late": "scheduled"}
        # Both events are in the file all the same.
        assert [e.seq for e in project_file.events(session, pk)] == [1, 2]
