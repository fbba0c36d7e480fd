"""pgbouncer: its tuning rules and its throwaway-daemon harness."""
