"""CalAIM Care: the platform layer (layer 0)."""
