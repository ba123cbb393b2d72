"""schemathesis against the real API, in-process, as each role and without a token.

Every operation of the OpenAPI is tested once per caller (admin, agent, supervisor, manager,
technician, no token): the schema's example (addressed to a case, a project and a technician
seeded for that caller) and a few generated inputs, positive and negative. The admin, whom
every role check lets through, also gets schemathesis's coverage cases on every operation
(boundaries, wrong types, missing fields, a missing token), the technician on the operations
open to technicians. A fixed seed, derandomized, no shrinking, about 8,400 requests: two
minutes on two idle cores, three to four on busy ones.

A test fails on any 5xx and on any answer the OpenAPI does not describe: an undocumented
status code, content type, or body. Its message lists the distinct failures, each with a curl
command that repeats the request; ``SCHEMATHESIS_FINDINGS=path`` also writes them all there
as Markdown, and ``SCHEMATHESIS_ONLY=regex`` narrows the run to matching "METHOD path"s.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis_desk import (
    CALLERS,
    FINDINGS,
    FuzzedDesk,
    Verdict,
    openapi,
    operations_open_to,
    record,
    record_no_answer,
    write_markdown,
)
from sqlalchemy import text

from adapters.storage.db import Base

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SEED = 20261101
# Generated inputs per operation, besides its example and coverage cases: more for the admin,
# whom every role check lets through, one without a token (every answer is the same 401).
# SCHEMATHESIS_MAX_EXAMPLES=n gives every caller n, for a deeper run by hand.
MAX_EXAMPLES = {"admin": 10, "none": 1}
DEFAULT_MAX_EXAMPLES = 3


def max_examples(caller: str) -> int:
    deeper = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES")
    return int(deeper) if deeper else MAX_EXAMPLES.get(caller, DEFAULT_MAX_EXAMPLES)


DESK = FuzzedDesk()
SPEC = openapi()
# Who gets the coverage cases (about 50 an operation): the admin everywhere, the technician
# where a technician may act (the steps whose OpenAPI "Roles:" name technicians, their jobs).
COVERED_EVERYWHERE = {"admin"}
COVERED_ON = {"technician": [*operations_open_to("technician", SPEC), "GET /api/v1/me/jobs"]}


def config(caller: str) -> schemathesis.Config:
    token = CALLERS[caller]
    settings = {
        "seed": SEED + list(CALLERS).index(caller),  # each caller its own inputs
        "request-timeout": 30,  # the API's own waits on a workflow end at 10 s
        "suppress-health-check": ["all"],  # too_slow is a matter of the machine's load
        "headers": {"Authorization": f"Bearer {token}"} if token else {},
        "generation": {"deterministic": True, "max-examples": max_examples(caller), "no-shrink": True, "database": "none"},
        "phases": {
            "examples": {"enabled": True, "fill-missing": True},
            "coverage": {"enabled": caller in COVERED_EVERYWHERE, "unexpected-methods": []},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "output": {"sanitization": {"enabled": False}},  # the reproductions keep the test tokens
        # The phone's rule (a mainland mobile or landline) is not in the OpenAPI: without
        # these, hardly a generated intake or technician would get past it.
        "dictionaries": {"phones": {"values": ["13812345678", "021-12345678", "+86 139 1234 5678", "0755-8765432-12"]}},
        "parameters": {"body.phone": {"dictionary": "phones", "probability": 0.8}},
    }
    settings["operations"] = []
    if caller in COVERED_ON:
        settings["operations"].append({"include-name": COVERED_ON[caller], "phases": {"coverage": {"enabled": True}}})
    only = os.environ.get("SCHEMATHESIS_ONLY")  # e.g. "^POST /api/v1/cases$", to repeat a finding
    if only:
        settings["operations"].append({"exclude-name-regex": only, "enabled": False})
    return schemathesis.Config.from_dict(settings)


@pytest.fixture(scope="module", autouse=True)
def fuzzed_desk(request, pg_url, database, executor):
    """The API with its worker, on an emptied case file, started once for every caller."""
    names = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
    with database.session() as session:
        session.execute(text(f"TRUNCATE {names} CASCADE"))
    verdict = Verdict()
    request.config.pluginmanager.register(verdict, "schemathesis-verdict")
    DESK.start(pg_url, executor)
    try:
        yield DESK
    finally:
        request.config.pluginmanager.unregister(verdict)
        DESK.stop()
        path = os.environ.get("SCHEMATHESIS_FINDINGS")
        if path:
            examples = ", ".join(f"{caller} {max_examples(caller)}" for caller in CALLERS)
            checks = ", ".join(c.__name__ for c in CHECKS)
            header = f"# schemathesis findings\n\nseed {SEED} (+ the caller's index); max-examples: {examples}; checks: {checks}"
            write_markdown(FINDINGS, path, header)


def schema_for(caller: str) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_dict(SPEC, config=config(caller))
    schema.app = DESK  # in-process, through schemathesis's ASGI transport
    return schema


def fuzz_as(caller: str):
    @schema_for(caller).parametrize()
    def test(case):
        # Records and never raises: hypothesis would stop at the first failing case, and skip
        # the fuzzing phase after a failing example. ``Verdict`` fails the test afterwards.
        if case.meta is not None and case.meta.phase.name == "examples":
            DESK.address_seeds(case, caller)
        try:
            response = case.call()
        except Exception as error:  # noqa: BLE001 - no answer: a timeout (or a broken desk), a finding too
            record_no_answer(caller, case, error)
            return
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            record(caller, response, group.exceptions, CHECKS, DESK.last_error)

    test.__name__ = f"test_openapi_as_{caller}"
    return test


for _caller in CALLERS:
    globals()[f"test_openapi_as_{_caller}"] = fuzz_as(_caller)
