"""Writing the generated files: all or nothing, untouched when unchanged, or compared (--check).

The one path by which perfcfg writes files (``build``, ``schema --out``). Its promises:

- **checked**: every byte is written (short writes are continued, errors raised) and synced
  before anything is renamed into place;
- **all or nothing across the set**: every new file is first complete as a temporary file
  next to its target; only then are they renamed into place, and a failed rename puts back
  the files already replaced, so the directory holds the old set or the new set, never a mix;
  on any failure every temporary file is removed;
- **one build at a time** per output directory (``flock`` on the directory), so concurrent
  builds of one environment cannot interleave their files;
- **faults are the user's to fix, not bugs**: a read-only, immutable or full file system, an
  output path that is a file, ``/dev/null`` or under ``/proc`` raise :class:`WriteError`, whose
  message is one line;
- **bounded reads**: comparing reads only regular files, only when their size says they may be
  equal (or, for a diff, up to :data:`MAX_SHOWN_BYTES`), and never FIFOs, devices or symlinks.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()) / "out"
>>> [c.status for c in compare(d, {"a.conf": b"x\\n"})]
['missing']
>>> write(d, {"a.conf": b"x\\n"}, frozenset()); [c.status for c in compare(d, {"a.conf": b"x\\n"})]
['a.conf']
['unchanged']
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import fcntl
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# An old file bigger than this is not read for a diff (a stray 3 GB file must not cost 3 GB).
MAX_SHOWN_BYTES = 1 << 20
# Files perfcfg could have written: an output directory's other files are not its business
# (`--out .` in the project must not report perfcfg.yaml as an extra file forever).
_OWN_SUFFIXES = (".conf", ".ini", ".txt", ".acl", ".json", ".sql")
_TEMP_SUFFIX = ".perfcfg-tmp"
_OLD_SUFFIX = ".perfcfg-old"
_TEMP = re.compile(r"^\..+\.[A-Za-z0-9_]{8}(" + re.escape(_TEMP_SUFFIX) + "|"
                   + re.escape(_OLD_SUFFIX) + ")?$")
# Pseudo file systems: writing there is never what was meant, and reading them can block.
_REFUSED_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


class WriteError(Exception):
    """A file-system fault while writing the output; the message is one line for the user."""


@dataclass(frozen=True)
class Change:
    name: str
    status: str          # unchanged | changed | missing | extra
    old: bytes | None
    new: bytes | None
    old_size: int = 0    # when ``old`` was not read (too big, or not a regular file)

    def diff(self, out_dir: Path) -> str:
        if self.status == "unchanged":
            return ""
        label = f"{out_dir.as_posix()}/{self.name}"
        if self.old is None and self.status in ("changed", "extra"):
            return (f"--- a/{label}\n+++ b/{label}\n"
                    f"@@ {label}: {self.old_size} bytes, not a regular file or too large to "
                    f"show @@\n")
        old = (self.old or b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = (self.new or b"").decode("utf-8", "replace").splitlines(keepends=True)
        lines = difflib.unified_diff(old, new, f"a/{label}" if self.old is not None else "/dev/null",
                                     f"b/{label}" if self.new is not None else "/dev/null")
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                       for line in lines)


def compare(out_dir: Path, files: dict[str, bytes], for_diff: bool = True) -> list[Change]:
    """What differs between ``out_dir`` and ``files``. ``for_diff=False`` reads an old file only
    when its size equals the new one (all ``write`` needs to know)."""
    _refuse_pseudo(out_dir)
    changes = []
    for name in sorted(files):
        new = files[name]
        info = _lstat(out_dir / name)
        if info is None:
            changes.append(Change(name, "missing", None, new))
            continue
        old = _read_bounded(out_dir / name, info, len(new) if not for_diff else None)
        status = "unchanged" if old == new else "changed"
        changes.append(Change(name, status, old, new, info.st_size))
    for path in _own_extras(out_dir, files):
        info = _lstat(path)
        if info is not None:
            changes.append(Change(path.name, "extra", _read_bounded(path, info, None) if for_diff
                                  else None, None, info.st_size))
    return changes


def write(out_dir: Path, files: dict[str, bytes], secret_files: frozenset[str]) -> list[str]:
    """Write what changed, all or nothing (see the module docstring); the names written."""
    _refuse_pseudo(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise WriteError(f"{out_dir} is not a directory") from None
    except OSError as exc:
        raise _fault(exc, out_dir) from None
    if not out_dir.is_dir():
        raise WriteError(f"{out_dir} is not a directory")
    _refuse_unchangeable(out_dir)
    with _locked(out_dir):
        _remove_stray_temps(out_dir, files)
        try:
            changes = compare(out_dir, files, for_diff=False)
            changed = [c.name for c in changes if c.status in ("changed", "missing")]
            for name in changed:
                _check_target(out_dir / name)
            _replace_all(out_dir, {name: files[name] for name in changed}, secret_files)
            for change in changes:
                if change.status == "unchanged":
                    _fix_mode(out_dir / change.name, change.name in secret_files)
        except OSError as exc:
            raise _fault(exc, out_dir) from None
    return changed


def _replace_all(out_dir: Path, files: dict[str, bytes], secret_files: frozenset[str]) -> None:
    staged: dict[str, Path] = {}
    backups: dict[str, Path | None] = {}    # name → the old file's hard link (None: was absent)
    done: list[str] = []
    try:
        for name, data in files.items():
            staged[name] = _stage(out_dir, name, data, name in secret_files)
        for name in files:
            backups[name] = _backup(out_dir, name)
        for name, tmp in staged.items():
            os.replace(tmp, out_dir / name)
            done.append(name)
        _sync_dir(out_dir)
    except BaseException:
        for name in reversed(done):            # put the old set back
            with contextlib.suppress(OSError):
                old = backups.get(name)
                if old is None:
                    (out_dir / name).unlink()
                else:
                    os.replace(old, out_dir / name)
        raise
    finally:
        left = []
        for path in [*staged.values(), *(b for b in backups.values() if b is not None)]:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError:
                left.append(path.name)
        if left:
            # the true account: the old files are in place, but these could not be removed
            raise WriteError(f"cannot write {out_dir}: the old files are unchanged, but "
                             f"{len(left)} temporary file(s) could not be removed "
                             f"({', '.join(sorted(left)[:3])}{'…' if len(left) > 3 else ''}); "
                             "remove them by hand")


def _stage(out_dir: Path, name: str, data: bytes, secret: bool) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=_TEMP_SUFFIX, dir=out_dir)
    try:
        os.fchmod(fd, 0o600 if secret else 0o644)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            if written <= 0:                   # never seen on Linux, but a loop must end
                raise OSError(errno.EIO, "short write", str(tmp))
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    return Path(tmp)


def _backup(out_dir: Path, name: str) -> Path | None:
    """A hard link to the file about to be replaced, so a failed set can be put back."""
    if _lstat(out_dir / name) is None:
        return None
    for _ in range(100):
        link = out_dir / f".{name}.{os.urandom(6).hex()[:8]}{_OLD_SUFFIX}"
        try:
            os.link(out_dir / name, link)
            return link
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "cannot create a backup link", str(out_dir / name))


# Linux's inode flags (lsattr): FS_IOC_GETFLAGS, FS_IMMUTABLE_FL, FS_APPEND_FL.
_GETFLAGS, _IMMUTABLE, _APPEND = 0x80086601, 0x10, 0x20


def _refuse_unchangeable(out_dir: Path) -> None:
    """An append-only (``chattr +a``) or immutable directory takes new files but lets none be
    replaced or removed: refused before one temporary file is made there, so nothing is."""
    try:
        fd = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        buf = bytearray(8)
        fcntl.ioctl(fd, _GETFLAGS, buf, True)
        flags = int.from_bytes(buf[:4], "little")
    except OSError:             # a file system without inode flags (tmpfs, NFS…)
        return
    finally:
        os.close(fd)
    for flag, word, undo in ((_APPEND, "append-only", "chattr -a"),
                             (_IMMUTABLE, "immutable", "chattr -i")):
        if flags & flag:
            raise WriteError(f"cannot write {out_dir}: it is {word}, so no file in it can be "
                             f"replaced or removed; nothing was changed ({undo} {out_dir} "
                             "lifts it)")


def _check_target(path: Path) -> None:
    """A target that ``os.replace`` cannot replace is refused before anything is renamed."""
    info = _lstat(path)
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise WriteError(f"{path} is a directory; remove it or choose another --out")


def _sync_dir(out_dir: Path) -> None:
    fd = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:            # some file systems cannot sync a directory
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the directory itself (no lock file is left behind)."""
    try:
        fd = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise _fault(exc, out_dir) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _remove_stray_temps(out_dir: Path, files: dict[str, bytes]) -> None:
    """Temporary files an interrupted build left (only under the lock: never another's)."""
    try:
        names = os.listdir(out_dir)
    except OSError as exc:
        raise _fault(exc, out_dir) from None
    for name in names:
        if _TEMP.match(name) and any(name.startswith(f".{own}.") for own in files):
            with contextlib.suppress(OSError):
                os.unlink(out_dir / name)


