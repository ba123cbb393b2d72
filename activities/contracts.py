"""Activity names, the only thing workflows know of activities (besides their models).

Workflows call activities by these names so that workflow code never imports the adapters
(SQLAlchemy, Jinja2, the channels) into the sandbox.
"""

RECORD_CASE_EVENT = "record_case_event"
QUEUE_NOTIFICATION = "queue_notification"
ARCHIVE_CASE = "archive_case"
DELIVER_NOTIFICATION = "deliver_notification"
DEAD_LETTER_NOTIFICATION = "dead_letter_notification"
