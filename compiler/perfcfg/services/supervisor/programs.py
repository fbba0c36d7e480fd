"""supervisord is a Python package: its "binary" is an interpreter that imports it — the
running one for the release the test extra pins (4.3), a virtualenv of
``.ci/install-daemons.sh`` for the others. 4.2 and 4.3 read the same options (one catalog)."""

from __future__ import annotations

from perfcfg.harness.binaries import Binaries, declare

DAEMON = "supervisor"
RELEASES = ("4.2", "4.3")

PROGRAM = "supervisord"
SPEC = declare(Binaries(DAEMON, RELEASES, "4.3", {PROGRAM: "supervisor"},
                        module="supervisor"))
