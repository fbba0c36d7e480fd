"""Redis (and Valkey, which reads the same directives): its tuning rules and its throwaway-server harness."""
