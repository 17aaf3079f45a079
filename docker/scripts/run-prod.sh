#!/usr/bin/env bash
# Production on one Docker host (docker/compose.prod.yml), with the settings file checked first.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
Usage: docker/scripts/run-prod.sh [up|down|ps|logs|scale|migrate|pull|check] [options]

Runs docker/compose.prod.yml with the `server` profile: db, a one-shot migrate service, then
orchestration and workers. When TASKER_MESSAGING_BACKEND=rabbitmq and RABBITMQ_URL points at
host `rabbitmq`, the bundled broker (profile `rabbitmq`) runs too. Every action first checks the
settings file: present, DATABASE_URL and POSTGRES_PASSWORD set, no CHANGE_ME left in a value
the deployment uses.

Actions:
  up (default)      start or update everything in the background
    --build           build the images here instead of pulling them
    --workers N       run N worker replicas
  down              stop and remove the containers; volumes (the database) are kept
  ps                list the containers
  logs [SERVICE]    follow the logs (all services, or one)
  scale N           run N worker replicas, leaving the other services alone
  migrate           run the migrate service once (DEPLOYMENT_MODE=migrate-only)
  pull              pull the images named by TASKER_REGISTRY and TASKER_VERSION
  check             only check the settings file

Options:
  --env-file FILE   settings file (default docker/.env.prod, from .env.prod.template)
  --dry-run         print the docker commands instead of running them
  -h, --help        show this help
USAGE
}

# The value of KEY in an env file (last assignment wins; surrounding quotes dropped).
env_value() {
  local line value=''
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line == "$1="* ]]; then value=${line#*=}; fi
  done <"$2"
  value=${value%$'\r'}
  if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
  printf '%s' "$value"
}

action=''
build=0
workers=''
env_file="$DOCKER_DIR/.env.prod"
service=''
while (($#)); do
  case $1 in
    --build) build=1 ;;
    --workers | --env-file)
      [[ $# -ge 2 ]] || usage_error "$1 needs a value"
      if [[ $1 == --workers ]]; then workers=$2; else env_file=$2; fi
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
      elif [[ $action == scale && -z $workers ]]; then
        workers=$1
      else
        usage_error "unexpected argument $1"
      fi
      ;;
  esac
  shift
done
action=${action:-up}
if [[ $action == scale && -z $workers ]]; then usage_error "scale needs a number of workers"; fi
[[ -z $workers || $workers =~ ^[0-9]+$ ]] || usage_error "--workers must be a number"
case $action in
  up | down | ps | logs | scale | migrate | pull | check) ;;
  *) usage_error "unknown action '$action'" ;;
esac

[[ -f $env_file ]] ||
  die "no settings file $env_file: cp docker/.env.prod.template docker/.env.prod and fill it in"
env_file="$(cd "$(dirname "$env_file")" && pwd)/$(basename "$env_file")"

backend=$(env_value TASKER_MESSAGING_BACKEND "$env_file")
rabbitmq_url=$(env_value RABBITMQ_URL "$env_file")
bundled_broker=0
if [[ $backend == rabbitmq && $rabbitmq_url =~ ^amqps?://([^@/]*@)?rabbitmq(:[0-9]+)?(/.*)?$ ]]; then
  bundled_broker=1
fi

problems=()
case $backend in
  '' | pgmq | rabbitmq) ;;
  *) problems+=("TASKER_MESSAGING_BACKEND must be pgmq or rabbitmq (got '$backend')") ;;
esac
required=(DATABASE_URL POSTGRES_PASSWORD)
if [[ $backend == rabbitmq ]]; then required+=(RABBITMQ_URL); fi
if ((bundled_broker)); then required+=(RABBITMQ_DEFAULT_PASS); fi
for key in "${required[@]}"; do
  value=$(env_value "$key" "$env_file")
  if [[ -z $value ]]; then
    problems+=("$key is not set")
  elif [[ $value == *CHANGE_ME* ]]; then
    problems+=("$key still holds CHANGE_ME")
  fi
done
if [[ $(env_value TASKER_ENV "$env_file") != production ]]; then
  log "warning: TASKER_ENV is not production in $env_file"
fi
if ((${#problems[@]})); then
  for problem in "${problems[@]}"; do log "$env_file: $problem"; done
  die "fix $env_file first"
fi

if [[ $action == check ]]; then
  log "$env_file is complete (backend ${backend:-pgmq}$( ((bundled_broker)) && printf ', bundled RabbitMQ'))"
  exit 0
fi

require_docker
compose=(env "TASKER_ENV_FILE=$env_file" docker compose --env-file "$env_file"
  -f "$(compose_file prod)" --profile server)
if ((bundled_broker)); then compose+=(--profile rabbitmq); fi

case $action in
  up)
    args=(up --detach --remove-orphans)
    if ((build)); then args+=(--build); fi
    if [[ -n $workers ]]; then args+=(--scale "worker=$workers"); fi
    run "${compose[@]}" "${args[@]}"
    log_done "started; follow with: $0 logs, check with: $0 ps"
    ;;
  down) run "${compose[@]}" down --remove-orphans ;;
  ps) run "${compose[@]}" ps ;;
  logs) run "${compose[@]}" logs --follow --tail 200 ${service:+"$service"} ;;
  scale) run "${compose[@]}" up --detach --no-deps --no-recreate --scale "worker=$workers" worker ;;
  migrate) run "${compose[@]}" run --rm migrate ;;
  pull) run "${compose[@]}" pull ;;
esac
