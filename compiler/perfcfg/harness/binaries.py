"""Where the programs of each daemon version live, and which are missing here.

Each service declares its daemon's programs once (a :class:`Binaries` passed to
:func:`declare`, in its own package); this module only knows the install layout they share.
The version a system package provides (``default``) is found where the package puts it; the
others are installed by ``.ci/install-daemons.sh``, one folder per daemon-version under
``/opt/perfcfg-daemons`` (``$PERFCFG_DAEMONS_DIR``), e.g. ``postgresql-17/bin/postgres``, with a
``VERSION`` file saying which build it is. ``$PERFCFG_<DAEMON>_<VERSION>_BINDIR`` (dots as
underscores, e.g. ``PERFCFG_POSTGRESQL_17_BINDIR=/usr/lib/postgresql/17/bin``) points one
daemon-version at binaries of your own. A daemon that is a Python package (``module``) has an
interpreter that imports it as its "binary".

>>> spec = Binaries("exampled", ("1.0", "2.0"), "1.0", {"exampled": "/nonexistent/exampled"})
>>> bindir_variable("exampled", "2.0")
'PERFCFG_EXAMPLED_2_0_BINDIR'
>>> folder("/opt/perfcfg-daemons", "exampled", "2.0")
'/opt/perfcfg-daemons/exampled-2.0'
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_PREFIX = "/opt/perfcfg-daemons"


@dataclass(frozen=True)
class Binaries:
    """One daemon's programs: its supported versions, the one the system packages provide,
    and where that one keeps each program."""

    daemon: str
    versions: tuple[str, ...]                  # every supported version, oldest first
    default: str                               # the version found without install-daemons.sh
    programs: Mapping[str, str]                # program → the default version's absolute path,
                                               # or a name looked up on PATH
    # programs of other daemons it needs to start too (each in that daemon's default version)
    needs: tuple[str, ...] = ()
    # further places of another version's programs, e.g. "/usr/lib/postgresql/{version}/bin"
    system_dirs: tuple[str, ...] = ()
    # programs always taken from the default version (a client that talks to every version)
    shared: frozenset[str] = frozenset()
    # the default version is looked for in the install-daemons.sh folder first (a daemon the
    # system packages do not have)
    prefix_first: bool = False
    # a Python package: the "program" is an interpreter that imports this module
    module: str | None = None
    label: str = field(default="", compare=False)   # how errors name it; default: the daemon

    def __post_init__(self) -> None:
        if self.default not in self.versions:
            raise ValueError(f"{self.daemon}: default version {self.default} is not one of "
                             f"{', '.join(self.versions)}")


# Filled by declare(): daemon → its spec, program → its daemon's spec, and the default
# version's program locations (tests point one at a missing file to simulate its absence).
DAEMONS: dict[str, Binaries] = {}
PROGRAMS: dict[str, Binaries] = {}
BINARIES: dict[str, str] = {}


def declare(spec: Binaries) -> Binaries:
    """Make ``spec``'s programs findable by name; a service calls this once for its daemon."""
    known = DAEMONS.get(spec.daemon)
    if known is not None and known != spec:
        raise ValueError(f"two different program lists declared for {spec.daemon}")
    DAEMONS[spec.daemon] = spec
    for name, where in spec.programs.items():
        other = PROGRAMS.get(name)
        if other is not None and other.daemon != spec.daemon:
            raise ValueError(f"program {name} is declared by {other.daemon} and {spec.daemon}")
        PROGRAMS[name] = spec
        BINARIES.setdefault(name, where)
    return spec


def versions(daemon: str) -> tuple[str, ...]:
    return _spec(daemon).versions


def default_version(daemon: str) -> str:
    return _spec(daemon).default


def _spec(daemon: str) -> Binaries:
    try:
        return DAEMONS[daemon]
    except KeyError:
        raise ValueError(f"no programs are declared for {daemon!r} "
                         f"(declared: {', '.join(sorted(DAEMONS)) or 'none'})") from None


def bindir_variable(daemon: str, version: str) -> str:
    """The environment variable that points ``daemon`` ``version`` at a bin directory."""
    return f"PERFCFG_{daemon.upper()}_{version.replace('.', '_')}_BINDIR"


def folder(prefix: str, daemon: str, version: str) -> str:
    """The install-daemons.sh folder of one daemon-version."""
    return f"{prefix}/{daemon}-{version}"


