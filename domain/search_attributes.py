"""The search attributes managers filter live cases by in the Temporal UI.

Declared once here; the dev launcher, docker-compose (checked by a test) and the test
environments register exactly this list. None of them carries personal data.
"""

from temporalio.common import SearchAttributeKey

CASE_KIND = SearchAttributeKey.for_keyword("CaseKind")
CASE_SEVERITY = SearchAttributeKey.for_keyword("CaseSeverity")
CASE_STAGE = SearchAttributeKey.for_keyword("CaseStage")
SLA_BREACHED = SearchAttributeKey.for_bool("SlaBreached")
ESCALATED = SearchAttributeKey.for_bool("Escalated")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")
# Renovation projects: the stage, and the project id (no personal data in it).
PROJECT_STAGE = SearchAttributeKey.for_keyword("ProjectStage")
PROJECT_ID = SearchAttributeKey.for_keyword("ProjectId")
# A case or project whose file could not take a write (a permanent database or template
# error): its clocks run on, and a supervisor must look at it (``NeedsAttention = true``).
NEEDS_ATTENTION = SearchAttributeKey.for_bool("NeedsAttention")

ALL = (CASE_KIND, CASE_SEVERITY, CASE_STAGE, SLA_BREACHED, ESCALATED, NEXT_DEADLINE, PROJECT_STAGE, PROJECT_ID,
       NEEDS_ATTENTION)

# The names the `temporal` CLI uses for each indexed type.
CLI_TYPES = {"KEYWORD": "Keyword", "BOOL": "Bool", "DATETIME": "Datetime"}


def cli_flags() -> list[str]:
    """``--search-attribute Name=Type`` pairs for ``temporal server start-dev``."""
    return [f"{key.name}={CLI_TYPES[key.indexed_value_type.name.removeprefix('INDEXED_VALUE_TYPE_')]}" for key in ALL]
