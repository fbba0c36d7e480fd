"""The database pgbouncer pools: every fact about it that pgbouncer's own rooms need — the
service's name (its settings and its part of the topology), the role it logs in as when no user
is declared, where it listens, its login secrets, the account Debian runs both as.

Kept in this one module so that the rest of pgbouncer's package speaks of "the backend".
"""

from __future__ import annotations

from typing import Any

from perfcfg.services import workload
from perfcfg.services.postgres import programs as backend_programs
from perfcfg.services.postgres import topology as backend_topology

NAME = backend_topology.ENDPOINT.port.split(".", 1)[0]      # its setting-path prefix
ENDPOINT = backend_topology.ENDPOINT
ROLE = backend_topology.SUPERUSER
ACCOUNT = backend_programs.ACCOUNT
# programs a throwaway pgbouncer needs besides its own: a server to pool and its client (which
# also reads the admin console: it speaks only the simple query protocol)
CLIENT = "psql"
PROGRAMS = ("postgres", "initdb", CLIENT)
MAX_CONNECTIONS = f"{NAME}.max_connections"
BUDGET = f"budget.{NAME}"             # the backend's part of the host's memory
URL_SCHEME = "postgresql"             # a worker's DATABASE_URL speaks the backend's protocol
PART = backend_topology.Part
# Debian runs pgbouncer beside the database, in the database's directories: its socket and pid
# file where the database's socket is (psql looks there), its log beside the database's.
RUN_DIR = "/var/run/postgresql"
LOG_DIR = "/var/log/postgresql"


def pools(config: Any) -> list[Any]:
    return workload.pools(config, ROLE)


def logins(plan: Any) -> list[tuple[str, str]]:
    """(user, SCRAM secret) of every declared user with a password: the auth file's lines."""
    part = plan.parts.get(NAME)
    return list(part.users) if part is not None else []
