"""The cache daemons' server programs: Redis (Debian 12's 7.0 on PATH, 8.0 from
``.ci/install-daemons.sh``) and Valkey (no Debian 12 package: every release from the
install-daemons.sh folders first, the default one also from PATH)."""

from __future__ import annotations

from perfcfg.harness.binaries import Binaries, declare
from perfcfg.services import catalog as catalogs

REDIS_SERVER, VALKEY_SERVER = "redis-server", "valkey-server"
REDIS = declare(Binaries("redis", tuple(catalogs.versions("redis")), "7.0",
                         {REDIS_SERVER: REDIS_SERVER}))
VALKEY = declare(Binaries("valkey", tuple(catalogs.versions("valkey")), "8.1",
                          {VALKEY_SERVER: VALKEY_SERVER}, prefix_first=True))
SPECS = (REDIS, VALKEY)
