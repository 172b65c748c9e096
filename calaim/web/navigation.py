"""The main navigation: which links a user gets, and which one is current."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from calaim.accounts import roles

# Roles that work due items (the Task list); auditors only read the audit trail.
TASK_ROLES = (
    roles.CARE_MANAGER,
    roles.SUPERVISOR,
    roles.PROVIDER_ADMIN,
    roles.PLAN_ADMIN,
    roles.CS_PROVIDER,
    roles.INTERFACE_ADMIN,
)


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool = False


def _url(name: str, fallback: str) -> str:
    """Reverse `name`, or use the literal path while the page is still being built."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


def _is_current(path: str, url: str) -> bool:
    if url == "/":
        return path == "/"
    return path.startswith(url)


def nav_links(request) -> list[NavLink]:
    """The links of the main navigation for the signed-in user."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    links = [("Home", reverse("home"))]
    if user.has_role(*TASK_ROLES):
        links.append(("My tasks", _url("my_tasks", "/tasks/")))
    # Notifications has its own link with the unread badge (notifications/badge.html).
    if user.has_perm("audit.view_auditevent"):
        links.append(("Audit trail", reverse("audit_log")))
    if user.is_staff:
        links.append(("Admin", reverse("admin:index")))
    path = request.path
    return [NavLink(label, url, _is_current(path, url)) for label, url in links]
