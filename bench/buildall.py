"""Build every environment of a project in one process, the way ``perfcfg build`` builds one.

Run as a child (``python -m bench.buildall PROJECT``) so its wall time and peak memory are its
own. Exit code: 0 when every environment built, 1 otherwise.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from perfcfg.cli import commands
from perfcfg.stages import pipeline, project


def build_all(root: Path) -> int:
    proj, _ = project.load_project(root, pipeline.Sources())
    if proj is None:
        return 1
    sink = commands.Io(io.StringIO(), io.StringIO())
    codes = [commands.build(sink, pipeline.Request(root, env), None, False, "text")
             for env in sorted(proj.file.environments)]
    if any(codes):
        sys.stderr.write(sink.err.getvalue()[-4000:])
    return 1 if any(codes) else 0


if __name__ == "__main__":
    sys.exit(build_all(Path(sys.argv[1])))
