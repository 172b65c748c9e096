"""Referral pages and API in the permission matrix (see tests/matrix.py).

Each action gets a fresh referral of the cast's member in the state where the
step is legal, built through the services by the url lambda (before the
database fingerprint) and memoized per cast, so an allowed caller gets its
success and everyone else provably changes nothing. The cast's plan offers a
test support in the member's county; the cast's CS provider holds the first
contract (so it gets the offers), another CS provider the second.
"""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from tests.cast import EVERYONE
from tests.matrix import API, register
from tests.referrals.support import PAIR, contract, offer_support, support

JSON = "application/json"
SEE_CHART = {"lead_care_manager", "supervisor", "provider_admin", "plan_admin",
             "auditor"}  # fmt: skip
NOBODY_ELSE = {"colleague", "other_care_manager", "other_plan_admin",
               "other_cs_provider"}  # fmt: skip
# See the referral but may not work it as the receiving provider.
NOT_RECEIVER = {"lead_care_manager", "supervisor", "provider_admin", "plan_admin",
                "auditor"}  # fmt: skip


def cast_support(cast):
    if "_referral_support" not in cast.__dict__:
        cs = support("matrix-support")
        offer_support(cast.plan, cs)
        contract(cast.plan, cast.cs_organization, cs)
        contract(cast.plan, cast.other_cs_organization, cs)
        cast.__dict__["_referral_support"] = cs
    return cast.__dict__["_referral_support"]


def referral_in(cast, state):
    """A referral of the cast's member in `state`, memoized per cast."""
    key = f"_referral_{state}"
    if key in cast.__dict__:
        return cast.__dict__[key]
    from referrals import services
    from referrals.models import Offer

    referral = services.referral_create(
        member=cast.member, support=cast_support(cast), actor=cast.lead_care_manager,
        requested_units=5,
    )  # fmt: skip
    if state == "pended":
        referral = services.referral_authorize(
            referral=referral, decision="pended", reason="Need documents",
            actor=cast.plan_admin,
        )  # fmt: skip
    if state not in ("awaiting", "pended"):
        today = timezone.localdate()
        referral = services.referral_authorize(
            referral=referral, decision="approved", authorization_number="MX-1",
            approved_units=5, approved_from=today - timedelta(days=5),
            approved_through=today + timedelta(days=60), actor=cast.plan_admin,
        )  # fmt: skip
    if state in ("accepted", "in_progress", "on_hold"):
        offer = Offer.objects.get(referral=referral, status="offered")
        services.offer_accept(offer=offer, actor=cast.cs_provider)
        referral.refresh_from_db()
    if state in ("in_progress", "on_hold"):
        services.delivery_record(
            referral=referral, delivered_on=timezone.localdate(), units=1,
            hcpcs=PAIR[0], modifier=PAIR[1], actor=cast.cs_provider,
        )  # fmt: skip
        referral.refresh_from_db()
    if state == "on_hold":
        referral = services.referral_hold(
            referral=referral, reason="Member in hospital", actor=cast.cs_provider
        )
    referral.refresh_from_db()
    cast.__dict__[key] = referral
    return referral


def _url(name, state):
    return lambda cast: reverse(name, args=[referral_in(cast, state).uuid])


def _version(state):
    return lambda cast: {"expected_version": referral_in(cast, state).version}


# --- Pages ----------------------------------------------------------------------

register(
    "referral_detail",
    "GET",
    lambda cast: reverse("referral_detail", args=[cast.referral.uuid]),
    allowed={*SEE_CHART, "cs_provider"},
)
register(
    "referral_new",
    "GET",
    lambda cast: reverse("referral_new", args=[cast.member.uuid]),
    allowed={"lead_care_manager", "supervisor"},
    forbidden={"provider_admin", "plan_admin", "auditor"},
)
register(
    "referral_new_post",
    "POST",
    lambda cast: reverse("referral_new", args=[cast.member.uuid]),
    allowed={"lead_care_manager", "supervisor"},
    forbidden={"provider_admin", "plan_admin", "auditor"},
    ok_status=(302,),
    data=lambda cast: {"support": cast_support(cast).pk, "urgency": "standard"},
)
register(
    "referral_directory",
    "GET",
    lambda cast: (
        f"{reverse('referral_directory')}?member={cast.member.uuid}"
        f"&support={cast_support(cast).code}"
    ),
    allowed={"lead_care_manager", "supervisor"},
    forbidden={"provider_admin", "plan_admin", "auditor"},
)
register(
    "referral_inbox",
    "GET",
    lambda cast: reverse("referral_inbox"),
    # The cast's ECM provider is a CS provider too: its administrator works
    # its inbox.
    allowed={"cs_provider", "other_cs_provider", "provider_admin"},
    forbidden={"lead_care_manager", "colleague", "supervisor", "other_care_manager",
               "plan_admin", "other_plan_admin", "auditor", "interface_admin"},
)  # fmt: skip
for name in ("referral_authorization_queue", "referral_open_loops"):
    register(
        name,
        "GET",
        lambda cast, name=name: reverse(name),
        allowed={"plan_admin", "other_plan_admin"},
        forbidden={"lead_care_manager", "colleague", "supervisor", "provider_admin",
                   "other_care_manager", "cs_provider", "other_cs_provider",
                   "auditor", "interface_admin"},
    )  # fmt: skip
