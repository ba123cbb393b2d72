"""Operations: backing up and restoring the case file and Temporal's store together (``ops.backup``).

Runs without the application installed (the compose file's backup service is the PostgreSQL
image with Python and psycopg2): the standard library, psycopg2, and PostgreSQL's own tools.
"""
