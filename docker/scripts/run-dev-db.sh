#!/usr/bin/env bash
# PostgreSQL with pgmq alone (docker/compose.db.yml), for running the apps on the host.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
Usage: docker/scripts/run-dev-db.sh start|stop|psql|status|logs|reset|url [options]

Runs the database of docker/compose.db.yml (PostgreSQL 15 with the pgmq extension) for apps
started on the host with npm run start:orchestration / start:worker.

Actions:
  start             start the database and wait until it accepts connections
  stop              stop and remove the container; the data volume is kept
  psql [ARGS...]    open psql in the container (extra arguments go to psql)
  status            container state, pg_isready and the pgmq extension version
  logs              follow the database log
  reset             delete the data volume and start empty (asks first)
  url               print the DATABASE_URL for the host

Options:
  -y, --yes         answer yes to the reset question
  --dry-run         print the docker commands instead of running them
  -h, --help        show this help

Environment (the same variables compose.db.yml reads): POSTGRES_USER, POSTGRES_PASSWORD,
POSTGRES_DB (all default tasker) and TASKER_DB_PORT (host port, default 5432).
USAGE
}

[[ $# -gt 0 ]] || usage_error "an action is required"
action=$1
shift
psql_args=()
while (($#)); do
  case $1 in
    -y | --yes) ASSUME_YES=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      [[ $action == psql ]] || usage_error "unexpected argument $1"
      psql_args+=("$1")
      ;;
  esac
  shift
done
if [[ $action == -h || $action == --help ]]; then
  usage
  exit 0
fi

user=${POSTGRES_USER:-tasker}
db=${POSTGRES_DB:-tasker}
url="postgres://$user:${POSTGRES_PASSWORD:-tasker}@127.0.0.1:${TASKER_DB_PORT:-5432}/$db"
compose=(docker compose -f "$(compose_file db)")

start() {
  run "${compose[@]}" up --detach --wait
  log_done "ready: DATABASE_URL=$(redact "$url")"
}

case $action in
  url)
    printf '%s\n' "$url"
    exit 0
    ;;
  start | stop | psql | status | logs | reset) require_docker ;;
  *) usage_error "unknown action '$action'" ;;
esac
case $action in
  start) start ;;
  stop) run "${compose[@]}" down ;;
  psql)
    tty=$(exec_tty_flag)
    run "${compose[@]}" exec ${tty:+"$tty"} db psql -U "$user" -d "$db" ${psql_args[@]+"${psql_args[@]}"}
    ;;
  status)
    run "${compose[@]}" ps db
    run "${compose[@]}" exec -T db pg_isready -U "$user" -d "$db" -h 127.0.0.1
    run "${compose[@]}" exec -T db psql -U "$user" -d "$db" -Atc \
      "SELECT 'pgmq ' || extversion FROM pg_extension WHERE extname = 'pgmq'"
    ;;
  logs) run "${compose[@]}" logs --follow --tail 200 db ;;
  reset)
    confirm "Delete every database in the tasker-db volume and start empty?"
    run "${compose[@]}" down --volumes
    start
    ;;
esac
