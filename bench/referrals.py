"""Benchmark for issue 8 ("Speed"): the provider inbox, the directory search for
one member, and the limit check for one authorization, at 100,000 members with
300,000 referrals and their offers and deliveries across 50 providers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/calaim_dev DEBUG=true \
        REDIS_URL=redis://127.0.0.1:6379/12 \
        .venv/bin/python bench/referrals.py [--quick]

Builds (once; kept between runs) `calaim_bench_referrals` with COPY
(calaim.bulk): one plan offering 5 supports in San Diego, 50 CS providers each
with a contract for all of them, 100,000 enrolled members, 3 referrals each
(spread over the providers and the states of the closed loop: a fifth waiting
for the provider's answer, the rest accepted, in progress, completed or
cancelled), an offer per referral and a delivery per worked referral. Then, in
one run, each answer is timed through the app (selectors and services, as the
pages and the API call them) beside the raw SQL for the same answer, their runs
interleaved; the query counts of the app's side are printed too. `--quick`
builds 10,000 members instead.

Target (issue 8): each within 3x of its raw SQL.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calaim.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.utils import timezone  # noqa: E402

settings.DEBUG = False

PROVIDERS = 50
REFERRALS_PER_MEMBER = 3
SUPPORTS = 5
BATCH = 20_000
TARGET = 3.0


def use_database(name: str) -> None:
    connections.close_all()
    connection.settings_dict["TEST"]["NAME"] = name
    connection.creation.create_test_db(
        verbosity=0, autoclobber=True, keepdb=True, serialize=False
    )


def _member(n, pk, county):
    from members.models import Member

    return Member(
        id=pk,
        cin=f"9{n:07d}R",
        first_name=f"First{n % 997}",
        last_name=f"Last{(n * 7919) % 49999:05d}",
        birth_date=date(1950, 1, 1) + timedelta(days=(n * 37) % 25000),
        city="San Diego",
        state="CA",
        zip_code="92101",
        county=county,
    )


def seed(count: int):
    """The network and the referrals (once per database)."""
    from calaim.accounts import roles
    from calaim.accounts.models import County, Organization, User
    from calaim.bulk import allocate_ids, copy_insert
    from community_supports.models import (
        CommunitySupport,
        PlanOffering,
        ProviderContract,
        ServiceCode,
        SupportLimit,
    )
    from members.models import Enrollment, Member
    from referrals.models import Delivery, Offer, Referral

    county = County.objects.get(code="37")
    plan, _ = Organization.objects.get_or_create(
        name="Bench Plan", defaults={"is_plan": True}
    )
    referrer, _ = Organization.objects.get_or_create(
        name="Bench ECM", defaults={"is_ecm_provider": True}
    )
    providers = []
    for index in range(PROVIDERS):
        provider, _ = Organization.objects.get_or_create(
            name=f"Bench CS {index:02d}", defaults={"is_cs_provider": True}
        )
        providers.append(provider)
        email = f"staff{index:02d}@bench-cs.example"
        if not User.objects.filter(email=email).exists():
            user = User.objects.create_user(
                email=email, password=None, full_name=f"Staff {index}",
                organization=provider,
            )  # fmt: skip
            from django.contrib.auth.models import Group

            user.groups.add(Group.objects.get(name=roles.CS_PROVIDER))
    supports = []
    for index in range(SUPPORTS):
        support, created = CommunitySupport.objects.get_or_create(
            code=f"bench-support-{index}",
            defaults={"name": f"Bench support {index}", "volume": 2},
        )
        if created:
            ServiceCode.objects.create(
                support=support, hcpcs=f"Z80{index:02d}", modifier="U6",
                unit="service", effective_from=date(2020, 1, 1),
            )  # fmt: skip
            SupportLimit.objects.create(
                support=support, key="cap", kind="dollars_per_lifetime",
                quantity=Decimal("7500"),
            )  # fmt: skip
            SupportLimit.objects.create(
                support=support, key="once", kind="once_per_lifetime",
                quantity=Decimal("2"), exception_allowed_once=True,
            )  # fmt: skip
            PlanOffering.objects.create(
                plan=plan, support=support, county=county, start_date=date(2020, 1, 1)
            )
        supports.append(support)
    for provider in providers:
        if not ProviderContract.objects.filter(plan=plan, provider=provider).exists():
            contract = ProviderContract.objects.create(
                plan=plan, provider=provider, service="cs",
                start_date=date(2020, 1, 1), capacity=20_000,
            )  # fmt: skip
            contract.supports.set(supports)
            contract.counties.set([county])

    existing = Member.objects.filter(cin__endswith="R").count()
    if existing >= count:
        return plan, providers, supports
    recorder = User.objects.get(email="staff00@bench-cs.example")
    print(f"  seeding {count - existing} members and their referrals ...", flush=True)
    started = time.perf_counter()
    now = timezone.now()
    today = timezone.localdate()
    # status, offer status, deliveries
    plans = [
        ("received", "offered", 0),
        ("accepted", "accepted", 0),
        ("in_progress", "accepted", 1),
        ("in_progress", "accepted", 2),
        ("completed", "accepted", 1),
        ("completed", "accepted", 2),
        ("completed", "accepted", 1),
        ("on_hold", "accepted", 1),
        ("cancelled", "withdrawn", 0),
        ("received", "offered", 0),
    ]
    for start in range(existing, count, BATCH):
        numbers = range(start, min(start + BATCH, count))
        member_ids = allocate_ids(Member, len(numbers))
        pairs = zip(numbers, member_ids, strict=True)
        copy_insert(Member, [_member(n, pk, county) for n, pk in pairs])
        copy_insert(
            Enrollment,
            [Enrollment(member_id=pk, plan=plan, county=county,
                        start_date=date(2024, 1, 1)) for pk in member_ids],
            with_pk=False,
        )  # fmt: skip
        referral_ids = allocate_ids(Referral, len(member_ids) * REFERRALS_PER_MEMBER)
        referrals, offers, deliveries = [], [], []
        position = 0
        for n, member_id in zip(numbers, member_ids, strict=True):
            for k in range(REFERRALS_PER_MEMBER):
                rid = referral_ids[position]
                position += 1
                status, offer_status, delivered = plans[(n + k * 3) % len(plans)]
                provider = providers[(n * 7 + k) % PROVIDERS]
                support = supports[(n + k) % SUPPORTS]
                created = now - timedelta(days=(n + k) % 300, minutes=n % 1440)
                closed = created + timedelta(days=20) if status in (
                    "completed", "cancelled") else None  # fmt: skip
                referrals.append(Referral(
                    id=rid, member_id=member_id, plan=plan, county=county,
                    support=support, referring_organization=referrer,
                    receiving_organization=provider, status=status,
                    status_changed_at=created, authorization_status="approved",
                    authorization_number=f"B{rid}", approved_units=Decimal(3),
                    approved_amount=Decimal(3000),
                    approved_from=today - timedelta(days=300),
                    approved_through=today + timedelta(days=60),
                    created_at=created, closed_at=closed,
                    closure_reason="Services Received" if status == "completed"
                    else "",
                ))  # fmt: skip
                offers.append(Offer(
                    referral_id=rid, provider=provider, status=offer_status,
                    offered_at=created,
                    acknowledge_by=created + timedelta(days=2),
                ))  # fmt: skip
                for d in range(delivered):
                    deliveries.append(Delivery(
                        referral_id=rid, member_id=member_id, support=support,
                        provider=provider,
                        delivered_on=today - timedelta(days=(n + d) % 200),
                        units=Decimal(1), amount=Decimal(900),
                        hcpcs=f"Z80{supports.index(support):02d}", modifier="U6",
                        recorded_by=recorder,
                    ))  # fmt: skip
        copy_insert(Referral, referrals)
        copy_insert(Offer, offers, with_pk=False)
        copy_insert(Delivery, deliveries, with_pk=False)
        print(f"    {numbers.stop} members", flush=True)
    with connection.cursor() as cursor:
        # VACUUM too: the visibility map lets counts be index-only scans.
        for table in ("referrals_referral", "referrals_offer", "referrals_delivery"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("ANALYZE")
    print(f"  seeded in {time.perf_counter() - started:.1f} s", flush=True)
    return plan, providers, supports


def timed_pair(ours, reference, runs: int) -> tuple[float, float]:
    for _ in range(2):
        ours()
        reference()
    samples = ([], [])
    for _ in range(runs):
        for func, into in ((ours, samples[0]), (reference, samples[1])):
            started = time.perf_counter()
            func()
            into.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples[0]), statistics.median(samples[1])


def count_queries(func) -> int:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        func()
    return len(captured.captured_queries)


def fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


INBOX_SQL = """
SELECT r.id, r.uuid, r.status, r.created_at, m.first_name, m.last_name, m.cin,
       s.name, p.name, ro.name, o.uuid, o.status, o.version, o.acknowledge_by
