"""Transitions of care: models."""
