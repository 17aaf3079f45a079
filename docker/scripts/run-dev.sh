#!/usr/bin/env bash
# Development stack (docker/compose.dev.yml): db, RabbitMQ, and both apps rebuilding and
# restarting on source changes.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
Usage: docker/scripts/run-dev.sh [up|down|logs|ps] [options]

Runs the development stack of docker/compose.dev.yml: PostgreSQL with pgmq, RabbitMQ, and
orchestration and worker with sources mounted (tsc --watch + node --watch).

Actions:
  up (default)      build the dev image and start everything
    -d, --detach      return once started instead of following the logs
    --no-build        reuse the existing dev image
    --backend NAME    pgmq (default) or rabbitmq, for both apps
  down              stop and remove the containers; the database volume is kept
    --volumes         also delete the database volume
  logs [SERVICE]    follow the logs (all services, or one)
  ps                list the containers

Options:
  --dry-run         print the docker commands instead of running them
  -h, --help        show this help

Ports: orchestration 8080 (OpenAPI at /docs), worker 8081, inspectors 9229 and 9230,
PostgreSQL 5432, RabbitMQ 5672 and its management UI 15672.
USAGE
}

action=''
detach=0
build=1
backend=''
volumes=0
service=''
while (($#)); do
  case $1 in
    -d | --detach) detach=1 ;;
    --no-build) build=0 ;;
    --backend)
      [[ $# -ge 2 ]] || usage_error "--backend needs a value"
      backend=$2
      shift
      ;;
    --volumes) volumes=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) usage_error "unknown option $1" ;;
    *)
      if [[ -z $action ]]; then
        action=$1
      elif [[ $action == logs && -z $service ]]; then
        service=$1
      else
        usage_error "unexpected argument $1"
      fi
      ;;
  esac
  shift
done
action=${action:-up}
case $backend in
  '' | pgmq | rabbitmq) ;;
  *) usage_error "--backend must be pgmq or rabbitmq" ;;
esac

require_docker
compose=(docker compose -f "$(compose_file dev)")
case $action in
  up)
    args=(up)
    if ((build)); then args+=(--build); fi
    if ((detach)); then args+=(--detach --wait); fi
    if [[ -n $backend ]]; then
      run env "TASKER_MESSAGING_BACKEND=$backend" "${compose[@]}" "${args[@]}"
    else
      run "${compose[@]}" "${args[@]}"
    fi
    if ((detach)); then
      log_done "orchestration http://localhost:8080 (OpenAPI at /docs), worker http://localhost:8081"
    fi
    ;;
  down)
    args=(down --remove-orphans)
    if ((volumes)); then args+=(--volumes); fi
    run "${compose[@]}" "${args[@]}"
    ;;
  logs) run "${compose[@]}" logs --follow --tail 200 ${service:+"$service"} ;;
  ps) run "${compose[@]}" ps ;;
  *) usage_error "unknown action '$action'" ;;
esac
