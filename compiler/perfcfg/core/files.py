"""The one way perfcfg reads an input file: bounded, regular files only, and confined.

Every file perfcfg opens as input — the project file, presets and what they extend, host
profiles, ``${file:…}`` secrets — is read by :func:`read_bounded`:

- only a **regular file** is read: a FIFO would block forever, a device (``/dev/zero``) never
  ends, ``/proc`` files lie about their size; each is refused with a one-line reason;
- at most ``limit + 1`` bytes are read, so a caller can tell "too large" without holding a
  3 GB file in memory.

:func:`inside` is the confinement rule: ``extends`` and ``${file:…}`` may only name files
inside the project directory, after resolving ``..`` and symbolic links (and, for secrets,
inside the directories the project file lists under ``secrets.dirs``). A preset from a clone
of someone else's repository can then never make perfcfg read ``/etc/shadow`` or the home
directory's keys, nor echo their lines in a diagnostic.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "a.yaml").write_text("x: 1\\n")
>>> read_bounded(d / "a.yaml", 100)
b'x: 1\\n'
>>> inside(d / "a.yaml", [d]), inside(d / ".." / "etc", [d])
(True, False)
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path


class ReadError(Exception):
    """A file that cannot or may not be read; the message is one line for the user."""


def read_bounded(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the regular file ``path``."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ReadError(exc.strerror or str(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ReadError(f"it is {_kind(info.st_mode)}, not a regular file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise ReadError(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)


def inside(path: Path, roots: Iterable[Path]) -> bool:
    """Whether ``path`` (after resolving ``..`` and symbolic links) is inside one of
    ``roots`` (resolved likewise)."""
    real = Path(os.path.realpath(path))
    for root in roots:
        base = Path(os.path.realpath(root))
        if real == base or base in real.parents:
            return True
    return False


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
