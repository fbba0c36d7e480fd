"""Where pgbouncer keeps its log, pid file and Unix socket: what makes pgbouncer.ini
deployable as the whole file over the Debian package's.

Debian's pgbouncer reads ``/etc/pgbouncer/pgbouncer.ini`` as the postgres user; the file it
ships logs to ``/var/log/postgresql/pgbouncer.log``, writes ``/var/run/postgresql/pgbouncer.pid``
(the init script's ``start-stop-daemon --pidfile``) and puts the socket in
``/var/run/postgresql``, beside PostgreSQL's, where psql and the admin console look for it
(pgbouncer's own default is ``/tmp``). perfcfg's throwaway pgbouncer (``daemon.py``) replaces
the three with scratch paths, as it does the listen address. Every value is a rule with a
reason; a preset's own value wins.

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> v = {r.path: r.value for r in recommend(TuneContext("production", Host(8 * GiB, 4), (), ()), {})}
>>> v["pgbouncer.unix_socket_dir"], v["pgbouncer.pidfile"]
('/var/run/postgresql', '/var/run/postgresql/pgbouncer.pid')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from perfcfg.services.output import Placement
from perfcfg.services.pgbouncer import backend
from perfcfg.tune.context import Recommendation, TuneContext
from perfcfg.tune.util import rec

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan

RUN_DIR = backend.RUN_DIR
LOG = f"{backend.LOG_DIR}/pgbouncer.log"
WHY = "Debian's pgbouncer package"


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    return [
        rec("pgbouncer.logfile", LOG, "pgbouncer.placement.logfile",
            f"{WHY}: the log its logrotate rotates, beside PostgreSQL's", LOG, {}),
        rec("pgbouncer.pidfile", f"{RUN_DIR}/pgbouncer.pid", "pgbouncer.placement.pidfile",
            f"{WHY}: the pid file its init script starts and stops it by",
            f"{RUN_DIR}/pgbouncer.pid", {}),
        rec("pgbouncer.unix_socket_dir", RUN_DIR, "pgbouncer.placement.unix_socket_dir",
            f"{WHY}: the socket beside PostgreSQL's, where psql looks for it (pgbouncer's own "
            "default is /tmp)", RUN_DIR, {}),
    ]




def placement(config: Config, plan: Plan) -> Placement:
    """Debian's pgbouncer reads /etc/pgbouncer as postgres; userlist.txt goes wherever
    ``auth_file`` says."""
    return Placement("/etc/pgbouncer", backend.ACCOUNT, backend.ACCOUNT)
