"""``perfcfg init``: the files of a new project that validates and builds at once.

>>> files = scaffold("shop", ["development"], "web", "memory: 1GiB\\n")
>>> sorted(files)
['.gitignore', '.pre-commit-config.yaml', 'hosts/this-machine.yaml', 'perfcfg.yaml', 'presets/base.yaml', 'presets/development.yaml']
>>> env_prefix("my-shop")
'MY_SHOP'
"""

from __future__ import annotations

import re

KINDS = ("development", "staging", "production")
HOST_FILE = "hosts/this-machine.yaml"


def env_prefix(name: str) -> str:
    """The prefix of the project's secret variables: ``my-shop`` → ``MY_SHOP``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper() or "APP"


def os_user(name: str) -> str:
    """The OS user the workers run as: the project's name as a system user name.

    >>> os_user("bot_shop"), os_user("9lives")
    ('bot_shop', 'app9lives')
    """
    user = re.sub(r"[^a-z0-9_-]+", "_", name.lower())[:32]
    return user if re.match(r"[a-z_]", user) else f"app{user}"[:32]


def identifier(name: str) -> str:
    """A database, role and program name made of the project's name."""
    return re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "app"


def scaffold(name: str, envs: list[str], db_profile: str, host_yaml: str,
             project_in_repo: str = "") -> dict[str, str]:
    """Every file of the new project, by path relative to it. ``project_in_repo`` is the
    project's folder relative to the enclosing git repository ("" when it is the root)."""
    db, prefix = identifier(name), env_prefix(name)
    files = {
        "perfcfg.yaml": _project(name, envs),
        "presets/base.yaml": _base(db, prefix, db_profile),
        HOST_FILE: host_yaml,
        ".pre-commit-config.yaml": _pre_commit(project_in_repo),
        ".gitignore": _GITIGNORE,
    }
    for env in envs:
        kind = env if env in KINDS else "production"
        files[f"presets/{env}.yaml"] = (
            f"# The {env} environment: perfcfg's built-in {kind} preset, then what every "
            f"environment shares.\nextends: [builtin:{kind}, base.yaml]\n")
    return files


def _project(name: str, envs: list[str]) -> str:
    lines = [f"project: {name}",
             "output: generated/{env}          # relative to this file",
             "# Passwords are references (${env:VAR} or ${file:path}), resolved only by a build",
             "# that asks for them: placeholder builds (the default here) need none, so the",
             "# generated files can be committed and checked; a deploy job builds with",
             "# --secrets resolve and the variables set.",
             "secrets:",
             "  mode: placeholder",
             "environments:"]
    for env in envs:
        lines += [f"  {env}:",
                  f"    preset: presets/{env}.yaml",
                  f"    host: {HOST_FILE}     # this machine; give each environment its own"]
    return "\n".join(lines) + "\n"


def _base(db: str, prefix: str, db_profile: str) -> str:
    user = os_user(db)
    return f"""\
# What every environment shares: the database, its roles and the worker programs.
databases:
  - name: {db}
    user: {db}

users:
  - name: {db}
    password: ${{env:{prefix}_DB_PASSWORD}}

# Redis ACL users (users.acl holds their SHA-256; Redis's default user is then off).
redis:
  users:
    - name: {db}
      password: ${{env:{prefix}_REDIS_PASSWORD}}
      keys: ["{db}:*"]
      commands: [-@all, +@read, +@write, +@keyspace, +@connection, -@dangerous]

workload:
  db_profile: {db_profile}
  programs:
    - name: worker
      command: python -m {db}.worker
      processes: 2
      db_connections: 1
      redis_connections: 1
      memory: 100MiB
      run_as: {user}               # an unprivileged user; create it on the host
"""


def _pre_commit(project_in_repo: str) -> str:
    args = f"\n        args: [--project, {project_in_repo}]" if project_in_repo else ""
    hooks = []
    for command, files in (("validate", r"(^|/)(perfcfg\.yaml|(presets|hosts)/.+\.ya?ml)$"),
                           ("check", r"(^|/)(perfcfg\.yaml|(presets|hosts)/.+\.ya?ml|"
                                     r"generated/.+)$")):
        hooks.append(f"""\
      - id: perfcfg-{command}
        name: perfcfg {command}
        entry: perfcfg {command}{args}
        language: system           # the perfcfg on PATH where git runs (the venv's)
        pass_filenames: false
        require_serial: true
        files: '{files}'""")
    return ("# pre-commit hooks (https://pre-commit.com): pre-commit install\n"
            "repos:\n  - repo: local\n    hooks:\n" + "\n".join(hooks) + "\n")


_GITIGNORE = """\
# Secrets never go in git: perfcfg reads them from the environment (${env:VAR}) or from
# files (${file:secrets/name}) at build time. Keep such files here, outside version control.
secrets/
*.password
"""
