"""Send validation, idempotency, messages and their lifecycle events."""
