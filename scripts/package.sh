#!/usr/bin/env bash
# Debian packages of the extension, one per PostgreSQL major version of PG_VERSIONS (default 15 and 18):
#   target/packages/postgresql-<major>-connector-fdw_<version>_amd64.deb
# holding the library in /usr/lib/postgresql/<major>/lib and the control and SQL scripts (install and
# upgrades) in /usr/share/postgresql/<major>/extension: the paths the pg_config of Debian's and PGDG's
# postgresql-<major> packages give, which the package depends on. Built from `cargo pgrx package` output.
#
#   bash scripts/package.sh             both packages
#   PG_VERSIONS=15 bash scripts/package.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_deps
VERSION="$(cd "$ROOT" && cargo pkgid -p connector_fdw | sed 's/.*[#@]//')"
OUT="${CARGO_TARGET_DIR:-$ROOT/target}/packages"
mkdir -p "$OUT"
for version in $PG_VERSIONS; do
  use_pg "$version"
  log "packaging connector_fdw $VERSION for PostgreSQL $version"
  staged="${CARGO_TARGET_DIR:-$ROOT/target}/release/connector_fdw-pg$version"
  rm -rf "$staged"   # no files of an earlier version
  log_file="$(mktemp)"
  (cd "$ROOT" && cargo pgrx package --pg-config "$PG_CONFIG" --no-default-features --features "pg$version" \
    >"$log_file" 2>&1) || { cat "$log_file"; die "cargo pgrx package failed"; }
  rm -f "$log_file"
  # cargo pgrx package lays the files out under the build's pg_config paths (a private copy or the PyPI
  # build here); the package puts them where the distribution's server looks.
  pkg="postgresql-$version-connector-fdw"
  tree="$(mktemp -d)/${pkg}_${VERSION}_amd64"
  lib="$tree/usr/lib/postgresql/$version/lib"
  ext="$tree/usr/share/postgresql/$version/extension"
  mkdir -p "$lib" "$ext" "$tree/DEBIAN"
  find "$staged" -name connector_fdw.so -exec install -m 0644 {} "$lib/" \;
  find "$staged" \( -name connector_fdw.control -o -name 'connector_fdw--*.sql' \) -exec install -m 0644 {} "$ext/" \;
  [ -f "$lib/connector_fdw.so" ] && [ -f "$ext/connector_fdw--$VERSION.sql" ] \
    || die "cargo pgrx package left no library or install script under $staged"
  glibc=$(objdump -T "$lib/connector_fdw.so" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)
  cat >"$tree/DEBIAN/control" <<EOF
Package: $pkg
Version: $VERSION
Architecture: amd64
Maintainer: connector_fdw developers <connector-fdw@invalid>
Depends: postgresql-$version, libc6 (>= $glibc), libgcc-s1
Section: database
Priority: optional
Description: connector_fdw for PostgreSQL $version
 Foreign data wrapper for REST and GraphQL APIs, SaaS providers and CSV/JSON files:
 CREATE EXTENSION connector_fdw (superuser; add it to shared_preload_libraries for shared
 rate limits and statistics).
EOF
  dpkg-deb --root-owner-group --build "$tree" "$OUT/${pkg}_${VERSION}_amd64.deb" >/dev/null
  rm -rf "$(dirname "$tree")"
  log "built $OUT/${pkg}_${VERSION}_amd64.deb"
done
