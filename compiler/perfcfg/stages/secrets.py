"""Secrets by reference: ``${env:NAME}`` and ``${file:path}``, resolved only at build time.

The values never reach a diagnostic, ``explain`` or the input hash; each service hashes what
it writes (its ``secrets.py``), so the password itself is never written.

>>> is_reference("${env:DB_PASSWORD}"), is_reference("plain")
(True, False)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from perfcfg.core.files import ReadError, inside, read_bounded
from perfcfg.core.redact import encoded_forms, remember
from perfcfg.model import SECRET_REF

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


    def _file(self, name: str) -> str:
        path = self.base_dir / name
        if not inside(path, [self.base_dir, *(self.base_dir / d for d in self.dirs)]):
            raise SecretError(f"secret file {name} is outside the project directory; list its "
                              "directory under secrets.dirs in perfcfg.yaml to allow it")
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
