"""Activity names, the only thing workflows know of activities (besides their models).

Workflows call activities by these names so that workflow code never imports the adapters
(SQLAlchemy, Jinja2, the channels) into the sandbox.
"""

RECORD_CASE_EVENT = "record_case_event"
QUEUE_NOTIFICATION = "queue_notification"
ARCHIVE_CASE = "archive_case"
DELIVER_NOTIFICATION = "deliver_notification"
DEAD_LETTER_NOTIFICATION = "dead_letter_notification"

# Failure types of deliver_notification that no retry on the same channel can mend: the peer
# refused the message, or the outbox row is gone.
REFUSED = "PermanentFailure"
NOT_IN_OUTBOX = "NotFound"
