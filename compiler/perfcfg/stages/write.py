"""Writing the generated files: atomic, untouched when unchanged, or compared (--check).

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()) / "out"
>>> [c.status for c in compare(d, {"a.conf": b"x\\n"})]
['missing']
>>> write(d, {"a.conf": b"x\\n"}, frozenset()); [c.status for c in compare(d, {"a.conf": b"x\\n"})]
['a.conf']
['unchanged']
"""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Change:
    name: str
    status: str          # unchanged | changed | missing | extra
    old: bytes | None
    new: bytes | None

    def diff(self, out_dir: Path) -> str:
        if self.status == "unchanged":
            return ""
        old = (self.old or b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = (self.new or b"").decode("utf-8", "replace").splitlines(keepends=True)
        label = f"{out_dir.as_posix()}/{self.name}"
        lines = difflib.unified_diff(old, new, f"a/{label}" if self.old is not None else "/dev/null",
                                     f"b/{label}" if self.new is not None else "/dev/null")
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                       for line in lines)


def compare(out_dir: Path, files: dict[str, bytes]) -> list[Change]:
    changes = []
    for name in sorted(files):
        path = out_dir / name
        old = path.read_bytes() if path.is_file() else None
        status = "missing" if old is None else ("unchanged" if old == files[name] else "changed")
        changes.append(Change(name, status, old, files[name]))
    if out_dir.is_dir():
        for path in sorted(out_dir.iterdir()):
            if path.is_file() and path.name not in files and not path.name.startswith("."):
                changes.append(Change(path.name, "extra", path.read_bytes(), None))
    return changes


def write(out_dir: Path, files: dict[str, bytes], secret_files: frozenset[str]) -> list[str]:
    """Write what changed; every file is replaced atomically, after all are staged."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    try:
        for change in compare(out_dir, files):
            if change.status in ("unchanged", "extra"):
                _fix_mode(out_dir / change.name, change.name in secret_files)
                continue
            staged.append((change.name, _stage(out_dir, change.name, files[change.name],
                                                change.name in secret_files)))
        for name, tmp in staged:
            os.replace(tmp, out_dir / name)
    finally:
        for _, tmp in staged:
            if tmp.exists():
                tmp.unlink()
    return [name for name, _ in staged]


def _stage(out_dir: Path, name: str, data: bytes, secret: bool) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=out_dir)
    try:
        os.fchmod(fd, 0o600 if secret else 0o644)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return Path(tmp)


def _fix_mode(path: Path, secret: bool) -> None:
    if secret and path.is_file() and path.stat().st_mode & 0o077:
        path.chmod(0o600)
