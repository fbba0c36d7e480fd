"""The kernel settings the plan needs on its host (``sysctl.d``, and ``tmpfiles.d`` for the
files of ``/sys``), from what each service asks.

Each service's tuning says what its plan needs of the kernel — a listen backlog that
``net.core.somaxconn`` must not cut, a fork that needs ``vm.overcommit_memory = 1``, huge pages
to reserve, transparent huge pages off, little swapping, a small dirty-page backlog on a
spinning disk — as :class:`Need` records (``needs(ctx, known)`` beside its tuning groups). This
group, run last, turns them into one ``sysctl.<key>`` (or ``sysfs.<key>``) setting per key:
the largest need, the smallest for a ceiling, or the one value a policy key must have. It
names no daemon: the needs carry their own words. A host that is not Linux gets none (its
kernel has neither file; ``deploy.limits`` there is PCF322).

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> ctx = TuneContext("production", Host(16 * GiB, 4), (), ())
>>> needs = [Need("net.core.somaxconn", 511, "a", "redis.tcp-backlog"),
...          Need("net.core.somaxconn", 134, "b", "2 × postgres.max_connections")]
>>> [(r.path, r.value) for r in from_needs(needs)]
[('sysctl.net.core.somaxconn', 4096)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from perfcfg.tune.context import Recommendation, TuneContext
from perfcfg.tune.util import rec

PREFIX = "sysctl."
# systemd's default soft RLIMIT_NOFILE for services (DefaultLimitNOFILE=1024:524288): a
# drop-in's LimitNOFILE never goes below it, so writing one never takes fds away.
NOFILE_FLOOR = 1024
# Linux 5.4 raised net.core.somaxconn's default from 128 to 4096: perfcfg never writes less,
# so a host whose kernel (or image) kept 128 gets the modern value and none is lowered.
SOMAXCONN_FLOOR = 4096
# Huge page size perfcfg sizes vm.nr_hugepages in: x86-64's and most arm64 kernels' default
# (grep Hugepagesize /proc/meminfo; another size needs another count).
HUGE_PAGE_SIZE_TEXT = "2MiB"
# Files of /sys the plan sets (tmpfiles.d writes them at boot): key → /sys/<key with / for .>.
SYSFS = "sysfs."
THP = "kernel.mm.transparent_hugepage.enabled"
SYSFS_KEYS = frozenset({THP})


def path_of(key: str) -> str:
    """The plan's setting for a kernel key: ``sysctl.<key>`` or ``sysfs.<key>``."""
    return (SYSFS if key in SYSFS_KEYS else PREFIX) + key


@dataclass(frozen=True)
class Need:
    """One thing a service's plan needs of the kernel: ``key`` (a sysctl name) at least
    ``value`` (or exactly, for a policy key such as vm.overcommit_memory), because ``why``;
    ``source`` names the setting it comes from (explain's inputs)."""

    key: str
    value: int | str
    why: str
    source: str
    # the service runs without it, with less (huge_pages = try falls back to normal pages):
    # a host that falls short is warned, not refused
    optional: bool = False


NeedsFn = Callable[[TuneContext, Mapping[str, Any]], list[Need]]


def _somaxconn(needs: Sequence[Need]) -> Recommendation:
    top = max(needs, key=lambda n: int(n.value))
    value = max(SOMAXCONN_FLOOR, int(top.value))
    why = (f"the largest listen backlog is {top.value} ({top.why}); the kernel cuts every "
           "listen backlog to net.core.somaxconn")
    if value > int(top.value):
        why += f", so at least Linux 5.4's default {SOMAXCONN_FLOOR}: never lower"
    return rec(f"{PREFIX}net.core.somaxconn", value, "host.sysctl.somaxconn", why,
               f"max({SOMAXCONN_FLOOR}, every listen backlog)",
               {n.source: n.value for n in needs})


def _overcommit(needs: Sequence[Need]) -> Recommendation:
    return rec(f"{PREFIX}vm.overcommit_memory", 1, "host.sysctl.overcommit_memory",
               "; ".join(n.why for n in needs),
               "1 when a daemon forks a copy of a large heap (RDB snapshots, AOF rewrites)",
               {n.source: n.value for n in needs})


