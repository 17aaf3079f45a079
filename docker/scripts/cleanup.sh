#!/usr/bin/env bash
# Removes what the development, test and database-only stacks left behind, by level.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
Usage: docker/scripts/cleanup.sh [containers|volumes|images] [options]

Levels, each including the one before:
  containers (default)  stop and remove the stacks' containers and networks
  volumes               also delete their volumes: every database in them is lost (asks first)
  images                also remove the images their services use, built or pulled (asks first)

Options:
  --env LIST        comma-separated stacks among dev, test, db (default all three). The
                    production stack (compose.prod.yml) is never touched: stop it with
                    run-prod.sh down
  -y, --yes         answer yes to the question
  --dry-run         print the docker commands instead of running them
  -h, --help        show this help

Docker's build cache is shared with other projects, so it is left alone; prune it with
`docker builder prune` if you mean to.
USAGE
}

level=''
envs=(dev test db)
while (($#)); do
  case $1 in
    --env)
      [[ $# -ge 2 && -n $2 ]] || usage_error "--env needs a value"
      IFS=, read -r -a envs <<<"$2"
      shift
      ;;
    -y | --yes) ASSUME_YES=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    containers | volumes | images)
      [[ -z $level ]] || usage_error "one level only"
      level=$1
      ;;
    *) usage_error "unknown level or option $1" ;;
  esac
  shift
done
level=${level:-containers}
for env in "${envs[@]}"; do
  case $env in
    dev | test | db) ;;
    prod) usage_error "cleanup never touches production; use run-prod.sh down" ;;
    *) usage_error "unknown stack '$env' (dev, test or db)" ;;
  esac
done

args=(down --remove-orphans)
case $level in
  volumes) args+=(--volumes) ;;
  images) args+=(--volumes --rmi all) ;;
esac
if [[ $level != containers ]]; then
  confirm "Remove the $level of the ${envs[*]} stack(s)? Their databases are deleted."
fi
require_docker
for env in "${envs[@]}"; do
  run docker compose -f "$(compose_file "$env")" "${args[@]}"
done
log_done "removed the $level of: ${envs[*]}"
