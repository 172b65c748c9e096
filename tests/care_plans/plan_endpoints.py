"""Permission-matrix entries (see tests/matrix.py)."""
