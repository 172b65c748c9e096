"""Platform pages and endpoints in the permission matrix."""

from django.urls import reverse

from tests.cast import PEOPLE
from tests.matrix import register

register(
    "home",
    "GET",
    lambda cast: reverse("home"),
    allowed=PEOPLE,
)
register(
    "audit_log",
    "GET",
    lambda cast: reverse("audit_log"),
    allowed={"auditor"},
    denied_status=403,
)
register(
    "audit_log_filtered_by_member",
    "GET",
    lambda cast: reverse("audit_log") + f"?member={cast.member.cin}",
    allowed={"auditor"},
    denied_status=403,
)
