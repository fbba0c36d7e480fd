"""Run the real daemons from generated config text and read back their effective values."""
