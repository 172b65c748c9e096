"""Demo closed-loop referrals, through the services as the real people would:

- housing deposits for one of Harbor's San Diego members: approved by Pacific
  Coast, offered to Open Door Housing, accepted, one deposit delivered;
- medically tailored meals for another: waiting for the plan's decision;
- asthma remediation for a third: approved and offered to Harbor (which is a
  CS provider too), waiting for its answer.

Idempotent: once the demo referrals exist, nothing more is added.
"""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from care_plans.models import Episode
from community_supports.models import CommunitySupport, ServiceCode
from referrals import services
from referrals.models import Offer, Referral

CARE_MANAGER = "care.manager@harbor.example"
PLAN_ADMIN = "plan.admin@pacificcoast.example"
OPEN_DOOR_STAFF = "staff@opendoor.example"
NOTE = "Demo:"


def _members(users):
    return [
        episode.member
        for episode in Episode.objects.filter(
            lead_care_manager=users[CARE_MANAGER], closed_at__isnull=True
        )
        .select_related("member")
        .order_by("member__last_name", "member_id")[:3]
    ]


def seed(stdout, organizations, users):
    """Add the demo referrals (idempotent)."""
    supports = {s.code: s for s in CommunitySupport.objects.all()}
    wanted = ["housing-deposits", "medically-tailored-meals", "asthma-remediation"]
    if any(code not in supports for code in wanted):
        return
    # Seeded once: the care manager's caseload changes as the other demo data
    # moves episodes on, so a second run must not pick new members.
    if Referral.objects.filter(note__startswith=NOTE).exists():
        _report(stdout)
        return
    members = _members(users)
    today = timezone.localdate()
    for member, code in zip(members, wanted, strict=False):
        if Referral.objects.filter(member=member, note__startswith=NOTE).exists():
            continue
        referral = services.referral_create(
            member=member,
            support=supports[code],
            actor=users[CARE_MANAGER],
            note=f"{NOTE} {supports[code].name} for the member's new home.",
            requested_units=Decimal("1"),
            requested_amount=Decimal("1800") if code != "medically-tailored-meals"
            else None,
        )  # fmt: skip
        if code == "medically-tailored-meals":
            continue
        referral = services.referral_authorize(
            referral=referral,
            decision="approved",
            actor=users[PLAN_ADMIN],
            authorization_number=f"DEMO-{referral.pk:05d}",
            approved_units=Decimal("1"),
            approved_amount=Decimal("1800"),
            approved_from=today,
            approved_through=today + timedelta(days=90),
        )
        if code != "housing-deposits" or OPEN_DOOR_STAFF not in users:
            continue
        offer = Offer.objects.filter(referral=referral, status="offered").first()
        if offer is None or offer.provider_id != users[OPEN_DOOR_STAFF].organization_id:
            continue
        services.offer_accept(offer=offer, actor=users[OPEN_DOOR_STAFF])
        service_code = ServiceCode.objects.filter(support=supports[code]).first()
        if service_code is not None:
            services.delivery_record(
                referral=referral,
                delivered_on=today,
                units=1,
                amount=Decimal("1500"),
                hcpcs=service_code.hcpcs,
                modifier=service_code.modifier,
                actor=users[OPEN_DOOR_STAFF],
            )
    _report(stdout)


def _report(stdout):
    on_file = Referral.objects.filter(note__startswith=NOTE).count()
    stdout.write(f"Referrals: {on_file} demo referrals on file.")
