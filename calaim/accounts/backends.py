"""The sign-in backend: Django's ModelBackend, except that the signed-in user of
a session is loaded with what every page reads about them, in one query.

Every page reads the user (AuthenticationMiddleware), their organization (the
page header, the access rules), their roles (the shell, the navigation, the
access rules) and their permissions (the navigation). Read one at a time that
was five queries before the page's own; `get_user` reads them together, with the
query built and compiled once per process (calaim.prepared), and leaves them
where the readers look: `user.organization`, `User.role_names` and
ModelBackend's own permission caches. A user loaded any other way (an API
token's, a service's actor) still reads them lazily, as before.

Permissions are what ModelBackend would load for an active user who is not a
superuser (a superuser's `has_perm` never asks, and `get_all_permissions` loads
every permission the usual way).
"""

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef, Value
from django.db.models.functions import Concat

from calaim.prepared import prepared_list

# The path sessions signed in before this backend existed still carry
# (calaim.accounts.middleware moves them over).
DJANGO_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
USER_BACKEND = "calaim.accounts.backends.UserBackend"


def _permission_names(permissions):
    """Each permission as "app_label.codename", the way ModelBackend spells it."""
    return permissions.order_by().values(
        dotted_name=Concat("content_type__app_label", Value("."), "codename")
    )


def _session_user_query(user_id):
    return (
        get_user_model()
        ._default_manager.filter(pk=user_id)
        .order_by()
        .select_related("organization")
        .annotate(
            loaded_role_names=ArraySubquery(
                Group.objects.filter(user=OuterRef("pk")).order_by().values("name")
            ),
            loaded_user_permissions=ArraySubquery(
                _permission_names(Permission.objects.filter(user=OuterRef("pk")))
            ),
            loaded_group_permissions=ArraySubquery(
                _permission_names(Permission.objects.filter(group__user=OuterRef("pk")))
            ),
        )
    )


class UserBackend(ModelBackend):
    def get_user(self, user_id):
        """The session's user, their organization, roles and permissions.

        One query instead of five: see the module docstring.
        """
        user_id = get_user_model()._meta.pk.to_python(user_id)
        rows = prepared_list("accounts.session_user", _session_user_query, user_id)
        if not rows:
            return None
        user = rows[0]
        role_names = user.__dict__.pop("loaded_role_names")
        user_permissions = user.__dict__.pop("loaded_user_permissions")
        group_permissions = user.__dict__.pop("loaded_group_permissions")
        user._role_names = frozenset(role_names)  # User.role_names's cache
        if not user.is_superuser:
            # ModelBackend._get_permissions's caches, filled as it would fill them.
            user._user_perm_cache = set(user_permissions)
            user._group_perm_cache = set(group_permissions)
        return user if self.user_can_authenticate(user) else None

    async def aget_user(self, user_id):
        return await sync_to_async(self.get_user)(user_id)
