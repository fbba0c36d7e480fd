"""perfcfg: a configuration compiler for PostgreSQL, pgbouncer, Redis and supervisord.

The pipeline (one module per stage) is::

    yamlload → resolve → model → tune → checks → render → artifacts

Each stage returns data and diagnostics; only :mod:`perfcfg.cli.main` prints.
"""

__version__ = "0.1.0"
