"""Who may call an endpoint: token scopes for machines, roles for people."""

from django.conf import settings
from oauth2_provider.contrib.rest_framework import TokenHasScope
from rest_framework import exceptions

from calaim.api.oauth import is_access_token, token_scopes


class RequiresScope(TokenHasScope):
    """Permission: an OAuth2 caller's token must hold every one of `scopes`; a
    signed-in person passes on their role instead (`roles`, any of) or model
    permissions (`permissions`, all of), or, given neither, on being signed in.

    Use an instance in `permission_classes` (it returns itself when DRF
    instantiates it):

        permission_classes = [RequiresScope("members:read")]
        permission_classes = [RequiresScope("ecm:write", roles=[CARE_MANAGER])]

    Which records a caller sees is still decided by the access functions; this
    only says whether the call is open to them at all. It subclasses the
    toolkit's TokenHasScope so the OpenAPI schema lists the scopes per operation.
    """

    def __init__(self, *scopes: str, roles=(), permissions=()):
        unknown = set(scopes) - set(settings.OAUTH2_PROVIDER["SCOPES"])
        if not scopes or unknown:
            raise ValueError(f"RequiresScope needs known scopes, not {sorted(unknown)}")
        self.scopes = tuple(scopes)
        self.roles = tuple(roles)
        self.permissions = tuple(permissions)

    def __call__(self):
        return self

    def get_scopes(self, request, view):
        return list(self.scopes)

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False  # DRF answers 401
        if is_access_token(request.auth):
            missing = [s for s in self.scopes if s not in token_scopes(request.auth)]
            if missing:
                raise exceptions.PermissionDenied(
                    f"This call needs the scope {' '.join(missing)}.",
                    code="insufficient_scope",
                )
            return True
        if user.is_service_account:
            return False  # a machine without a token: never through a session
        if self.roles and not user.has_role(*self.roles):
            raise exceptions.PermissionDenied(
                "Your role does not allow this call.", code="role_not_allowed"
            )
        if self.permissions and not user.has_perms(self.permissions):
            raise exceptions.PermissionDenied(
                "Your role does not allow this call.", code="role_not_allowed"
            )
        return True
