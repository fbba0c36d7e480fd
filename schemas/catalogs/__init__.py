"""Package data for perfcfg (shipped inside the wheel)."""
