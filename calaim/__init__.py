"""CalAIM Care: the platform layer (layer 0)."""

# Load the Celery app with Django so that @shared_task binds to it.
from calaim.celery import app as celery_app

__all__ = ("celery_app",)
