"""Member pages and endpoints in the permission matrix (the members issue adds them)."""
