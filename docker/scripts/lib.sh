# shellcheck shell=bash
# Sourced by the docker/scripts/*.sh helpers (not run on its own): repository paths, logging,
# a command runner that honours --dry-run, and the confirmation prompt of destructive actions.
# Every docker, pg_dump or pg_restore command goes through run/run_redirected, so --dry-run
# prints exactly what would run (one command per line on stdout, passwords masked) and runs
# nothing, and a real run logs each command to stderr before running it.

TASKER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DOCKER_DIR="$TASKER_ROOT/docker"
SCRIPT_NAME="$(basename "$0" .sh)"
DRY_RUN=0
ASSUME_YES=0

log() { printf '[%s] %s\n' "$SCRIPT_NAME" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}
# For messages about the outcome of commands, which a dry run did not run.
log_done() {
  if ((DRY_RUN == 0)); then log "$@"; fi
}
usage_error() {
  log "ERROR: $*"
  log "run with --help for usage"
  exit 64
}

# Words as a shell reads them: safe words bare, anything else single-quoted.
quote() {
  local arg words=()
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
      words+=("$arg")
    else
      words+=("'${arg//\'/\'\\\'\'}'")
    fi
  done
  printf '%s' "${words[*]}"
}

# Masks the password of any user:password@ in a URL.
redact() { sed -E 's#(://[^:/@[:space:]]*:)[^@[:space:]]+@#\1***@#g' <<<"$1"; }

# run_redirected IN OUT CMD...: runs CMD with stdin from IN and stdout to OUT ('' = inherited).
run_redirected() {
  local in=$1 out=$2 shown
  shift 2
  shown="$(quote "$@")"
  if [[ -n $in ]]; then shown+=" < $(quote "$in")"; fi
  if [[ -n $out ]]; then shown+=" > $(quote "$out")"; fi
  shown="$(redact "$shown")"
  if ((DRY_RUN)); then
    printf '%s\n' "$shown"
    return 0
  fi
  log "+ $shown"
  if [[ -n $in && -n $out ]]; then
    "$@" <"$in" >"$out"
  elif [[ -n $in ]]; then
    "$@" <"$in"
  elif [[ -n $out ]]; then
    "$@" >"$out"
  else
    "$@"
  fi
}

run() { run_redirected '' '' "$@"; }

# run_capture VAR CMD...: runs CMD and stores its stdout in VAR (a dry run prints CMD, VAR='').
run_capture() {
  local var=$1 shown captured
  shift
  shown="$(redact "$(quote "$@")")"
  if ((DRY_RUN)); then
    printf '%s\n' "$shown"
    printf -v "$var" '%s' ''
    return 0
  fi
  log "+ $shown"
  captured=$("$@")
  printf -v "$var" '%s' "$captured"
}

# Asks before a destructive action; --yes answers for the operator. No answer (no terminal,
# empty input) is a no.
confirm() {
  if ((ASSUME_YES)); then return 0; fi
  local answer=''
  printf '%s [y/N] ' "$1" >&2
  read -r answer || true
  [[ $answer =~ ^([Yy]|[Yy][Ee][Ss])$ ]] || die "aborted; nothing was changed (--yes skips this question)"
}

# The compose file of an environment: dev, test, db or prod.
compose_file() {
  case $1 in
    dev | test | db | prod) printf '%s/compose.%s.yml' "$DOCKER_DIR" "$1" ;;
    *) usage_error "unknown environment '$1' (dev, test, db or prod)" ;;
  esac
}

require_docker() {
  if ((DRY_RUN)); then return 0; fi
  command -v docker >/dev/null || die "docker is not installed (see https://docs.docker.com/engine/install/)"
}

# `docker compose exec` allocates a terminal unless stdin is not one.
exec_tty_flag() { [[ -t 0 ]] || printf -- '-T'; }
