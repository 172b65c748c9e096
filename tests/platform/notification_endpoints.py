"""Notification pages and actions in the permission matrix (see tests/matrix.py).

Notifications are per user: everyone who signs in has the list and the badge; the
actions on a notification are its recipient's alone, anyone else gets 404.
"""

from django.urls import reverse

from tests.cast import PEOPLE
from tests.matrix import register


def lead_care_manager_notification(cast):
    """A notification for the lead care manager about the cast member, made once
    per cast through the service the outbox handler uses."""
    notification = cast.__dict__.get("notification")
    if notification is None:
        from calaim.notifications.services import notification_create

        notification = notification_create(
            recipient_id=cast.lead_care_manager.pk,
            kind="test",
            key="matrix",
            title="Hospital admission for a member on your caseload",
            link=f"/members/{cast.member.uuid}/",
            member_id=cast.member.pk,
        )
        cast.__dict__["notification"] = notification
    return notification


register(
    "notifications:list",
    "GET",
    lambda cast: reverse("notifications:list"),
    allowed=PEOPLE,
)
register(
    "notifications:badge",
    "GET",
    lambda cast: reverse("notifications:badge"),
    allowed=PEOPLE,
)
register(
    "notifications:acknowledge",
    "POST",
    lambda cast: reverse(
        "notifications:acknowledge",
        args=[lead_care_manager_notification(cast).public_id],
    ),
    allowed={"lead_care_manager"},
    ok_status=(302,),
)
register(
    "notifications:read",
    "POST",
    lambda cast: reverse(
        "notifications:read", args=[lead_care_manager_notification(cast).public_id]
    ),
    allowed={"lead_care_manager"},
    ok_status=(302,),
)
