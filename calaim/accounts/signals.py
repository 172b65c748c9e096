"""Account signal handlers (none yet beyond the role sync in apps.py)."""
