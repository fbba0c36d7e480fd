"""Redis's (and Valkey's) monitoring: redis_exporter, and the alerts on memory, evictions and
clients against the compiled ``maxmemory``, ``maxmemory-policy`` and ``maxclients``.

The cache's role decides what an eviction means: a ``store`` (a queue, sessions: policy
``noeviction``) must never lose a key, so an eviction there is critical (the policy drifted);
a ``cache`` evicts by design, so its evictions are information and its memory at
``maxmemory`` is the normal state, not a page.

>>> near(1000), near_memory(1_000_000)
(800, 900000)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from perfcfg.harness import binaries
from perfcfg.services.monitor import (
    ACCOUNT,
    Alert,
    Command,
    Drill,
    Exporter,
    Monitor,
    Panel,
    Scope,
    Series,
)
from perfcfg.services.redis import values

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan
    from perfcfg.services.redis.daemon import RedisServer

EXPORTER = Exporter("redis_exporter", "prometheus-redis-exporter", ("1.45", "1.69"),
                    pinned="1.69", system="1.45")
# Memory past 90 % of maxmemory: a store is one burst away from refusing writes (OOM).
MEMORY_SHARE = 0.9
# Connected clients past 80 % of maxclients: the next rolling deploy may be refused.
CLIENTS_SHARE = 0.8
SERVICE = "redis"
# redis_exporter's password file: a JSON map of the Redis URL with the user in it to the ACL
# user's password, {"redis://prometheus@127.0.0.1:6379": "…"} (1.69 looks the password up
# by that URL; -redis.addr itself names no user).
PASSWORD_FILE = "/etc/prometheus/redis_exporter.passwords.json"


def near(maxclients: int) -> int:
    return math.floor(maxclients * CLIENTS_SHARE)


def near_memory(maxmemory: int) -> int:
    return math.floor(maxmemory * MEMORY_SHARE)


def alerts(plan: Plan, config: Config, scope: Scope) -> list[Alert]:
    labels = scope.labels(SERVICE)
    sel = scope.sel(SERVICE)
    role = values.config_role(config)
    store = role == "store"
    maxclients = int(plan.value("redis.maxclients"))
    policy = str(plan.value("redis.maxmemory-policy"))
    maxmemory = int(plan.value("redis.maxmemory") or 0)
    other = "allkeys-lru" if policy == "noeviction" else "noeviction"
    out = [
        Alert("RedisDown", SERVICE, "health", f"redis_up{sel} == 0", "critical", "1m",
              f"redis_exporter of {scope.env} cannot reach the cache",
              "redis_up is 0 when the exporter's connection fails", (),
              (Series("redis_up", labels, ok="1", bad="0"),)),
        Alert("RedisEvictions", SERVICE, "threshold",
              f"increase(redis_evicted_keys_total{sel}[5m]) > 0",
              "critical" if store else "info", "0m",
              (f"the {role} of {scope.env} evicts keys: it must keep them (role store)" if store
               else f"the cache of {scope.env} evicts keys to stay within maxmemory"),
              f"redis.role = {role}: " + ("a store must not evict (maxmemory-policy noeviction)"
                                          if store else "a cache evicts by design"),
              ("redis.role", "redis.maxmemory-policy"),
              (Series("redis_evicted_keys_total", labels, ok="0+0", bad="0+1"),)),
        Alert("RedisClientsNearMax", SERVICE, "threshold",
              f"redis_connected_clients{sel} > {near(maxclients)}", "warning", "5m",
              f"more than {near(maxclients)} of the cache's {maxclients} client connections "
              "are in use",
              f"{near(maxclients)} = {CLIENTS_SHARE:.0%} of redis.maxclients = {maxclients}",
              ("redis.maxclients",),
              (Series("redis_connected_clients", labels, ok=str(near(maxclients)),
                      bad=str(near(maxclients) + 1)),)),
        Alert("RedisMaxclientsDrift", SERVICE, "drift",
              f"redis_config_maxclients{sel} != {maxclients}", "warning", "5m",
              f"the {role} runs with another maxclients than the {maxclients} compiled "
              f"for {scope.env}",
              f"{maxclients} = redis.maxclients as compiled", ("redis.maxclients",),
              (Series("redis_config_maxclients", labels, ok=str(maxclients),
                      bad=str(maxclients + 1)),)),
        Alert("RedisMaxmemoryPolicyDrift", SERVICE, "drift",
              "max by (job, instance, maxmemory_policy) "
              f"(redis_instance_info{scope.sel(SERVICE, maxmemory_policy='!' + policy)})",
              "critical" if store else "warning", "5m",
              f"the {role} runs with another maxmemory-policy than {policy}, compiled "
              f"for {scope.env}",
              f"{policy} = redis.maxmemory-policy as compiled (redis.role = {role})",
              ("redis.maxmemory-policy",),
              # the instance reports one policy at a time: the other one while drifted
              (Series("redis_instance_info", (*labels, ("maxmemory_policy", other)),
                      ok="_", bad="1"),
               Series("redis_instance_info", (*labels, ("maxmemory_policy", policy)),
                      ok="1", bad="_")),
              by=("job", "instance", "maxmemory_policy")),
    ]
    if maxmemory:
        out += [
            Alert("RedisMemoryNearMax", SERVICE, "threshold",
                  f"redis_memory_used_bytes{sel} > {near_memory(maxmemory)}",
                  "critical" if store else "info", "5m" if store else "15m",
                  f"the {role} of {scope.env} uses more than {MEMORY_SHARE:.0%} of its "
                  f"maxmemory ({maxmemory} bytes)",
                  f"{near_memory(maxmemory)} = {MEMORY_SHARE:.0%} of redis.maxmemory = "
                  f"{maxmemory} bytes",
                  ("redis.maxmemory",),
                  (Series("redis_memory_used_bytes", labels, ok=str(near_memory(maxmemory)),
                          bad=str(near_memory(maxmemory) + 1)),)),
            Alert("RedisMaxmemoryDrift", SERVICE, "drift",
                  f"redis_memory_max_bytes{sel} != {maxmemory}", "warning", "5m",
                  f"the {role} runs with another maxmemory than the {maxmemory} bytes compiled "
                  f"for {scope.env}",
                  f"{maxmemory} = redis.maxmemory in bytes as compiled", ("redis.maxmemory",),
                  (Series("redis_memory_max_bytes", labels, ok=str(maxmemory),
                          bad=str(maxmemory + 1)),)),
        ]
    return out


def panels(plan: Plan, config: Config, scope: Scope) -> list[Panel]:
    sel = scope.sel(SERVICE)
    maxclients = int(plan.value("redis.maxclients"))
    maxmemory = int(plan.value("redis.maxmemory") or 0)
    memory = ((near_memory(maxmemory), "RedisMemoryNearMax fires above"),
              (maxmemory, "redis.maxmemory")) if maxmemory else ()
    return [
        Panel("cache memory against maxmemory", ((f"redis_memory_used_bytes{sel}", "used"),),
              unit="bytes", lines=memory),
        Panel("cache evictions", ((f"rate(redis_evicted_keys_total{sel}[5m])",
                                   "evicted keys per second"),)),
        Panel("cache clients", ((f"redis_connected_clients{sel}", "connected clients"),),
              lines=((near(maxclients), "RedisClientsNearMax fires above"),
                     (maxclients, "redis.maxclients"))),
    ]


def deployed(plan: Plan, config: Config) -> Command:
    """Debian's unit runs the exporter as ``prometheus``; with ACL users declared (the default
    user off) it logs in as the ACL user of that name, whose password it reads from
    ``PASSWORD_FILE``, a file the deploy writes (perfcfg writes no password in clear)."""
    bind = plan.value("redis.bind") or ["127.0.0.1"]
    # one entry may hold several addresses ("127.0.0.1 -::1"), each optional with its "-"
    addresses = [a.lstrip("-") for entry in ([bind] if isinstance(bind, str) else bind)
                 for a in str(entry).split()]
    # a wildcard (*, ::*, 0.0.0.0, ::) listens on loopback too
    host = next((a for a in addresses if "*" not in a and a not in ("0.0.0.0", "::")),
                "127.0.0.1")
    host = f"[{host}]" if ":" in host else host
    args = ["-web.listen-address={listen}",
            f"-redis.addr=redis://{host}:{plan.value('redis.port', 6379)}"]
    if values.users(config):
        args += [f"-redis.user={ACCOUNT}", f"-redis.password-file={PASSWORD_FILE}"]
    return Command(tuple(args))


def live(command: Command, cache: RedisServer, plan: Plan, files: Mapping[str, str]) -> Command:
    """The exporter against the cache ``perfcfg verify`` booted: its port, and the ACL user's
    password in a password file of the exporter's own, as the deploy writes it."""
    import json

    from perfcfg.harness import procs

    address = f"redis://127.0.0.1:{cache.port}"
    args = [f"-redis.addr={address}" if a.startswith("-redis.addr=") else
            "-redis.password-file={dir}/passwords.json" if a.startswith("-redis.password-file=")
            else a for a in command.args]
    password = plan.resolved.get(f"redis.users.{ACCOUNT}.password", "")
    return Command(tuple(args), command.env, procs.service_account(ACCOUNT),
                   {"passwords.json": json.dumps({f"redis://{ACCOUNT}@127.0.0.1:{cache.port}":
                                                  password})})