FROM referrals_referral r
JOIN members_member m ON m.id = r.member_id
LEFT JOIN community_supports_communitysupport s ON s.id = r.support_id
LEFT JOIN accounts_organization p ON p.id = r.plan_id
LEFT JOIN accounts_organization ro ON ro.id = r.referring_organization_id
LEFT JOIN LATERAL (
    SELECT uuid, status, version, acknowledge_by FROM referrals_offer
    WHERE referral_id = r.id AND provider_id = %(org)s
      AND status IN ('offered', 'accepted') LIMIT 1
) o ON true
WHERE r.receiving_organization_id = %(org)s AND r.closed_at IS NULL
ORDER BY r.created_at, r.id
LIMIT 100
"""

DIRECTORY_SQL = """
SELECT c.id, prov.name, c.capacity, c.capacity_unit,
       (SELECT count(*) FROM referrals_referral r
        WHERE r.plan_id = c.plan_id AND r.receiving_organization_id = c.provider_id
          AND r.closed_at IS NULL
          AND r.status IN ('received', 'accepted', 'in_progress', 'on_hold')) AS open
FROM community_supports_providercontract c
JOIN accounts_organization prov ON prov.id = c.provider_id
JOIN community_supports_providercontract_supports cs ON cs.providercontract_id = c.id
JOIN community_supports_providercontract_counties cc ON cc.providercontract_id = c.id
WHERE c.plan_id = %(plan)s AND c.service = 'cs' AND c.status = 'active'
  AND c.start_date <= %(today)s AND (c.end_date IS NULL OR c.end_date >= %(today)s)
  AND cs.communitysupport_id = %(support)s AND cc.county_id = %(county)s
