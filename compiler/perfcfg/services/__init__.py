"""One package per daemon (postgres, pgbouncer, redis, supervisor) with everything that is about that daemon; the shared catalog and unit machinery."""
