"""pgbouncer's files: pgbouncer.ini ([databases] connection strings and [pgbouncer] settings)
and userlist.txt (SCRAM secrets, never passwords; mode 0600)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from perfcfg.core.encoding import EncodeError, comment_text
from perfcfg.services.output import Output, RenderContext
from perfcfg.services.pgbouncer import backend
from perfcfg.services.pgbouncer.encode import pgbouncer_connstr, pgbouncer_name, userlist_line
from perfcfg.services.systemd import dropin

if TYPE_CHECKING:
    from perfcfg.services.base import Service

# Setting-path sections that are not [pgbouncer] keys: each database's and each user's line.
DATABASES, USERS = "databases", "users"
NESTED = (DATABASES, USERS)
CONNSTR_KEYS = ("host", "port", "dbname", "pool_size", "reserve_pool", "max_db_connections",
                "pool_mode")
# per-database values perfcfg tunes (pgbouncer.databases.<name>.<key>), explained above the line
TUNED_KEYS = ("pool_size", "reserve_pool", "max_db_connections")


def pgbouncer_ini(ctx: RenderContext, service: Service) -> bytes:
    dbs = []
    for db in ctx.plan.parts[service.name]:
        try:
            pairs = [(k, db[k]) for k in CONNSTR_KEYS if k in db]
            tuned = [ctx.plan.settings.get(f"pgbouncer.databases.{db['name']}.{key}")
                     for key in TUNED_KEYS]
            comments = [comment_text(f"{t.name} {t.value}: {t.reason} [{t.rule}]")
                        for t in tuned if t is not None and t.tuned and t.reason]
            dbs.append({"name": pgbouncer_name(db["name"]), "connstr": pgbouncer_connstr(pairs),
                        "comments": comments})
        except EncodeError as exc:
            ctx.fail(f"databases.{db['name']}", exc)
    users = []
    for setting in ctx.plan.service(service.name, USERS):
        user = setting.path.split(".")[2]
        try:
            users.append({"name": pgbouncer_name(user),
                          "connstr": pgbouncer_connstr([(setting.name, setting.value)]),
                          "comments": [comment_text(f"{setting.reason} [{setting.rule}]")]
                          if setting.tuned and setting.reason else []})
        except EncodeError as exc:
            ctx.fail(setting.path, exc)
    settings = ctx.lines(service, ctx.plan.service(service.name, nested=service.nested))
    return ctx.template("pgbouncer.ini", databases=dbs, users=users, settings=settings)


def userlist_txt(ctx: RenderContext, service: Service) -> bytes:
    lines = []
    for user, secret in backend.logins(ctx.plan):
        try:
            lines.append(userlist_line(user, secret))
        except EncodeError as exc:
            ctx.fail(f"users.{user}", exc)
    return ctx.template("userlist.txt", users=lines)


# userlist.txt holds SCRAM secrets, which can be guessed offline by whoever reads them.
# Debian's pgbouncer.ini is 0640: its [databases] lines describe the servers behind it.
OUTPUTS = (Output("pgbouncer.ini", pgbouncer_ini, deploy_mode=0o640),
           Output("userlist.txt", userlist_txt, secret=True, named_by="pgbouncer.auth_file"),
           dropin("systemd-pgbouncer.conf", lambda targets: "pgbouncer"))
