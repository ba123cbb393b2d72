"""Recorded histories replay on today's workflow code.

A change to ``AfterSalesCase`` or ``DeliverNotification`` that would break workflows already
running in production fails here. When a change is meant to alter running workflows, guard
it with ``workflow.patched`` and keep the old histories; record new ones with
``python tests/record_history.py SET`` (see there).
"""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

import worker

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_there_are_recorded_histories():
    assert HISTORIES, "tests/histories/ holds no recorded case history"


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_a_recorded_history_replays(path):
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    replayer = Replayer(workflows=worker.WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
