"""The console as a test drives it over HTTP (httpx), signed in like a person: the sign-in
form, the session cookie, the form token read from each page. The API's ``Desk`` on the
same app sets cases up quickly where a test is not about the console's forms."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager

import httpx
from conftest import DEFAULT_POLICY, make_settings, new_worker, register_technician, task_queue
from desk import Desk

from api.app import create_app

BASE = "http://desk"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_SIGN_IN = re.compile(r'name="form_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no form token on the page"
    return found.group(1)


class Browser:
    """One person's httpx client: cookies kept, redirects not followed (tests check them)."""

    def __init__(self, app):
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
        self.csrf = ""

    async def sign_in(self, token: str) -> httpx.Response:
        page = await self.http.get("/console/sign-in")
        form_token = _SIGN_IN.search(page.text).group(1)
        answer = await self.http.post("/console/sign-in", data={"form_token": form_token, "token": token})
        if answer.status_code == 303:
            landing = await self.http.get(answer.headers["location"])
            landing = await self.http.get(landing.headers["location"]) if landing.status_code == 303 else landing
            self.csrf = csrf_of(landing.text)
        return answer

    async def get(self, path: str) -> httpx.Response:
        page = await self.http.get(path)
        if page.status_code < 300 and 'name="csrf"' in page.text:
            self.csrf = csrf_of(page.text)
        return page

    async def post(self, path: str, csrf: str | None = None, **fields) -> httpx.Response:
        data = {"csrf": self.csrf if csrf is None else csrf, **fields}
        return await self.http.post(path, data=data)

    async def aclose(self) -> None:
        await self.http.aclose()


class Console:
    def __init__(self, app, desk: Desk):
        self.app, self.desk, self.ctx = app, desk, desk.ctx
        self._browsers: list[Browser] = []

    async def signed_in(self, token: str) -> Browser:
        browser = Browser(self.app)
        self._browsers.append(browser)
        answer = await browser.sign_in(token)
        assert answer.status_code == 303, answer.text
        return browser

    def browser(self) -> Browser:
        browser = Browser(self.app)
        self._browsers.append(browser)
        return browser


@asynccontextmanager
async def console(env, pg_url, executor, policy=DEFAULT_POLICY):
    settings = make_settings(pg_url, policy, temporal_task_queue=task_queue())
    app = create_app(settings, client=env.client)
    ctx = app.state.ctx
    ctx.clock = env.get_current_time
    register_technician(ctx.db)  # tech-017, the technician token's staff id
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"{BASE}/api/v1") as api:
        async with new_worker(env.client, settings, ctx.db, executor):
            c = Console(app, Desk(api, ctx, env))
            try:
                yield c
            finally:
                for b in c._browsers:
                    await b.aclose()
    ctx.db.dispose()
