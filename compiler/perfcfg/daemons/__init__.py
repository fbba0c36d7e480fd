"""Run the real daemons from generated config text and read back their effective values.

Used by the real-daemon tests and by ``perfcfg verify``. Nothing here prints or reads the
environment; every failure is a :class:`DaemonError` carrying the daemon's own log tail.

>>> with PgTemplate() as tpl, PostgresServer(pg_conf, tpl) as pg:              # doctest: +SKIP
...     with PgBouncer(ini_text, userlist_text, postgres=pg) as bnc:
...         assert pg.mismatches(pg_intended) == [] and bnc.mismatches(bnc_intended) == []

Modules: :mod:`.procs` (scratch dirs, service user, teardown), :mod:`.postgres`,
:mod:`.pgbouncer`, :mod:`.redisd`, :mod:`.supervisord` (handles), :mod:`.supervisor_parse`
(in-process parse with key recording), :mod:`.normalise` (value comparison), :mod:`.ini`.
"""

from perfcfg.harness.binaries import missing
from perfcfg.harness.errors import DaemonError, Mismatch
from perfcfg.services.pgbouncer.daemon import PgBouncer
from perfcfg.services.postgres.daemon import PgSetting, PgTemplate, PostgresServer, check_postgresql_conf
from perfcfg.services.redis.daemon import RedisServer, ValkeyServer
from perfcfg.services.supervisor.parse import SupervisorParse, parse_supervisord_conf
from perfcfg.services.supervisor.daemon import Supervisord

__all__ = [
    "DaemonError", "Mismatch", "PgBouncer", "PgSetting", "PgTemplate", "PostgresServer",
    "RedisServer", "SupervisorParse", "Supervisord", "ValkeyServer", "check_postgresql_conf",
    "missing", "parse_supervisord_conf",
]
