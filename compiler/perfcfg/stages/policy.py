"""Security policy as a pipeline stage: every service's PCF4xx rules, plus PCF401 (plaintext
secrets anywhere in a preset), over the Plan and the Config; then the preset's waivers, for
these and for the cross-service findings (PCF3xx) alike.

Findings become diagnostics at the setting's file:line. A waiver in the preset's ``policy:``
section lowers a finding one severity (error → warning → info) and names itself and its
reason; a waiver that matches nothing is reported (PCF421).

>>> RULES["PCF403"].severity["production"], RULES["PCF403"].severity["development"]
('error', 'warning')
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from typing import Any

from perfcfg.core.config import Config
from perfcfg.core.diagnostics import Diagnostic, Related, Severity
from perfcfg.core.plan import Plan
from perfcfg.core.spans import Span
from perfcfg.services import registry
from perfcfg.services.rules import STRICT, Finding, Rule
from perfcfg.stages.secrets import is_reference

# Daemon parameters that hold a secret end with one of these words (password_encryption and
# ssl_key_file do not); environment variables are matched anywhere in the name.
_SECRET_PARAM = re.compile(r".*(password|passwd|requirepass|masterauth|[-_]pass)$",
                           re.IGNORECASE)
_SECRET_ENV = re.compile(r"password|passwd|secret|token|api_?key|private_?key", re.IGNORECASE)


def _names_a_file(key: str, value: object) -> bool:
    """REDIS_PASSWORD_FILE=/run/secrets/redis says where the secret is, not what it is."""
    return isinstance(value, str) and (value.startswith(("/", "./", "../", "~/"))
                                       or key.upper().endswith(("_FILE", "_PATH", "_DIR")))


def _plaintext_secrets(plan: Plan, config: Config) -> Iterator[Finding]:
    what = "is written in plaintext, not as a ${…} reference"
    for user in config.users:
        if user.password is not None and not is_reference(user.password):
            yield Finding(f"users.{user.name}.password", f"users.{user.name}.password {what}")
    params = [(f"{svc}.{k}", v) for svc, ps in config.services.items() for k, v in ps.items()]
    for svc, own in config.own.items():
        for key, value in own.items():
            if isinstance(value, dict):     # a nested section of parameters
                params += [(f"{svc}.{key}.{k}", v) for k, v in value.items()]
            elif isinstance(value, list):   # records, e.g. Redis ACL users
                for record in value:
                    password = getattr(record, "password", None)
                    if password is not None and not is_reference(password):
                        path = f"{svc}.{key}.{record.name}.password"
                        yield Finding(path, f"{path} {what}")
    for path, value in params:
        if _SECRET_PARAM.match(path.rsplit(".", 1)[-1]) and not is_reference(value):
            yield Finding(path, f"{path} {what}")
    for prog in config.workload.programs:
        for key, value in prog.environment.items():
            if _SECRET_ENV.search(key) and not is_reference(value) and not _names_a_file(
                    key, value):
                path = f"workload.programs.{prog.name}.environment.{key}"
                yield Finding(path, f"{path} looks like a secret and {what}; "
                                    "supervisord.conf would carry it in clear")



_PLAINTEXT = Rule(
    "PCF401", STRICT,
    "a preset lives in git and in every clone, CI log and review; a password there is "
    "public to everyone who can read the repository",
    "write a reference, ${env:NAME} or ${file:path}, resolved only at build time",
    _plaintext_secrets)

RULES: dict[str, Rule] = {r.code: r for r in sorted(
    (_PLAINTEXT, *(rule for s in registry.SERVICES for rule in s.rules)), key=lambda r: r.code)}


def check(plan: Plan, config: Config, cross: Iterable[Diagnostic] = ()) -> list[Diagnostic]:
    """The security rules' diagnostics, and ``cross`` (the cross-service findings), each
    with the preset's waivers applied; a waiver that matched nothing is reported (PCF421)."""
    waivers: dict[str, tuple[int, Any]] = {}
    for i, w in enumerate(config.policy.waivers):
        if f"policy.waivers[{i}]" not in config.broken:    # its mistake is reported already
            waivers.setdefault(w.rule, (i, w))
    used: set[str] = set()
    out: list[Diagnostic] = []
    for rule in RULES.values():
        severity = rule.severity.get(config.kind)
        if severity is None:
            continue
        for finding in rule.check(plan, config):
            waiver = waivers.get(rule.code)
            if waiver is not None:
                used.add(rule.code)
            diag = _diagnostic(rule, severity, finding, config)
            out.append(diag if waiver is None else _waived(diag, config, waiver))
    for diag in cross:
        waiver = waivers.get(diag.code)
        if waiver is not None:
            used.add(diag.code)
            diag = _waived(diag, config, waiver)
        out.append(diag)
    for code, (i, _) in sorted(waivers.items()):
        if code not in used:
            path = f"policy.waivers[{i}].rule"
            out.append(Diagnostic("PCF421", "info", f"waiver for {code} matches nothing in "
                                  f"environment {config.env!r}", config.spans.get(path), path,
                                  "remove it once no environment needs it"))
    return out


_LOWER: dict[str, Severity] = {"error": "warning", "warning": "info", "info": "info"}


def _waived(diag: Diagnostic, config: Config, waiver: tuple[int, object]) -> Diagnostic:
    """A finding a person accepted: one severity lower, the waiver and its reason recorded."""
    i, w = waiver
    path = f"policy.waivers[{i}]"
    reason = getattr(w, "reason", "")
    return dataclasses.replace(
        diag, severity=_LOWER[diag.severity],
        message=f"{diag.message} (waived by {path}: {reason})",
        related=(*diag.related, Related(f"waived here: {reason}",
                                        config.spans.get(f"{path}.rule"), path)))


def _span(config: Config, path: str) -> Span | None:
    """The span of the setting, else of its nearest written parent (e.g. the ``redis:``
    section when ``redis.users`` is missing, or ``supervisor.inet_http_server``)."""
    parts = path.split(".")
    while parts:
        span = config.spans.get(".".join(parts))
        if span is not None:
            return span
        parts.pop()
    return None


def _diagnostic(rule: Rule, severity: Severity, finding: Finding, config: Config
                ) -> Diagnostic:
    return Diagnostic(rule.code, severity, f"{rule.title}: {finding.message}",
                      _span(config, finding.path), finding.path,
                      f"{rule.fix}. Why: {rule.why}")
