#!/usr/bin/env bash
# Install everything the test suite needs — the real daemons included — and run it.
# This is the README's test command; CI (.ci/run) calls exactly this script.
#
#   bash scripts/test.sh [pytest args...]
#
# Needs root for the Debian packages (postgresql-15, pgbouncer, redis-server, patroni, …); without root
# it skips the install and the daemon tests skip unless PERFCFG_REQUIRE_DAEMONS=1.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

cat >&2 <<EOT
scripts/test.sh will:
  - as root only: apt-get install postgresql-15, postgresql-client-15, pgbouncer, redis-server
    and redis-tools, and for the multi-host lab patroni, etcd-server, etcd-client, haproxy,
    redis-sentinel, python3-etcd and python3-psycopg2, and for monitoring prometheus and its
    postgres, pgbouncer, redis and node exporters (packages already installed are not
    upgraded unless PERFCFG_UPGRADE=1;
    no service is started, and none is left enabled at boot that was not before), and create
    a system user 'postgres' if there is none (.ci/install.sh); then the other daemon versions
    the tests use, each in its own folder under /opt/perfcfg-daemons (.ci/install-daemons.sh)
  - create the virtualenv .venv here and install perfcfg into it with its test and dev extras
  - run ruff, mypy, the generated-model and catalog checks, then the test suite (the README's
    "Set up" says how long it takes; the daemons the tests start listen on loopback only, in
    temporary directories)
EOT

if [ "$(id -u)" = 0 ]; then
  step "Installing the daemons the tests start (.ci/install.sh)"
  bash .ci/install.sh
else
  step "Not root: not installing Debian packages (the daemon tests skip if none is installed)"
fi

step "Creating .venv and installing perfcfg with its test and dev extras"
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[test,dev]'

# The house style is ruff- and mypy-clean; both are pinned in the dev extra. mypy checks
# perfcfg strictly and the tests' bodies (pyproject.toml's [tool.mypy]).
step "Lint: ruff and mypy"
.venv/bin/ruff check compiler tests scripts bench setup.py
.venv/bin/mypy compiler tests

step "compiler/perfcfg/model/records.py is what scripts/gen_model.py makes of model/spec.py"
.venv/bin/python scripts/gen_model.py --check

step "the schemas and README's targets table are what scripts/gen_versions.py makes of the catalogs"
.venv/bin/python scripts/gen_versions.py --check

step "docs/diagnostics.md's titles, severities and rule texts are what the rule records say"
.venv/bin/python scripts/gen_diagnostics.py --check

# The catalogs in schemas/catalogs must match the installed daemons.
if [ -x /usr/sbin/pgbouncer ] && command -v redis-server >/dev/null; then
  step "schemas/catalogs match the installed daemons"
  .venv/bin/python scripts/gen_catalogs.py --check
fi

# pytest exits 5 when no test ran; set -e turns that (and any failure) into a failed run.
step "Test suite (pytest)"
.venv/bin/python -m pytest -q "$@"
