"""PostgreSQL's tuning groups: memory, connections, parallelism, planner, WAL and autovacuum."""
