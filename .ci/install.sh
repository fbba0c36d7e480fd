#!/usr/bin/env bash
# Install everything the real-daemon tests need on a fresh Debian 12 machine, as root.
# Idempotent: safe to run again. Starts no service and leaves none enabled at boot that was
# not enabled before: the tests start their own daemons on loopback, in scratch directories.
# Packages already installed are kept at their version unless PERFCFG_UPGRADE=1.
#
#   .ci/install.sh                    # apt packages + postgres user
#   VENV=.venv .ci/install.sh         # also create the venv and install perfcfg with its test extra
#   PERFCFG_UPGRADE=1 .ci/install.sh  # also upgrade those packages if already installed
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" != 0 ]; then
  echo "install.sh: must run as root (apt-get, useradd)" >&2
  exit 2
fi

# Keep apt from starting redis on 6379 / pgbouncer on 6432 / prometheus on 9090 (and the
# exporters on 9100-9187) on a host with a real init:
# deny service starts for the duration of the install, removing only a guard we created.
created_policy=0
cleanup() { if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi

# A fresh postgresql-15 install also creates a stopped "main" cluster on 5432; harmless with
# the guard above (the tests never use it), so createcluster.conf is left alone.
# iproute2 (ss: the daemons' listen backlogs) and systemd (systemd-analyze verify: the
# generated drop-ins parse) serve the limits tests; no unit is started or enabled.
# The multi-host lab (compiler/perfcfg/harness/netns.py: a network namespace per host) runs
# etcd, Patroni (which needs python3-etcd for its etcd3 DCS and psycopg2), HAProxy and
# redis-sentinel; util-linux brings setpriv, which drops a daemon to its user by exec'ing it.
PACKAGES=(postgresql-15 postgresql-client-15 pgbouncer redis-server redis-tools iproute2 systemd
          patroni etcd-server etcd-client redis-sentinel haproxy python3-etcd python3-psycopg2
          util-linux prometheus prometheus-postgres-exporter prometheus-pgbouncer-exporter
          prometheus-redis-exporter prometheus-node-exporter)
# prometheus (with promtool) and the exporters serve the monitoring tests: the exporters'
# metric catalogs, `promtool check/test rules` and a live Prometheus in a scratch dir
# (prometheus-node-exporter for its supervisord collector: the workers' state). Their
# postinst scripts enable their units (the pgbouncer exporter's as a want of pgbouncer.service),
# so they are in SERVICES too.
SERVICES=(postgresql pgbouncer redis-server patroni etcd haproxy redis-sentinel prometheus
          prometheus-postgres-exporter prometheus-pgbouncer-exporter prometheus-redis-exporter
          prometheus-node-exporter)
enabled_before=()
for svc in "${SERVICES[@]}"; do
  if command -v systemctl >/dev/null && systemctl is-enabled --quiet "$svc" 2>/dev/null; then
    enabled_before+=("$svc")
  fi
done
upgrade=(--no-upgrade)   # apt-get install would otherwise upgrade an installed package
if [ "${PERFCFG_UPGRADE:-0}" = 1 ]; then upgrade=(); fi

# Wait for another apt (a fresh VM's unattended-upgrades) instead of failing at once.
APT_WAIT=(-o DPkg::Lock::Timeout=900)
apt-get "${APT_WAIT[@]}" update -q
apt-get "${APT_WAIT[@]}" install -y -q --no-install-recommends "${upgrade[@]}" "${PACKAGES[@]}"

# The catalogs in schemas/catalogs were read off one Debian release of each package; a point
# release can add a parameter (PostgreSQL 15.20 added composite_type_mismatch to 15.18's set),
# so the tests and gen_catalogs.py --check need that release, not whichever one the machine
# came with. Each package a catalog names is installed at the catalog's version when the mirror
# still has it (an older one leaves the mirror after the next point release: then the check says
# the catalog is stale, which it is).
mapfile -t pinned < <(python3 - "$(dirname "$0")/../schemas/catalogs" <<'PY'
import json, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    words = json.loads(path.read_text()).get("build", {}).get("package", "").split()
    if len(words) == 3 and words[0] == "debian-12":
        print(f"{words[1]}={words[2]}")
PY
)
want=()
for spec in "${pinned[@]}"; do
  pkg=${spec%%=*} ver=${spec#*=}
  have=$(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null || true)
  [ "$have" = "$ver" ] && continue
  if apt-cache madison "$pkg" | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep -qxF "$ver"; then
    want+=("$spec")
    # the client of the same major comes from the same source package and must match it
    case $pkg in postgresql-[0-9]*) want+=("postgresql-client-${pkg#postgresql-}=$ver") ;; esac
  else
    echo "install.sh: $pkg $ver (schemas/catalogs) is no longer on the mirror; keeping $have" >&2
  fi
done
if [ "${#want[@]}" -gt 0 ]; then
  echo "install.sh: installing the catalogs' releases: ${want[*]}"
  apt-get "${APT_WAIT[@]}" install -y -q --no-install-recommends --allow-downgrades "${want[@]}"
fi

# The packages' postinst scripts enable their services at boot; undo that for the ones we
# found disabled (or absent), so that the test command leaves the boot sequence as it was.
if command -v systemctl >/dev/null; then
  for svc in "${SERVICES[@]}"; do
    if [[ " ${enabled_before[*]} " != *" $svc "* ]] && systemctl is-enabled --quiet "$svc" 2>/dev/null; then
      echo "install.sh: $svc was not enabled at boot before; disabling it again"
      systemctl disable --quiet "$svc" || true
    fi
  done
fi

# postgres, initdb and pgbouncer refuse root; the harness drops to this account.
if ! id -u postgres >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin postgres
fi

if [ -n "${VENV:-}" ]; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  # supervisor is pinned in the test extra (Debian's package serves only /usr/bin/python3).
  "$VENV/bin/pip" install -q -e '.[test]'
fi

/usr/lib/postgresql/15/bin/postgres --version
pgbouncer --version | head -1
redis-server --version
patroni --version
etcd --version | head -1
haproxy -v | head -1
promtool --version | head -1

# The other supported versions (PostgreSQL 16-18, pgbouncer 1.24, Redis 8.0, Valkey 8.0/8.1,
# supervisor 4.2) under /opt/perfcfg-daemons; fast when they are already there.
"$(dirname "$0")/install-daemons.sh"
