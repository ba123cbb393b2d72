"""Migration 0011 adds ``cases.kpi_until`` and fills it in for the cases already in the case
file, from each case's state, on PostgreSQL and on SQLite (``make run``'s database)."""

import uuid
from datetime import timedelta

import pytest
from alembic import command as alembic
from alembic.config import Config
from alembic.script import ScriptDirectory
from conftest import ADMIN_URL, ROOT, _psycopg
from kpi_fixtures import clocks, local
from sqlalchemy import create_engine, insert, select
from sqlalchemy.engine import make_url

from adapters.storage.tables import Case, Customer
from domain.case import CaseState
from domain.kpi import kpi_until
from domain.models import CaseKind, Channel, Severity, Stage

REVISION = "0011"


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'aftersales.db'}"
        return
    name = f"aftersales_test_{uuid.uuid4().hex[:10]}"
    admin = _psycopg(ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_existing_cases_get_their_kpi_until_from_their_state(empty_database):
    config = alembic_config(empty_database)
    before = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
    alembic.upgrade(config, before)
    # a complaint closed on Sunday whose resolution deadline is Wednesday, and a case not
    # recorded by its workflow yet (no state: nothing to count)
    received = local(15, 9)
    state = CaseState(case_no="AS20261115-0001", kind=CaseKind.complaint, severity=Severity.normal,
                      channel=Channel.hotline, received_at=received, policy="default", stage=Stage.closed,
                      clocks=clocks(received))
    engine = create_engine(empty_database)
    row = dict(kind="complaint", severity="normal", channel="hotline", address="上海", description="态度差",
               under_warranty="yes", repaired_before=False, received_at=received, created_at=received,
               updated_at=received + timedelta(hours=12), stage="closed", last_seq=3)
    with engine.begin() as conn:
        customer = conn.execute(insert(Customer.__table__).values(name="王女士", phone="13800000000", created_at=received)
                                .returning(Customer.__table__.c.id)).scalar_one()
        conn.execute(insert(Case.__table__).values(case_no=state.case_no, customer_id=customer,
                                                   state=state.model_dump(mode="json"), **row))
        conn.execute(insert(Case.__table__).values(case_no="AS20261115-0002", customer_id=customer,
                                                   **(row | {"last_seq": 0})))
    alembic.upgrade(config, REVISION)
    with engine.connect() as conn:
        found = dict(conn.execute(select(Case.__table__.c.case_no, Case.__table__.c.kpi_until)).all())
    engine.dispose()
    assert kpi_until(state) == local(18, 9)  # the resolution clock's deadline, 72 h on
    assert found == {"AS20261115-0001": local(18, 9), "AS20261115-0002": None}
    alembic.downgrade(alembic_config(empty_database), before)  # and back