register(
    "referral_overdue",
    "GET",
    lambda cast: reverse("referral_overdue"),
    allowed={"plan_admin", "other_plan_admin", "cs_provider", "other_cs_provider",
             "provider_admin"},
    forbidden={"lead_care_manager", "colleague", "supervisor", "other_care_manager",
               "auditor", "interface_admin"},
)  # fmt: skip

PROVIDER_STEPS = [
    ("referral_accept", "received", _version("received")),
    ("referral_reject", "received", lambda cast: {"reason": "No capacity now"}),
    ("referral_hold", "accepted", lambda cast: {"reason": "Member unreachable"}),
    ("referral_resume", "on_hold", _version("on_hold")),
    (
        "referral_deliver",
        "accepted",
        lambda cast: {
            "delivered_on": timezone.localdate().isoformat(),
            "code": f"{PAIR[0]}-{PAIR[1]}",
            "units": "1",
            "amount": "10",
        },
    ),
    ("referral_complete", "in_progress", _version("in_progress")),
    ("referral_fail", "accepted", lambda cast: {"reason": "Member moved away"}),
]
for name, state, data in PROVIDER_STEPS:
    register(
        name,
        "POST",
        _url(name, state),
        allowed={"cs_provider"},
        forbidden=NOT_RECEIVER,
        ok_status=(302,),
        data=data,
    )
register(
    "referral_cancel",
    "POST",
    _url("referral_cancel", "received"),
    allowed={"lead_care_manager", "supervisor", "plan_admin"},
    forbidden={"provider_admin", "auditor", "cs_provider"},
    ok_status=(302,),
    data=lambda cast: {"reason": "Member declined"},
)
register(
    "referral_authorize",
    "POST",
    _url("referral_authorize", "awaiting"),
    allowed={"plan_admin"},
    forbidden={"lead_care_manager", "supervisor", "provider_admin", "auditor"},
    ok_status=(302,),
    data=lambda cast: {
        "decision": "approved",
        "authorization_number": "MX-2",
        "approved_units": "5",
        "approved_from": timezone.localdate().isoformat(),
        "approved_through": (timezone.localdate() + timedelta(days=30)).isoformat(),
    },
)
register(
    "referral_unpend",
    "POST",
    _url("referral_unpend", "pended"),
    allowed={"plan_admin"},
    forbidden={"lead_care_manager", "supervisor", "provider_admin", "auditor"},
    ok_status=(302,),
    data=_version("pended"),
)

# --- API ------------------------------------------------------------------------

HAS_VIEW = {"lead_care_manager", "colleague", "supervisor", "provider_admin",
            "other_care_manager", "plan_admin", "other_plan_admin", "cs_provider",
            "other_cs_provider", "provider_api"}  # fmt: skip
NO_VIEW = {"auditor", "interface_admin", "hospital_feed"}
WORKERS = {"cs_provider", "other_cs_provider", "provider_admin", "provider_api"}
EVERY_ROLE = HAS_VIEW | NO_VIEW

