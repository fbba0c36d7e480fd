"""supervisord: its tuning rules, its in-process config parse and its throwaway-daemon harness."""
