#!/usr/bin/env bash
# Builds the orchestration, worker and db images with release tags, and optionally pushes them.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
Usage: docker/scripts/build-images.sh [orchestration|worker|db|all]... [options]

Builds REGISTRY/orchestration, REGISTRY/worker (docker/Dockerfile targets) and REGISTRY/db
(docker/db/Dockerfile), default all three. Each image gets the tags
  VERSION          the "version" of package.json
  sha-COMMIT       the first 12 characters of the git commit (sha-COMMIT-dirty when the work
                   tree has uncommitted changes)
  EXTRA            each --tag given
and the OCI labels org.opencontainers.image.version and org.opencontainers.image.revision.

Options:
  --registry NAME   image name prefix, e.g. registry.example.com/tasker
                    (default $TASKER_REGISTRY, else tasker)
  --tag TAG         an extra tag such as latest or stable (repeatable)
  --push            push every tag after building; needs --registry or TASKER_REGISTRY, and a
                    clean work tree
  --platform LIST   passed to docker build, e.g. linux/amd64
  --dry-run         print the docker commands instead of running them
  -h, --help        show this help
USAGE
}

registry=${TASKER_REGISTRY:-}
extra_tags=()
push=0
platform=''
targets=()
while (($#)); do
  case $1 in
    --registry | --tag | --platform)
      [[ $# -ge 2 && -n $2 ]] || usage_error "$1 needs a value"
      case $1 in
        --registry) registry=$2 ;;
        --tag) extra_tags+=("$2") ;;
        --platform) platform=$2 ;;
      esac
      shift
      ;;
    --push) push=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    all) targets+=(orchestration worker db) ;;
    orchestration | worker | db) targets+=("$1") ;;
    *) usage_error "unknown image or option $1" ;;
  esac
  shift
done
if ((${#targets[@]} == 0)); then targets=(orchestration worker db); fi
for tag in ${extra_tags[@]+"${extra_tags[@]}"}; do
  [[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || usage_error "invalid tag '$tag'"
done
if ((push)) && [[ -z $registry ]]; then
  usage_error "--push needs --registry (or TASKER_REGISTRY): where should the images go?"
fi
registry=${registry:-tasker}
registry=${registry%/}

version=$(sed -nE 's/^  "version": "([^"]+)",?$/\1/p' "$TASKER_ROOT/package.json" | head -n 1)
[[ -n $version ]] || die "no version in package.json"
revision=$(git -C "$TASKER_ROOT" rev-parse HEAD 2>/dev/null) ||
  die "not a git work tree: the sha tag needs the commit"
sha_tag="sha-${revision:0:12}"
if [[ -n $(git -C "$TASKER_ROOT" status --porcelain) ]]; then
  sha_tag+="-dirty"
  if ((push)); then die "the work tree has uncommitted changes; commit before pushing images"; fi
fi
tags=("$version" "$sha_tag" ${extra_tags[@]+"${extra_tags[@]}"})

require_docker
for target in "${targets[@]}"; do
  image="$registry/$target"
  args=(docker build)
  if [[ $target == db ]]; then
    args+=(--file "$DOCKER_DIR/db/Dockerfile")
  else
    args+=(--file "$DOCKER_DIR/Dockerfile" --target "$target")
  fi
  for tag in "${tags[@]}"; do args+=(--tag "$image:$tag"); done
  args+=(--label "org.opencontainers.image.version=$version"
    --label "org.opencontainers.image.revision=$revision")
  if [[ -n $platform ]]; then args+=(--platform "$platform"); fi
  if [[ $target == db ]]; then args+=("$DOCKER_DIR/db"); else args+=("$TASKER_ROOT"); fi
  run "${args[@]}"
done
if ((push)); then
  for target in "${targets[@]}"; do
    for tag in "${tags[@]}"; do run docker push "$registry/$target:$tag"; done
  done
fi
log_done "built ${targets[*]} as $registry/<image>:{${tags[*]}}"
