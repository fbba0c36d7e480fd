"""Redis/Valkey Sentinel: watches a replicated cache group and fails its master over; its lab handle."""
