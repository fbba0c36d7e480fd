"""A daemon whose free port is taken before it binds starts on the next one
(``procs.start_on_free_port``, shared by the harnesses of PostgreSQL, Redis, the exporters and
Prometheus)."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable, Iterator

import pytest
from conftest import require_daemon

from perfcfg.harness import procs

pytestmark = pytest.mark.daemons


@pytest.fixture
def taken_first(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """free_port() hands out a port some other socket is listening on, once; the ports handed
    out are recorded."""
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    real: Callable[[], int] = procs.free_port
    given: list[int] = []

    def free_port() -> int:
        given.append(squatter.getsockname()[1] if not given else real())
        return given[-1]

    monkeypatch.setattr(procs, "free_port", free_port)
    try:
        yield given
    finally:
        squatter.close()


def test_redis_starts_on_the_next_port(taken_first: list[int]) -> None:
    require_daemon("redis")
    from perfcfg.services.redis.daemon import RedisServer

    with RedisServer("save \"\"\n") as server:
        assert len(taken_first) == 2 and server.port == taken_first[1]
        assert server.client().ping()


def test_postgres_starts_on_the_next_port(taken_first: list[int]) -> None:
    require_daemon("postgresql")
    from perfcfg.services.postgres.daemon import PostgresServer

    with PostgresServer("max_connections = 20\n") as server:
        assert len(taken_first) == 2 and server.port == taken_first[1]
        with server.connect() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


def test_prometheus_starts_on_the_next_port(taken_first: list[int]) -> None:
    if shutil.which("prometheus") is None:     # Debian's prometheus package, as promtool
        message = "prometheus not installed (run .ci/install.sh)"
        if os.environ.get("PERFCFG_REQUIRE_DAEMONS") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from perfcfg.monitoring.prometheus import Prometheus

    with Prometheus("global:\n  scrape_interval: 15s\n") as server:
        assert len(taken_first) == 2 and server.port == taken_first[1]
        assert server.targets() == []
