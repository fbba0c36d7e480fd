"""The pipeline stages, in the order data flows through them: load → layers → validate → planner → policy → render → write (``pipeline`` runs them)."""
