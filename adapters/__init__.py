"""The I/O: storage (SQLAlchemy) and notifications (Jinja2 templates, outbox)."""
