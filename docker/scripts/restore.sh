#!/usr/bin/env bash
# Restores a backup.sh archive into the Tasker database; never over data without --force.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
Usage: docker/scripts/restore.sh FILE [--database-url URL | --compose ENV] [--force] [options]

Restores FILE (a pg_dump custom-format archive from backup.sh) in one transaction: either all
of it is restored or nothing changes. The objects of the archive are dropped and re-created
(--clean --if-exists), owned by the connecting user (--no-owner); then ANALYZE refreshes the
planner statistics. A target that already holds tables is refused unless --force is given.
Stop orchestration and the workers first (run-prod.sh down keeps the db running with
`docker compose ... stop orchestration worker`), and start them again afterwards.

Target (one of):
  --database-url URL  a database reached from here, with the local pg_restore and psql
                      (default $DATABASE_URL)
  --compose ENV       the db service of docker/compose.ENV.yml (dev, db or prod)

Options:
  --force             replace the archive's objects in a database that already has tables
  --dry-run           print the commands instead of running them
  -h, --help          show this help
USAGE
}

# Tables in the target, other than the system's and those an extension owns (pgmq.meta of the
# db image's pgmq extension is there before any restore).
readonly COUNT_TABLES_SQL="SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't' \
AND n.nspname NOT IN ('information_schema') AND n.nspname NOT LIKE 'pg\\_%' \
AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
AND d.objid = c.oid AND d.deptype = 'e')"
readonly RESTORE_OPTIONS=(--clean --if-exists --no-owner --single-transaction)

url=${DATABASE_URL:-}
env=''
file=''
force=0
while (($#)); do
  case $1 in
    --database-url | --compose)
      [[ $# -ge 2 && -n $2 ]] || usage_error "$1 needs a value"
      if [[ $1 == --compose ]]; then env=$2; else url=$2; fi
      shift
      ;;
    --force) force=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) usage_error "unknown option $1" ;;
    *)
      [[ -z $file ]] || usage_error "one archive only"
      file=$1
      ;;
  esac
  shift
done
[[ -n $file ]] || usage_error "which archive? (a file written by backup.sh)"
[[ -f $file ]] || die "no such file: $file"
[[ -n $env || -n $url ]] || usage_error "give --database-url, --compose or DATABASE_URL"

if [[ -n $env ]]; then
  require_docker
  target="the db service of $(compose_file "$env")"
  in_db=(docker compose -f "$(compose_file "$env")" exec -T db)
  run_redirected "$file" /dev/null "${in_db[@]}" pg_restore --list
  # shellcheck disable=SC2016 # $POSTGRES_USER, $POSTGRES_DB and $1 expand inside the container
  run_capture tables "${in_db[@]}" sh -c \
    'exec psql -X -At -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "$1"' count-tables "$COUNT_TABLES_SQL"
else
  command -v pg_restore >/dev/null || die "pg_restore is not installed (Debian: postgresql-client)"
  target="$(redact "$url")"
  run_redirected '' /dev/null pg_restore --list "$file"
  run_capture tables psql --no-psqlrc --quiet --tuples-only --no-align \
    --dbname="$url" --command="$COUNT_TABLES_SQL"
fi

if [[ ${tables:-0} != 0 ]] && ((force == 0)); then
  die "refusing to restore into $target: it already holds $tables tables. Pass --force to replace the archive's objects (take a backup.sh of it first)"
fi

if [[ -n $env ]]; then
  run_redirected "$file" '' "${in_db[@]}" sh -c \
    "exec pg_restore ${RESTORE_OPTIONS[*]} -U \"\$POSTGRES_USER\" -d \"\$POSTGRES_DB\""
  # shellcheck disable=SC2016 # as above
  run "${in_db[@]}" sh -c 'exec psql -X -q -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c ANALYZE'
else
  run pg_restore "${RESTORE_OPTIONS[@]}" --dbname="$url" "$file"
  run psql --no-psqlrc --quiet --dbname="$url" --command=ANALYZE
fi
log_done "restored $file into $target"