def logins(plan: Plan, config: Config) -> list[tuple[str, str, str]]:
    """With ACL users declared the default user is off: the exporter needs its own."""
    users = values.users(config)
    if not users or any(u.name == ACCOUNT and u.enabled for u in users):
        return []
    return [("redis.users", f"redis_exporter logs in as the ACL user {ACCOUNT!r}, which "
             "redis.users does not declare as enabled: it would reach nothing and RedisDown "
             "would fire",
             f"declare it under redis.users: {{name: {ACCOUNT}, password: ${{env:…}}, "
             f"commands: [{', '.join(EXPORTER_COMMANDS)}]}} (the password also goes in "
             f"{PASSWORD_FILE}), or turn monitoring off: monitoring: {{enabled: false}}")]


# What redis_exporter runs: INFO, CONFIG GET, the slow log and latency, MEMORY STATS, DBSIZE.
EXPORTER_COMMANDS = ("-@all", "+@connection", "+info", "+config|get", "+slowlog", "+latency",
                     "+memory|stats", "+dbsize")


def _maxmemory_drift(cache: RedisServer, plan: Plan, config: Config,
                     resolved: Mapping[str, str]) -> Callable[[], None]:
    """CONFIG SET maxmemory: the cache runs with twice the compiled limit."""
    compiled = int(plan.value("redis.maxmemory"))
    with cache.client() as c:
        c.config_set("maxmemory", str(compiled * 2))

    def undo() -> None:
        with cache.client() as c:
            c.config_set("maxmemory", str(compiled))

    return undo


