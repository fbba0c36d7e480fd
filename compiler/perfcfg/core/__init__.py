"""Stage types and the diagnostics machinery every stage shares: spans, diagnostics, codes, located nodes, the Plan, redaction."""
