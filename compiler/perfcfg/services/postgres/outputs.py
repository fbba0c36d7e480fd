"""PostgreSQL's files: postgresql.conf (every GUC the Plan holds) and pg_hba.conf (one line per
pool and declared client, most specific first, columns aligned for reading)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from perfcfg.core.encoding import EncodeError, comment_text
from perfcfg.services.output import Output, RenderContext
from perfcfg.services.postgres.encode import hba_name, hba_token
from perfcfg.services.postgres.roles import apply_command, roles_sql
from perfcfg.services.systemd import dropin

if TYPE_CHECKING:
    from perfcfg.services.base import Service


def postgresql_conf(ctx: RenderContext, service: Service) -> bytes:
    return ctx.template("postgresql.conf",
                        settings=ctx.lines(service, ctx.plan.service(service.name)))


def pg_hba_conf(ctx: RenderContext, service: Service) -> bytes:
    rows: list[tuple[list[str], str]] = []
    for rule in ctx.plan.parts[service.name].hba:
        try:
            name = hba_name if rule.literal else hba_token
            user = hba_name if rule.literal or rule.literal_user else hba_token
            fields = [rule.type, name(rule.database), user(rule.user)]
            if rule.address:
                fields.append(hba_token(rule.address))
            fields.append(rule.method)
        except EncodeError as exc:
            ctx.fail("clients", exc)
            continue
        rows.append((fields, comment_text(rule.comment)))
    return ctx.template("pg_hba.conf", rules=_columns(rows))


def _columns(rows: list[tuple[list[str], str]]) -> list[dict[str, str]]:
    """Align pg_hba.conf columns for reading; widths depend only on the content.
    ``rows``: (fields, comment) → the template's rules, {"text", "comment"}."""
    widths: list[int] = []
    for row, _ in rows:
        for i, f in enumerate(row[:-1]):
            widths[i:i + 1] = [max(widths[i] if i < len(widths) else 0, len(f))]
    out = []
    for fields, comment in rows:
        if fields[0] == "local":  # local lines have no address column
            fields = fields[:3] + [""] + fields[3:]
        out.append({"comment": comment, "text": "  ".join(
            f.ljust(widths[i]) if i < len(fields) - 1 and i < len(widths) else f
            for i, f in enumerate(fields)).rstrip()})
    return out


def pg_ident_conf(ctx: RenderContext, service: Service) -> bytes:
    return ctx.template("pg_ident.conf")


# Debian's pg_hba.conf is 0640: it names every role and address allowed in.
# roles.sql holds SCRAM secrets; it is run with psql, not placed.
OUTPUTS = (Output("postgresql.conf", postgresql_conf),
           Output("pg_hba.conf", pg_hba_conf, deploy_mode=0o640, named_by="postgres.hba_file"),
           # postgresql-common's pg_ident.conf is 0640 too
           Output("pg_ident.conf", pg_ident_conf, deploy_mode=0o640,
                  named_by="postgres.ident_file"),
           Output("roles.sql", roles_sql, secret=True, apply=apply_command),
           # postgresql-common runs each cluster as postgresql@<version>-<cluster>.service
           dropin("systemd-postgresql.conf", lambda targets: f"postgresql@{targets.postgres}-main"))
