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
    if user.has_role(roles.SUPERVISOR, roles.PROVIDER_ADMIN):
        links.append(("Caseloads", _url("ecm_caseload", "/ecm/caseload/")))
    elif user.has_role(roles.CARE_MANAGER):
        links.append(("My caseload", _url("ecm_caseload", "/ecm/caseload/")))
    if user.has_perm("members.view_member"):
        links.append(("Find a member", _url("member_search", "/members/search/")))
    if user.has_perm("members.view_enrollmentfile"):
        links.append(("Enrollment files", reverse("enrollment_files")))
    if user.has_perm("care_plans.authorize_episode"):
        links.append(("ECM authorizations", _url("ecm_authorization_queue", "/ecm/")))
    if user.has_perm("care_plans.assign_episode"):
        links.append(("ECM assignments", _url("ecm_assignment_queue", "/ecm/")))
    if user.has_perm("hl7.view_inboundmessage"):
        links.append(("HL7 feed", _url("hl7_feed", "/hl7/")))
    if user.has_perm("transitions.view_alert"):
        links.append(("Hospital alerts", _url("transition_alerts", "/transitions/")))
    if user.has_perm("transitions.view_transitionevent"):
        links.append(("Transitional care", _url("transition_queue", "/transitions/")))
    if user.has_role(roles.INTERFACE_ADMIN):
        links.append(("Unmatched ADT", _url("transition_unmatched", "/transitions/")))
    if user.has_perm("community_supports.add_planoffering"):
        links.append(("CS offerings", _url("cs_offerings", "/network/offerings/")))
    if user.has_perm("community_supports.add_providercontract"):
        links.append(("Contracts", _url("cs_contracts", "/network/contracts/")))
    if user.has_role(roles.PROVIDER_ADMIN, roles.CS_PROVIDER):
        links.append(("Our contracts", _url("cs_provider_contracts", "/network/")))
    if user.has_role(roles.CS_PROVIDER, roles.PROVIDER_ADMIN):
        links.append(("Referral inbox", _url("referral_inbox", "/referrals/inbox/")))
    if user.has_perm("referrals.authorize_referral"):
        links.append(("CS referrals", _url("referral_authorization_queue", "/")))
        links.append(("Open loops", _url("referral_open_loops", "/referrals/")))
    # Notifications has its own link with the unread badge (notifications/badge.html).
    if user.has_perm("audit.view_auditevent"):
        links.append(("Audit trail", reverse("audit_log")))
    if user.is_staff:
        links.append(("Admin", reverse("admin:index")))
    path = request.path
    return [NavLink(label, url, _is_current(path, url)) for label, url in links]
