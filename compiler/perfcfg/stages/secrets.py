"""Secrets by reference: ``${env:NAME}`` and ``${file:path}``, resolved only at build time.

The values never reach a diagnostic, ``explain`` or the input hash; each service hashes what
it writes (its ``secrets.py``), so the password itself is never written.

>>> is_reference("${env:DB_PASSWORD}"), is_reference("plain")
(True, False)
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfcfg.core.files import ReadError, inside, read_bounded
from perfcfg.core.redact import encoded_forms, remember
from perfcfg.model import SECRET_REF

if TYPE_CHECKING:
    from perfcfg.core.diagnostics import Diagnostic

_PLACEHOLDER = "or build with --secrets placeholder for snapshot builds"


class SecretError(Exception):
    """A reference that cannot be resolved; ``hint`` says how to make it resolvable."""

    def __init__(self, message: str, hint: str = f"set the variable or file at build time, "
                                                 f"{_PLACEHOLDER}"):
        super().__init__(message)
        self.hint = hint


def shown_path(path: Path) -> str:
    """``path`` as a person types it from where perfcfg runs: relative when that is short."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith(os.pardir + os.sep + os.pardir) else str(path)


# A secret file holds one password or key, never more than this.
MAX_SECRET_BYTES = 64 * 1024


@dataclass(frozen=True)
class SecretResolver:
    """``${file:…}`` reads only regular files inside ``base_dir`` (the project) or one of
    ``dirs`` (the project file's ``secrets.dirs``), after resolving ``..`` and symbolic
    links, through the bounded reader, and only UTF-8 text."""

    mode: str                       # "resolve" | "placeholder"
    environ: Mapping[str, str]
    base_dir: Path
    dirs: tuple[Path, ...] = ()

    def resolve(self, ref: str) -> str:
        m = SECRET_REF.match(ref)
        if not m:
            return ref
        kind, name = m.group(1), m.group(2)
        # What a reference can be refused for without its secret: checked in every mode, so
        # validate (placeholders) refuses what build would.
        self.static(kind, name)
        if self.mode == "placeholder":
            return "placeholder-" + hashlib.sha256(ref.encode()).hexdigest()[:16]
        if kind == "env":
            if name not in self.environ:
                raise SecretError(f"environment variable {name} is not set",
                                  f"export {name}=… for the build, {_PLACEHOLDER}")
            value = self.environ[name]
        else:
            value = self._file(name)
        if not value:
            raise SecretError(f"secret {ref} is empty")
        remember(value)   # from here on, nothing the command line prints may show it
        return value


    def static(self, kind: str, name: str) -> None:
        """A reference that no environment or file could satisfy: a variable name no shell
        can set (``A B``), a file outside the project and ``secrets.dirs``, or a path that is
        there but is no regular file (a directory, a FIFO)."""
        if kind == "env":
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise SecretError(f"{name!r} is not an environment variable name",
                                  "name a variable of letters, digits and _, not starting "
                                  "with a digit")
            return
        path = self.base_dir / name
        if not inside(path, [self.base_dir, *(self.base_dir / d for d in self.dirs)]):
            raise SecretError(f"secret file {name} is outside the project directory; list its "
                              "directory under secrets.dirs in perfcfg.yaml to allow it")
        try:
            info = os.stat(path)
        except OSError:
            return      # not there yet: a build with the secrets in place will read it
        if not stat.S_ISREG(info.st_mode):
            where = shown_path(path)
            raise SecretError(f"secret file {name} ({where}) is not a regular file",
                              "a secret file holds the secret itself: name the file, not a "
                              "directory, FIFO or device")

    def _file(self, name: str) -> str:
        path = self.base_dir / name
        try:
            data = read_bounded(path, MAX_SECRET_BYTES)
        except ReadError as exc:
            where = shown_path(path)
            raise SecretError(
                f"cannot read secret file {name} ({where}): {exc}",
                f"write the secret to {where} (a ${{file:…}} path is read from the project "
                f"directory), {_PLACEHOLDER}") from None
        if len(data) > MAX_SECRET_BYTES:
            raise SecretError(f"secret file {name} is larger than "
                              f"{MAX_SECRET_BYTES // 1024} KiB")
        try:
            return data.decode("utf-8").rstrip("\n")
        except UnicodeDecodeError:
            raise SecretError(f"secret file {name} is not UTF-8 text") from None


def is_reference(value: object) -> bool:
    return isinstance(value, str) and SECRET_REF.match(value) is not None


# Shorter secrets are not looked for in the generated files: they would match by chance.
LEAK_MIN_LENGTH = 8

