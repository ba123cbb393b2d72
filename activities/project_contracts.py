"""Activity names of the renovation project, the only thing ``ProjectLifecycle`` knows of them."""

RECORD_PROJECT_EVENT = "record_project_event"
WARRANTY_CALENDAR = "warranty_calendar"
ISSUE_WARRANTY_CARD = "issue_warranty_card"
QUEUE_PROJECT_NOTIFICATION = "queue_project_notification"