def _own_extras(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    try:
        names = sorted(os.listdir(out_dir))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise _fault(exc, out_dir) from None
    from perfcfg.services.registry import file_names

    # and the names perfcfg writes whatever their suffix (an exporter's /etc/default file,
    # prometheus.yml), e.g. left over from a build with monitoring on
    own = set(file_names())
    return [out_dir / name for name in names
            if name not in files and not name.startswith(".")
            and (name.endswith(_OWN_SUFFIXES) or name in own) and _is_regular(out_dir / name)]


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _is_regular(path: Path) -> bool:
    info = _lstat(path)
    return info is not None and stat.S_ISREG(info.st_mode)


def _read_bounded(path: Path, info: os.stat_result, expected: int | None) -> bytes | None:
    """The file's bytes when it is a regular file worth reading, else None (differs)."""
    if not stat.S_ISREG(info.st_mode):
        return None
    limit = MAX_SHOWN_BYTES if expected is None else expected
    if info.st_size > max(limit, 0) or (expected is not None and info.st_size != expected):
        return None
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        return os.read(fd, limit + 1)
    finally:
        os.close(fd)


def _refuse_pseudo(out_dir: Path) -> None:
    real = Path(os.path.realpath(out_dir))
    if any(real == root or root in real.parents for root in _REFUSED_ROOTS):
        raise WriteError(f"{out_dir} is not a place for generated files (it is under "
                         f"{next(r for r in _REFUSED_ROOTS if r == real or r in real.parents)})")
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISDIR(os.stat(out_dir).st_mode):
            raise WriteError(f"{out_dir} is not a directory")


def _fault(exc: OSError, out_dir: Path) -> WriteError:
    where = exc.filename or out_dir
    text = exc.strerror or str(exc)
    advice = {errno.ENOSPC: "free some space", errno.EDQUOT: "free some space",
              errno.EROFS: "the file system is read-only",
              errno.EPERM: "the directory may be immutable (lsattr)",
              errno.EACCES: "check the directory's permissions"}.get(exc.errno or 0)
    return WriteError(f"cannot write {where}: {text}" + (f" ({advice})" if advice else "")
                      + "; nothing was changed")


def _fix_mode(path: Path, secret: bool) -> None:
    if secret and path.is_file() and path.stat().st_mode & 0o077:
        path.chmod(0o600)


def prune(out_dir: Path, previous: list[str], files: dict[str, bytes]) -> list[str]:
    """Remove the files a previous build wrote (``previous``: its manifest's names) that this
    build no longer produces; never any other file."""
    removed = []
    for name in sorted(set(previous) - set(files)):
        path = out_dir / name
        if "/" in name or name.startswith(".") or not _is_regular(path):
            continue
        try:
            path.unlink()
        except OSError as exc:
            raise _fault(exc, out_dir) from None
        removed.append(name)
    return removed
