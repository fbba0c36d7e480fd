"""PostgreSQL: its tuning rules and its throwaway-server harness."""
