"""Django's AuthenticationMiddleware, keeping sessions signed in before the
switch to calaim.accounts.backends.UserBackend.

Django loads a session's user with the backend whose dotted path the session
recorded at sign-in, and signs the session out when that path is no longer in
AUTHENTICATION_BACKENDS. Sessions from before the switch recorded Django's
ModelBackend: they are moved to UserBackend (same users, same passwords; the
session is saved once more) rather than signed out on deploy. Once
SESSION_COOKIE_AGE has passed after that deploy no such session is left, and
settings can name Django's middleware again.
"""

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.middleware import (
    AuthenticationMiddleware as DjangoAuthenticationMiddleware,
)

from calaim.accounts.backends import DJANGO_MODEL_BACKEND, USER_BACKEND


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    def process_request(self, request):
        super().process_request(request)  # the user is loaded lazily, later
        if request.session.get(BACKEND_SESSION_KEY) == DJANGO_MODEL_BACKEND:
            request.session[BACKEND_SESSION_KEY] = USER_BACKEND
