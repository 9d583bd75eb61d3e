"""The human runbook, rendered from the spec and the store, and its acceptance criteria."""
