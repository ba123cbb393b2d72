"""Notifications: templates rendered into the outbox."""
