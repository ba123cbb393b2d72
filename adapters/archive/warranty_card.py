"""The warranty card (保修卡): every term with its end date, as a printable HTML page.

Autoescaped Jinja2 (names and addresses came from people); the terms are the project's, fixed
at its handover, so a card printed again years later reads the same.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def card_data(project: Any, state: Any) -> dict[str, Any]:
    """The card's fields from the project file's row and the project's state after handover."""
    w = state.warranty
    return {"project_id": project.project_id, "package": project.package, "customer_name": project.customer.name,
            "address": project.address, "handover_on": w.handover_on, "project_manager": state.project_manager,
            "terms": [t.model_dump() for t in w.terms], "documents": state.handover.documents if state.handover else []}


def render(card: dict[str, Any], *, company: str, company_phone: str | None, today: date) -> str:
    return _ENV.get_template("warranty_card.html.j2").render(
        card=card, company=company, company_phone=company_phone, today=today
    )