def _hugepages(needs: Sequence[Need]) -> Recommendation:
    total = sum(int(n.value) for n in needs)
    wanted = all(n.optional for n in needs)
    return rec(f"{PREFIX}vm.nr_hugepages", total, WANTED_HUGEPAGES if wanted else
               "host.sysctl.nr_hugepages",
               "; ".join(n.why for n in needs) + f", in {HUGE_PAGE_SIZE_TEXT} pages"
               + ("; without them it starts on normal pages" if wanted else ""),
               f"Σ huge pages asked for, in {HUGE_PAGE_SIZE_TEXT} pages",
               {n.source: n.value for n in needs})


def _ceiling(key: str, rule: str, formula: str) -> Callable[[Sequence[Need]], Recommendation]:
    """A key the plan wants at most some value: the smallest any service asks for."""
    def recommend(needs: Sequence[Need]) -> Recommendation:
        low = min(needs, key=lambda n: int(n.value))
        return rec(path_of(key), int(low.value), rule, "; ".join(dict.fromkeys(
            n.why for n in needs)), formula, {n.source: n.value for n in needs})
    return recommend


def _thp(needs: Sequence[Need]) -> Recommendation:
    return rec(path_of(THP), "never", WANTED_THP, "; ".join(dict.fromkeys(n.why for n in needs))
               + "; the huge pages vm.nr_hugepages reserves are not affected",
               "never when a daemon forks a large heap or many processes share the host's "
               "memory", {n.source: n.value for n in needs})


# The rule of huge pages every service would run without (each one's need is optional).
WANTED_HUGEPAGES = "host.sysctl.nr_hugepages.wanted"
WANTED_THP = "host.sysfs.transparent_hugepage"
SWAPPINESS = "host.sysctl.swappiness"
DIRTY_BACKGROUND = "host.sysctl.dirty_background_bytes"
DIRTY = "host.sysctl.dirty_bytes"
# Rules whose value the services use when the host has it and run without otherwise: a
# shortfall is a warning.
WANTED = frozenset({WANTED_HUGEPAGES, WANTED_THP, SWAPPINESS, DIRTY_BACKGROUND, DIRTY})

# Keys whose value is a policy the plan needs exactly; the ones a plan wants at most some
# value (0 in a dirty-bytes key means the kernel uses the ratio instead: not at most); the
# others are minimums.
EXACT = frozenset({"vm.overcommit_memory", THP})
AT_MOST = frozenset({"vm.swappiness", "vm.dirty_background_bytes", "vm.dirty_bytes"})
NONZERO = frozenset({"vm.dirty_background_bytes", "vm.dirty_bytes"})
# kernel key → how the needs of every service become its one value, in file order.
RULES: dict[str, Callable[[Sequence[Need]], Recommendation]] = {
    "net.core.somaxconn": _somaxconn,
    "vm.dirty_background_bytes": _ceiling(
        "vm.dirty_background_bytes", DIRTY_BACKGROUND,
        "the smallest asked for: the kernel starts writing back in the background there"),
    "vm.dirty_bytes": _ceiling(
        "vm.dirty_bytes", DIRTY, "the smallest asked for: a writer waits for write-back there"),
    "vm.nr_hugepages": _hugepages,
    "vm.overcommit_memory": _overcommit,
    "vm.swappiness": _ceiling("vm.swappiness", SWAPPINESS, "the smallest asked for"),
    THP: _thp,
}


def from_needs(needs: Iterable[Need]) -> list[Recommendation]:
    by_key: dict[str, list[Need]] = {}
    for need in needs:
        by_key.setdefault(need.key, []).append(need)
    return [RULES[key](by_key[key]) for key in RULES if key in by_key]


def group(needs: Sequence[tuple[str, NeedsFn]]
          ) -> Callable[[TuneContext, Mapping[str, Any]], list[Recommendation]]:
    """The tuning group: every running service's needs (service name, its needs function),
    read after all their own groups ran."""
    def recommend(ctx: TuneContext, known: Mapping[str, Any]) -> list[Recommendation]:
        if ctx.host.os != "linux":
            return []   # sysctl.d and /sys are Linux's
        return from_needs(n for service, fn in needs if ctx.runs(service)
                          for n in fn(ctx, known))
    return recommend
