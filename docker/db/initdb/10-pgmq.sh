#!/bin/sh
# Runs once, on an empty data directory (postgres image /docker-entrypoint-initdb.d).
# The image has already created POSTGRES_DB; make sure it exists and has pgmq, so the
# orchestration migration 0002_pgmq uses the real extension rather than its SQL fallback.
set -eu

db="${POSTGRES_DB:-tasker}"
user="${POSTGRES_USER:-postgres}"
echo "[initdb] preparing database '$db' with the pgmq extension"

if [ "$(psql -v ON_ERROR_STOP=1 -U "$user" -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]; then
  psql -v ON_ERROR_STOP=1 -U "$user" -d postgres -c "CREATE DATABASE \"$db\""
fi
psql -v ON_ERROR_STOP=1 -U "$user" -d "$db" -c "CREATE EXTENSION IF NOT EXISTS pgmq"
echo "[initdb] pgmq $(psql -U "$user" -d "$db" -Atc "SELECT extversion FROM pg_extension WHERE extname = 'pgmq'") ready in '$db'"