def prefix(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get("PERFCFG_DAEMONS_DIR") or DEFAULT_PREFIX


def _version_of(name: str, version: str | None) -> tuple[Binaries, str]:
    spec = PROGRAMS.get(name)
    if spec is None:
        raise ValueError(f"no daemon declares a program called {name!r}")
    if version is None or name in spec.shared:
        return spec, spec.default
    # A version with no catalog yet is looked for like the others: reading its catalog off its
    # binary is how a version becomes supported (scripts/gen_catalogs.py).
    return spec, version


def _executable(path: str) -> str | None:
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def _on_path(target: str) -> str | None:
    return shutil.which(target) or next(
        (p for p in (f"/usr/sbin/{target}", f"/usr/bin/{target}") if os.access(p, os.X_OK)), None)


def _located(target: str) -> str | None:
    return _executable(target) if os.path.isabs(target) else _on_path(target)


def _python(spec: Binaries, name: str, version: str, environ: Mapping[str, str]) -> str | None:
    """An interpreter that runs ``-m <module>`` of ``version``."""
    own = environ.get(bindir_variable(spec.daemon, version))
    if own:   # the user's own binaries, and nothing else (as for every other daemon)
        return _executable(f"{own}/python")
    if version == spec.default and spec.module is not None:
        if importlib.util.find_spec(BINARIES[name]) is None:
            return None
        try:
            installed = importlib.metadata.version(spec.module)
        except importlib.metadata.PackageNotFoundError:
            installed = version   # a source checkout on sys.path: trust the default
        if installed.split(".")[:2] == version.split("."):
            return sys.executable
    return _executable(f"{folder(prefix(environ), spec.daemon, version)}/bin/python")


def binary(name: str, version: str | None = None,
           environ: Mapping[str, str] = os.environ) -> str | None:
    """Absolute path of program ``name`` of its daemon's ``version`` (None: the default).

    For a daemon that is a Python package the path is an interpreter that has it. None when
    that version is not installed here.
    """
    spec, v = _version_of(name, version)
    if spec.module is not None:
        return _python(spec, name, v, environ)
    own = environ.get(bindir_variable(spec.daemon, v))
    if own:
        return _executable(f"{own}/{name}")
    in_prefix = f"{folder(prefix(environ), spec.daemon, v)}/bin/{name}"
    if v == spec.default and not spec.prefix_first:
        return _located(BINARIES[name])
    found = _executable(in_prefix)
    for pattern in spec.system_dirs:
        found = found or _executable(f"{pattern.format(version=v)}/{name}")
    if found is None and v == spec.default:
        found = _located(BINARIES[name])
    return found


def which(name: str, version: str | None = None) -> str | None:
    """Absolute path of a binary, or None if missing (``binary`` with this environment)."""
    return binary(name, version)


def missing(daemon: str, version: str | None = None) -> list[str]:
    """The programs ``daemon`` needs but lacks in ``version`` (None: the default version):
    its own, and those of other daemons it needs (in their default versions)."""
    spec = _spec(daemon)
    lacking = []
    for name in (*spec.programs, *spec.needs):
        own = version if PROGRAMS.get(name) is spec else None
        if binary(name, own) is None:
            lacking.append(name if own is None else f"{name} {own}")
    return lacking


def installed(daemon: str) -> list[str]:
    """The supported versions of ``daemon`` whose programs are all present, oldest first."""
    return [v for v in versions(daemon) if not missing(daemon, v)]


def build_info(daemon: str, version: str | None = None,
               environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The ``VERSION`` facts of an install-daemons.sh folder (daemon, version, release, build,
    source), or ``{}`` for a system or ``$…_BINDIR`` binary."""
    v = version or default_version(daemon)
    if environ.get(bindir_variable(daemon, v)):
        return {}
    path = f"{folder(prefix(environ), daemon, v)}/VERSION"
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return {}
    return dict(line.split("=", 1) for line in lines if "=" in line)


def require(name: str, version: str | None = None) -> str:
    from perfcfg.harness.errors import DaemonError

    path = binary(name, version)
    if path is None:
        what = BINARIES[name] if version is None else f"{name} {version}"
        raise DaemonError(name, f"{what} is not installed (run .ci/install.sh)")
    return path
