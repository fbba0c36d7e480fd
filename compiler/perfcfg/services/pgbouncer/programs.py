"""pgbouncer's program per supported release: Debian 12's 1.18 on PATH, the others from
``.ci/install-daemons.sh``. Starting one for a test or ``verify`` also needs a PostgreSQL to
pool (its default version's programs) and psql for the admin console."""

from __future__ import annotations

from perfcfg.harness.binaries import Binaries, declare
from perfcfg.services import catalog as catalogs
from perfcfg.services.pgbouncer import backend

DAEMON = "pgbouncer"
# Debian's package runs pgbouncer as the database's own account.
ACCOUNT = backend.ACCOUNT

SPEC = declare(Binaries(DAEMON, tuple(catalogs.versions(DAEMON)), "1.18", {DAEMON: DAEMON},
                        needs=backend.PROGRAMS))
