"""The model authentication backend, loading a session's user with their
organization: every page's header shows the organization's name, and the
access rules and panels read `organization_id` and the organization's kind, so
the join saves a query on each request without reading anything more often.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class OrganizationModelBackend(ModelBackend):
    """django.contrib.auth's ModelBackend, but `get_user` joins the organization."""

    def get_user(self, user_id):
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("organization").get(
                pk=user_id
            )
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
