#!/usr/bin/env bash
# Backs up the Tasker database as a pg_dump custom-format archive (restore it with restore.sh).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
Usage: docker/scripts/backup.sh [--database-url URL | --compose ENV] [--output FILE] [options]

Dumps the whole database (schemas tasker and pgmq: tasks, steps, transitions and the queued
messages) in pg_dump's custom format, checks that pg_restore can read the archive, and only
then moves it to FILE, so a failed backup never leaves a file that looks complete.

Source (one of):
  --database-url URL  a database reached from here, dumped with the local pg_dump
                      (default $DATABASE_URL); pg_dump must be at least the server's version
  --compose ENV       the db service of docker/compose.ENV.yml (dev, db or prod), dumped by
                      the pg_dump inside the container

Options:
  --output FILE       default backups/tasker-<UTC time>.dump under the current directory
  --dry-run           print the commands instead of running them
  -h, --help          show this help
USAGE
}

url=${DATABASE_URL:-}
env=''
output=''
while (($#)); do
  case $1 in
    --database-url | --compose | --output)
      [[ $# -ge 2 && -n $2 ]] || usage_error "$1 needs a value"
      case $1 in
        --database-url) url=$2 ;;
        --compose) env=$2 ;;
        --output) output=$2 ;;
      esac
      shift
      ;;
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) usage_error "unknown option $1" ;;
  esac
  shift
done
[[ -n $env || -n $url ]] || usage_error "give --database-url, --compose or DATABASE_URL"
[[ -z $env || $env != test ]] || usage_error "the test stack keeps its database on tmpfs; nothing to back up"

output=${output:-backups/tasker-$(date -u +%Y%m%dT%H%M%SZ).dump}
[[ ! -e $output ]] || die "$output exists; choose another --output"
partial="$output.partial"
if ((DRY_RUN == 0)); then
  mkdir -p "$(dirname "$output")"
  trap 'rm -f "$partial"' EXIT
fi

if [[ -n $env ]]; then
  require_docker
  compose=(docker compose -f "$(compose_file "$env")")
  # shellcheck disable=SC2016 # $POSTGRES_USER and $POSTGRES_DB expand inside the container
  run_redirected '' "$partial" "${compose[@]}" exec -T db \
    sh -c 'exec pg_dump --format=custom -U "$POSTGRES_USER" -d "$POSTGRES_DB"'
  run_redirected "$partial" /dev/null "${compose[@]}" exec -T db pg_restore --list
else
  command -v pg_dump >/dev/null || die "pg_dump is not installed (Debian: postgresql-client)"
  run pg_dump --format=custom --file="$partial" --dbname="$url"
  run_redirected '' /dev/null pg_restore --list "$partial"
fi
run mv "$partial" "$output"
if ((DRY_RUN == 0)); then
  log "wrote $output ($(du -h "$output" | cut -f1), sha256 $(sha256sum "$output" | cut -d' ' -f1))"
fi
