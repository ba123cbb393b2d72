#!/usr/bin/env bash
# The database accounts, one per owner (security review P2): the postgres image runs this
# once, as its superuser, when it starts on an empty volume (/docker-entrypoint-initdb.d).
#
#   aftersales  owns the database aftersales: the API, the worker and the migrations
#   temporal    owns temporal and temporal_visibility: the Temporal server
#
# Neither is a superuser nor may create databases or roles, and each database is closed to
# every other account, so the product cannot touch Temporal's histories nor Temporal the case
# file. Each password comes from the environment (docker-compose.yml). Every step may run
# again: run by hand it resets the two passwords to the environment's (README, "Production").
set -euo pipefail

: "${AFTERSALES_DB_PASSWORD:?set AFTERSALES_DB_PASSWORD}"
: "${TEMPORAL_DB_PASSWORD:?set TEMPORAL_DB_PASSWORD}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v aftersales_password="$AFTERSALES_DB_PASSWORD" -v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE aftersales' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'aftersales') \gexec
SELECT 'CREATE ROLE temporal' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'temporal') \gexec
ALTER ROLE aftersales WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'aftersales_password';
ALTER ROLE temporal WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'temporal_password';

SELECT 'CREATE DATABASE aftersales OWNER aftersales'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'aftersales') \gexec
SELECT 'CREATE DATABASE temporal OWNER temporal'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'temporal') \gexec
SELECT 'CREATE DATABASE temporal_visibility OWNER temporal'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'temporal_visibility') \gexec

-- PUBLIC may connect to any database by default: only the owner may now.
REVOKE ALL ON DATABASE aftersales FROM PUBLIC;
REVOKE ALL ON DATABASE temporal FROM PUBLIC;
REVOKE ALL ON DATABASE temporal_visibility FROM PUBLIC;

-- Temporal's visibility schema wants btree_gin; made here, by the superuser, so that the
-- temporal account needs no more than owning its database.
\connect temporal_visibility
CREATE EXTENSION IF NOT EXISTS btree_gin;
SQL
