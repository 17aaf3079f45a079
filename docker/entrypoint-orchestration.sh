#!/bin/sh
# Orchestration container entrypoint: check the environment, then hand over to the app.
# The app migrates itself (DEPLOYMENT_MODE standard|migrate-only|no-migrate, advisory lock,
# DB_MIGRATION_TIMEOUT, DB_MIGRATION_RETRIES) and validates every other variable at boot.
set -eu

log() { printf '%s [entrypoint] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
fail() { log "ERROR: $*"; exit 64; }

: "${DATABASE_URL:=}"
[ -n "$DATABASE_URL" ] || fail "DATABASE_URL is required (postgres://user:pass@host:5432/db)"

mode="${DEPLOYMENT_MODE:-standard}"
case "$mode" in
  standard|migrate-only|no-migrate) ;;
  *) fail "DEPLOYMENT_MODE must be standard, migrate-only or no-migrate (got '$mode')" ;;
esac

if [ "${TASKER_MESSAGING_BACKEND:-pgmq}" = "rabbitmq" ] && [ -z "${RABBITMQ_URL:-}" ]; then
  fail "RABBITMQ_URL is required when TASKER_MESSAGING_BACKEND=rabbitmq"
fi

log "starting orchestration (DEPLOYMENT_MODE=$mode, backend=${TASKER_MESSAGING_BACKEND:-pgmq})"
exec node dist/apps/orchestration/src/main.js "$@"
