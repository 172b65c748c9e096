"""Models for calaim.work."""
