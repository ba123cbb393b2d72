"""Thin activities: each calls one adapter and is idempotent."""
