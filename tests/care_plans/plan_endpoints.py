"""The plan administrator's ECM screens in the permission matrix (see tests/matrix.py).

Each episode page is about a member of the cast's plan who has just been
identified (or authorized) for ECM: only the plan's administrators and auditor
see that member, so the administrator gets in, the auditor — who sees the member
but may not decide — gets 403, and everyone else 404. The queues are each plan's
own: both plans' administrators get in, every other role gets 403. A notice is
read by whoever may open the member's chart, and marked sent by the plan's
administrators and the assigned provider's staff.

The records are made through the services by the `url`/`data` lambdas, once per
cast (the matrix builds the request before its database fingerprint).
"""

import uuid
from datetime import date, timedelta

from django.urls import reverse
from django.utils import timezone

from tests.cast import PEOPLE
from tests.matrix import register

PLAN_ADMINS = {"plan_admin", "other_plan_admin"}
# Those who may open the chart of the cast's member (tests/members/endpoints.py),
# the CS provider aside: it sees the referral data only.
CHART_VIEWERS = {
    "lead_care_manager",
    "supervisor",
    "provider_admin",
    "plan_admin",
    "auditor",
}
NOTICE_SENDERS = {"lead_care_manager", "supervisor", "provider_admin", "plan_admin"}


def _once(cast, key, make):
    if key not in cast.__dict__:
        cast.__dict__[key] = make()
    return cast.__dict__[key]


def newcomer(cast):
    """A member of the cast's plan with no ECM episode yet."""

    def make():
        from tests.factories import EnrollmentFactory, MemberFactory

        member = MemberFactory(first_name="Nadia", last_name="Newcomer")
        EnrollmentFactory(member=member, plan=cast.plan, start_date=date(2025, 1, 1))
        return member

    return _once(cast, "plan_newcomer", make)


def identified_episode(cast):
    """A newcomer identified by the plan (authorization requested)."""

    def make():
        from care_plans.services import episode_identify

        return episode_identify(
            member=newcomer(cast),
            source="provider_referral",
            referrer_contact="Matrix Clinic, 555-0199",
            actor=cast.plan_admin,
        )

    return _once(cast, "plan_identified_episode", make)


def authorized_episode(cast):
    """An authorized episode, with a contract for the cast's ECM provider in the
    member's county so that it can be assigned."""

    def make():
        from care_plans.services import episode_authorize
        from community_supports.models import ProviderContract

        contract = ProviderContract.objects.create(
            plan=cast.plan,
            provider=cast.ecm_provider,
            service=ProviderContract.Service.ECM,
            start_date=date(2024, 1, 1),
            capacity=10,
        )
        contract.counties.add("37")
        today = timezone.localdate()
        return episode_authorize(
            episode=identified_episode(cast),
            actor=cast.plan_admin,
            authorization_number="MATRIX-1",
            authorized_from=today,
            authorized_through=today + timedelta(days=180),
        )

    return _once(cast, "plan_authorized_episode", make)


def cast_notice(cast):
    """The assignment notice of the cast's own (enrolled) episode."""

    def make():
        from care_plans.services import notice_create

        return notice_create(
            episode=cast.episode, kind="assignment", actor=cast.plan_admin
        )

    return _once(cast, "plan_notice", make)


def _episode_url(name, episode):
    return lambda cast: reverse(name, args=[episode(cast).uuid])


# --- Identify -------------------------------------------------------------------------
register(
    "ecm_identify",
    "GET",
    lambda cast: reverse("ecm_identify", args=[newcomer(cast).uuid]),
    allowed={"plan_admin"},
    forbidden={"auditor"},
)
register(
    "ecm_identify_post",
    "POST",
    lambda cast: reverse("ecm_identify", args=[newcomer(cast).uuid]),
    data=lambda cast: {"source": "plan_data", "urgency": "standard"},
    allowed={"plan_admin"},
    forbidden={"auditor"},
    ok_status=(302,),
)

# --- The queues -----------------------------------------------------------------------
for _queue in ("ecm_authorization_queue", "ecm_assignment_queue"):
    register(
        _queue,
        "GET",
        lambda cast, name=_queue: reverse(name),
        allowed=PLAN_ADMINS,
        forbidden=set(PEOPLE) - PLAN_ADMINS,
    )

# --- Decide ---------------------------------------------------------------------------
register(
    "ecm_authorize",
    "GET",
    _episode_url("ecm_authorize", identified_episode),
    allowed={"plan_admin"},
    forbidden={"auditor"},
)
register(
    "ecm_authorize_post",
    "POST",
    _episode_url("ecm_authorize", identified_episode),
    data=lambda cast: {
        "version": identified_episode(cast).version,
        "authorization_number": "MATRIX-2",
        "authorized_from": timezone.localdate().isoformat(),
        "authorized_through": (timezone.localdate() + timedelta(days=90)).isoformat(),
    },
    allowed={"plan_admin"},
    forbidden={"auditor"},
    ok_status=(302,),
)
register(
    "ecm_deny",
    "GET",
    _episode_url("ecm_deny", identified_episode),
    allowed={"plan_admin"},
    forbidden={"auditor"},
)
register(
    "ecm_deny_post",
    "POST",
    _episode_url("ecm_deny", identified_episode),
    data=lambda cast: {
        "version": identified_episode(cast).version,
        "reason": "The member does not meet the population of focus criteria.",
    },
    allowed={"plan_admin"},
    forbidden={"auditor"},
    ok_status=(302,),
)
register(
    "ecm_decision_missing",
    "GET",
    lambda cast: reverse("ecm_authorize", args=[uuid.UUID(int=5)]),
    allowed=set(),
)

# --- Assign ---------------------------------------------------------------------------
register(
    "ecm_assign",
    "GET",
    _episode_url("ecm_assign", authorized_episode),
    allowed={"plan_admin"},
    forbidden={"auditor"},
)
register(
    "ecm_assign_post",
    "POST",
    _episode_url("ecm_assign", authorized_episode),
    data=lambda cast: {
        "version": authorized_episode(cast).version,
        "provider": str(cast.ecm_provider.uuid),
        "lead_care_manager": str(cast.colleague.uuid),
    },
    allowed={"plan_admin"},
    forbidden={"auditor"},
    ok_status=(302,),
)

# --- Notices --------------------------------------------------------------------------
register(
    "ecm_notice",
    "GET",
    lambda cast: reverse("ecm_notice", args=[cast_notice(cast).uuid]),
    allowed=CHART_VIEWERS,
)
register(
    "ecm_notice_sent",
    "POST",
    lambda cast: reverse("ecm_notice_sent", args=[cast_notice(cast).uuid]),
    data=lambda cast: {"method": "mail"},
    allowed=NOTICE_SENDERS,
    forbidden=CHART_VIEWERS - NOTICE_SENDERS,
    ok_status=(302,),
)
register(
    "ecm_notice_missing",
    "GET",
    lambda cast: reverse("ecm_notice", args=[uuid.UUID(int=6)]),
    allowed=set(),
)
