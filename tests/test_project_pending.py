"""A project step while the project file is down, or while no worker runs the project: the
desk hears 202 ("accepted; recorded when the database is back") or 503, never a 500, and
the step is recorded once the database is back (``api/updates.py``, as for cases)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from conftest import DEFAULT_POLICY, eventually, make_settings, new_worker, task_queue
from project_desk import headers

from adapters.storage import projects as project_file
from adapters.storage.db import Database
from api import updates
from api.app import create_app

INTAKE = {"customer_name": "李先生", "phone": "13912345678", "address": "上海市徐汇区漕溪北路200号3号楼801",
          "package": "full", "channel": "store"}
NEEDS = {"style": "modern", "budget": "180000", "rooms": ["kitchen"]}
NOWHERE = "postgresql+psycopg2://postgres@127.0.0.1:1/nowhere"


def _app(env, pg_url: str):
    settings = make_settings(pg_url, DEFAULT_POLICY, temporal_task_queue=task_queue())
    app = create_app(settings, client=env.client)
    app.state.ctx.clock = env.get_current_time
    return settings, app, app.state.ctx


def _last_seq(ctx, project_id: str) -> int:
    with ctx.db.session() as session:
        return project_file.get_project(session, project_id).last_seq


async def test_a_step_while_the_project_file_is_down_is_accepted_and_recorded_later(env, pg_url, executor, db, monkeypatch):
    monkeypatch.setattr(updates, "RECORD_TIMEOUT", timedelta(seconds=2))
    settings, app, ctx = _app(env, pg_url)
    worker_db = Database(pg_url)  # the worker's own pool, which we cut below
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk/api/v1") as http:
        async with new_worker(env.client, settings, worker_db, executor):
            pid = (await http.post("/projects", json=INTAKE, headers=headers())).json()["project_id"]
            await eventually(lambda: _last_seq(ctx, pid) >= 1)
            healthy = (worker_db.engine, worker_db._sessions)
            cut = Database(NOWHERE)
            worker_db.engine, worker_db._sessions = cut.engine, cut._sessions
            pending = await http.post(f"/projects/{pid}/record-needs", json=NEEDS, headers=headers())
            assert pending.status_code == 202, pending.text
            assert pending.json() == {"project_id": pid, "accepted": True,
                                      "detail": "accepted; the project file records it when the database is back"}
            # The workflow took it: a step that needs it is refused for another reason now.
            refused = await http.post(f"/projects/{pid}/start-design", json={}, headers=headers())
            assert refused.status_code == 409 and "no designer is assigned" in refused.json()["detail"]
            worker_db.engine, worker_db._sessions = healthy  # the database is back
            await eventually(lambda: _last_seq(ctx, pid) >= 2, timeout=30)
            with ctx.db.session() as session:
                assert project_file.get_project(session, pid).state["needs"]["style"] == "modern"
    worker_db.dispose()
    ctx.db.dispose()


async def test_a_step_no_worker_takes_is_a_503_not_a_500(env, pg_url, executor, db, monkeypatch):
    monkeypatch.setattr(updates, "ACCEPT_TIMEOUT", timedelta(seconds=2))
    _, app, ctx = _app(env, pg_url)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk/api/v1") as http:
        # Opened, but no worker runs its workflow (stopped, or its task failing): nothing takes the step.
        pid = (await http.post("/projects", json=INTAKE, headers=headers())).json()["project_id"]
        answer = await http.post(f"/projects/{pid}/record-needs", json=NEEDS, headers=headers())
        assert answer.status_code == 503, answer.text
        assert f"project {pid} did not take the action" in answer.json()["detail"]
    ctx.db.dispose()
