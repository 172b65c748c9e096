"""Models for calaim.notifications."""
