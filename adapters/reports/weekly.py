"""The weekly report's pages and message, from Jinja2 templates, and its row in the case file.

``templates/weekly_report.html.j2`` is the page managers read (``GET /reports/{id}.html``);
``templates/weekly_message.<locale>.j2`` is the message queued to them, with the ``subject``,
``short`` and ``long`` blocks of every message. Rendering is sandboxed and strict: a missing
value fails loudly rather than printing an empty line.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.notify.templates import LABELS as MESSAGE_LABELS
from adapters.notify.templates import Rendered
from adapters.reports.chart import kpi_chart
from adapters.storage.db import insert
from adapters.storage.tables import ReportRow
from domain import kpi
from domain.models import PROBLEM_CATEGORY_LABELS
from domain.targets import KpiTargets
from domain.weekly_report import WeeklyReport

TEMPLATES = Path(__file__).parent / "templates"


class ReportPages:
    def __init__(self, zone: ZoneInfo, company: str):
        self.zone = zone
        self.company = company
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=select_autoescape(["html.j2"])
        )
        self.env.filters["local"] = lambda moment: moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        self.env.filters["day"] = lambda moment: moment.astimezone(zone).strftime("%Y-%m-%d")
        self.env.filters["pct"] = lambda value: "—" if value is None else f"{value:.1%}"

    def _context(self, report: WeeklyReport, locale: str) -> dict:
        last_day = report.period_end - timedelta(seconds=1)
        return {
            "r": report,
            "company": self.company,
            "last_day": last_day,
            "kpi_label": kpi.LABELS[locale],
            "category_label": PROBLEM_CATEGORY_LABELS[locale],
            "clock_label": MESSAGE_LABELS[locale]["clock"],
            "kpis_met": [line for line in report.kpis if line.met is True],
            "kpis_missed": [line for line in report.kpis if line.met is False],
        }

    def title(self, report: WeeklyReport, locale: str) -> str:
        start, end = report.period_start.astimezone(self.zone), (report.period_end - timedelta(seconds=1)).astimezone(self.zone)
        if locale == "zh-CN":
            return f"售后问题周报 {start:%Y-%m-%d} 至 {end:%Y-%m-%d}"
        return f"After-sales problem report, {start:%Y-%m-%d} to {end:%Y-%m-%d}"

    def html(self, report: WeeklyReport, locale: str, targets: KpiTargets) -> str:
        company = kpi.KpiRow(kpi.COMPANY)
        for line in report.kpis:
            if line.kpi in company.rates:
                company.rates[line.kpi] = kpi.Rate(line.hits, line.total)
        chart = kpi_chart([company], targets, locale, self.title(report, locale))
        template = self.env.get_template("weekly_report.html.j2")
        return template.render(**self._context(report, locale), title=self.title(report, locale), chart=chart, locale=locale)

    def message(self, report: WeeklyReport, locale: str) -> Rendered:
        template = self.env.get_template(f"weekly_message.{locale}.j2")
        variables = template.new_context({**self._context(report, locale), "title": self.title(report, locale)})
        parts = {block: "".join(template.blocks[block](variables)).strip() for block in ("subject", "short", "long")}
        return Rendered(subject=parts["subject"], short=parts["short"], long=parts["long"])


def store(session: Session, report: WeeklyReport, title: str, html: str, now: datetime) -> tuple[ReportRow, bool]:
    """Write the report once per week; a retried or repeated run gets the stored one."""
    stmt = insert(session, ReportRow).values(
        key=report.key, kind="weekly", period_start=report.period_start, period_end=report.period_end, title=title,
        document=report.model_dump(mode="json"), html=html, created_at=now,
    )
    new = session.execute(stmt.on_conflict_do_nothing(index_elements=["key"])).rowcount == 1
    return session.scalars(select(ReportRow).where(ReportRow.key == report.key)).one(), new


def listing(session: Session, *, limit: int, offset: int) -> list[ReportRow]:
    return list(session.scalars(select(ReportRow).order_by(ReportRow.period_start.desc()).limit(limit).offset(offset)))
