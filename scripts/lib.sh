#!/usr/bin/env bash
# Shared helpers for scripts/run, scripts/test, .ci/run and the Makefile.
#
# Source it (`. scripts/lib.sh`) to get the functions, or run it with a function name as the first
# argument (`scripts/lib.sh ensure_venv`) so the Makefile can reuse a helper without a script of
# its own. Everything here must work on a fresh clone: the only things assumed on the machine are
# bash, coreutils and a Python >= 3.11; PostgreSQL / Redis binaries are looked for and, if missing,
# the exact apt packages are named.

# Resolved once so every helper can use absolute paths, whatever the caller's cwd.
IPW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IPW_VENV="${IPW_ROOT}/.venv"
IPW_PY="${IPW_VENV}/bin/python"
# Prefix for throwaway test-service dirs; stale ones (owner gone) are reaped by reap_stale_runs.
IPW_RUN_PREFIX="ipwboard-test."

# --- output -------------------------------------------------------------------------------------

if [[ -t 2 && -z "${NO_COLOR:-}" ]]; then
    _ipw_bold=$'\033[1m' _ipw_red=$'\033[31m' _ipw_yellow=$'\033[33m' _ipw_reset=$'\033[0m'
else
    _ipw_bold="" _ipw_red="" _ipw_yellow="" _ipw_reset=""
fi

log() { printf '%s==> %s%s\n' "$_ipw_bold" "$*" "$_ipw_reset" >&2; }
warn() { printf '%s==> warning: %s%s\n' "$_ipw_yellow" "$*" "$_ipw_reset" >&2; }
error() { printf '%s==> error: %s%s\n' "$_ipw_red" "$*" "$_ipw_reset" >&2; }
die() {
    error "$@"
    exit 1
}

# True when running under CI (CI=true, CI=1, ...), false for unset/empty/"false"/"0".
is_ci() {
    case "${CI:-}" in
        "" | false | False | FALSE | 0 | no) return 1 ;;
        *) return 0 ;;
    esac
}

# "sudo " unless we are root, for printing install hints a person can paste.
sudo_prefix() { [[ "$(id -u)" == 0 ]] && printf '' || printf 'sudo '; }

# --- python / virtualenv ------------------------------------------------------------------------

# Print the first python >= 3.11 found ($IPWBOARD_PYTHON wins), or fail with a hint.
find_python() {
    local candidate
    for candidate in ${IPWBOARD_PYTHON:-} python3 python3.11 python3.12 python3.13 python; do
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    die "Python >= 3.11 not found. Install it (Debian/Ubuntu: $(sudo_prefix)apt-get install -y python3 python3-venv) or point IPWBOARD_PYTHON at one."
}

