#!/usr/bin/env bash
# Install everything the test suite needs — the real daemons included — and run it.
# This is the README's test command; CI (.ci/run) calls exactly this script.
#
#   bash scripts/test.sh [pytest args...]
#
# Needs root for the Debian packages (postgresql-15, pgbouncer, redis-server); without root
# it skips the install and the daemon tests skip unless PERFCFG_REQUIRE_DAEMONS=1.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
  bash .ci/install.sh
else
  echo "scripts/test.sh: not root, not installing Debian packages" >&2
fi

python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[test,dev]'

# The house style is ruff- and mypy-clean (STYLE.md); both are pinned in the dev extra.
.venv/bin/ruff check compiler tests scripts
.venv/bin/mypy compiler

# compiler/perfcfg/model.py must be what scripts/gen_model.py makes of compiler/perfcfg/modeldef.py.
.venv/bin/python scripts/gen_model.py --check

# The catalogs in schemas/catalogs must match the installed daemons.
if [ -x /usr/sbin/pgbouncer ] && command -v redis-server >/dev/null; then
  .venv/bin/python scripts/gen_catalogs.py --check
fi

# pytest exits 5 when no test ran; set -e turns that (and any failure) into a failed run.
.venv/bin/python -m pytest -q "$@"
