"""The release command: creates the schema (idempotent); fails on purpose when
FAIL_RELEASE is set, after printing why."""

import os
import sys

import psycopg

if os.environ.get("FAIL_RELEASE"):
    print(f"migration {os.environ['FAIL_RELEASE']} failed on purpose", flush=True)
    sys.exit(3)
with psycopg.connect() as db:  # libpq reads PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD
    db.execute(
        "CREATE TABLE IF NOT EXISTS jobs ("
        " id serial PRIMARY KEY, text text NOT NULL, version text NOT NULL,"
        " processed_by text, processed_at timestamptz)"
    )
print(f"schema ready (version {os.environ.get('APP_VERSION')})", flush=True)
