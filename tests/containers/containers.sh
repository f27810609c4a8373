#!/usr/bin/env bash
# ormer's test containers on machines without a registry (docs/testing.md).
#
#   containers.sh engine   a Docker engine answering: dockerd started by hand when
#                          none answers (Debian's docker.io installed first if missing)
#   containers.sh build    the images, built from Debian packages once and cached:
#                          rebuilt only when their Dockerfile or entrypoint changes
#   containers.sh clean    remove every container a test session labelled ormer.test
#   containers.sh stop     stop the dockerd this script started (no other)
#   containers.sh images   print the image names, as ORMER_TEST_*_IMAGE=... lines
#   containers.sh test [pytest args...]
#                          all of the above around one pytest run with
#                          ORMER_TEST_SERVERS=containers (what `make test-containers` runs):
#                          the containers are removed and a dockerd started here
#                          is stopped at the end, also on failure or Ctrl-C
#                          (ORMER_KEEP_DOCKERD=1 keeps it running)
#
# ORMER_TEST_POSTGRES_IMAGE / ORMER_TEST_MYSQL_IMAGE choose other images
# (postgres:17, mysql:8.4, ...): only this project's local/ormer-* images are built.
#
# State (dockerd pid, log) lives in $ORMER_CONTAINERS_STATE (default
# ~/.cache/ormer-containers); the images live in the engine's own storage.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
state="${ORMER_CONTAINERS_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/ormer-containers}"
suite=bookworm
base_image="local/ormer-debian:$suite"
postgres_image="${ORMER_TEST_POSTGRES_IMAGE:-local/ormer-postgres:15}"
mariadb_image="${ORMER_TEST_MYSQL_IMAGE:-local/ormer-mariadb:10.11}"
python="${PYTHON:-python3}"
# The legacy builder: the daemon Debian ships (20.10) needs no buildx plugin for it.
export DOCKER_BUILDKIT=0

say() { echo "containers.sh: $*" >&2; }
die() { say "$*"; exit 1; }

engine_answers() { docker version --format '{{.Server.Version}}' > /dev/null 2>&1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo > /dev/null; then sudo "$@"
    else die "needs root for: $*"
    fi
}

apt_install() {
    say "installing Debian packages: $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" > "$state/apt.log" 2>&1 \
        || { as_root apt-get update -q > /dev/null 2>&1 \
             && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" > "$state/apt.log" 2>&1; } \
        || { tail -20 "$state/apt.log" >&2; die "could not install $*"; }
}

cmd_engine() {
    mkdir -p "$state"
    if engine_answers; then
        say "Docker engine $(docker version --format '{{.Server.Version}}') answers"
        return
    fi
    command -v dockerd > /dev/null || apt_install docker.io
    command -v docker > /dev/null || die "no docker client on PATH"
    say "starting dockerd (log: $state/dockerd.log)"
    as_root setsid dockerd --pidfile "$state/dockerd.pid" > "$state/dockerd.log" 2>&1 < /dev/null &
    for _ in $(seq 1 150); do
        engine_answers && break
        sleep 0.2
    done
    engine_answers || { tail -20 "$state/dockerd.log" >&2; die "dockerd did not answer in 30 s"; }
    say "Docker engine $(docker version --format '{{.Server.Version}}') started (pid $(cat "$state/dockerd.pid"))"
}

cmd_stop() {
    local pidfile="$state/dockerd.pid"
    [ -s "$pidfile" ] || { say "no dockerd started by this script"; return; }
    local pid
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2> /dev/null; then
        say "stopping dockerd (pid $pid)"
        as_root kill "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile"
}

debian_mirror() {  # the mirror apt already uses
    local uri
    uri="$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1 || true)"
    [ -n "$uri" ] || uri="$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -1 || true)"
    echo "${uri:-http://deb.debian.org/debian}"
}

build_base() {
    if docker image inspect "$base_image" > /dev/null 2>&1; then
        return
    fi
    command -v debootstrap > /dev/null || apt_install debootstrap
    local root mirror
    root="$(mktemp -d)"
    mirror="$(debian_mirror)"
    say "debootstrap --variant=minbase $suite from $mirror (about 30 s)"
    as_root debootstrap --variant=minbase "$suite" "$root" "$mirror" > "$state/debootstrap.log" 2>&1 \
        || { tail -20 "$state/debootstrap.log" >&2; as_root rm -rf "$root"; die "debootstrap failed"; }
    as_root rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    as_root tar -C "$root" -c . | docker import --change 'CMD ["/bin/bash"]' - "$base_image" > /dev/null
    as_root rm -rf "$root"
    say "built $base_image"
}

recipe_hash() {  # of the recipe's files and the base image it builds on
    {
        docker image inspect --format '{{.Id}}' "$base_image"
        (cd "$here/$1" && find . -type f | LC_ALL=C sort | xargs sha256sum)
    } | sha256sum | cut -c1-16
}

build_image() {  # recipe directory, image name
    local hash current
    hash="$(recipe_hash "$1")"
    current="$(docker image inspect --format '{{index .Config.Labels "ormer.recipe"}}' "$2" 2> /dev/null || true)"
    if [ "$current" = "$hash" ]; then
        say "$2 is up to date (recipe $hash)"
        return
    fi
    say "building $2 from $here/$1 (recipe $hash)"
    docker build -q --label "ormer.recipe=$hash" --build-arg "BASE=$base_image" -t "$2" "$here/$1" > "$state/build-$1.log" 2>&1 \
        || { tail -30 "$state/build-$1.log" >&2; die "building $2 failed"; }
}

cmd_build() {
    mkdir -p "$state"
    engine_answers || die "no Docker engine answers (run: $0 engine)"
    case "$postgres_image$mariadb_image" in *local/ormer-*) build_base ;; esac
    case "$postgres_image" in local/ormer-postgres:*) build_image postgres "$postgres_image" ;; esac
    case "$mariadb_image" in local/ormer-mariadb:*) build_image mariadb "$mariadb_image" ;; esac
}

