"""The case file in SQL: tables, sessions and repositories."""
