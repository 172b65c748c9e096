"""Values every page's shell needs."""

from django.conf import settings

from calaim.web.navigation import nav_links


def shell(request):
    user = getattr(request, "user", None)
    roles = (
        sorted(user.role_names) if user is not None and user.is_authenticated else []
    )
    return {
        "user_roles": roles,
        "session_idle_seconds": settings.SESSION_IDLE_SECONDS,
        # Lazy: pages rendered without the shell (JSON, partials) pay nothing.
        "nav_links": lambda: nav_links(request),
    }