register(
    "api_referral_list",
    "GET",
    lambda cast: reverse("api_referral_list"),
    allowed=HAS_VIEW,
    forbidden=NO_VIEW,
    kind=API,
)
register(
    "api_referral_create",
    "POST",
    lambda cast: reverse("api_referral_list"),
    allowed={"lead_care_manager", "supervisor", "provider_api"},
    forbidden=EVERY_ROLE - {"lead_care_manager", "supervisor", "provider_api",
                            "colleague", "other_care_manager"},
    kind=API,
    ok_status=(201,),
    content_type=JSON,
    data=lambda cast: {"member_id": str(cast.member.uuid),
                       "support": cast_support(cast).code},
)  # fmt: skip
register(
    "api_referral_detail",
    "GET",
    lambda cast: reverse("api_referral_detail", args=[cast.referral.uuid]),
    allowed={"lead_care_manager", "supervisor", "provider_admin", "plan_admin",
             "cs_provider", "provider_api"},
    forbidden=NO_VIEW,
    kind=API,
)  # fmt: skip
register(
    "api_referral_deliveries",
    "GET",
    lambda cast: reverse("api_referral_deliveries", args=[cast.referral.uuid]),
    allowed={"lead_care_manager", "supervisor", "provider_admin", "plan_admin",
             "cs_provider", "provider_api"},
    forbidden=NO_VIEW,
    kind=API,
)  # fmt: skip
register(
    "api_referral_deliveries_post",
    "POST",
    lambda cast: reverse(
        "api_referral_deliveries", args=[referral_in(cast, "accepted").uuid]
    ),
    allowed={"cs_provider"},
    forbidden=EVERY_ROLE - WORKERS | {"provider_admin", "provider_api"},
    kind=API,
    ok_status=(201,),
    content_type=JSON,
    data=lambda cast: {"delivered_on": timezone.localdate().isoformat(),
                       "units": "1", "hcpcs": PAIR[0], "modifier": PAIR[1]},
)  # fmt: skip
API_STEPS = [
    ("api_referral_accept", "received", {}, 200),
    # The declined referral goes on to the other provider: nothing to show.
    ("api_referral_reject", "received", {"reason": "No capacity"}, 204),
    ("api_referral_hold", "accepted", {"reason": "Member unreachable"}, 200),
    ("api_referral_resume", "on_hold", {}, 200),
    ("api_referral_complete", "in_progress", {}, 200),
    ("api_referral_fail", "accepted", {"reason": "Member moved"}, 200),
]
for name, state, body, ok in API_STEPS:
    register(
        name,
        "POST",
        lambda cast, name=name, state=state: reverse(
            name, args=[referral_in(cast, state).uuid]
        ),
        allowed={"cs_provider"},
        forbidden=EVERY_ROLE - WORKERS | {"provider_admin", "provider_api"},
        kind=API,
        ok_status=(ok,),
        content_type=JSON,
        data=lambda cast, body=body: body,
    )
register(
    "api_referral_cancel",
    "POST",
    lambda cast: reverse(
        "api_referral_cancel", args=[referral_in(cast, "received").uuid]
    ),
    allowed={"lead_care_manager", "supervisor", "plan_admin", "provider_api"},
    forbidden={"provider_admin", "cs_provider", "other_cs_provider", "auditor",
               "interface_admin", "hospital_feed"},
    kind=API,
    content_type=JSON,
    data=lambda cast: {"reason": "Member declined"},
)  # fmt: skip
register(
    "api_referral_directory",
    "GET",
    lambda cast: (
        f"{reverse('api_referral_directory')}?member={cast.member.uuid}"
        f"&support={cast_support(cast).code}"
    ),
    allowed={"lead_care_manager", "supervisor", "provider_api"},
    forbidden=EVERY_ROLE - {"lead_care_manager", "supervisor", "provider_api",
                            "colleague", "other_care_manager"},
    kind=API,
)  # fmt: skip

# --- Action links (a provider without an account) ---------------------------------


def _link_path(cast, action):
    """A fresh signed link of `action` for an offer to the cast's CS provider,
    which has an intake address (memoized per cast and action)."""
    key = f"_referral_link_{action}"
    if key not in cast.__dict__:
        from calaim.links.models import ActionLink
        from referrals.models import Offer, ProviderIntake

        ProviderIntake.objects.get_or_create(
            organization=cast.cs_organization,
            defaults={"email": "intake@cast-cs.example"},
        )
        state = "accepted" if action == "complete" else "received"
        referral = referral_in(cast, state)
        offer = Offer.objects.get(referral=referral, provider=cast.cs_organization)
        link = ActionLink.objects.filter(
            action=f"referral.{action}", object_id=str(offer.uuid)
        ).first()
        if link is None:
            from referrals.services import send_action_links

            send_action_links(offer, (action,))
            link = ActionLink.objects.get(
                action=f"referral.{action}", object_id=str(offer.uuid)
            )
        from calaim.links.services import link_url

        cast.__dict__[key] = link_url(link)
    return cast.__dict__[key]


for action, body in (
    ("accept", {}),
    ("reject", {"reason": "No beds this month"}),
    ("complete", {}),
):
    register(
        f"referral_link_{action}",
        "POST",
        lambda cast, action=action: _link_path(cast, action),
        # Like the links module's own entry: the signed token is the
        # credential, whoever holds it (kind API so that anonymous is allowed
        # rather than sent to sign in).
        kind=API,
        allowed=EVERYONE,
        data=lambda cast, body=body: body,
    )
