"""Rendering the console's pages: one Jinja2 environment, autoescaped, with the reader's
words, the company's time zone and what the caller's role may see."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.console.forms import FormState
from api.console.i18n import Translator
from api.console.session import Session, locale_of
from api.deps import AppContext, get_context
from domain.process import DESK, SUPERVISORS, TECHNICIAN

TEMPLATES = Path(__file__).resolve().parent / "templates"
env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
)
env.globals["empty_state"] = FormState  # the blank form of every action not just submitted


def nav_for(role: str) -> list[tuple[str, str]]:
    """The pages a role may open (the same role sets the API's routes check)."""
    if role == TECHNICIAN:
        return [("/console/me", "nav.my_jobs")]
    items = [("/console/cases", "nav.board"), ("/console/cases/new", "nav.new_case"),
             ("/console/technicians", "nav.technicians"), ("/console/projects", "nav.projects")]
    if role in SUPERVISORS:
        items += [("/console/kpis", "nav.kpis"), ("/console/reports", "nav.reports")]
    return items if role in DESK else []


def _when(ctx: AppContext):
    def when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        if value is None:
            return "—"
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(ctx.settings.zone).strftime(fmt)

    return when


def render(request: Request, template: str, session: Session | None = None, status_code: int = 200, **values) -> HTMLResponse:
    ctx = get_context(request)
    locale = session.locale if session else locale_of(request)
    t = Translator(locale)
    html = env.get_template(template).render(
        t=t, locale=locale, session=session, caller=session.caller if session else None,
        csrf=session.csrf if session else "", nav=nav_for(session.caller.role) if session else [],
        when=_when(ctx), path=request.url.path, ui_url=ctx.settings.ui_url, **values,
    )
    # Pages carry personal data: not for shared caches, and never framed by another site.
    headers = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
               "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                          "script-src 'self'; frame-ancestors 'none'; form-action 'self'"}
    return HTMLResponse(html, status_code=status_code, headers=headers)
