"""``perfcfg host --env ENV``: this machine's kernel settings and open-files limit against what
the environment's plan needs of its host.

The plan states its needs as settings (``tune/limits.py`` and each service's tuning): the
``sysctl.<key>`` (and ``sysfs.<key>``) values and each daemon's ``systemd.<service>.LimitNOFILE``, whose one input is
the daemon's own need (its fd budget). Each one the machine falls short of is a PCF317: a
somaxconn below a listen backlog (the kernel cuts the backlog), overcommit that lets a
persisting Redis's fork fail, fewer huge pages than PostgreSQL's shared memory takes,
transparent huge pages on, more swapping or a larger dirty-page backlog than planned, a soft
fd limit below a daemon's need (a daemon started from this shell without its unit's
``LimitNOFILE=`` gets it). Nothing here names a daemon: the plan's paths do.

>>> from perfcfg.core.plan import Plan, Setting
>>> from perfcfg.core.spans import Origin
>>> from perfcfg.host.detect import Limits
>>> s = Setting("sysctl.net.core.somaxconn", 4096, Origin("tuned"))
>>> plan = Plan("production", "production", {s.path: s})
>>> rows, found = check(plan, Limits({"net.core.somaxconn": 128}, (1024, 4096), {}))
>>> [r.ok for r in rows if r.what == "net.core.somaxconn"], [d.code for d in found]
([False], ['PCF317'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from perfcfg.core.diagnostics import Diagnostic, Severity
from perfcfg.core.plan import Plan
from perfcfg.host.detect import Limits
from perfcfg.tune.limits import AT_MOST, EXACT, NONZERO, RULES, SYSFS_KEYS, WANTED, path_of

CODE = "PCF317"
_NOFILE = re.compile(r"^systemd\.([^.]+)\.LimitNOFILE$")
_MEMORY_MAX = re.compile(r"^systemd\.([^.]+)\.MemoryMax$")
# where a service's config names its pid file (the daemon's own spelling)
PIDFILE_KEYS = ("external_pid_file", "pidfile")


def pidfiles(plan: Plan) -> dict[str, str]:
    """service → the pid file its generated config names (a running daemon is found by it)."""
    out = {}
    for path, setting in plan.settings.items():
        service, _, key = path.partition(".")
        if key in PIDFILE_KEYS and isinstance(setting.value, str) and setting.value:
            out[service] = setting.value
    return out


@dataclass(frozen=True)
class Row:
    """One line of the report: what, its value now, what the plan needs (None: nothing)."""

    what: str
    current: int | str | None
    needed: int | str | None
    exact: bool
    ok: bool
    path: str            # the plan's setting (explain answers it); "" when the plan needs none
    wanted: bool = False  # used when there, run without otherwise (a shortfall is a warning)
    at_most: bool = False  # the plan's value is a ceiling, not a floor

    @property
    def compare(self) -> str:
        return "=" if self.exact else "<=" if self.at_most else ">="

    def as_json(self) -> dict[str, Any]:
        return {"current": self.current, "needed": self.needed,
                "compare": self.compare, "ok": self.ok, "path": self.path or None}


def keys() -> tuple[str, ...]:
    """Every kernel setting a plan may need: what ``perfcfg host`` reads."""
    return tuple(RULES)


def sysfs_keys() -> tuple[str, ...]:
    """The ones read from /sys rather than /proc/sys."""
    return tuple(sorted(SYSFS_KEYS))


def _fits(key: str, current: int | str, wanted: int | str) -> bool:
    if key in EXACT or isinstance(current, str) or isinstance(wanted, str):
        return current == wanted
    if key in AT_MOST:
        # 0 in a dirty-bytes key: the kernel uses its ratio of RAM instead, far more
        return current <= wanted and (current > 0 or key not in NONZERO)
    return current >= wanted


def check(plan: Plan, limits: Limits) -> tuple[list[Row], list[Diagnostic]]:
    rows: list[Row] = []
    found: list[Diagnostic] = []
    for key in sorted(set(keys()) | set(limits.sysctls)):
        current = limits.sysctls.get(key)
        setting = plan.settings.get(path_of(key))
        if setting is None:
            rows.append(Row(key, current, None, False, True, ""))
            continue
        wanted = setting.value if isinstance(setting.value, str) else int(setting.value)
        exact, at_most = key in EXACT, key in AT_MOST
        ok = current is not None and _fits(key, current, wanted)
        rows.append(Row(key, current, wanted, exact, ok, setting.path, setting.rule in WANTED,
                        at_most))
        if not ok and current is not None:
            bound = f"= {wanted}" if exact else f"≤ {wanted}" if at_most else f"≥ {wanted}"
            # a value the daemons use when it is there and run without is a warning
            severity: Severity = "warning" if setting.rule in WANTED else "error"
            found.append(Diagnostic(
                CODE, severity, f"{key} is {current} on this machine; the plan "
                f"{'wants' if severity == 'warning' else 'needs'} {bound}: "
                f"{setting.reason}", None, setting.path,
                (f"echo {wanted} > /sys/{key.replace('.', '/')}, and keep it in "
                 "/etc/tmpfiles.d/ (deploy.limits: true writes tmpfiles.conf; perfcfg explain "
                 "shows why)" if key in SYSFS_KEYS else
                 f"sysctl -w {key}={wanted}, and keep it in /etc/sysctl.d/ (deploy.limits: "
                 "true writes sysctl.conf; perfcfg explain shows why)")))
    soft, hard = limits.nofile
    for path, setting in sorted(plan.settings.items()):
        m = _NOFILE.match(path)
        if not m:
            continue
        service = m.group(1)
        need = max((int(v) for v in setting.inputs.values()), default=int(setting.value))
        ok = soft is None or soft >= need
        rows.append(Row(f"open files ({service})", soft, need, False, ok, path))
        if not ok:
            found.append(Diagnostic(
                CODE, "error", f"{service} needs {need} open files; perfcfg runs with a soft "
                f"limit of {soft} (hard {'unlimited' if hard is None else hard}): a daemon "
                "started from here without its unit's LimitNOFILE gets that", None, path,
                f"start it from its systemd unit with the drop-in (deploy.limits: true writes "
                f"LimitNOFILE={setting.value}), or raise the limit first (prlimit --nofile="
                f"{setting.value}:{setting.value})"))
        if service in limits.running:
            pid, has, _ = limits.running[service]
            fits = has is None or has >= need
            rows.append(Row(f"open files ({service}, running as pid {pid})", has, need, False,
                            fits, path))
            if not fits:
                found.append(Diagnostic(
                    CODE, "error", f"the running {service} (pid {pid}) has a soft limit of "
                    f"{has} open files; it needs {need}: it was started without its unit's "
                    "LimitNOFILE (through su or runuser, say)", None, path,
                    f"restart it from its systemd unit with the drop-in (deploy.limits: true "
                    f"writes LimitNOFILE={setting.value}), or prlimit --pid {pid} --nofile="
                    f"{setting.value}:{setting.value}"))
    rows += _memory(plan, limits, found)
    return rows, found


def _memory(plan: Plan, limits: Limits, found: list[Diagnostic]) -> list[Row]:
    """Each running daemon's cgroup memory limit against its unit's MemoryMax, and whether
    this machine's hierarchy has MemoryHigh at all."""
    rows: list[Row] = []
    planned = sorted((m.group(1), s) for p, s in plan.settings.items()
                     if (m := _MEMORY_MAX.match(p)))
    if planned and limits.cgroup == "v1":
        path = planned[0][1].path.replace("MemoryMax", "MemoryHigh")
        rows.append(Row("cgroup hierarchy", "v1", "v2", True, False, path, True))
        found.append(Diagnostic(
            CODE, "warning", "this machine's memory cgroups are v1: systemd applies each "
            "drop-in's MemoryMax as memory.limit_in_bytes and has nothing for MemoryHigh, so a "
            "daemon over its budget is not throttled first, only OOM-killed at MemoryMax",
            None, path, "boot with the unified cgroup hierarchy (the default since systemd 247: "
            "drop systemd.unified_cgroup_hierarchy=0 from the kernel command line)"))
    for service, setting in planned:
        if service not in limits.running:
            continue
        pid = limits.running[service][0]
        has, want = limits.memory.get(service), int(setting.value)
        ok = has is not None and has <= want
        rows.append(Row(f"memory limit ({service}, running as pid {pid})", has, want, False,
                        ok, setting.path, True, True))
        if not ok:
            found.append(Diagnostic(
                CODE, "warning", f"the running {service} (pid {pid}) has "
                f"{'no memory limit' if has is None else f'a memory limit of {has} bytes'}; "
                f"its unit's MemoryMax is {want}: it was started without the drop-in (or before "
                "it was installed), so its part of the budget is not enforced", None,
                setting.path, "install the drop-in (deploy.limits: true writes it; manifest.json "
                "places it), then systemctl daemon-reload and restart the daemon from its unit"))
    return rows


