"""Activity names, the only thing workflows know of activities (besides their models).

Workflows call activities by these names so that workflow code never imports the adapters
(SQLAlchemy, Jinja2, the channels) into the sandbox.
"""

RECORD_CASE_EVENT = "record_case_event"
QUEUE_NOTIFICATION = "queue_notification"
ARCHIVE_CASE = "archive_case"
OPEN_LINKED_CASE = "open_linked_case"
DELIVER_NOTIFICATION = "deliver_notification"
DEAD_LETTER_NOTIFICATION = "dead_letter_notification"
COMPILE_WEEKLY_REPORT = "compile_weekly_report"
QUEUE_WEEKLY_REPORT = "queue_weekly_report"

# Failure types of every write (activities.failures): a permanent one is raised non-retryable
# and the workflow records that its case or project needs attention; a transient one retries.
PERMANENT = "PermanentWriteError"
TRANSIENT = "TransientWriteError"

# Failure types of deliver_notification that no retry on the same channel can mend: the peer
# refused the message, or the outbox row is gone.
REFUSED = "PermanentFailure"
NOT_IN_OUTBOX = "NotFound"

# The field team: hold a technician's time for a work order (refused with NOT_BOOKABLE when
# another work order holds it or the technician is not assignable), free what a work order
# no longer needs, and review a technician's complaint rate.
BOOK_TECHNICIAN = "book_technician"
TRIM_BOOKING = "trim_booking"
REVIEW_TECHNICIAN = "review_technician"
REVIEW_TEAM = "review_team"
NOT_BOOKABLE = "NotBookable"
