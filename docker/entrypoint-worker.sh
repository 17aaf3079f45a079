#!/bin/sh
# Worker container entrypoint: check the environment, optionally wait for orchestration to be
# ready (so the schema exists), then hand over to the app. Workers never migrate.
set -eu

log() { printf '%s [entrypoint] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
fail() { log "ERROR: $*"; exit 64; }

: "${DATABASE_URL:=}"
[ -n "$DATABASE_URL" ] || fail "DATABASE_URL is required (postgres://user:pass@host:5432/db)"

if [ "${TASKER_MESSAGING_BACKEND:-pgmq}" = "rabbitmq" ] && [ -z "${RABBITMQ_URL:-}" ]; then
  fail "RABBITMQ_URL is required when TASKER_MESSAGING_BACKEND=rabbitmq"
fi

if [ -n "${ORCHESTRATION_URL:-}" ]; then
  timeout="${ORCHESTRATION_WAIT_TIMEOUT:-120}"
  case "$timeout" in
    ''|*[!0-9]*) fail "ORCHESTRATION_WAIT_TIMEOUT must be a whole number of seconds" ;;
  esac
  ready_url="${ORCHESTRATION_URL%/}/health/ready"
  log "waiting up to ${timeout}s for $ready_url"
  start=$(date +%s)
  until curl -fsS -o /dev/null --max-time 3 "$ready_url"; do
    if [ $(( $(date +%s) - start )) -ge "$timeout" ]; then
      fail "orchestration not ready at $ready_url after ${timeout}s"
    fi
    sleep 2
  done
  log "orchestration is ready"
fi

log "starting worker (backend=${TASKER_MESSAGING_BACKEND:-pgmq})"
exec node dist/apps/worker/src/main.js "$@"