def as_text(env: str, rows: list[Row], limits: Limits) -> str:
    """Comment lines to follow the host profile (the output stays a valid profile file)."""
    soft, hard = limits.nofile
    lines = [f"# what environment {env!r} needs of this host, and what it has now:"]
    for row in rows:
        if row.what == "cgroup hierarchy":
            lines.append(f"#   cgroup hierarchy = v1: MemoryHigh not in force, MemoryMax as "
                         f"memory.limit_in_bytes  [{row.path}]")
            continue
        now = "unknown" if row.current is None else str(row.current)
        if row.needed is None:
            lines.append(f"#   {row.what} = {now}: not needed by this plan")
            continue
        need = f"{'=' if row.exact else '≤' if row.at_most else '≥'} {row.needed}"
        verdict = "ok" if row.ok else ("cannot be read" if row.current is None else
                                       "WRONG" if row.exact else
                                       "TOO HIGH" if row.at_most else
                                       "fewer (it runs without them)" if row.wanted else
                                       "TOO LOW")
        lines.append(f"#   {row.what} = {now}: {'wants' if row.wanted else 'needs'} {need}, "
                     f"{verdict}  [{row.path}]")
    lines.append(f"#   open files: soft {'unlimited' if soft is None else soft}, hard "
                 f"{'unlimited' if hard is None else hard} "
                 f"({limits.provenance.get('nofile', 'unknown')})")
    return "\n".join(lines) + "\n"


def as_json(env: str, rows: list[Row], limits: Limits) -> dict[str, Any]:
    soft, hard = limits.nofile
    return {"environment": env, "nofile": {"soft": soft, "hard": hard},
            "checks": {row.what: row.as_json() for row in rows},
            "provenance": dict(limits.provenance)}
