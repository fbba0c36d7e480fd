"""Where Redis (or Valkey) keeps its data, log, pid file and ACL file, and how it runs under
its service manager: what makes redis.conf (valkey.conf) deployable as the whole file.

The values are those of Debian's packages, whose files this one replaces: redis-server reads
``/etc/redis/redis.conf`` and writes ``/var/lib/redis``, ``/var/log/redis/redis-server.log``
and ``/run/redis/redis-server.pid``, as the redis user; valkey-server the same under
``valkey``. Their systemd units are ``Type=notify`` and start the server in the foreground
(``--supervised systemd --daemonize no``), so the file says the same: started by hand or by
another unit it behaves as under the package's. perfcfg's own throwaway servers (``daemon.py``)
pass ``--daemonize no --supervised no`` and a scratch ``--dir``/``--pidfile``/``--logfile``
on the command line, which Redis applies after the file: they wait on the server as their
child and have no systemd to notify. Every value is a rule with a reason; a preset's own value
wins.

>>> from perfcfg.tune.context import Host, TuneContext, Versions, GiB
>>> ctx = TuneContext("production", Host(8 * GiB, 4), (), (), versions=Versions(valkey=(8, 1)))
>>> v = {r.path: r.value for r in recommend(ctx, {})}
>>> v["redis.dir"], v["redis.pidfile"], v["redis.supervised"]
('/var/lib/valkey', '/run/valkey/valkey-server.pid', 'systemd')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from perfcfg.services.output import Placement
from perfcfg.tune.context import Recommendation, TuneContext
from perfcfg.tune.util import rec

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan

# The Debian unit's supervision: Type=notify, ExecStart=… --supervised systemd --daemonize no.
SUPERVISED = "systemd"
# Debian's redis-server.service and valkey-server.service state LimitNOFILE=65535: a drop-in
# that wrote Redis' own need (10032 for maxclients 10000) would lower it.
UNIT_LIMIT_NOFILE = 65535


def daemon_of(valkey: bool) -> str:
    return "valkey" if valkey else "redis"


def paths(daemon: str) -> dict[str, str]:
    """Debian's paths for ``daemon`` (redis or valkey), by directive."""
    return {"dir": f"/var/lib/{daemon}",
            "logfile": f"/var/log/{daemon}/{daemon}-server.log",
            "pidfile": f"/run/{daemon}/{daemon}-server.pid",
            "aclfile": f"/etc/{daemon}/users.acl"}


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    daemon = daemon_of(ctx.versions.valkey is not None)
    where = paths(daemon)
    why = f"Debian's {daemon}-server package"
    inputs = {"daemon": daemon}
    return [
        rec("redis.dir", where["dir"], "redis.placement.dir",
            f"{why}: the data directory its unit may write (snapshots, AOF)",
            f"/var/lib/{daemon}", inputs),
        rec("redis.logfile", where["logfile"], "redis.placement.logfile",
            f"{why}: the log its logrotate rotates", f"/var/log/{daemon}/", inputs),
        rec("redis.pidfile", where["pidfile"], "redis.placement.pidfile",
            f"{why}: the PIDFile its unit names", f"/run/{daemon}/", inputs),
        rec("redis.aclfile", where["aclfile"], "redis.placement.aclfile",
            f"{why}: users.acl next to the main file, in the directory its unit may write "
            "(ACL SAVE)", f"/etc/{daemon}/users.acl", inputs),
        _acl_writable(daemon, str(prior.get("redis.aclfile", where["aclfile"]))),
        rec("redis.daemonize", False, "redis.placement.daemonize",
            "the service manager keeps the server in the foreground and tracks it itself",
            "no", inputs),
        rec("redis.supervised", SUPERVISED, "redis.placement.supervised",
            f"Debian's {daemon}-server unit is Type=notify: the server tells systemd when it is "
            "ready (started without systemd it logs that and runs on)", SUPERVISED, inputs),
    ]


def _acl_writable(daemon: str, aclfile: str) -> Recommendation:
    directory = aclfile.rsplit("/", 1)[0] or "/"
    return rec("systemd.redis.ReadWritePaths", f"-{directory}", "redis.placement.acl_writable",
               f"ACL SAVE rewrites users.acl in {directory}: the unit's ProtectSystem=strict "
               f"leaves writable only the paths it lists, and Debian's {daemon}-server unit lists "
               f"/etc/{daemon} under a note that recommends removing it",
               "-<directory of aclfile> ('-': no error while it does not exist)",
               {"aclfile": aclfile})


def placement(config: Config, plan: Plan) -> Placement:
    """Debian's redis-server reads /etc/redis as redis; valkey-server reads /etc/valkey (its
    main file, valkey.conf, is what perfcfg writes for a Valkey target) as valkey. users.acl
    goes wherever ``aclfile`` says."""
    daemon = daemon_of(bool(config.targets.valkey))
    return Placement(f"/etc/{daemon}", daemon, daemon)

