"""Automatic logoff after inactivity (HIPAA 164.312(a)(2)(iii)).

A session ends SESSION_IDLE_SECONDS after the last request the *user* made.
Background requests (the notification badge polling, marked with the header
`X-Calaim-Background: 1`) must not keep an unattended screen signed in, so they
neither extend the session nor save it.

The time of the last user-made request is kept in the session itself. The
database session's own expiry (SESSION_COOKIE_AGE, refreshed whenever the session
is saved, i.e. on every user-made request) is the backstop if this middleware
were ever bypassed.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

LAST_ACTIVITY_KEY = "_calaim_last_activity"
BACKGROUND_HEADER = "X-Calaim-Background"


def is_background(request) -> bool:
    return request.headers.get(BACKGROUND_HEADER) == "1"


def idle_message(seconds: int) -> str:
    if seconds % 60 == 0:
        minutes = seconds // 60
        span = f"{minutes} minute{'s' if minutes != 1 else ''}"
    else:
        span = f"{seconds} seconds"
    return f"You were signed out after {span} without activity."


def _wants_json(request) -> bool:
    if request.path.startswith("/api/"):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


class IdleSessionMiddleware:
    """Sign out a browser session that has been idle too long; refresh it otherwise.

    Sits right after AuthenticationMiddleware and MessageMiddleware (it needs the
    user and leaves a message), so the views below never see an idle user as
    signed in.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Only sessions that carry a signed-in user count. An API call signed with
        # a bearer token has no session, and must not get one from us: DRF puts
        # its user on the request, so `request.user` is no guide here.
        if SESSION_KEY in request.session:
            last = request.session.get(LAST_ACTIVITY_KEY)
            idle_seconds = settings.SESSION_IDLE_SECONDS
            now = timezone.now().timestamp()
            if last is not None and now - float(last) >= idle_seconds:
                return self._expired(request, idle_seconds)

        response = self.get_response(request)

        if SESSION_KEY in request.session:  # the view may have signed in or out
            if is_background(request):
                # Whatever the view touched, a poll must not push the expiry on.
                request.session.modified = False
            else:
                self._touch(request)
        return response

    @staticmethod
    def _touch(request):
        """Record the user's activity, but write the session at most once per
        resolution step (a minute, or 1/15 of a short test timeout): saving it on
        every page cost three queries. A user is therefore signed out between
        SESSION_IDLE_SECONDS minus one step and SESSION_IDLE_SECONDS after their
        last request - never later."""
        now = timezone.now().timestamp()
        last = request.session.get(LAST_ACTIVITY_KEY)
        step = min(60.0, settings.SESSION_IDLE_SECONDS / 15)
        if last is None or now - float(last) >= step or request.session.modified:
            request.session[LAST_ACTIVITY_KEY] = now

    def _expired(self, request, idle_seconds):
        logout(request)  # recorded in the audit trail by calaim.audit.signals
        if _wants_json(request):
            return JsonResponse(
                {
                    "errors": [
                        {
                            "field": None,
                            "code": "session_expired",
                            "message": idle_message(idle_seconds),
                        }
                    ]
                },
                status=401,
            )
        messages.info(request, idle_message(idle_seconds))
        login_url = reverse(settings.LOGIN_URL)
        if request.headers.get("HX-Request") == "true":
            # A partial swapped into the page would be the sign-in form; send the
            # whole page there instead, coming back to the page on screen.
            current = _same_site_path(request.headers.get("HX-Current-URL", ""))
            target = redirect_to_login(current)["Location"] if current else login_url
            return HttpResponseClientRedirect(target)
        if request.path == login_url:
            # The warning script lands here at expiry: show the form and message.
            return self.get_response(request)
        if request.method == "GET":
            return redirect_to_login(request.get_full_path())
        # The form being posted is lost either way; don't come back to a POST URL.
        return HttpResponseRedirect(login_url)


def _same_site_path(url: str) -> str:
    """The path and query of an absolute URL from htmx, for `?next=`."""
    parts = urlsplit(url)
    if not parts.path.startswith("/"):
        return ""
    return parts.path + (f"?{parts.query}" if parts.query else "")
