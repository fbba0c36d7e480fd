"""Redis's and Valkey's catalogs: ``CONFIG GET *`` of each release, each directive's type as the
server itself reports it when fed a probe value (its typed config table in src/config.c)."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from perfcfg.harness import procs
from perfcfg.harness.binaries import require
from perfcfg.services.catalog_reading import Job, catalog, entry, package_of
from perfcfg.services.redis import programs
from perfcfg.services.redis import readers as redis_readers
from perfcfg.services.redis.daemon import RedisServer, ValkeyServer

# Multi-argument ("special") directives whose value is a list of words; types for the rest come
# from redis-server's own validation messages.
REDIS_LISTS = frozenset({"bind", "client-output-buffer-limit", "latency-tracking-info-percentiles",
                         "oom-score-adj-values", "rdma-bind", "replicaof", "save", "slaveof"})
# Values that depend on the harness or on the host's RLIMIT_NOFILE, not on Redis: no default.
REDIS_HOST_DEFAULTS = frozenset({"bind", "daemonize", "dir", "logfile", "maxclients", "pidfile",
                                 "port", "supervised", "unixsocket"})
_PROBE = "pf-bogus"
_LLONG_MIN = "-9223372036854775808"
_REDIS_BASE = ["--save", "", "--logfile", "", "--unixsocket", "", "--daemonize", "no"]


def _redis_message(program: str, key: str, value: str) -> str | None:
    """The server's complaint about ``key value`` on its command line, or None if accepted."""
    workdir = procs.scratch_dir("pf-rcat-")
    try:
        proc = subprocess.Popen([program, "--port", "0", *_REDIS_BASE,
                                 "--dir", workdir, f"--{key}", value], cwd=workdir,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            out, _ = proc.communicate(timeout=1.0)
        except subprocess.TimeoutExpired:
            procs.stop_tree(proc, __import__("signal").SIGKILL)
            proc.communicate()   # reap it and close its pipe
            return None
        lines = [x for x in out.strip().splitlines() if x.strip()]
        # Only a refusal of the value counts: with no port and no socket the server stops
        # after reading its configuration ("Configured to not listen anywhere").
        refused = "FATAL CONFIG FILE ERROR" in out
        return lines[-1] if proc.returncode != 0 and lines and refused else None
    finally:
        procs.remove_dir(workdir)


def _redis_type(program: str, key: str) -> dict[str, Any]:
    if key in REDIS_LISTS:
        return {"type": "list"}
    msg = _redis_message(program, key, _PROBE) or ""
    probe = partial(_redis_message, program, key)
    if "must be 'yes' or 'no'" in msg:
        return {"type": "bool", "refused": redis_readers.refused_words(probe)}
    if "one of the following:" in msg:
        return {"type": "enum", "values": [v.strip() for v in msg.split(":", 1)[1].split(",")]}
    if "memory" in msg:
        return {"type": "memory", **redis_readers.size_bounds(probe)}
    if "octal" in msg:
        return {"type": "octal"}
    if "parsed into an integer" in msg:
        bounds = redis_readers.bounds(probe(_LLONG_MIN))
        return {"type": "integer", "min": bounds[0] if bounds else None,
                "max": bounds[1] if bounds else None}
    return {"type": "string", "pattern": redis_readers.string_pattern(probe)}


def redis(version: str, daemon: str = "redis") -> dict[str, Any]:
    """Redis or Valkey (same directives, same commands; Valkey reports ``valkey_version``)."""
    handle = ValkeyServer if daemon == "valkey" else RedisServer
    with handle("", version=version) as r:
        values = r.config()
        info = r.client().info("server")
        release = info.get(f"{daemon}_version") or info["redis_version"]
        with r.client() as c:
            modules = sorted(m["name"] for m in c.module_list())
            sets = {"acl": redis_readers.acl_sets(c)}
    keys = sorted(values)
    program = require(handle.program, version)
    # 4 probes at a time: each is a short-lived server, and the CI machine has 2 cores.
    with ThreadPoolExecutor(max_workers=4) as pool:
        types = dict(zip(keys, pool.map(partial(_redis_type, program), keys), strict=True))
    sets["refused"] = {key: types[key]["refused"] for key in keys if types[key].get("refused")}
    params = {}
    for key in keys:
        t = types[key]
        params[key] = entry(t["type"], values=t.get("values"), min_=t.get("min"),
                            max_=t.get("max"), pattern=t.get("pattern"),
                            default=None if key in REDIS_HOST_DEFAULTS else values[key])
    build = {"package": package_of(daemon, version, handle.program), "release": release,
             "modules": modules}
    name = "Valkey" if daemon == "valkey" else "Redis"
    return catalog(daemon, ".".join(release.split(".")[:2]),
                   f"CONFIG GET * and command-line validation of {name} {release}", params, build,
                   sets)


def jobs(new: tuple[str, ...] = ()) -> dict[str, Job]:
    """Every supported release's catalog of Redis and Valkey, and ``new`` ones (``8.2``: read
    for whichever of the two has that release installed)."""
    return {f"{spec.daemon}-{v}.json": Job(partial(redis, v, spec.daemon), spec.daemon, v)
            for spec in programs.SPECS for v in (*spec.versions, *new)}
