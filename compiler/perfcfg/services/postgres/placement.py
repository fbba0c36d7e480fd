"""Where PostgreSQL's files go, and the settings initdb would have written: what makes the
generated postgresql.conf deployable as the whole file.

Two layouts (perfcfg.yaml's ``deploy.layout``):

- ``debian`` (the default): postgresql-common's cluster ``<v>/main``. postgresql.conf,
  pg_hba.conf and pg_ident.conf in ``/etc/postgresql/<v>/main``, the data in
  ``/var/lib/postgresql/<v>/main``, the socket and ``<v>-main.pid`` in ``/var/run/postgresql``:
  the values ``pg_createcluster`` writes into the file this one replaces.
- ``datadir``: every file inside the data directory, as initdb makes it; PostgreSQL finds them
  there by itself, so the file names none of them and writes no extra pid file.

In both, the file states the locale and time settings: initdb writes ``timezone``,
``log_timezone``, ``lc_*``, ``datestyle`` and ``default_text_search_config`` into the
postgresql.conf it creates, and a file copied over it would otherwise drop them (the server
then falls back to GMT and the C locale). Every value is a rule with a reason: a preset's own
value wins, as for any tuned value.

>>> from perfcfg.tune.context import Host, TuneContext, Versions, GiB
>>> ctx = TuneContext("production", Host(8 * GiB, 4), (), (), versions=Versions(postgres=17))
>>> v = {r.path: r.value for r in recommend(ctx, {})}
>>> v["postgres.data_directory"], v["postgres.external_pid_file"], v["postgres.TimeZone"]
('/var/lib/postgresql/17/main', '/var/run/postgresql/17-main.pid', 'UTC')
>>> datadir = TuneContext("production", Host(8 * GiB, 4), (), (), layout="datadir")
>>> "postgres.data_directory" in {r.path for r in recommend(datadir, {})}
False
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

# postgresql-common (pg_createcluster, createcluster.conf): cluster "main" of version <v>.
CLUSTER = "main"
CONFIG_ROOT = "/etc/postgresql"
DATA_ROOT = "/var/lib/postgresql"
RUN_DIR = "/var/run/postgresql"
OWNER = "postgres"
# What initdb writes into a new cluster's postgresql.conf, with perfcfg's defaults: UTC (a
# host's own zone makes logs and now() disagree between hosts), the C.UTF-8 locale (messages
# in English, as log searches expect; formatting independent of the host's locale), and
# PostgreSQL's own date style and text search configuration. Paths use the catalog's spelling
# (TimeZone, DateStyle), as a preset's value does, so that the preset's wins.
TIMEZONE = "UTC"
LOCALE = "C.UTF-8"
# The C.UTF-8 locale is glibc's (and musl's): other kernels' libcs may lack it.
LOCALE_ELSEWHERE = "C"
DATESTYLE = "ISO, MDY"    # initdb's "iso, mdy", as PostgreSQL reports it
TEXT_SEARCH = "pg_catalog.english"
LC_SETTINGS = ("lc_messages", "lc_monetary", "lc_numeric", "lc_time")


def config_dir(version: int) -> str:
    return f"{CONFIG_ROOT}/{version}/{CLUSTER}"


def data_dir(version: int) -> str:
    return f"{DATA_ROOT}/{version}/{CLUSTER}"


def _debian(version: int) -> list[Recommendation]:
    conf = config_dir(version)
    why = f"Debian's layout (postgresql-common) for cluster {version}/{CLUSTER}"
    inputs = {"layout": "debian", "version": version}

    def placed(name: str, value: str, what: str) -> Recommendation:
        return rec(f"postgres.{name}", value, f"pg.placement.{name}", f"{why}: {what}",
                   "deploy.layout = debian", inputs)

    return [
        placed("data_directory", data_dir(version), "the data lives apart from the files"),
        placed("hba_file", f"{conf}/pg_hba.conf", "next to postgresql.conf"),
        placed("ident_file", f"{conf}/pg_ident.conf", "next to postgresql.conf"),
        placed("external_pid_file", f"{RUN_DIR}/{version}-{CLUSTER}.pid",
               "pg_ctlcluster and pg_lsclusters read the server's pid here"),
        placed("unix_socket_directories", RUN_DIR,
               "where psql and the other clients of the package look for the socket"),
    ]


def _locale(ctx: TuneContext) -> list[Recommendation]:
    version, os = ctx.versions.postgres, ctx.host.os
    locale = LOCALE if os == "linux" else LOCALE_ELSEWHERE
    kept = "; a file copied over initdb's must state it"
    out = [
        rec("postgres.cluster_name", f"{version}/{CLUSTER}", "pg.placement.cluster_name",
            "names the cluster in process titles and the log, as postgresql-common does",
            "<version>/main", {"version": version}),
        rec("postgres.TimeZone", TIMEZONE, "pg.locale.timezone",
            f"sessions see UTC, whatever the host's zone{kept}", "UTC"),
        rec("postgres.log_timezone", TIMEZONE, "pg.locale.log_timezone",
            f"log times in UTC, comparable across hosts{kept}", "UTC"),
        rec("postgres.DateStyle", DATESTYLE, "pg.locale.datestyle",
            f"PostgreSQL's own date style{kept}", DATESTYLE),
        rec("postgres.default_text_search_config", TEXT_SEARCH,
            "pg.locale.default_text_search_config",
            f"the text search configuration initdb picks for an English locale{kept}",
            TEXT_SEARCH),
    ]
    for name in LC_SETTINGS:
        what = ("messages in English, as log searches expect" if name == "lc_messages"
                else "formatting independent of the host's locale")
        out.append(rec(f"postgres.{name}", locale, f"pg.locale.{name}",
                       f"{what} ({locale}{'' if locale == LOCALE else f': {os} has no {LOCALE}'})"
                       f"{kept}", f"{LOCALE} on linux, else {LOCALE_ELSEWHERE}", {"os": os}))
    return out


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    placed = _debian(ctx.versions.postgres) if ctx.layout == "debian" else []
    return placed + _locale(ctx)


# The files postgresql.conf names by path: the manifest places each where its setting says.
def placement(config: Config, plan: Plan) -> Placement:
    """Where the manifest puts the files: postgresql.conf in the config directory (Debian's,
    or the data directory), pg_hba.conf and pg_ident.conf wherever ``hba_file`` and
    ``ident_file`` say, else next to it."""
    version = config.targets.postgres
    if config.layout == "debian":
        directory = config_dir(version)
    else:
        directory = str(plan.value("postgres.data_directory") or data_dir(version))
    return Placement(directory, OWNER, OWNER, )