cmd_clean() {  # [docker ps filter], default: every test container
    engine_answers || return 0
    local ids
    ids="$(docker ps -aq --filter "${1:-label=ormer.test}")"
    if [ -n "$ids" ]; then
        say "removing $(echo "$ids" | wc -l) test container(s)"
        # shellcheck disable=SC2086
        docker rm -f -v $ids > /dev/null
    fi
}

cmd_images() {
    echo "ORMER_TEST_POSTGRES_IMAGE=$postgres_image"
    echo "ORMER_TEST_MYSQL_IMAGE=$mariadb_image"
}

started_here=
cmd_test() {
    started_here=
    engine_answers || started_here=1
    cmd_engine
    # the session labels its containers with this run id; only they are removed
    export ORMER_TEST_RUN_ID="${ORMER_TEST_RUN_ID:-$(hostname)-$$}"
    finish() {
        cmd_clean "label=ormer.test.run=$ORMER_TEST_RUN_ID"
        if [ -n "$started_here" ] && [ -z "${ORMER_KEEP_DOCKERD:-}" ]; then cmd_stop; fi
    }
    trap finish EXIT
    trap 'exit 130' INT TERM
    cmd_build
    # A URL would win over the containers; Ryuk cannot be pulled here (the session
    # removes its own containers); docker_host: reach them on 127.0.0.1, never
    # through the bridge's private addresses.
    env -u ORMER_TEST_POSTGRES_URL -u ORMER_TEST_MYSQL_URL \
        ORMER_TEST_SERVERS=containers \
        ORMER_TEST_POSTGRES_IMAGE="$postgres_image" ORMER_TEST_MYSQL_IMAGE="$mariadb_image" \
        TESTCONTAINERS_RYUK_DISABLED="${TESTCONTAINERS_RYUK_DISABLED:-true}" \
        TESTCONTAINERS_CONNECTION_MODE="${TESTCONTAINERS_CONNECTION_MODE:-docker_host}" \
        "$python" -m pytest "$@"
}

case "${1:-}" in
    engine | build | clean | stop | images) "cmd_$1" ;;
    test) shift; cmd_test "$@" ;;
    *) die "usage: $0 engine|build|clean|stop|images|test [pytest args...]" ;;
esac
