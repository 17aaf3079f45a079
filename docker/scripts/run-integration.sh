#!/usr/bin/env bash
# Integration stack (docker/compose.test.yml): the production images of both apps against a
# throwaway database (tmpfs) and RabbitMQ, for CI and end-to-end checks.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
Usage: docker/scripts/run-integration.sh [up|down|logs|ps] [options]

Runs docker/compose.test.yml: PostgreSQL with pgmq (on tmpfs), RabbitMQ, and the production
images of orchestration (DEPLOYMENT_MODE=standard) and worker.

Actions:
  up (default)      build the images, start everything, wait until every service is healthy
    --no-build        reuse the existing images
    --backend NAME    pgmq (default) or rabbitmq, for both apps
    --port PORT       host port of orchestration (default 8080)
    --timeout SEC     how long to wait for health (default 300)
  down              stop everything and drop the data (it is on tmpfs anyway)
  logs [SERVICE]    follow the logs (all services, or one)
  ps                list the containers

Options:
  --dry-run         print the docker commands instead of running them
  -h, --help        show this help
USAGE
}

action=''
build=1
backend=''
port=''
timeout=300
service=''
while (($#)); do
  case $1 in
    --no-build) build=0 ;;
    --backend | --port | --timeout)
      [[ $# -ge 2 ]] || usage_error "$1 needs a value"
      case $1 in
        --backend) backend=$2 ;;
        --port) port=$2 ;;
        --timeout) timeout=$2 ;;
      esac
      shift
      ;;
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
[[ -z $port || $port =~ ^[0-9]+$ ]] || usage_error "--port must be a number"
[[ $timeout =~ ^[0-9]+$ ]] || usage_error "--timeout must be a whole number of seconds"

require_docker
compose=(docker compose -f "$(compose_file test)")
case $action in
  up)
    vars=()
    if [[ -n $backend ]]; then vars+=("TASKER_MESSAGING_BACKEND=$backend"); fi
    if [[ -n $port ]]; then vars+=("TASKER_TEST_ORCHESTRATION_PORT=$port"); fi
    args=(up --detach --wait --wait-timeout "$timeout")
    if ((build)); then args+=(--build); fi
    if ((${#vars[@]})); then
      run env "${vars[@]}" "${compose[@]}" "${args[@]}"
    else
      run "${compose[@]}" "${args[@]}"
    fi
    log_done "orchestration http://localhost:${port:-8080} is ready; stop with: $0 down"
    ;;
  down) run "${compose[@]}" down --volumes --remove-orphans ;;
  logs) run "${compose[@]}" logs --follow --tail 200 ${service:+"$service"} ;;
  ps) run "${compose[@]}" ps ;;
  *) usage_error "unknown action '$action'" ;;
esac