# What decides whether the editable install is stale: pyproject.toml, the interpreter, and the
# list of top-level packages. The last one matters because setuptools' editable install of a flat
# layout maps only the packages that existed at install time; a package added later (say
# `submissions/`) would not be importable from outside the repo root until we reinstall.
_venv_fingerprint() {
    {
        cat "${IPW_ROOT}/pyproject.toml" "${IPW_ROOT}/setup.py"
        "$IPW_PY" -c 'import sys; print(sys.version)'
        local init
        for init in "$IPW_ROOT"/*/__init__.py; do
            [[ -e "$init" && "$init" != "$IPW_ROOT/tests/__init__.py" ]] && printf '%s\n' "${init#"$IPW_ROOT"/}"
        done
    } | sha256sum | cut -d' ' -f1
}

# The extras a development checkout needs: the platform, the record-trace client and the tools.
# (`pip install ipwboard` alone is the submitter's client: engine and CLI, no server packages.)
IPW_EXTRAS="server,record-trace,dev"

# Create .venv if missing and `pip install -e '.[$IPW_EXTRAS]'` unless nothing changed since.
ensure_venv() {
    local stamp="${IPW_VENV}/.ipwboard-install-stamp" python
    if [[ ! -x "$IPW_PY" ]]; then
        python="$(find_python)"
        log "Creating virtualenv .venv with $("$python" --version 2>&1) ($python)"
        if ! "$python" -m venv "$IPW_VENV"; then
            rm -rf "$IPW_VENV"
            die "could not create .venv. On Debian/Ubuntu: $(sudo_prefix)apt-get install -y python3-venv"
        fi
    fi
    local fingerprint
    fingerprint="$(_venv_fingerprint)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$fingerprint" ]]; then
        log "Dependencies up to date (.venv, pyproject.toml unchanged)"
        return 0
    fi
    log "Installing the project and its dependencies into .venv (pip install -e '.[${IPW_EXTRAS}]')"
    if ! (cd "$IPW_ROOT" && PIP_DISABLE_PIP_VERSION_CHECK=1 "$IPW_PY" -m pip install \
        --quiet --progress-bar off -e ".[${IPW_EXTRAS}]"); then
        die "pip install -e '.[${IPW_EXTRAS}]' failed (see above)"
    fi
    # Recompute: the install itself can't change it, but be exact about what we stamped.
    _venv_fingerprint >"$stamp"
    log "Dependencies installed"
}

# --- the embedded run ---------------------------------------------------------------------------

# Export the embedded run's defaults (scripts/run); variables already set win. Debug stays off
# unless DJANGO_DEBUG asks for it: Django's debug pages show every URL pattern, settings and
# tracebacks to whoever gets a 404 or a 500 (tests/test_trust_embedded.py runs the server this way).
embedded_env() {
    export IPWBOARD_DATA_DIR="${IPWBOARD_DATA_DIR:-$IPW_ROOT/var}"
    # The settings pick the folders for kombu's filesystem transport under IPWBOARD_DATA_DIR, so
    # the web process and the worker agree on them.
    export CELERY_BROKER_URL="${CELERY_BROKER_URL:-filesystem://}"
    export DJANGO_DEBUG="${DJANGO_DEBUG:-false}"
}

# --- ports --------------------------------------------------------------------------------------

# Print a TCP port on 127.0.0.1 that is free right now (small race; callers retry on failure).
free_port() {
    local py="$IPW_PY"
    [[ -x "$py" ]] || py="$(find_python)"
    "$py" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# True if something accepts TCP connections on host:port.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# --- throwaway services for tests ---------------------------------------------------------------

# Directory of the newest PostgreSQL server binaries (Debian keeps them off PATH).
pg_bindir() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then
        printf '%s\n' "$dir"
        return 0
    fi
    if command -v pg_config >/dev/null 2>&1; then
        dir="$(pg_config --bindir 2>/dev/null)"
        [[ -x "$dir/initdb" ]] && { printf '%s\n' "$dir"; return 0; }
    fi
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"
        return 0
    fi
    return 1
}

# PostgreSQL refuses to run as root. When we are root, run it as the `postgres` OS user (created by
# Debian's postgresql package); fall back to a dedicated system user if that one does not exist.
_pg_os_user() {
    if [[ "$(id -u)" != 0 ]]; then
        id -un
    elif id postgres >/dev/null 2>&1; then
        printf 'postgres\n'
    else
        if ! id ipwboard-pg >/dev/null 2>&1; then
            useradd --system --no-create-home --shell /usr/sbin/nologin ipwboard-pg >/dev/null ||
                die "running as root, no 'postgres' user, and could not create 'ipwboard-pg'"
        fi
        printf 'ipwboard-pg\n'
    fi
}

# Run a command as the PostgreSQL OS user, from a directory it can read.
_as_pg() {
    local user="$1" dir="$2"
    shift 2
    if [[ "$(id -u)" == 0 ]]; then
        local runuser
        runuser="$(command -v runuser || ls /usr/sbin/runuser /sbin/runuser 2>/dev/null | head -n1)"
        [[ -n "$runuser" ]] || die "runuser (util-linux) not found: needed to run PostgreSQL as '$user'"
        (cd "$dir" && "$runuser" -u "$user" -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

# Make a per-run directory for throwaway services; records our pid so a later run can reap it if
# this one is killed with SIGKILL and never gets to clean up.
make_run_dir() {
    local base="${TMPDIR:-/tmp}"
    # As root the postgres user must be able to traverse the parents; /tmp always allows that.
    [[ "$(id -u)" == 0 ]] && base=/tmp
    local dir
    dir="$(mktemp -d "${base}/${IPW_RUN_PREFIX}XXXXXX")"
    chmod 755 "$dir"
    printf '%s\n' "$$" >"$dir/owner.pid"
    printf '%s\n' "$dir"
}

# Stop services left behind by earlier runs whose owner process no longer exists.
reap_stale_runs() {
    local dir owner bindir user
    for dir in /tmp/"${IPW_RUN_PREFIX}"* "${TMPDIR:-/tmp}"/"${IPW_RUN_PREFIX}"*; do
        [[ -d "$dir" && -f "$dir/owner.pid" ]] || continue
        owner="$(cat "$dir/owner.pid" 2>/dev/null || true)"
        [[ -n "$owner" ]] && kill -0 "$owner" 2>/dev/null && continue
        warn "reaping services left over by an earlier test run in $dir"
        stop_redis "$dir"
        stop_postgres "$dir"
        rm -rf "$dir"
    done
}

# start_postgres RUN_DIR: initdb + pg_ctl start on a free port, socket in RUN_DIR/pg.
# Exports DATABASE_URL (superuser `postgres`, trust auth, database `postgres`).
start_postgres() {
    local run_dir="$1" bindir user port attempt
    bindir="$(pg_bindir)" || die "PostgreSQL server binaries (initdb) not found. $(_apt_hint postgresql)"
    user="$(_pg_os_user)"
    local pgdir="$run_dir/pg"
    mkdir -p "$pgdir"
    [[ "$(id -u)" == 0 ]] && chown -R "$user" "$pgdir"
    printf '%s\n' "$bindir" >"$run_dir/pg.bindir"
    printf '%s\n' "$user" >"$run_dir/pg.user"

    # --no-sync and the -c settings below trade durability for speed: this cluster lives for one run.
    if ! _as_pg "$user" "$pgdir" "$bindir/initdb" -D "$pgdir/data" -U postgres --auth=trust \
        --encoding=UTF8 --locale=C --no-sync >"$pgdir/initdb.log" 2>&1; then
        cat "$pgdir/initdb.log" >&2
        die "initdb failed"
    fi
    for attempt in 1 2 3; do
        port="$(free_port)"
        if _as_pg "$user" "$pgdir" "$bindir/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" -w \
            -t 60 -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >"$pgdir/pg_ctl.log" 2>&1; then
            break
        fi
        port=""
        warn "PostgreSQL did not start on a free port (attempt $attempt), retrying"
    done
    if [[ -z "$port" ]]; then
        tail -n 30 "$pgdir/postgres.log" "$pgdir/pg_ctl.log" >&2 2>/dev/null || true
        die "could not start the throwaway PostgreSQL"
    fi
    # pg_ctl -w only says the postmaster is up; prove a real TCP connection works.
    local version
    if ! version="$("$bindir/psql" -X -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc \
        'show server_version' 2>&1)"; then
        printf '%s\n' "$version" >&2
        die "throwaway PostgreSQL started but refused a connection"
    fi
    export DATABASE_URL="postgres://postgres@127.0.0.1:${port}/postgres"
    log "Started throwaway PostgreSQL ${version} on 127.0.0.1:${port} (data in ${pgdir}, runs as ${user})"
}

stop_postgres() {
    local run_dir="$1" pgdir="$1/pg" bindir user
    [[ -f "$pgdir/data/postmaster.pid" ]] || return 0
    bindir="$(cat "$run_dir/pg.bindir" 2>/dev/null || pg_bindir)" || return 0
    user="$(cat "$run_dir/pg.user" 2>/dev/null || _pg_os_user)"
    # immediate: nothing in this cluster is worth a checkpoint.
    _as_pg "$user" "$pgdir" "$bindir/pg_ctl" -D "$pgdir/data" -m immediate -w -t 30 stop \
        >/dev/null 2>&1 || warn "pg_ctl stop failed for $pgdir"
}

# start_redis RUN_DIR: redis-server on a free port, nothing persisted. Exports REDIS_URL.
start_redis() {
    local run_dir="$1" port attempt pid
    command -v redis-server >/dev/null 2>&1 || die "redis-server not found. $(_apt_hint redis-server)"
    for attempt in 1 2 3; do
        port="$(free_port)"
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
            --dir "$run_dir" --logfile "$run_dir/redis.log" </dev/null >/dev/null 2>&1 &
        pid=$!
        printf '%s\n' "$pid" >"$run_dir/redis.pid"
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            port_open 127.0.0.1 "$port" && {
                export REDIS_URL="redis://127.0.0.1:${port}/0"
                log "Started throwaway Redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:${port} (pid ${pid})"
                return 0
            }
            sleep 0.1
        done
        kill "$pid" 2>/dev/null || true
        warn "Redis did not start on port $port (attempt $attempt), retrying"
    done
    tail -n 20 "$run_dir/redis.log" >&2 2>/dev/null || true
    die "could not start the throwaway Redis"
}

stop_redis() {
    local run_dir="$1" pid
    pid="$(cat "$run_dir/redis.pid" 2>/dev/null || true)"
    [[ -n "$pid" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# --- apt hints ----------------------------------------------------------------------------------

# Debian packages still missing among those given (postgresql, redis-server, chromium).
missing_apt_packages() {
    local pkg missing=()
    for pkg in "$@"; do
        case "$pkg" in
            postgresql) pg_bindir >/dev/null 2>&1 || missing+=(postgresql) ;;
            redis-server) command -v redis-server >/dev/null 2>&1 || missing+=(redis-server) ;;
            chromium) [[ -x /usr/bin/chromium ]] || missing+=(chromium) ;;
            *) dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg") ;;
        esac
    done
    if [[ ${#missing[@]} -gt 0 ]]; then printf '%s\n' "${missing[@]}"; fi
}

_apt_hint() {
    printf 'Install it with: %sapt-get update && %sapt-get install -y %s' \
        "$(sudo_prefix)" "$(sudo_prefix)" "$*"
}

# When executed rather than sourced: run the named helper (used by the Makefile).
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    [[ $# -ge 1 ]] || die "usage: scripts/lib.sh FUNCTION [ARGS...]"
    "$@"
fi
