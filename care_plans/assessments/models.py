"""Comprehensive assessments: models."""