def _fill_store(cache: RedisServer, plan: Plan, config: Config,
                resolved: Mapping[str, str]) -> Callable[[], None]:
    """Writes until the store holds more than the alert's share of maxmemory (a queue that
    nobody drains): with noeviction, it keeps every key."""
    goal = near_memory(int(plan.value("redis.maxmemory"))) + FILL_CHUNK
    value = "x" * FILL_CHUNK
    with cache.client() as c:
        n = 0
        while int(c.info("memory")["used_memory"]) < goal:
            with c.pipeline(transaction=False) as pipe:
                for _ in range(FILL_BATCH):
                    pipe.rpush(f"perfcfg:drill:{n % FILL_KEYS}", value)
                    n += 1
                pipe.execute()

    def undo() -> None:
        with cache.client() as c:
            c.flushall()

    return undo


FILL_CHUNK = 1 << 20
FILL_BATCH = 32
FILL_KEYS = 16
DRILLS = (
    Drill("CONFIG SET maxmemory", lambda plan, config: ("RedisMaxmemoryDrift",),
          _maxmemory_drift, when=lambda plan, config: bool(plan.value("redis.maxmemory"))),
    Drill("a noeviction queue filled past its alert", lambda plan, config: ("RedisMemoryNearMax",),
          _fill_store, when=lambda plan, config: bool(plan.value("redis.maxmemory")) and
          plan.value("redis.maxmemory-policy") == "noeviction"),
)


def daemons() -> list[tuple[str, str]]:
    return [(d, v) for d in ("redis", "valkey") for v in binaries.versions(d)]


@contextmanager
def probe(daemon: str, version: str) -> Iterator[Command]:
    """A throwaway master of ``daemon`` ``version`` with one replica (so the replication series
    exist), and the exporter command that reads the master."""
    from perfcfg.harness import procs
    from perfcfg.services.redis.daemon import RedisServer, ValkeyServer

    handle = ValkeyServer if daemon == "valkey" else RedisServer
    with handle("maxmemory 64mb\n", version=version) as master, \
            handle(f"replicaof 127.0.0.1 {master.port}\n", version=version):
        assert master.proc is not None
        procs.wait_ready(daemon, master.proc, lambda: _replica_online(master), [master.log], 15)
        yield Command(("-web.listen-address", "{listen}",
                       "-redis.addr", f"redis://127.0.0.1:{master.port}"))


def _replica_online(master: RedisServer) -> bool | None:
    with master.client() as c:
        return True if c.info("replication").get("connected_slaves") else None


MONITOR = Monitor(EXPORTER, alerts, daemons, probe, ready="redis_up 1", port=9121,
                  deployed=deployed, panels=panels, live=live, drills=DRILLS,
                  logins=logins)
