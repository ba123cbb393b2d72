"""One posted form, the same way for every action: its token checked, its text turned into the
domain's model, and a service's refusal kept to be shown next to the form."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request
from pydantic import BaseModel

from api.console import forms
from api.console.errors import Problem
from api.console.i18n import Translator
from api.console.session import Session, check_csrf, read_form
from api.deps import get_context


async def posted(request: Request, session: Session) -> dict:
    """The form's fields, once its token is this session's (else 403: ``FormRefused``)."""
    form = await read_form(request)
    check_csrf(form, session.csrf)
    return form


@dataclass
class Submission:
    payload: BaseModel | None  # None: the form is shown again with ``state``'s errors
    state: forms.FormState
    t: Translator
    form: dict
    session: Session

    def refused(self, exc: HTTPException, elsewhere: tuple[int, ...] = (403, 404)) -> None:
        """Keep a service's refusal (a 409's reason, a 422) to show next to the form; a status
        in ``elsewhere`` (no form of this role's, no such case) becomes the error page."""
        if exc.status_code in elsewhere:
            raise Problem(exc.status_code, str(exc.detail), self.session) from None
        self.state.errors[forms.GENERAL] = [self.t.message(str(exc.detail))]


async def submitted(request: Request, session: Session, model: type[BaseModel], specs: list[forms.FieldSpec]) -> Submission:
    form = await posted(request, session)
    t = Translator(session.locale)
    payload, state = forms.parse(model, specs, form, get_context(request).settings.zone, t)
    return Submission(payload, state, t, form, session)
