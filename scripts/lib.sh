# Shared by scripts/demo.sh, scripts/test.sh and bench/run.sh: installs what is missing, builds, and runs a
# throwaway PostgreSQL cluster and the mock API. Source it; do not run it.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# PG_PREFIX (optional): use a private copy of the Debian PostgreSQL 15 under this directory, made on first use, so
# that several checkouts can install the extension and run their tests at the same time.
PG_PREFIX="${PG_PREFIX:-}"
PG_BIN="$PG_PREFIX/usr/lib/postgresql/15/bin"
PG_CONFIG="$PG_BIN/pg_config"
PGRX_VERSION=0.18.1
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian packages, cargo-pgrx at the pinned version and pgrx's PG15 config; each step is skipped when done.
ensure_deps() {
  [ "$(id -u)" = 0 ] || die "run as root: packages are installed and the cluster is started as user postgres"
  local missing=()
  for pkg in postgresql-15 postgresql-server-dev-15 postgresql-15-cron libclang-dev clang sudo curl bc openssl; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if [ -n "$PG_PREFIX" ] && [ ! -x "$PG_CONFIG" ]; then
    # Debian's PostgreSQL finds its share, lib and include directories relative to its binaries.
    log "copying PostgreSQL 15 under $PG_PREFIX"
    mkdir -p "$PG_PREFIX/usr/lib/postgresql" "$PG_PREFIX/usr/share/postgresql" "$PG_PREFIX/usr/include"
    cp -a /usr/lib/postgresql/15 "$PG_PREFIX/usr/lib/postgresql/"
    cp -a /usr/share/postgresql/15 "$PG_PREFIX/usr/share/postgresql/"
    cp -a /usr/include/postgresql "$PG_PREFIX/usr/include/"
    chmod -R a+rX "$PG_PREFIX"
  fi
  command -v cargo >/dev/null || die "cargo not found: install Rust (rustup) first"
  if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
    log "installing cargo-pgrx $PGRX_VERSION (compiles for several minutes, once)"
    cargo install cargo-pgrx --version "=$PGRX_VERSION" --locked >/dev/null
  fi
  if ! grep -q "pg15" "${PGRX_HOME:-$HOME/.pgrx}/config.toml" 2>/dev/null; then
    log "configuring pgrx for PostgreSQL 15"
    cargo pgrx init --pg15 "$PG_CONFIG" >/dev/null
  fi
}

# Build and install the extension into the system PostgreSQL 15, and build the mock API.
build_and_install() {
  local out
  out="$(mktemp)"
  log "building and installing connector_fdw (release)"
  (cd "$ROOT" && cargo pgrx install --release --pg-config "$PG_CONFIG" >"$out" 2>&1) || { cat "$out"; die "build failed"; }
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
  log "PostgreSQL 15 on 127.0.0.1:$PGPORT (data in $CLUSTER_DIR)"
}

stop_cluster() {
  [ -n "${CLUSTER_DIR:-}" ] || return 0
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  [ -n "${KEEP_CLUSTER:-}" ] || rm -rf "$CLUSTER_DIR"
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
}
