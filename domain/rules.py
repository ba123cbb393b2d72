"""What a case runs by: its policy and its working calendar, carried into the workflow."""

from __future__ import annotations

from dataclasses import dataclass

from domain.calendar import WorkingCalendar
from domain.policy import Policy


@dataclass
class Rules:
    """What the case runs by: its policy and its working calendar."""

    policy: Policy
    calendar: WorkingCalendar

    def seconds(self, name: str) -> int:
        return self.policy.process.seconds(name)
