"""Benchmark: the access registry at the size of a big plan.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/calaim_dev DEBUG=true \
        .venv/bin/python bench/bench_access.py [--members 200000]

Builds (once; kept between runs) a database `calaim_bench` with synthetic members,
enrollments, ECM episodes and audit events, then times the queries every page runs
through `visible_members(user)` against a hand-written reference query that returns
the same rows without the registry, in the same run. Prints medians and ratios.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calaim.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

BENCH_DB = "calaim_bench"


def use_bench_database(members: int):
    from django.conf import settings
    from django.db import connections

    settings.DATABASES["default"]["TEST"]["NAME"] = BENCH_DB
    creation = connection.creation
    creation.create_test_db(verbosity=0, autoclobber=True, keepdb=True, serialize=False)
    connections["default"].settings_dict["NAME"] = BENCH_DB
    from members.models import Member

    if Member.objects.count() < members:
        populate(members)


def populate(count: int):
    from django.contrib.auth.models import Group

    from calaim.accounts import roles
    from calaim.accounts.models import County, Organization, User
    from calaim.audit.models import AuditEvent
    from calaim.validators import npi_check_digit
    from care_plans.models import Episode
    from members.models import Enrollment, Member

    print(f"populating {count} members (once)...", flush=True)
    started = time.perf_counter()
    county = County.objects.get(code="19")
    plans = [
        Organization.objects.get_or_create(
            name=f"Bench Plan {n}", defaults={"is_plan": True}
        )[0]
        for n in range(3)
    ]
    providers = []
    for n in range(60):
        stem = f"17{n:07d}"
        providers.append(
            Organization.objects.get_or_create(
                name=f"Bench ECM Provider {n}",
                defaults={"is_ecm_provider": True, "npi": stem + npi_check_digit(stem)},
            )[0]
        )
    care_managers = []
    group = Group.objects.get(name=roles.CARE_MANAGER)
    for n in range(1200):
        user, _ = User.objects.get_or_create(
            email=f"bench.cm{n}@example.org",
            defaults={"full_name": f"Bench CM {n}", "organization": providers[n % 60]},
        )
        user.groups.add(group)
        care_managers.append(user)
    for name, role, organization in [
        ("bench.plan.admin@example.org", roles.PLAN_ADMIN, plans[0]),
        ("bench.auditor@example.org", roles.AUDITOR, plans[0]),
        ("bench.supervisor@example.org", roles.SUPERVISOR, providers[0]),
    ]:
        user, _ = User.objects.get_or_create(
            email=name, defaults={"full_name": name, "organization": organization}
        )
        user.groups.add(Group.objects.get(name=role))

    existing = Member.objects.count()
    batch = 5000
    now = timezone.now()
    for start in range(existing, count, batch):
        stop = min(start + batch, count)
        members = Member.objects.bulk_create(
            Member(
                cin=f"9{n:07d}B",
                first_name=f"First{n % 997}",
                last_name=f"Last{n % 4999:04d}",
                birth_date=date(1950, 1, 1) + timedelta(days=n % 20000),
            )
            for n in range(start, stop)
        )
        Enrollment.objects.bulk_create(
            Enrollment(
                member=member,
                plan=plans[n % 3],
                county=county,
                start_date=date(2024, 1, 1),
            )
            for n, member in zip(range(start, stop), members, strict=True)
        )
        # One in ten members is in ECM, each care manager carries about 15-20.
        Episode.objects.bulk_create(
            Episode(
                member=member,
                ecm_provider=care_managers[(n // 10) % 1200].organization,
                lead_care_manager=care_managers[(n // 10) % 1200],
                status="enrolled",
                opened_at=now,
            )
            for n, member in zip(range(start, stop), members, strict=True)
            if n % 10 == 0
        )
        AuditEvent.objects.bulk_create(
            AuditEvent(
                occurred_at=now,
                actor_id=care_managers[n % 1200].pk,
                organization_id=care_managers[n % 1200].organization_id,
                action="view",
                object_type="member",
                member_ids=[member.pk],
            )
            for n, member in zip(range(start, stop), members, strict=True)
        )
        print(f"  {stop} members", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"populated in {time.perf_counter() - started:.0f} s", flush=True)


def timed(func, repeat=25):
    func()  # warm
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=200_000)
    args = parser.parse_args()
    use_bench_database(args.members)

    from calaim.access import visible_members
    from calaim.accounts.models import User
    from calaim.audit.selectors import AuditFilters, audit_page
    from care_plans.models import Episode
    from members.access import access_member
    from members.models import Enrollment, Member

    care_manager = User.objects.get(email="bench.cm9@example.org")
    plan_admin = User.objects.get(email="bench.plan.admin@example.org")
    auditor = User.objects.get(email="bench.auditor@example.org")
    supervisor = User.objects.get(email="bench.supervisor@example.org")
    for user in (care_manager, plan_admin, auditor, supervisor):
        user.role_names  # noqa: B018 (cache the roles, as a request would once)
    some_member = (
        Episode.objects.filter(
            lead_care_manager=care_manager,
            member__enrollments__plan=plan_admin.organization_id,
        )
        .first()
        .member
    )

    def page(qs):
        return list(qs.order_by("last_name", "first_name", "id")[:50])

    cases = [
        (
            "care manager's caseload, first 50",
            lambda: page(visible_members(care_manager)),
            lambda: page(
                Member.objects.filter(
                    episodes__lead_care_manager=care_manager,
                    episodes__closed_at__isnull=True,
                )
            ),
        ),
        (
            "supervisor's organization, first 50",
            lambda: page(visible_members(supervisor)),
            lambda: page(
                Member.objects.filter(
                    episodes__ecm_provider_id=supervisor.organization_id,
                    episodes__closed_at__isnull=True,
                )
            ),
        ),
        (
            "plan admin's members, first 50 (1/3 of all)",
            lambda: page(visible_members(plan_admin)),
            lambda: page(
                Member.objects.filter(
                    pk__in=Enrollment.objects.filter(
                        plan=plan_admin.organization_id
                    ).values("member_id")
                )
            ),
        ),
        (
            "plan admin's member count",
            lambda: visible_members(plan_admin).count(),
            lambda: (
                Enrollment.objects.filter(plan=plan_admin.organization_id)
                .values("member_id")
                .distinct()
                .count()
            ),
        ),
        (
            "open one member's chart (care manager)",
            lambda: access_member(care_manager, some_member.uuid, audit=False),
            lambda: Member.objects.get(uuid=some_member.uuid),
        ),
        (
            "open one member's chart (plan admin)",
            lambda: access_member(plan_admin, some_member.uuid, audit=False),
            lambda: Member.objects.get(uuid=some_member.uuid),
        ),
        (
            "auditor's audit page, newest 50 (ref: unscoped)",
            lambda: audit_page(auditor, AuditFilters()),
            lambda: list(
                __import__(
                    "calaim.audit.models", fromlist=["AuditEvent"]
                ).AuditEvent.objects.order_by("-id")[:51]
            ),
        ),
    ]
    print(f"\n{Member.objects.count()} members; medians of 25 runs\n")
    print(f"{'query':<46}{'registry ms':>12}{'reference ms':>14}{'ratio':>8}")
    for name, ours, reference in cases:
        ours_ms, reference_ms = timed(ours), timed(reference)
        print(f"{name:<46}{ours_ms:>12.2f}{reference_ms:>14.2f}"
              f"{ours_ms / reference_ms:>8.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
