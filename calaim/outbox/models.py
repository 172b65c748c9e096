"""Models for calaim.outbox."""
