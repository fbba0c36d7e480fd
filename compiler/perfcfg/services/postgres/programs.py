"""PostgreSQL's programs, per supported major version (the catalogs say which are supported).

Debian 12's packages provide 15; ``.ci/install-daemons.sh`` the others, and PGDG's packages
put theirs in ``/usr/lib/postgresql/<v>/bin``. The versioned binaries are used directly:
``/usr/bin/psql`` is Debian's Perl wrapper (3× slower, and it defaults to the system cluster's
socket); psql 15 talks to every supported server, so the default one serves all.
"""

from __future__ import annotations

from perfcfg.harness.binaries import Binaries, declare
from perfcfg.services import catalog as catalogs

DAEMON = "postgresql"
SYSTEM_BINDIR = "/usr/lib/postgresql/15/bin"
# postgres, initdb and pgbouncer refuse to run as root: the harness drops to this account.
ACCOUNT = "postgres"

SPEC = declare(Binaries(
    DAEMON, tuple(catalogs.versions(DAEMON)), "15",
    {name: f"{SYSTEM_BINDIR}/{name}" for name in ("postgres", "initdb", "psql")},
    system_dirs=("/usr/lib/postgresql/{version}/bin",),
    shared=frozenset({"psql"}),
))
