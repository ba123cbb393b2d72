"""The service desk as a test drives it: the API over HTTP with a real worker, on the
time-skipping server, and a check that every action the stage model forbids is refused."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx
from conftest import DEMO_POLICY, make_settings, new_worker, register_technician, task_queue

from api.app import create_app
from domain.models import CaseKind, Stage
from domain.process import STEPS, refusal

ROLE_TOKENS = {role: {"Authorization": f"Bearer t-{role}"} for role in ("agent", "supervisor", "manager", "technician", "admin")}


def example(action: str) -> dict:
    """The example body of an action's model (the one the API docs show)."""
    return dict(STEPS[action].payload.model_config["json_schema_extra"]["examples"][0])


class Desk:
    def __init__(self, http: httpx.AsyncClient, ctx, env):
        self.http, self.ctx, self.env = http, ctx, env

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def later(self, seconds: float) -> str:
        return (await self.now() + timedelta(seconds=seconds)).isoformat()

    async def open(self, role: str = "agent", **intake) -> dict:
        body = {
            "kind": "repair", "channel": "hotline", "customer_name": "王女士", "phone": "13812345678",
            "address": "上海市浦东新区锦绣路100弄5号1201", "description": "卫生间墙面瓷砖空鼓开裂", **intake,
        }
        created = await self.http.post("/cases", json=body, headers=ROLE_TOKENS[role])
        assert created.status_code == 201, created.text
        return created.json()

    async def do(self, case_no: str, action: str, role: str = "agent", **body) -> dict:
        done = await self.http.post(f"/cases/{case_no}/{STEPS[action].path}", json=body, headers=ROLE_TOKENS[role])
        assert done.status_code == 200, f"{action}: {done.status_code} {done.text}"
        return done.json()

    async def refused(self, case_no: str, action: str, role: str = "agent", status: int = 409, **body) -> str:
        answer = await self.http.post(f"/cases/{case_no}/{STEPS[action].path}", json=body, headers=ROLE_TOKENS[role])
        assert answer.status_code == status, f"{action}: expected {status}, got {answer.status_code} {answer.text}"
        return answer.json()["detail"]

    async def get(self, case_no: str) -> dict:
        return (await self.http.get(f"/cases/{case_no}", headers=ROLE_TOKENS["agent"])).json()

    async def only_allowed(self, case: dict) -> None:
        """Every action the stage model does not allow now is refused with a 409 and its reason."""
        kind, stage = CaseKind(case["kind"]), Stage(case["stage"])
        for name, step in STEPS.items():
            reason = refusal(step, kind, stage)
            if reason is None:
                continue
            detail = await self.refused(case["case_no"], name, "admin", **example(name))
            assert detail == reason, (name, detail)


@asynccontextmanager
async def desk(env, pg_url, executor, policy=DEMO_POLICY, **overrides):
    """The desk's API and a worker; ``overrides`` are settings (e.g. a channel's URL)."""
    settings = make_settings(pg_url, policy, temporal_task_queue=task_queue(), **overrides)
    app = create_app(settings, client=env.client)
    ctx = app.state.ctx
    ctx.clock = env.get_current_time
    register_technician(ctx.db)  # tech-017, whom the scenarios dispatch
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk/api/v1") as http:
        async with new_worker(env.client, settings, ctx.db, executor):
            yield Desk(http, ctx, env)
    ctx.db.dispose()
