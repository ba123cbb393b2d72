"""The web console: server-rendered pages under /console, on the same services as the API.

``install(app)`` adds its routes, its static files and the handlers that turn its
refusals into pages (the sign-in page, a refused form, an error page) instead of JSON.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.console import auth_routes, case_routes, kpi_routes, project_routes, team_routes
from api.console.errors import Problem
from api.console.pages import render
from api.console.session import FormRefused, SignInRequired, current

STATIC = Path(__file__).resolve().parent / "static"


def install(app: FastAPI) -> None:
    for module in (auth_routes, case_routes, team_routes, project_routes, kpi_routes):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return RedirectResponse("/console", status_code=303)

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, exc: SignInRequired) -> Response:
        if request.method == "GET":
            return RedirectResponse("/console/sign-in", status_code=303)
        return render(request, "error.html", status_code=401, reason="error.signed_out")

    @app.exception_handler(FormRefused)
    async def refused(request: Request, exc: FormRefused) -> Response:
        return render(request, "error.html", current(request), status_code=403, reason=str(exc))

    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Problem) -> Response:
        return render(request, "error.html", exc.session, status_code=exc.status_code, reason=exc.reason)
