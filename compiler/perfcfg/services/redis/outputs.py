"""Redis's files: redis.conf (valkey.conf when the target is Valkey, which reads the same
directives) and users.acl (one ``user`` line per ACL user; mode 0600, and no header: Redis
refuses to start on a comment line in an ACL file)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from perfcfg.core.encoding import EncodeError
from perfcfg.core.plan import Setting
from perfcfg.services.output import Output, RenderContext, reason_comment
from perfcfg.services.redis.encode import acl_line, list_text, redis_value
from perfcfg.services.systemd import dropin

if TYPE_CHECKING:
    from perfcfg.model import Targets
    from perfcfg.services.base import Service
    from perfcfg.services.catalog import Param


def conf_name(targets: Targets) -> str:
    """``valkey.conf`` for a Valkey target, else ``redis.conf``: each package's own name."""
    return "valkey.conf" if targets.valkey else "redis.conf"


def redis_conf(ctx: RenderContext, service: Service) -> bytes:
    out = []
    for setting in ctx.plan.service(service.name):
        param = ctx.param(service, setting.name)
        if param is None:
            ctx.unknown(setting)
            continue
        try:
            out.extend(_lines(param, setting))
        except EncodeError as exc:
            ctx.fail(setting.path, exc)
    return ctx.template("redis.conf", conf_name(ctx.config.targets), settings=out)


def _lines(param: Param, setting: Setting) -> list[dict[str, str]]:
    comment = reason_comment(setting)
    if param.type != "list":
        return [{"text": f"{param.name} {redis_value(param, setting.value)}", "comment": comment}]
    return [{"text": f"{param.name} {text}", "comment": comment if i == 0 else ""}
            for i, text in enumerate(list_text(param, list(setting.value)))]


def users_acl(ctx: RenderContext, service: Service) -> bytes:
    lines, seen = [], set()
    for line in ctx.plan.parts[service.name]:
        name = line.split(" ")[1]
        try:
            if name in seen:  # a duplicate user line stops Redis at startup
                raise EncodeError(f"Redis user {name!r} is declared twice")
            seen.add(name)
            lines.append(acl_line(line))
        except EncodeError as exc:
            ctx.fail(f"redis.users.{name}", exc)
    return ctx.template("users.acl", users=lines)


# Debian's redis.conf (and valkey.conf) is 0640 redis:redis (valkey:valkey).
OUTPUTS = (Output("redis.conf", redis_conf, deploy_mode=0o640, named=conf_name,
                  also=("valkey.conf",)),
           Output("users.acl", users_acl, secret=True, header=False, named_by="redis.aclfile"),
           # Debian's units: redis-server.service, valkey-server.service
           dropin("systemd-redis.conf", lambda targets: f"{flavour(targets)}-server",
                  named=lambda targets: f"systemd-{flavour(targets)}.conf",
                  also=("systemd-valkey.conf",)))


def flavour(targets: Targets) -> str:
    return "valkey" if targets.valkey else "redis"