def leaked_into(files: Mapping[str, bytes], secrets: list[str]) -> list[str]:
    """Names of the files that contain one of ``secrets`` in clear, as written or in any form
    an encoder may have escaped it to (a last line of defence: every secret should reach the
    files hashed).

    >>> leaked_into({"a.conf": b"requirepass hunter2-long"}, ["hunter2-long"])
    ['a.conf']
    >>> leaked_into({"r.conf": b'masterauth "hunter\\\\"2-long"'}, ['hunter"2-long'])
    ['r.conf']
    """
    values = [form.encode() for s in secrets if len(s) >= LEAK_MIN_LENGTH
              for form in encoded_forms(s)]
    return sorted(name for name, data in files.items() if any(v in data for v in values))


# -- where a secret may go --------------------------------------------------------------------

# A file that holds a secret in clear may be read by its owner and its group at most.
WORLD = 0o007


@dataclass(frozen=True)
class Placed:
    """Where the build's secrets went: the files that hold one in clear (written 0600 here,
    never world-readable on the host), with the values each may hold, and the diagnostics of
    those that may not go where they were put."""

    clear: dict[str, set[str]]
    diagnostics: list[Diagnostic]


def is_tainted(path: str, value: object, literal_secret: bool) -> bool:
    """A setting's value is a secret when it came from a reference, or when its key says it
    holds one (``masterauth``, an HTTP server's ``password``) even if written literally."""
    return is_reference(value) or (literal_secret and isinstance(value, str) and bool(value))


def slot_rules(services: Iterable[Any]) -> str:
    """Every secret slot the services declare, for a diagnostic's hint."""
    slots = [(f"{s.name}.{name}", how == "hashed") for s in services
             for name, (_file, how) in sorted(s.secret_slots.items())]
    clear = ", ".join(n for n, hashed in slots if not hashed)
    hashed = ", ".join(n for n, hashed in slots if hashed)
    return (f"a secret goes only to a password (hashed: users, redis.users, {hashed}) or, in "
            f"clear, to {clear}, in a file kept 0600 or 0640")


def place(config: Any, settings: dict[str, Any], resolve: Callable[[str, Any], str | None],
          services: Iterable[Any], leaked: list[str]) -> Placed:
    """Resolve every secret among the Plan's settings and put it where its service allows:
    hashed in a hashed slot (``Service.hash_secret``), in clear in a clear slot whose file the
    manifest keeps 0600 or 0640 (never world-readable), and nowhere else, whatever its
    length. ``resolve(path, ref)`` gives a reference's value (None: reported); ``leaked`` gets
    every literal secret too (the last scan looks for them all in every file)."""
    from dataclasses import replace

    from perfcfg.core.diagnostics import Diagnostic
    from perfcfg.core.redact import is_secret_key

    services = tuple(services)
    by_name = {s.name: s for s in services}
    clear: dict[str, set[str]] = {}
    diags: list[Diagnostic] = []
    for path, setting in list(settings.items()):
        name, _, rel = path.partition(".")
        service = by_name.get(name)
        if service is None or not is_tainted(path, setting.value, is_secret_key(path)):
            continue
        where = config.spans.get(path)
        value = setting.value
        if is_reference(value):
            value = resolve(path, value)
            if value is None:
                continue
        else:
            remember(value)     # a literal secret is no more printable than a resolved one
            leaked.append(value)
        slot = service.secret_slots.get(rel)
        if slot is None:
            diags.append(Diagnostic(
                "PCF211", "error", f"{path} holds a secret, and {service.title} has no place "
                "for one there: it would be written in clear", where, path,
                slot_rules(services)))
            continue
        output_name, how = slot
        output = next(o for o in service.outputs if o.name == output_name)
        if how == "hashed":
            assert service.hash_secret is not None
            value = service.hash_secret(path, value)
        else:
            file = output.file(config.targets)
            mode = _deployed_mode(config, output, file)
            if mode & WORLD:
                diags.append(Diagnostic(
                    "PCF211", "error", f"{path} holds a secret, written in clear into {file}, "
                    f"which the manifest deploys {mode:04o}: everyone on the host could read "
                    "it", where, path, f"keep {file} 0600 or 0640 (perfcfg.yaml's "
                    f"deploy.files.{file}.mode), or {slot_rules(services)}"))
                continue
            clear.setdefault(file, set()).add(value)
        settings[path] = replace(setting, value=value, reason="secret reference")
    return Placed(clear, diags)


def _deployed_mode(config: Any, output: Any, file: str) -> int:
    own = getattr(config, "deploy", {}).get(file)
    if own is not None and getattr(own, "mode", None):
        return int(own.mode, 8)
    mode: int = output.deploy_mode if output.deploy_mode is not None else output.mode
    return mode