ORDER BY c.capacity - 0 DESC, prov.name
"""

LIMIT_SQL = """
WITH usage AS (
    SELECT d.delivered_on AS day, d.amount,
           coalesce(nullif(d.stay_id, ''), 'referral:' || d.referral_id) AS stay
    FROM referrals_delivery d
    WHERE d.member_id = %(member)s AND d.support_id = %(support)s
    UNION ALL
    SELECT r.approved_from, coalesce(r.approved_amount, 0), 'referral:' || r.id
    FROM referrals_referral r
    WHERE r.member_id = %(member)s AND r.support_id = %(support)s
      AND r.approved_from IS NOT NULL AND r.id <> %(referral)s
      AND r.authorization_status IN ('approved', 'modified')
      AND r.status NOT IN ('cancelled', 'rejected')
      AND NOT EXISTS (SELECT 1 FROM referrals_delivery x WHERE x.referral_id = r.id)
)
SELECT l.key, l.quantity,
       CASE l.kind
         WHEN 'dollars_per_lifetime' THEN (SELECT coalesce(sum(amount), 0) FROM usage)
         WHEN 'once_per_lifetime' THEN (SELECT count(DISTINCT stay) FROM usage)
       END AS used
FROM community_supports_supportlimit l
WHERE l.support_id = %(support)s
ORDER BY l.key
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    count = 10_000 if args.quick else 100_000
    use_database("calaim_bench_referrals")
    plan, providers, supports = seed(count)

    from calaim.accounts.models import User
    from members.models import Member
    from referrals import selectors, services
    from referrals.models import Delivery, Referral

    total = Referral.objects.count()
    print(
        f"\n{Member.objects.filter(cin__endswith='R').count():,} members, "
        f"{total:,} referrals, {Delivery.objects.count():,} deliveries, "
        f"{len(providers)} providers\n"
    )
    staff = User.objects.get(email="staff07@bench-cs.example")
    today = timezone.localdate()
    member = Member.objects.filter(cin__endswith="R").order_by("pk")[count // 2]
    referral = (
        Referral.objects.filter(member=member, deliveries__isnull=False)
        .select_related("support")
        .first()
    )
    rows = []

    def inbox():
        return list(selectors.inbox(staff)[:100])

    def inbox_sql():
        return fetch(INBOX_SQL, {"org": staff.organization_id})

    assert len(inbox()) == len(inbox_sql())
    rows.append(("provider inbox (100 oldest open)", inbox, inbox_sql))

    def directory():
        return selectors.directory(member=member, support=supports[0])

    def directory_sql():
        return fetch(
            DIRECTORY_SQL,
            {"plan": plan.pk, "support": supports[0].pk, "county": "37",
             "today": today},
        )  # fmt: skip

    assert len(directory()) == len(directory_sql()) == len(providers)
    rows.append(("directory search, one member", directory, directory_sql))

    def limits():
        return services.limit_findings(referral)

    def limits_sql():
        return fetch(
            LIMIT_SQL,
            {"member": member.pk, "support": referral.support_id,
             "referral": referral.pk},
        )  # fmt: skip

    found = {f.limit.key: f.used for f in limits()}
    expected = {key: used for key, _, used in limits_sql()}
    assert found == expected, (found, expected)
    rows.append(("limit check, one authorization", limits, limits_sql))

    print(f"{'answer':38} {'app ms':>8} {'SQL ms':>8} {'ratio':>6} {'queries':>8}")
    verdicts = []
    for label, ours, reference in rows:
        app, raw = timed_pair(ours, reference, args.runs)
        ratio = app / raw if raw else float("inf")
        verdicts.append(ratio <= TARGET)
        print(f"{label:38} {app:8.2f} {raw:8.2f} {ratio:6.2f} {count_queries(ours):8d}")
    print(f"\ntarget: within {TARGET:.0f}x of the raw SQL -> "
          f"{'PASS' if all(verdicts) else 'FAIL'}")  # fmt: skip


if __name__ == "__main__":
    main()
