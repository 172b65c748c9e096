"""Comprehensive assessments

Layer 3, inside the care_plans package, in an app of its own for its own migrations.
"""
