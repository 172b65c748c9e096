"""Benchmark for issue 5 ("Speed"): the caseload, the chart, who may see whom, the API.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/calaim_dev DEBUG=true \
        REDIS_URL=redis://127.0.0.1:6379/12 .venv/bin/python bench/caseload.py [--quick]

Builds (once per size; kept between runs) one database per member count,
`calaim_bench_caseload_<n>`, with members, CINs, enrollments, populations of
focus, ECM episodes (1,000 care managers, 100 members each where there are
enough members; 1 in 10 episodes closed), episode events, outreach attempts,
~3 encounters per episode and an open task per open episode, written with COPY
(calaim.bulk). A third database, `calaim_bench_caseload_access`, holds 1,000,000
assignment and grant rows for "the members I may see". Then it prints, in one run:

1. the caseload page and the member chart through Django's test Client (a care
   manager with ~90 open episodes), median server time and query count, against
   the same templates rendered from rows fetched with raw SQL (prepared
   statements, as the app's fixed reads are; --reference-unprepared for plain
   ones); at both sizes, and the growth from the small size to the large one;
2. `visible_members(user)` against a plain indexed filter on the same table, and
   guardian's `get_objects_for_user` for reference;
3. the provider member list API under gunicorn with 8 concurrent keep-alive
   clients, against a bare `JsonResponse` of the same rows (bench/reference_urls.py);
4. a summary with the issue's targets, PASS or FAIL.

Timings are medians in milliseconds of wall-clock time in this process (the
database is local). The Django process runs with DEBUG off (set after start-up,
so the query log and template debugging do not weigh on either side).
"""

import argparse
import difflib
import http.client
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calaim.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.utils import timezone  # noqa: E402

_ROLES_AND_PERMISSIONS = """
    SELECT
      ARRAY(SELECT g.name FROM auth_group g
            JOIN accounts_user_groups ug ON ug.group_id = g.id WHERE ug.user_id = %s),
      ARRAY(SELECT ct.app_label || '.' || p.codename FROM auth_permission p
            JOIN django_content_type ct ON ct.id = p.content_type_id
            JOIN accounts_user_user_permissions up ON up.permission_id = p.id
            WHERE up.user_id = %s),
      ARRAY(SELECT ct.app_label || '.' || p.codename FROM auth_permission p
            JOIN django_content_type ct ON ct.id = p.content_type_id
            JOIN auth_group_permissions gp ON gp.permission_id = p.id
            JOIN accounts_user_groups ug ON ug.group_id = gp.group_id
            WHERE ug.user_id = %s)"""

# Production-like rendering for both sides of every comparison (see docstring).
settings.DEBUG = False

CARE_MANAGERS = 1000
CASELOAD = 100  # members per care manager, where there are enough members
PROVIDERS = 20  # provider 0 is small: 3 care managers, ~270 open episodes
ENCOUNTERS_PER_EPISODE = 3
OUTREACH_PER_EPISODE = 2
BATCH = 20_000


# --- Databases ----------------------------------------------------------------------


def use_database(name: str) -> None:
    """Point the default connection at bench database `name`, creating and
    migrating it when missing (kept between runs)."""
    connections.close_all()
    connection.settings_dict["TEST"]["NAME"] = name
    connection.creation.create_test_db(
        verbosity=0, autoclobber=True, keepdb=True, serialize=False
    )
    assert connection.settings_dict["NAME"] == name


def connect_to(name: str) -> None:
    """Switch to an existing, migrated bench database (no migrate run)."""
    connections.close_all()
    connection.settings_dict["NAME"] = name


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- Seeding ------------------------------------------------------------------------


def _npi(stem: str) -> str:
    from calaim.validators import npi_check_digit

    return stem + npi_check_digit(stem)


def seed_people(*, covering_users: int = 0):
    """Plans, providers, 1,000 care managers (and optional covering care managers
    without a caseload), the small provider's API service account. Idempotent."""
    from django.contrib.auth.models import Group

    from calaim.accounts import roles
    from calaim.accounts.models import Organization, User
    from calaim.bulk import copy_insert

    plans = [
        Organization.objects.get_or_create(
            name=f"Bench Plan {n}", defaults={"is_plan": True}
        )[0]
        for n in range(3)
    ]
    providers = [
        Organization.objects.get_or_create(
            name=f"Bench ECM Provider {n}",
            defaults={"is_ecm_provider": True, "npi": _npi(f"18{n:07d}")},
        )[0]
        for n in range(PROVIDERS)
    ]

    def provider_of(n: int) -> Organization:
        return providers[0] if n < 3 else providers[1 + (n - 3) % (PROVIDERS - 1)]

    def ensure_users(prefix: str, count: int, role: str, organization_of):
        existing = {
            user.email: user
            for user in User.objects.filter(email__startswith=f"bench.{prefix}")
        }
        missing = [
            User(
                email=f"bench.{prefix}{n}@example.org",
                full_name=f"Bench {prefix.upper()} {n}",
                phone=f"619-555-{n % 10000:04d}",
                organization=organization_of(n),
                password="!",  # noqa: S106 (unusable password)
            )
            for n in range(count)
            if f"bench.{prefix}{n}@example.org" not in existing
        ]
        if missing:
            copy_insert(User, missing, with_pk=False)
            group = Group.objects.get(name=role)
            new = User.objects.filter(email__in=[user.email for user in missing])
            copy_insert(
                User.groups.through,
                [
                    User.groups.through(user_id=pk, group_id=group.pk)
                    for pk in new.values_list("pk", flat=True)
                ],
                with_pk=False,
            )
        by_email = {
            user.email: user
            for user in User.objects.filter(email__startswith=f"bench.{prefix}")
        }
        return [by_email[f"bench.{prefix}{n}@example.org"] for n in range(count)]

    care_managers = ensure_users("cm", CARE_MANAGERS, roles.CARE_MANAGER, provider_of)
    covering = ensure_users(
        "cover", covering_users, roles.CARE_MANAGER, lambda n: providers[1]
    )
    service_account, created = User.objects.get_or_create(
        email="bench.api@example.org",
        defaults={
            "full_name": "Bench provider system",
            "organization": providers[0],
            "is_service_account": True,
        },
    )
    if created:
        service_account.set_unusable_password()
        service_account.save()
        service_account.groups.add(Group.objects.get(name=roles.PROVIDER_API))
    return plans, providers, care_managers, covering, service_account


def _member(n: int, pk: int, county):
    from members.models import Member

    return Member(
        id=pk,
        cin=f"9{n:07d}C",
        first_name=f"First{n % 997}",
        last_name=f"Last{(n * 7919) % 49999:05d}",
        birth_date=date(1950, 1, 1) + timedelta(days=(n * 37) % 25000),
        sex="FMU"[n % 3],
        preferred_language=("ENG", "SPA", "VIE")[n % 3],
        phone=f"619-555-{n % 10000:04d}",
        address_line1=f"{n % 9000 + 100} Bench Street",
        city="San Diego",
        state="CA",
        zip_code="92101",
        county=county,
        is_homeless=n % 17 == 0,
        race_ethnicity=["hispanic"] if n % 2 else [],
    )


def seed_caseload_database(count: int) -> None:
    """Members with everything a caseload and a chart show, up to `count`."""
    from calaim.accounts.models import County
    from calaim.bulk import allocate_ids, copy_insert
    from calaim.work.models import Task
    from care_plans.models import (
        Encounter,
        Episode,
        EpisodeEvent,
        OutreachAttempt,
    )
    from members.models import (
        Enrollment,
        Member,
        MemberCin,
        MemberPopulation,
        PopulationOfFocus,
    )

    plans, providers, care_managers, _, _ = seed_people()
    existing = Member.objects.filter(cin__endswith="C").count()
    if existing >= count:
        return
    print(f"  seeding {count - existing} members (once) ...", flush=True)
    started = time.perf_counter()
    county = County.objects.get(code="37")
    populations = list(
        PopulationOfFocus.objects.filter(age_group="adult").values_list(
            "code", flat=True
        )
    )
    now = timezone.now()
    today = timezone.localdate()
    statuses = ["enrolled"] * 6 + ["outreach", "assigned", "active"]
    for start in range(existing, count, BATCH):
        stop = min(start + BATCH, count)
        numbers = range(start, stop)
        member_ids = allocate_ids(Member, len(numbers))
        copy_insert(
            Member,
            [_member(n, pk, county) for n, pk in zip(numbers, member_ids, strict=True)],
        )
        copy_insert(
            MemberCin,
            [
                MemberCin(cin=f"9{n:07d}C", member_id=pk, is_current=True, source="834")
                for n, pk in zip(numbers, member_ids, strict=True)
            ],
            with_pk=False,
        )
        copy_insert(
            Enrollment,
            [
                Enrollment(
                    member_id=pk,
                    plan=plans[n % 3],
                    county=county,
                    aid_code="1H",
                    start_date=date(2023, 1, 1) + timedelta(days=n % 365),
                )
                for n, pk in zip(numbers, member_ids, strict=True)
            ],
            with_pk=False,
        )
        copy_insert(
            MemberPopulation,
            [
                MemberPopulation(
                    member_id=pk,
                    population_id=populations[n % len(populations)],
                    source="plan_data",
                    start_date=date(2024, 1, 1),
                )
                for n, pk in zip(numbers, member_ids, strict=True)
            ],
            with_pk=False,
        )
        episode_ids = allocate_ids(Episode, len(numbers))
        episodes = []
        for n, member_pk, pk in zip(numbers, member_ids, episode_ids, strict=True):
            care_manager = care_managers[(n // CASELOAD) % CARE_MANAGERS]
            closed = n % 10 == 9
            opened = now - timedelta(days=30 + n % 300)
            episodes.append(
                Episode(
                    id=pk,
                    member_id=member_pk,
                    plan=plans[n % 3],
                    status="discontinued" if closed else statuses[n % len(statuses)],
                    population_id=populations[n % len(populations)],
                    authorization_requested_at=opened,
                    authorization_number=f"A{n:08d}",
                    authorized_from=opened.date(),
                    authorized_through=opened.date() + timedelta(days=365),
                    decided_at=opened + timedelta(days=2),
                    ecm_provider_id=care_manager.organization_id,
                    lead_care_manager=care_manager,
                    assigned_at=opened + timedelta(days=3),
                    enrolled_on=(opened + timedelta(days=10)).date(),
                    consent_method="verbal",
                    discontinued_on=today if closed else None,
                    discontinuation_reason="goals_met" if closed else "",
                    opened_at=opened,
                    closed_at=now if closed else None,
                )
            )
        copy_insert(Episode, episodes)
        copy_insert(
            EpisodeEvent,
            [
                EpisodeEvent(
                    episode_id=episode.pk,
                    action=action,
                    from_status=from_status,
                    to_status=to_status,
                    actor=episode.lead_care_manager,
                    occurred_at=episode.opened_at + timedelta(days=days),
                )
                for episode in episodes
                for action, from_status, to_status, days in (
                    ("identify", "", "authorization_requested", 0),
                    ("assign", "authorized", "assigned", 3),
                )
            ],
            with_pk=False,
        )
        copy_insert(
            OutreachAttempt,
            [
                OutreachAttempt(
                    episode_id=episode.pk,
                    attempted_at=episode.opened_at + timedelta(days=4 + k),
                    method=("phone", "in_person")[k % 2],
                    outcome=("no_answer", "reached")[k % 2],
                    minutes=10 + k,
                    staff=episode.lead_care_manager,
                )
                for episode in episodes
                for k in range(OUTREACH_PER_EPISODE)
            ],
            with_pk=False,
        )
        copy_insert(
            Encounter,
            [
                Encounter(
                    episode_id=episode.pk,
                    occurred_on=episode.enrolled_on + timedelta(days=7 * (k + 1)),
                    mode=("in_person", "telephonic", "video")[k % 3],
                    minutes=30,
                    hcpcs_code="G9008",
                    modifiers=["U1"],
                    staff=episode.lead_care_manager,
                )
                for episode in episodes
                for k in range(ENCOUNTERS_PER_EPISODE)
            ],
            with_pk=False,
        )
        copy_insert(
            Task,
            [
                Task(
                    kind="ecm.bench_follow_up",
                    member_id=episode.member_id,
                    owner=episode.lead_care_manager,
                    due_at=now + timedelta(days=(episode.pk % 21) - 7),
                    source_type="care_plans.episode",
                    source_id=str(episode.pk),
                )
                for episode in episodes
                if episode.closed_at is None
            ],
            with_pk=False,
        )
        print(f"    {stop} members", flush=True)
    analyze()
    print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)


def seed_access_database(members: int, rows: int) -> None:
    """`members` members each with an open episode (the assignment rows) and
    `rows - members` guardian grants, half of them expired, spread over 1,000
    covering care managers who have no caseload of their own."""
    from django.contrib.auth.models import Permission

    from calaim.accounts.models import County
    from calaim.bulk import allocate_ids, copy_insert
    from care_plans.models import Episode
    from members.models import Member, MemberGrant

    plans, _, care_managers, covering, _ = seed_people(covering_users=CARE_MANAGERS)
    grants = rows - members
    existing = Member.objects.filter(cin__endswith="C").count()
    if existing >= members and MemberGrant.objects.count() >= grants:
        return
    print(f"  seeding {members} members and {grants} grants (once) ...", flush=True)
    started = time.perf_counter()
    county = County.objects.get(code="37")
    now = timezone.now()
    for start in range(existing, members, BATCH):
        numbers = range(start, min(start + BATCH, members))
        ids = allocate_ids(Member, len(numbers))
        copy_insert(
            Member, [_member(n, pk, county) for n, pk in zip(numbers, ids, strict=True)]
        )
        copy_insert(
            Episode,
            [
                Episode(
                    member_id=pk,
                    plan=plans[n % 3],
                    status="enrolled",
                    ecm_provider_id=care_managers[n % CARE_MANAGERS].organization_id,
                    lead_care_manager=care_managers[n % CARE_MANAGERS],
                    opened_at=now,
                )
                for n, pk in zip(numbers, ids, strict=True)
            ],
            with_pk=False,
        )
    member_ids = list(Member.objects.order_by("pk").values_list("pk", flat=True))
    MemberGrant.objects.all().delete()
    view_member = Permission.objects.get(
        content_type__app_label="members", codename="view_member"
    )
    per_user = grants // len(covering)
    granted_by = care_managers[0]
    batch = []
    for u, user in enumerate(covering):
        for k in range(per_user):
            active = k % 2 == 0
            batch.append(
                MemberGrant(
                    user=user,
                    permission_id=view_member.pk,
                    content_object_id=member_ids[(u * 7919 + k * 257) % members],
                    kind="covering",
                    reason="bench",
                    granted_by=granted_by,
                    granted_at=now - timedelta(days=1 if active else 60),
                    expires_at=now + timedelta(days=30 if active else -30),
                )
            )
        if len(batch) >= BATCH * 5:
            copy_insert(MemberGrant, batch, with_pk=False)
            batch = []
    copy_insert(MemberGrant, batch, with_pk=False)
    analyze()
    print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)


# --- Timing helpers -----------------------------------------------------------------


def timed(func, runs: int) -> float:
    """Median wall time of `func()` in ms, after two warm-up calls."""
    return timed_pair(func, func, runs)[0]


def timed_pair(ours, reference, runs: int) -> tuple[float, float]:
    """Medians (ms) of `ours` and `reference`, their runs interleaved so that
    both see the same machine (other work on a shared host comes and goes)."""
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


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# The raw-SQL reference runs its statements prepared, as the app's fixed reads
# are (calaim.prepared.statement_cursor) and as psycopg itself would after five
# runs: the comparison is of what each side does in Python, not of whether
# PostgreSQL plans a statement again. --reference-unprepared: plain statements.
REFERENCE = {"prepared": True}


def _reference_cursor():
    from calaim.prepared import statement_cursor

    return statement_cursor() if REFERENCE["prepared"] else connection.cursor()


def _fetch(sql: str, params) -> list[dict]:
    with _reference_cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column.name for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _labels(model, field: str) -> dict:
    return dict(model._meta.get_field(field).flatchoices)


# --- 1. Pages -----------------------------------------------------------------------


def caseload_url() -> tuple[str, str]:
    """The caseload page if another helper's `ecm_caseload` exists, else home."""
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("ecm_caseload"), "ecm_caseload page"
    except NoReverseMatch:
        return reverse("home"), "home page (My caseload panel)"


def _request_for(user, path="/"):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.test import RequestFactory

    request = RequestFactory().get(path)
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def reference_caseload(user, request) -> str:
    """The home page's caseload panel from one raw SQL query."""
    from django.template.loader import render_to_string

    from calaim.web.panels import RenderedPanel, home_panels
    from care_plans.models import Episode
    from members.models import Member

    labels = _labels(Episode, "status")
    rows = _fetch(
        f"""SELECT e.status, m.uuid, m.last_name, m.first_name, m.cin
        FROM {_table(Episode)} e JOIN {_table(Member)} m ON m.id = e.member_id
        WHERE e.lead_care_manager_id = %s AND e.closed_at IS NULL
        ORDER BY m.last_name, m.first_name, m.id""",  # noqa: S608
        [user.pk],
    )
    episodes = [
        {
            "status": row["status"],
            "get_status_display": labels[row["status"]],
            "member": row,
        }
        for row in rows
    ]
    rendered = []
    for panel in home_panels(user):
        if panel.key == "caseload":
            rendered.append(RenderedPanel(panel, {"episodes": episodes}))
        else:  # not a care manager's panel today; kept honest if one appears
            rendered.append(RenderedPanel(panel, panel.context(request) or {}))
    return render_to_string("web/home.html", {"panels": rendered}, request=request)


class _Counted:
    """What Paginator needs of the caseload rows: the total (from the query's
    window count) and the page already fetched."""

    def __init__(self, rows, total):
        self.rows, self.total = rows, total

    def count(self):
        return self.total

    def __len__(self):
        return self.total

    def __getitem__(self, index):
        return self.rows[index]


def reference_caseload_page(user, request) -> str:
    """The caseload page (care_plans/cm/caseload.html, a care manager's own, no
    filters, first page) from raw SQL: the page of rows with their last contact,
    outreach counts and next due task (LATERAL joins) and the total (a window
    count) in one query, then the current populations of the page's members."""
    from django.core.paginator import Paginator
    from django.template.loader import render_to_string

    from calaim.work.kinds import task_kind_label
    from calaim.work.models import Task
    from care_plans import forms_cm
    from care_plans.cm_views import CASELOAD_PAGE_SIZE, OUTREACH_STATUSES
    from care_plans.models import Encounter, Episode, OutreachAttempt
    from care_plans.selectors import outreach_rule_state
    from members.models import Member, MemberPopulation, PopulationOfFocus

    statuses = _labels(Episode, "status")
    rows = _fetch(
        f"""SELECT e.id, e.status, e.member_id, m.uuid, m.cin, m.last_name,
            m.first_name, o.last_at, o.first_at, o.attempts, o.methods,
            enc.last_on, t.due_at, t.kind, COALESCE(t.due_at < now(), false)
            AS is_overdue, count(*) OVER () AS total
        FROM {_table(Episode)} e
        JOIN {_table(Member)} m ON m.id = e.member_id
        CROSS JOIN LATERAL (
            SELECT max(attempted_at) AS last_at, min(attempted_at) AS first_at,
                count(*) AS attempts, count(DISTINCT method) AS methods
            FROM {_table(OutreachAttempt)} WHERE episode_id = e.id) o
        CROSS JOIN LATERAL (
            SELECT max(occurred_on) AS last_on FROM {_table(Encounter)}
            WHERE episode_id = e.id) enc
        LEFT JOIN LATERAL (
            SELECT due_at, kind FROM {_table(Task)}
            WHERE member_id = e.member_id AND status = 'open'
              AND (owner_id = %s OR owner_id = e.lead_care_manager_id
                   OR organization_id = e.ecm_provider_id)
            ORDER BY due_at, id LIMIT 1) t ON true
        WHERE e.lead_care_manager_id = %s AND e.closed_at IS NULL
        ORDER BY is_overdue DESC, t.due_at ASC NULLS LAST, m.last_name,
            m.first_name, e.member_id
        LIMIT %s""",  # noqa: S608
        [user.pk, user.pk, CASELOAD_PAGE_SIZE],
    )
    today = timezone.localdate()
    populations = {}
    for row in _fetch(
        f"""SELECT mp.member_id, p.code, p.name
        FROM {_table(MemberPopulation)} mp
        JOIN {_table(PopulationOfFocus)} p ON p.code = mp.population_id
        WHERE mp.member_id = ANY(%s) AND mp.start_date <= %s
          AND (mp.end_date IS NULL OR mp.end_date >= %s)
        ORDER BY p.sort_order, mp.population_id""",  # noqa: S608
        [[row["member_id"] for row in rows], today, today],
    ):
        populations.setdefault(row["member_id"], []).append(
            {"population": {"code": row["code"], "name": row["name"]}}
        )
    page_rows = []
    for row in rows:
        contacts = [
            day
            for day in (
                timezone.localdate(row["last_at"]) if row["last_at"] else None,
                row["last_on"],
            )
            if day is not None
        ]
        record = _Record(
            row,
            member={
                "uuid": row["uuid"],
                "cin": row["cin"],
                "last_name": row["last_name"],
                "first_name": row["first_name"],
                "current_populations": populations.get(row["member_id"], []),
            },
            get_status_display=statuses[row["status"]],
            last_contact=max(contacts) if contacts else None,
            next_due_at=row["due_at"],
            next_due_label=task_kind_label(row["kind"]) if row["kind"] else "",
            outreach_rule=None,
        )
        if row["status"] in OUTREACH_STATUSES:
            record.outreach_rule = outreach_rule_state(
                SimpleNamespace(
                    outreach_count=row["attempts"],
                    outreach_methods=row["methods"],
                    last_outreach_at=row["last_at"],
                    first_outreach_at=row["first_at"],
                )
            )
        page_rows.append(record)
    total = rows[0]["total"] if rows else 0
    page = Paginator(_Counted(page_rows, total), CASELOAD_PAGE_SIZE).get_page(1)
    return render_to_string(
        "care_plans/cm/caseload.html",
        {
            "form": forms_cm.CaseloadFilterForm(None, care_managers=None),
            "page": page,
            "scope": "own",
            "filtered": False,
            "query": "",
        },
        request=request,
    )


def _chart_reference_panels(member: dict, request) -> dict:
    """Hand-built contexts, one raw SQL query per panel, for the panels the bench
    knows; the chart's other panels (added later by other apps) fall back to
    their own context functions, and the run says which."""
    from calaim.accounts.models import Organization, User
    from members.models import (
        ADULT_AGE,
        EnrollmentFile,
        MemberChange,
        MemberCin,
        MemberPopulation,
        OtherProgramEnrollment,
        PopulationOfFocus,
        RaceEthnicity,
    )
    from members.views import LANGUAGES, _by_status, _twenty_first_birthday
    from referrals.models import Referral

    member_id = member["id"]
    today = timezone.localdate()
    contexts = {}

    race = _labels_dict(RaceEthnicity)
    language = member["preferred_language"]
    contexts["demographics"] = lambda: {
        "county": {"name": member["county_name"]} if member["county_name"] else None,
        "language": LANGUAGES.get(language.upper(), "") if language else "",
        "race_ethnicity": [race.get(code, code) for code in member["race_ethnicity"]],
        "is_adult": member["age"] >= ADULT_AGE,
        "adult_age": ADULT_AGE,
        "adult_on": _twenty_first_birthday(member["birth_date"]),
    }

    def enrollment():
        spans = [
            {
                **row,
                "plan": {"name": row["plan_name"]},
                "county": {"name": row["county_name"]},
                "source_file": {"original_name": row["file_name"]}
                if row["file_name"]
                else None,
                "is_current": row["start_date"] <= today
                and (row["end_date"] is None or today <= row["end_date"]),
            }
            for row in member["enrollments"]
        ]
        return {"enrollments": spans, "today": today}

    contexts["enrollment"] = enrollment

    def populations():
        sources = _labels(MemberPopulation, "source")
        rows = _fetch(
            f"""SELECT mp.start_date, mp.end_date, mp.source, mp.evidence,
                mp.recorded_at, p.name AS population_name,
                u.full_name AS recorded_by_name, o.name AS organization_name
            FROM {_table(MemberPopulation)} mp
            JOIN {_table(PopulationOfFocus)} p ON p.code = mp.population_id
            LEFT JOIN {_table(User)} u ON u.id = mp.recorded_by_id
            LEFT JOIN {_table(Organization)} o ON o.id = u.organization_id
            WHERE mp.member_id = %s ORDER BY mp.start_date DESC, mp.id DESC""",  # noqa: S608
            [member_id],
        )
        records = [
            _Record(
                row,
                population={"name": row["population_name"]},
                get_source_display=sources.get(row["source"], row["source"]),
                recorded_by={
                    "full_name": row["recorded_by_name"],
                    "organization": {"name": row["organization_name"]}
                    if row["organization_name"]
                    else None,
                }
                if row["recorded_by_name"]
                else None,
            )
            for row in rows
        ]
        return {"populations": _by_status(records, today)}

    contexts["populations"] = populations

    def other_programs():
        programs = _labels(OtherProgramEnrollment, "program")
        rows = _fetch(
            f"""SELECT program, start_date, end_date, source
            FROM {_table(OtherProgramEnrollment)}
            WHERE member_id = %s ORDER BY start_date DESC, id DESC""",  # noqa: S608
            [member_id],
        )
        records = [
            _Record(row, get_program_display=programs.get(row["program"]))
            for row in rows
        ]
        return {"programs": _by_status(records, today)}

    contexts["other_programs"] = other_programs
    contexts["cin_history"] = lambda: {
        "cins": _fetch(
            f"""SELECT cin, is_current, source, recorded_at FROM {_table(MemberCin)}
            WHERE member_id = %s ORDER BY is_current DESC, recorded_at DESC, id DESC""",  # noqa: S608
            [member_id],
        )
    }

    def changes():
        from members.views import CHANGES_SHOWN, _field_label, _field_value

        rows = _fetch(
            f"""SELECT c.changes, c.changed_at, c.source_segment,
                f.original_name AS file_name, u.full_name AS changed_by_name
            FROM {_table(MemberChange)} c
            LEFT JOIN {_table(EnrollmentFile)} f ON f.id = c.source_file_id
            LEFT JOIN {_table(User)} u ON u.id = c.changed_by_id
            WHERE c.member_id = %s ORDER BY c.changed_at DESC, c.id DESC
            LIMIT %s""",  # noqa: S608
            [member_id, CHANGES_SHOWN + 1],
        )
        for row in rows:
            row["source_file"] = (
                {"original_name": row["file_name"]} if row["file_name"] else None
            )
            row["changed_by"] = (
                {"full_name": row["changed_by_name"]}
                if row["changed_by_name"]
                else None
            )
            row["fields"] = [
                {
                    "label": _field_label(name),
                    "before": _field_value(name, values[0]),
                    "after": _field_value(name, values[1]),
                }
                for name, values in sorted(row["changes"].items())
            ]
        return {
            "changes": rows[:CHANGES_SHOWN],
            "more_changes": len(rows) > CHANGES_SHOWN,
            "changes_shown": CHANGES_SHOWN,
        }

    contexts["changes"] = changes

    def referrals():
        from community_supports.models import CommunitySupport

        statuses = _labels(Referral, "status")
        authorizations = _labels(Referral, "authorization_status")
        rows = _fetch(
            f"""SELECT r.uuid, r.status, r.authorization_status, r.created_at,
                r.status_changed_at, o.name AS org_name, s.name AS support_name
            FROM {_table(Referral)} r
            LEFT JOIN {_table(Organization)} o ON o.id = r.receiving_organization_id
            LEFT JOIN {_table(CommunitySupport)} s ON s.id = r.support_id
            WHERE r.member_id = %s ORDER BY r.created_at DESC, r.id DESC""",  # noqa: S608
            [member_id],
        )
        return {
            "referrals": [
                {
                    **row,
                    "receiving_organization": {"name": row["org_name"]}
                    if row["org_name"]
                    else None,
                    "support": {"name": row["support_name"]}
                    if row["support_name"]
                    else None,
                    "get_status_display": statuses[row["status"]],
                    "get_authorization_status_display": authorizations.get(
                        row["authorization_status"], row["authorization_status"]
                    ),
                }
                for row in rows
            ],
            "member": {"uuid": member["uuid"]},
            "may_refer": request.user.has_perm("referrals.add_referral"),
        }

    contexts["referrals"] = referrals
    ecm_panels, episode = _ecm_reference_panels(member_id, request, today)
    contexts.update(ecm_panels)
    contexts.update(_record_reference_panels(member, episode, request, today))
    return contexts


def _ecm_reference_panels(member_id, request, today) -> dict:
    """The ECM episode, outreach, encounters, timeline and notices panels: the
    latest episode once (as the page shares it), then one query per panel. The
    forms are the page's own form classes, drawn for the same episode."""
    from django.urls import reverse

    from calaim.accounts.models import Organization, User
    from care_plans import forms_cm
    from care_plans.cm_views import (
        DISCONTINUE_STATUSES,
        ENCOUNTER_STATUSES,
        OUTREACH_STATUSES,
        REASSIGN_STATUSES,
    )
    from care_plans.models import (
        Encounter,
        EncounterMode,
        Episode,
        Notice,
        OutreachAttempt,
    )
    from care_plans.selectors import outreach_rule_state
    from members.models import PopulationOfFocus

    statuses = _labels(Episode, "status")
    rows = _fetch(
        f"""SELECT e.*, o.name AS provider_name, u.full_name AS lcm_name,
            u.phone AS lcm_phone, p.name AS population_name
        FROM {_table(Episode)} e
        LEFT JOIN {_table(Organization)} o ON o.id = e.ecm_provider_id
        LEFT JOIN {_table(User)} u ON u.id = e.lead_care_manager_id
        LEFT JOIN {_table(PopulationOfFocus)} p ON p.code = e.population_id
        WHERE e.member_id = %s
        ORDER BY e.closed_at DESC NULLS FIRST, e.opened_at DESC, e.id DESC
        LIMIT 1""",  # noqa: S608
        [member_id],
    )
    episode = None
    if rows:
        row = rows[0]
        episode = SimpleNamespace(
            **row,
            is_open=row["closed_at"] is None,
            get_status_display=statuses[row["status"]],
            ecm_provider={"name": row["provider_name"]}
            if row["provider_name"]
            else None,
            lead_care_manager={"full_name": row["lcm_name"], "phone": row["lcm_phone"]}
            if row["lcm_name"]
            else None,
            population={"name": row["population_name"]}
            if row["population_name"]
            else None,
        )
    user = request.user

    def url(name):
        return reverse(name, args=[episode.uuid])

    def provider_staff(permission):
        return (
            episode is not None
            and user.has_perm(permission)
            and user.organization_id is not None
            and user.organization_id == episode.ecm_provider_id
        )

    def episode_panel():
        if episode is None or not episode.is_open:
            return {"episode": None}
        context = {"episode": episode}
        responsible = user.organization_id in (episode.ecm_provider_id, episode.plan_id)
        if (
            responsible
            and episode.status in DISCONTINUE_STATUSES
            and user.has_perm("care_plans.discontinue_episode")
        ):
            context["discontinue_form"] = forms_cm.DiscontinueForm(episode=episode)
            context["discontinue_url"] = url("ecm_discontinue")
        if (
            responsible
            and episode.status in REASSIGN_STATUSES
            and user.has_perm("care_plans.assign_lead_care_manager")
        ):
            context["reassign_form"] = forms_cm.ReassignForm(episode=episode)
            context["reassign_url"] = url("ecm_reassign")
        if episode.status in REASSIGN_STATUSES and provider_staff(
            "members.grant_member_access"
        ):
            context["cover_form"] = forms_cm.CoverForm(episode=episode)
            context["cover_url"] = url("ecm_cover")
            context["covering"] = []  # (the bench grants no covering access)
        return context

    def outreach_panel():
        if episode is None:
            return {"episode": None}
        methods = _labels(OutreachAttempt, "method")
        outcomes = _labels(OutreachAttempt, "outcome")
        attempts = _fetch(
            f"""SELECT a.attempted_at, a.method, a.outcome, a.minutes, a.note,
                u.full_name AS staff_name
            FROM {_table(OutreachAttempt)} a
            JOIN {_table(User)} u ON u.id = a.staff_id
            WHERE a.episode_id = %s ORDER BY a.attempted_at DESC""",  # noqa: S608
            [episode.id],
        )
        for attempt in attempts:
            attempt["get_method_display"] = methods[attempt["method"]]
            attempt["get_outcome_display"] = outcomes[attempt["outcome"]]
            attempt["successful"] = attempt["outcome"] == "reached"
            attempt["staff"] = {"full_name": attempt["staff_name"]}
        times = [attempt["attempted_at"] for attempt in attempts]
        rule_met, rule_why = outreach_rule_state(
            SimpleNamespace(
                outreach_count=len(attempts),
                outreach_methods=len({attempt["method"] for attempt in attempts}),
                last_outreach_at=max(times, default=None),
                first_outreach_at=min(times, default=None),
            )
        )
        in_outreach = episode.is_open and episode.status in OUTREACH_STATUSES
        context = {
            "episode": episode,
            "attempts": attempts,
            "rule_met": rule_met,
            "rule_why": rule_why,
            "in_outreach": in_outreach,
        }
        if in_outreach and provider_staff("care_plans.add_outreachattempt"):
            context["outreach_form"] = forms_cm.OutreachForm()
            context["outreach_url"] = url("ecm_outreach")
        if in_outreach and provider_staff("care_plans.enroll_episode"):
            context["enroll_form"] = forms_cm.EnrollForm(episode=episode)
            context["decline_form"] = forms_cm.DeclineForm(episode=episode)
            context["enroll_url"] = url("ecm_enroll")
            context["decline_url"] = url("ecm_decline")
            if rule_met and episode.status == "outreach":
                context["unable_form"] = forms_cm.UnableToReachForm(episode=episode)
                context["unable_url"] = url("ecm_unable_to_reach")
        return context

    def encounters_panel():
        if episode is None:
            return {"episode": None}
        modes = _labels(Encounter, "mode")
        month_start = today.replace(day=1)
        encounters = _fetch(
            f"""SELECT e.occurred_on, e.mode, e.minutes, e.hcpcs_code, e.modifiers,
                e.note, u.full_name AS staff_name
            FROM {_table(Encounter)} e JOIN {_table(User)} u ON u.id = e.staff_id
            WHERE e.episode_id = %s ORDER BY e.occurred_on DESC, e.id DESC""",  # noqa: S608
            [episode.id],
        )
        counts = {"in_person": 0, "telephonic_video": 0}
        for encounter in encounters:
            encounter["get_mode_display"] = modes[encounter["mode"]]
            encounter["staff"] = {"full_name": encounter["staff_name"]}
            if month_start <= encounter["occurred_on"] <= today:
                in_person = encounter["mode"] == EncounterMode.IN_PERSON
                counts["in_person" if in_person else "telephonic_video"] += 1
        context = {
            "episode": episode,
            "encounters": encounters,
            "counts": counts,
            "month_start": month_start,
        }
        if (
            episode.is_open
            and episode.status in ENCOUNTER_STATUSES
            and provider_staff("care_plans.add_encounter")
        ):
            context["encounter_form"] = forms_cm.EncounterForm()
            context["encounter_url"] = url("ecm_encounter")
        return context

    def notices_panel():
        kinds = _labels(Notice, "kind")
        notices = _fetch(
            f"""SELECT n.uuid, n.kind, n.recipient, n.created_at, n.sent_at,
                n.sent_method
            FROM {_table(Notice)} n JOIN {_table(Episode)} e ON e.id = n.episode_id
            WHERE e.member_id = %s ORDER BY n.created_at DESC, n.id DESC""",  # noqa: S608
            [member_id],
        )
        for notice in notices:
            notice["get_kind_display"] = kinds[notice["kind"]]
        return {"notices": notices}

    return {
        "ecm_episode": episode_panel,
        "ecm_outreach": outreach_panel,
        "ecm_encounters": encounters_panel,
        "ecm_notices": notices_panel,
    }, episode


# The chart's timeline, in one raw query: each source's newest rows (as many as
# the page's merge reads of each, TIMELINE_PAGE + 1) in one UNION ALL, in the
# order of care_plans.chart_views.TIMELINE_SOURCES, then merged by time.
_TIMELINE_SQL = """
WITH branches AS (
  (SELECT 0 AS src, row_number() OVER (ORDER BY a.started_at DESC, a.id DESC) AS n,
      a.started_at AS at, a.completed_at AS at2, NULL::date AS day, a.status AS t1,
      t.name AS t2, NULL AS t3, NULL AS t4, NULL::int AS num, NULL::text[] AS arr,
      su.full_name AS by1, cu.full_name AS by2, NULL::date AS day2
    FROM {assessment} a JOIN {template} t ON t.id = a.template_id
    JOIN {user} su ON su.id = a.started_by_id
    LEFT JOIN {user} cu ON cu.id = a.completed_by_id
    WHERE a.member_id = %(member)s ORDER BY a.started_at DESC, a.id DESC
    LIMIT %(limit)s)
  UNION ALL
  (SELECT 1, row_number() OVER (ORDER BY c.start_date DESC, c.id DESC), c.revoked_at,
      NULL, c.start_date, c.kind, NULL, NULL, NULL, NULL, NULL, u.full_name, NULL,
      c.end_date
    FROM {consent} c JOIN {user} u ON u.id = c.recorded_by_id
    WHERE c.member_id = %(member)s ORDER BY c.start_date DESC, c.id DESC
    LIMIT %(limit)s)
  UNION ALL
  (SELECT 2, row_number() OVER (ORDER BY ev.occurred_at DESC, ev.id DESC),
      ev.occurred_at, NULL, NULL, ev.action, ev.from_status, ev.to_status, ev.reason,
      NULL, NULL, u.full_name, NULL, NULL
    FROM {event} ev JOIN {episode} e ON e.id = ev.episode_id
    JOIN {user} u ON u.id = ev.actor_id
    WHERE e.member_id = %(member)s ORDER BY ev.occurred_at DESC, ev.id DESC
    LIMIT %(limit)s)
  UNION ALL
  (SELECT 3, row_number() OVER (ORDER BY o.attempted_at DESC, o.id DESC),
      o.attempted_at, NULL, NULL, o.method, o.outcome, NULL, NULL, o.minutes, NULL,
      u.full_name, NULL, NULL
    FROM {outreach} o JOIN {episode} e ON e.id = o.episode_id
    JOIN {user} u ON u.id = o.staff_id
    WHERE e.member_id = %(member)s ORDER BY o.attempted_at DESC, o.id DESC
    LIMIT %(limit)s)
  UNION ALL
  (SELECT 4, row_number() OVER (ORDER BY x.occurred_on DESC, x.id DESC), NULL, NULL,
      x.occurred_on, x.mode, x.hcpcs_code, NULL, NULL, x.minutes, x.modifiers,
      u.full_name, NULL, NULL
    FROM {encounter} x JOIN {episode} e ON e.id = x.episode_id
    JOIN {user} u ON u.id = x.staff_id
    WHERE e.member_id = %(member)s ORDER BY x.occurred_on DESC, x.id DESC
    LIMIT %(limit)s)
  UNION ALL
  (SELECT 5, row_number() OVER (ORDER BY p.created_at DESC, p.id DESC), p.created_at,
      p.agreed_at, p.member_agreed_on, NULL, NULL, NULL, NULL, p.number, NULL,
      cu.full_name, au.full_name, NULL
    FROM {care_plan} p JOIN {user} cu ON cu.id = p.created_by_id
    LEFT JOIN {user} au ON au.id = p.agreed_by_id
    WHERE p.member_id = %(member)s ORDER BY p.created_at DESC, p.id DESC
    LIMIT %(limit)s)
  UNION ALL
  (SELECT 6, row_number() OVER (ORDER BY c.held_on DESC, c.id DESC), NULL, NULL,
      c.held_on, c.attendees, NULL, NULL, NULL, NULL, NULL, u.full_name, NULL, NULL
    FROM {conference} c JOIN {user} u ON u.id = c.recorded_by_id
    WHERE c.member_id = %(member)s ORDER BY c.held_on DESC, c.id DESC
    LIMIT %(limit)s)
  UNION ALL
  (SELECT 7, row_number() OVER (ORDER BY t.added_at DESC, t.id DESC), t.added_at,
      NULL, NULL, COALESCE(u.full_name, t.name), t.role, NULL, NULL, NULL, NULL,
      au.full_name, NULL, NULL
    FROM {team} t LEFT JOIN {user} u ON u.id = t.user_id
    JOIN {user} au ON au.id = t.added_by_id
    WHERE t.member_id = %(member)s ORDER BY t.added_at DESC, t.id DESC
    LIMIT %(limit)s)
  UNION ALL
  (SELECT 8, row_number() OVER (ORDER BY x.created_at DESC, x.id DESC), x.created_at,
      NULL, NULL, x.kind, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM {notice} x JOIN {episode} e ON e.id = x.episode_id
    WHERE e.member_id = %(member)s ORDER BY x.created_at DESC, x.id DESC
    LIMIT %(limit)s)
)
SELECT * FROM branches ORDER BY src, n"""


def _timeline_reference(member_id) -> dict:
    from django.urls import reverse

    from care_plans.assessments.models import Assessment, AssessmentTemplate
    from care_plans.chart_views import TIMELINE_PAGE, Entry, _midnight
    from care_plans.models import (
        CareConference,
        CarePlan,
        CareTeamMember,
        Encounter,
        Episode,
        EpisodeEvent,
        Notice,
        OutreachAttempt,
    )
    from members.models import Consent

    tables = {
        "assessment": _table(Assessment),
        "template": _table(AssessmentTemplate),
        "user": _table(_user_model()),
        "consent": _table(Consent),
        "event": _table(EpisodeEvent),
        "episode": _table(Episode),
        "outreach": _table(OutreachAttempt),
        "encounter": _table(Encounter),
        "care_plan": _table(CarePlan),
        "conference": _table(CareConference),
        "team": _table(CareTeamMember),
        "notice": _table(Notice),
    }
    rows = _fetch(
        _TIMELINE_SQL.format(**tables),
        {"member": member_id, "limit": TIMELINE_PAGE + 1},
    )
    statuses = _labels(Episode, "status")
    methods = _labels(OutreachAttempt, "method")
    outcomes = _labels(OutreachAttempt, "outcome")
    modes = _labels(Encounter, "mode")
    consent_kinds = _labels(Consent, "kind")
    team_roles = _labels(CareTeamMember, "role")
    notice_kinds = _labels(Notice, "kind")
    entries = []
    for row in rows:
        src, by = row["src"], row["by1"] or ""
        if src == 0:
            entries.append(
                Entry(row["at"], "assessment", "Assessment started", row["t2"], by)
            )
            if row["at2"]:
                entries.append(
                    Entry(
                        row["at2"],
                        "assessment",
                        "Assessment completed",
                        row["t2"],
                        row["by2"] or "",
                    )
                )
        elif src == 1:
            detail = f"Until {row['day2']:%b %-d, %Y}" if row["day2"] else ""
            if row["at"]:
                detail = f"Revoked {timezone.localtime(row['at']):%b %-d, %Y}"
            entries.append(
                Entry(
                    _midnight(row["day"]),
                    "consent",
                    f"Consent: {consent_kinds.get(row['t1'])}",
                    detail,
                    by,
                )
            )
        elif src == 2:
            before, after = row["t2"], row["t3"]
            moved = before and before != after
            detail = (
                f"{statuses.get(before, before)} → {statuses.get(after, after)}"
                if moved
                else statuses.get(after, after)
            )
            if row["t4"]:
                detail = f"{detail}. {row['t4']}"
            entries.append(
                Entry(
                    row["at"],
                    "episode",
                    row["t1"].replace("_", " ").capitalize(),
                    detail,
                    by,
                )
            )
        elif src == 3:
            entries.append(
                Entry(
                    row["at"],
                    "outreach",
                    f"Outreach ({methods[row['t1']].lower()})",
                    f"{outcomes[row['t2']]}, {row['num']} min",
                    by,
                )
            )
        elif src == 4:
            entries.append(
                Entry(
                    _midnight(row["day"]),
                    "encounter",
                    f"Encounter ({modes[row['t1']].lower()})",
                    f"{row['t2']} {'-'.join(row['arr'])}, {row['num']} min",
                    by,
                )
            )
        elif src == 5:
            entries.append(
                Entry(
                    row["at"],
                    "care_plan",
                    f"Care plan version {row['num']} started",
                    "",
                    by,
                )
            )
            if row["at2"]:
                entries.append(
                    Entry(
                        row["at2"],
                        "care_plan",
                        f"Care plan version {row['num']} agreed",
                        f"Member agreed on {row['day']:%b %-d, %Y}",
                        row["by2"] or "",
                    )
                )
        elif src == 6:
            entries.append(
                Entry(
                    _midnight(row["day"]),
                    "conference",
                    "Care conference",
                    f"Attendees: {row['t1']}",
                    by,
                )
            )
        elif src == 7:
            entries.append(
                Entry(
                    row["at"],
                    "care_team",
                    f"{row['t1']} joined the care team",
                    team_roles.get(row["t2"], row["t2"]),
                    by,
                )
            )
        else:
            entries.append(
                Entry(
                    row["at"], "notice", notice_kinds.get(row["t1"], row["t1"]), "", ""
                )
            )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    page = entries[:TIMELINE_PAGE]
    next_url = ""
    if len(entries) > TIMELINE_PAGE and page:
        uuid = _fetch(
            f"SELECT uuid FROM {_table(_member_model())} WHERE id = %s",  # noqa: S608
            [member_id],
        )[0]["uuid"]
        cursor = page[-1].at.isoformat().replace("+", "%2B")
        next_url = f"{reverse('chart_timeline', args=[uuid])}?before={cursor}"
    return {"entries": page, "next_url": next_url}


def _user_model():
    from calaim.accounts.models import User

    return User


def _member_model():
    from members.models import Member

    return Member


def _record_reference_panels(member: dict, episode, request, today) -> dict:
    """The chart header's facts, the assessment, care plan, care team, hospital
    transitions, consents and timeline panels: one raw query each (the header's
    populations and consent flags in one), the episode shared with the ECM
    panels. Where the bench's data would need a case the reference does not
    build by hand (a care plan's content, consent rows), the panel falls back
    to its own context and the run says so."""
    from django.urls import reverse

    from calaim.accounts.models import User
    from care_plans.assessments import definition as rules
    from care_plans.assessments import services as assessment_services
    from care_plans.assessments.models import Assessment, AssessmentTemplate
    from care_plans.chart_views import may_edit_plan
    from care_plans.forms_careplan import (
        CareConferenceForm,
        CareTeamContactForm,
        CareTeamStaffForm,
        StartCarePlanForm,
    )
    from care_plans.models import CareConference, CarePlan, CareTeamMember
    from care_plans.transitions.models import Stay, TransitionEvent
    from care_plans.transitions.services import CANCELS
    from members.models import Consent, MemberPopulation, PopulationOfFocus
    from members.part2 import REDISCLOSURE_NOTICE

    member_id, user = member["id"], request.user
    open_episode = episode if episode is not None and episode.is_open else None
    contexts = {}

    def fallback(key):
        from members.models import Member

        FALLBACK_PANELS.add(key)
        panel = next(p for p in _chart_panel_list() if p.key == key)
        return panel.context(request, Member.objects.get(pk=member_id))

    def header():
        row = _fetch(
            f"""SELECT ARRAY(SELECT p.name FROM {_table(MemberPopulation)} mp
                    JOIN {_table(PopulationOfFocus)} p ON p.code = mp.population_id
                    WHERE mp.member_id = %(m)s AND mp.start_date <= %(d)s
                    AND (mp.end_date IS NULL OR mp.end_date >= %(d)s)
                    ORDER BY p.name) AS populations,
                EXISTS(SELECT 1 FROM {_table(Consent)} c WHERE c.member_id = %(m)s)
                    AS any_consent""",  # noqa: S608
            {"m": member_id, "d": today},
        )[0]
        if row["any_consent"]:
            return fallback("chart_header")
        return {
            "episode": episode,
            "populations": row["populations"],
            "consents": {"ascmi": None, "part2": False},
        }

    def assessment():
        statuses = _labels(Assessment, "status")
        rows = _fetch(
            f"""SELECT a.uuid, a.status, a.scores, a.started_at, a.completed_at
            FROM {_table(Assessment)} a WHERE a.member_id = %s
            ORDER BY a.started_at DESC, a.id DESC LIMIT 50""",  # noqa: S608
            [member_id],
        )
        for row in rows:
            row["is_draft"] = row["status"] == Assessment.Status.DRAFT
            row["get_status_display"] = statuses[row["status"]]
        draft = next((row for row in rows if row["is_draft"]), None)
        completed = next((row for row in rows if not row["is_draft"]), None)
        context = {
            "latest": rows[0] if rows else None,
            "draft": draft,
            "completed": completed,
            "scores": [
                score
                for score in (completed["scores"].values() if completed else [])
                if not score.get("part2")
            ],
            "count": len(rows),
            "history_url": reverse("assessment_history", args=[member["uuid"]]),
        }
        if (
            user.has_perm("assessments.change_assessment")
            and episode is not None
            and assessment_services.is_care_team(user, episode)
        ):
            if draft is not None:
                context["resume_url"] = reverse("assessment_edit", args=[draft["uuid"]])
            elif episode.status in assessment_services.ASSESSABLE_STATUSES:
                context["start_url"] = reverse(
                    "assessment_start", args=[member["uuid"]]
                )
        return context

    def care_plan():
        can_edit = may_edit_plan(user, open_episode)
        rows = _fetch(
            f"""SELECT (SELECT count(*) FROM {_table(CarePlan)} p
                    WHERE p.member_id = %(m)s AND p.status <> 'superseded') AS plans,
                (SELECT json_build_object('definition', t.definition,
                        'answers', a.answers, 'scores', a.scores)
                    FROM {_table(Assessment)} a
                    JOIN {_table(AssessmentTemplate)} t ON t.id = a.template_id
                    WHERE %(edit)s AND a.member_id = %(m)s AND a.status = 'completed'
                    ORDER BY a.completed_at DESC, a.id DESC LIMIT 1) AS assessed""",  # noqa: S608
            {"m": member_id, "edit": can_edit},
        )[0]
        if rows["plans"]:
            return fallback("care_plan")
        context = {
            "episode": open_episode,
            "agreed": None,
            "draft": None,
            "shown": None,
            "can_edit": can_edit,
            "notice": REDISCLOSURE_NOTICE,
        }
        if can_edit:
            found = rows["assessed"]
            suggestions = (
                rules.needs_found(
                    found["definition"], found["answers"], found["scores"]
                )
                if found
                else []
            )
            context["start_form"] = StartCarePlanForm(
                suggestions=suggestions,
                member=SimpleNamespace(preferred_language=member["preferred_language"]),
            )
            context["start_url"] = reverse("careplan_start", args=[member["uuid"]])
        return context

    def care_team():
        roles_ = _labels(CareTeamMember, "role")
        rows = _fetch(
            f"""SELECT 0 AS part, t.uuid, t.kind, t.role, COALESCE(u.full_name, t.name)
                AS display_name, t.organization_name, t.phone, t.email,
                t.access_until, NULL::date AS held_on, NULL AS attendees,
                NULL AS notes, t.added_at AS at, t.id
            FROM {_table(CareTeamMember)} t LEFT JOIN {_table(User)} u
                ON u.id = t.user_id
            WHERE t.member_id = %(m)s AND t.removed_at IS NULL
            UNION ALL
            (SELECT 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c.held_on,
                c.attendees, c.notes, NULL, c.id
            FROM {_table(CareConference)} c WHERE c.member_id = %(m)s
            ORDER BY c.held_on DESC, c.id DESC LIMIT 20)
            ORDER BY part, at, id""",  # noqa: S608
            {"m": member_id},
        )
        team = [row for row in rows if row["part"] == 0]
        for row in team:
            row["get_role_display"] = roles_.get(row["role"], row["role"])
        conferences = sorted(
            (row for row in rows if row["part"] == 1),
            key=lambda row: (row["held_on"], row["id"]),
            reverse=True,
        )
        context = {"episode": open_episode, "team": team, "conferences": conferences}
        staff = (
            open_episode is not None
            and user.organization_id is not None
            and user.organization_id == open_episode.ecm_provider_id
        )
        if staff and user.has_perm("care_plans.add_careteammember"):
            context["contact_form"] = CareTeamContactForm()
            context["add_url"] = reverse("careteam_add", args=[member["uuid"]])
            context["can_remove"] = True
            if user.has_perm("members.grant_member_access"):
                context["can_remove_staff"] = True
                context["staff_form"] = CareTeamStaffForm(episode=open_episode)
        if staff and user.has_perm("care_plans.add_careconference"):
            context["conference_form"] = CareConferenceForm()
            context["conference_url"] = reverse("conference_add", args=[member["uuid"]])
        return context

    def transitions():
        kinds = _labels(TransitionEvent, "kind")
        stay_statuses = _labels(Stay, "status")
        rows = _fetch(
            f"""SELECT ev.*, s.sending_facility, s.visit_number, s.status AS
                stay_status, s.discharged_at, s.disposition, s.diagnoses
            FROM {_table(TransitionEvent)} ev
            LEFT JOIN {_table(Stay)} s ON s.id = ev.stay_id
            WHERE ev.member_id = %s ORDER BY ev.occurred_at DESC, ev.id DESC
            LIMIT 50""",  # noqa: S608
            [member_id],
        )
        for row in rows:
            row["get_kind_display"] = kinds.get(row["kind"], row["kind"])
            row["stay"] = {
                "sending_facility": row["sending_facility"],
                "visit_number": row["visit_number"],
                "get_status_display": stay_statuses.get(row["stay_status"], ""),
                "discharged_at": row["discharged_at"],
                "disposition": row["disposition"],
                "diagnoses": row["diagnoses"] or [],
            }
        return {"events": rows, "cancel_kinds": list(CANCELS)}

    def consents():
        if not user.has_perm("members.view_consent"):
            return {"hidden": True}
        rows = _fetch(
            f"SELECT id FROM {_table(Consent)} WHERE member_id = %s "  # noqa: S608
            "ORDER BY start_date DESC, recorded_at DESC, id DESC",
            [member_id],
        )
        if rows:
            return fallback("consents")
        return {
            "consents": [],
            "can_record": user.has_perm("members.add_consent"),
            "can_revoke": user.has_perm("members.revoke_consent"),
            "revocable": {Consent.Status.ACTIVE, Consent.Status.UPCOMING},
        }

    contexts["chart_header"] = header
    contexts["assessment"] = assessment
    contexts["care_plan"] = care_plan
    contexts["care_team"] = care_team
    contexts["transitions"] = transitions
    contexts["consents"] = consents
    contexts["ecm_timeline"] = lambda: _timeline_reference(member_id)
    return contexts


def _chart_panel_list():
    from calaim.web.panels import chart_panels

    return chart_panels("chart")


class _Record(dict):
    """A dict row that `members.views._by_status` can tag with `.status`."""

    def __init__(self, row, **extra):
        super().__init__(row, **extra)

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as missing:
            raise AttributeError(name) from missing

    def __setattr__(self, name, value):
        self[name] = value


def _labels_dict(choices) -> dict:
    return dict(choices.choices)


FALLBACK_PANELS: set[str] = set()


def reference_chart(user, member_uuid, request) -> str:
    """The member chart from raw SQL: the member with county and enrollments in
    one query, then one query per panel, rendered with the chart's templates."""
    from django.template.loader import render_to_string

    from calaim.accounts.models import County, Organization
    from calaim.web.panels import RenderedPanel, chart_panels
    from members.models import Enrollment, EnrollmentFile, Member

    rows = _fetch(
        f"""SELECT m.*, c.name AS county_name,
            e.start_date, e.end_date, e.aid_code, e.source_segment,
            p.name AS plan_name, ec.name AS enrollment_county_name,
            f.original_name AS file_name
        FROM {_table(Member)} m
        LEFT JOIN {_table(County)} c ON c.code = m.county_id
        LEFT JOIN {_table(Enrollment)} e ON e.member_id = m.id
        LEFT JOIN {_table(Organization)} p ON p.id = e.plan_id
        LEFT JOIN {_table(County)} ec ON ec.code = e.county_id
        LEFT JOIN {_table(EnrollmentFile)} f ON f.id = e.source_file_id
        WHERE m.uuid = %s ORDER BY e.start_date DESC, e.id DESC""",  # noqa: S608
        [member_uuid],
    )
    first = rows[0]
    today = timezone.localdate()
    sexes = _labels(Member, "sex")
    member = {
        key: first[key]
        for key in (
            "id",
            "uuid",
            "cin",
            "first_name",
            "last_name",
            "birth_date",
            "sex",
            "preferred_language",
            "phone",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "zip_code",
            "is_homeless",
            "race_ethnicity",
            "county_name",
        )
    }
    birth = member["birth_date"]
    member["age"] = (
        today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    )
    member["get_sex_display"] = sexes[member["sex"]]
    member["enrollments"] = [
        {
            "start_date": row["start_date"],
            "end_date": row["end_date"],
            "aid_code": row["aid_code"],
            "source_segment": row["source_segment"],
            "plan_name": row["plan_name"],
            "county_name": row["enrollment_county_name"],
            "file_name": row["file_name"],
        }
        for row in rows
        if row["start_date"] is not None
    ]
    current = next(
        (
            span
            for span in member["enrollments"]
            if span["start_date"] <= today
            and (span["end_date"] is None or span["end_date"] >= today)
        ),
        None,
    )
    header = {
        "member": member,
        "scope": "chart",
        "age": member["age"],
        "enrollment": {
            "plan": {"name": current["plan_name"]},
            "county": {"name": current["county_name"]},
            "start_date": current["start_date"],
        }
        if current
        else None,
    }
    request.chart_scope = "chart"
    contexts = _chart_reference_panels(member, request)
    rendered = []
    for panel in chart_panels("chart"):
        if panel.key in contexts:
            context = contexts[panel.key]()
        else:
            FALLBACK_PANELS.add(panel.key)
            context = panel.context(request, Member.objects.get(pk=member["id"]))
        rendered.append(RenderedPanel(panel, context or {}))
    return render_to_string(
        "members/chart.html", {**header, "panels": rendered}, request=request
    )


CSRF_TOKEN = re.compile(r"\b[A-Za-z0-9]{64}\b")


def _check_same_html(page: str, reference: str, what: str) -> None:
    """Fail loudly if the reference does not render what the view renders."""
    page_lines, reference_lines = (
        [line.strip() for line in CSRF_TOKEN.sub("TOKEN", html).splitlines()]
        for html in (page, reference)
    )
    if page_lines != reference_lines:
        diff = difflib.unified_diff(page_lines, reference_lines, lineterm="", n=0)
        raise AssertionError(
            f"{what}: the raw SQL reference renders a different page:\n"
            + "\n".join(list(diff)[:40])
        )


def measure_pages(size: int, runs: int) -> dict:
    from django.test import Client
    from django.urls import reverse

    from calaim.accounts.models import User
    from care_plans.models import Episode

    user = User.objects.get(email="bench.cm0@example.org")
    open_episodes = Episode.objects.filter(
        lead_care_manager=user, closed_at__isnull=True
    )
    caseload = open_episodes.count()
    # An enrolled member, the common case: the chart shows the encounter form.
    member_uuid = (
        open_episodes.filter(status="enrolled")
        .select_related("member")
        .order_by("member__last_name")
        .first()
        .member.uuid
    )
    client = Client()
    client.force_login(user)
    page_url, page_name = caseload_url()
    chart_url = reverse("member_chart", args=[member_uuid])

    def get(url):
        def call():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response

        return call

    page_request = _request_for(User.objects.get(pk=user.pk), page_url)
    request = _request_for(page_request.user, chart_url)
    reference_page = (
        reference_caseload_page if page_url != reverse("home") else reference_caseload
    )

    def fresh_user():
        # A request loads its user afresh: roles and permissions are read once
        # per request on both sides, never cached across runs. The app reads
        # them with the user (calaim.accounts.backends); the reference in one raw
        # query of its own, and fills the same caches.
        user = request.user
        user.__dict__.pop("_perm_cache", None)
        with _reference_cursor() as cursor:
            cursor.execute(_ROLES_AND_PERMISSIONS, [user.pk] * 3)
            roles, own, grouped = cursor.fetchone()
        user._role_names = frozenset(roles)
        user._user_perm_cache = set(own)
        user._group_perm_cache = set(grouped)

    def ref_caseload():
        fresh_user()
        return reference_page(request.user, page_request)

    def ref_chart():
        fresh_user()
        return reference_chart(request.user, member_uuid, request)

    # The reference must draw the very page the view draws (CSRF tokens aside).
    _check_same_html(get(page_url)().content.decode(), ref_caseload(), page_name)
    _check_same_html(get(chart_url)().content.decode(), ref_chart(), "member chart")

    def keepalive():
        response = client.post(reverse("session_keepalive"))
        assert response.status_code == 204

    page_ms, page_ref_ms = timed_pair(get(page_url), ref_caseload, runs)
    chart_ms, chart_ref_ms = timed_pair(get(chart_url), ref_chart, runs)
    return {
        "size": size,
        "caseload": caseload,
        "page_name": page_name,
        "page_ms": page_ms,
        "page_ref_ms": page_ref_ms,
        "page_queries": count_queries(get(page_url)),
        "page_ref_queries": count_queries(ref_caseload),
        "chart_ms": chart_ms,
        "chart_ref_ms": chart_ref_ms,
        "chart_queries": count_queries(get(chart_url)),
        "chart_ref_queries": count_queries(ref_chart),
        "floor_ms": timed(keepalive, runs),
        "floor_queries": count_queries(keepalive),
    }


# --- 2. The members I may see -------------------------------------------------------


def measure_access(runs: int) -> list[tuple[str, float, float]]:
    from guardian.shortcuts import get_objects_for_user

    from calaim.access import visible_member_ids, visible_members
    from calaim.accounts.models import User
    from care_plans.models import Episode
    from members.models import Member, MemberGrant

    covering = User.objects.get(email="bench.cover7@example.org")
    lead = User.objects.get(email="bench.cm7@example.org")
    for user in (covering, lead):
        user.role_names  # noqa: B018 (a request reads the roles once)
    print(
        f"  {Member.objects.count()} members, "
        f"{Episode.objects.count() + MemberGrant.objects.count()} assignment and "
        f"grant rows; covering care manager: "
        f"{MemberGrant.objects.filter(user=covering).count()} grants "
        f"({visible_members(covering).count()} unexpired); lead care manager: "
        f"{visible_members(lead).count()} members",
        flush=True,
    )

    def grant_ids(user):
        return MemberGrant.objects.filter(
            user_id=user.pk, expires_at__gt=timezone.now()
        ).values("content_object_id")

    def episode_ids(user):
        return Episode.objects.filter(
            lead_care_manager_id=user.pk, closed_at__isnull=True
        ).values("member_id")

    def ids(qs):
        return lambda: list(qs().values_list("pk", flat=True))

    def page(qs):
        return lambda: list(qs().order_by("last_name", "first_name", "id")[:50])

    assert set(ids(lambda: visible_members(covering))()) == set(
        ids(lambda: Member.objects.filter(pk__in=grant_ids(covering)))()
    )
    cases = [
        (
            "covering CM (grants): member ids",
            lambda: list(visible_member_ids(covering).values_list(flat=True)),
            lambda: list(grant_ids(covering).values_list(flat=True)),
        ),
        (
            "covering CM (grants): 50 by name",
            page(lambda: visible_members(covering)),
            page(lambda: Member.objects.filter(pk__in=grant_ids(covering))),
        ),
        (
            "lead CM (assignments): 50 by name",
            page(lambda: visible_members(lead)),
            page(lambda: Member.objects.filter(pk__in=episode_ids(lead))),
        ),
        (
            "guardian get_objects_for_user (ref.)",
            ids(
                lambda: get_objects_for_user(
                    covering,
                    "members.view_member",
                    klass=Member,
                    accept_global_perms=False,
                )
            ),
            ids(lambda: Member.objects.filter(pk__in=grant_ids(covering))),
        ),
    ]
    return [
        (name, *timed_pair(ours, reference, runs)) for name, ours, reference in cases
    ]


# --- 3. API over HTTP ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def issue_token(service_account) -> str:
    from oauth2_provider.models import get_access_token_model, set_token_value

    from calaim.accounts.models import ApiClient
    from calaim.accounts.roles import PROVIDER_API
    from calaim.accounts.services import SCOPES_FOR_ROLE

    api_client, _ = ApiClient.objects.get_or_create(
        user=service_account,
        defaults={
            "name": "Bench provider system",
            "client_type": ApiClient.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": ApiClient.GRANT_CLIENT_CREDENTIALS,
            "allowed_scopes": " ".join(SCOPES_FOR_ROLE[PROVIDER_API]),
        },
    )
    raw = secrets.token_urlsafe(32)
    token = get_access_token_model()(
        user=service_account,
        application=api_client,
        scope=api_client.allowed_scopes,
        expires=timezone.now() + timedelta(hours=1),
    )
    set_token_value(token, raw)
    token.save()
    return raw


def _drive(port, path, headers, clients, requests_each) -> tuple[float, int]:
    """`clients` threads, each with one keep-alive connection, `requests_each`
    GETs; returns (requests per second, bytes of one response)."""
    barrier = threading.Barrier(clients + 1)
    errors = []
    sizes = []

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            barrier.wait()
            for _ in range(requests_each):
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    errors.append((response.status, body[:300]))
                    return
                sizes.append(len(body))
        except Exception as error:  # report, never hang the bench
            errors.append(repr(error))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=300)
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{path}: {errors[0]}")
    return clients * requests_each / elapsed, sizes[0]


def measure_api(database: str, requests_each: int, clients: int = 8) -> dict:
    from calaim.accounts.models import User
    from care_plans.models import Episode

    service_account = User.objects.get(email="bench.api@example.org")
    organization = service_account.organization_id
    assigned = Episode.objects.filter(
        ecm_provider_id=organization, closed_at__isnull=True
    ).count()
    token = issue_token(service_account)
    port = _free_port()
    database_url = (
        f"postgres://{connection.settings_dict['USER']}@"
        f"{connection.settings_dict['HOST']}:{connection.settings_dict['PORT']}/"
        f"{database}"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
        "DATABASE_URL": database_url,
        "DEBUG": "true",  # accepted URLs without secrets; settings_bench turns it off
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12"),
        # The throttle still runs on every request; only its limit is lifted.
        "API_RATE_MACHINE": "100000000/min",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("CALAIM_TEST_DATABASE", None)
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "calaim.wsgi:application",
        "--workers",
        "2",
        "--threads",
        "4",
        "--bind",
        f"127.0.0.1:{port}",
        "--no-control-socket",
        "--log-level",
        "warning",
    ]
    log_path = Path(tempfile.gettempdir()) / "calaim_bench_gunicorn.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed in the finally below)
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/health/")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer within 60 s")
            time.sleep(0.3)
        api = ("/api/v1/members/?page_size=100", {"Authorization": f"Bearer {token}"})
        reference = (
            f"/bench/reference/members/?organization={organization}&page_size=100",
            {},
        )
        for path, headers in (api, reference):  # warm every worker and thread
            _drive(port, path, headers, clients, 5)
        api_rps, api_bytes = _drive(port, *api, clients, requests_each)
        reference_rps, reference_bytes = _drive(
            port, *reference, clients, requests_each
        )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    return {
        "assigned": assigned,
        "api_rps": api_rps,
        "reference_rps": reference_rps,
        "api_bytes": api_bytes,
        "reference_bytes": reference_bytes,
        "requests": clients * requests_each,
    }


# --- Main ---------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 / 20,000 members")
    parser.add_argument("--sizes", type=int, nargs=2, metavar=("SMALL", "LARGE"))
    parser.add_argument("--access-members", type=int)
    parser.add_argument("--access-rows", type=int)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=100, help="per client")
    parser.add_argument("--skip", nargs="*", default=[], choices=["access", "api"])
    parser.add_argument(
        "--reference-unprepared",
        action="store_true",
        help="the raw-SQL reference without prepared statements",
    )
    args = parser.parse_args()
    REFERENCE["prepared"] = not args.reference_unprepared
    small, large = args.sizes or ((2_000, 20_000) if args.quick else (10_000, 100_000))
    access_members = args.access_members or (20_000 if args.quick else 200_000)
    access_rows = args.access_rows or (100_000 if args.quick else 1_000_000)
    started = time.perf_counter()

    for size in (small, large):
        name = f"calaim_bench_caseload_{size}"
        print(f"\n[{name}]", flush=True)
        use_database(name)
        seed_caseload_database(size)
    # Rounds alternate the sizes, so a busy moment on a shared host weighs on
    # both sizes alike; each figure is the median of the rounds' medians.
    rounds = {small: [], large: []}
    for round_number in range(args.rounds):
        print(f"  pages, round {round_number + 1} of {args.rounds}", flush=True)
        for size in (small, large):
            connect_to(f"calaim_bench_caseload_{size}")
            rounds[size].append(measure_pages(size, args.runs))
    pages = [
        {
            key: statistics.median(row[key] for row in rounds[size])
            if key.endswith("_ms")
            else rounds[size][0][key]
            for key in rounds[size][0]
        }
        for size in (small, large)
    ]
    api = None
    if "api" not in args.skip:
        print(f"\n[API over HTTP, calaim_bench_caseload_{large}]", flush=True)
        connect_to(f"calaim_bench_caseload_{large}")
        api = measure_api(f"calaim_bench_caseload_{large}", args.requests)
    access = []
    if "access" not in args.skip:
        print("\n[calaim_bench_caseload_access]", flush=True)
        use_database("calaim_bench_caseload_access")
        seed_access_database(access_members, access_rows)
        access = measure_access(args.runs)

    print(
        f"\n=== Pages (median of {args.rounds} rounds of {args.runs} runs, ms; "
        "queries per request) ==="
    )
    print(f"caseload: {pages[0]['page_name']}")
    print(
        "raw SQL: the same templates from rows fetched with raw SQL, "
        + ("prepared" if REFERENCE["prepared"] else "not prepared")
    )
    print(
        f"{'members':>9} {'caseload':>9} {'page':<9}{'server':>9}{'raw SQL':>9}"
        f"{'ratio':>7}{'queries':>9}{'raw SQL':>9}"
    )
    for row in pages:
        for key, label in (("page", "caseload"), ("chart", "chart")):
            print(
                f"{row['size']:>9} {row['caseload']:>9} {label:<9}"
                f"{row[key + '_ms']:>9.2f}{row[key + '_ref_ms']:>9.2f}"
                f"{row[key + '_ms'] / row[key + '_ref_ms']:>7.2f}"
                f"{row[key + '_queries']:>9}{row[key + '_ref_queries']:>9}"
            )
    for row in pages:
        print(
            f"{row['size']:>9} {'':>9} {'floor':<9}{row['floor_ms']:>9.2f}{'':>9}"
            f"{'':>7}{row['floor_queries']:>9}   (POST /session/keepalive/: "
            "session, user, idle-session save)"
        )
    if FALLBACK_PANELS:
        print(
            "chart panels the reference built with their own (ORM) context: "
            + ", ".join(sorted(FALLBACK_PANELS))
        )
    if access:
        print(f"\n=== The members I may see (median of {args.runs} runs, ms) ===")
        print(f"{'':<40}{'registry':>10}{'plain':>10}{'ratio':>8}")
        for name, ours, reference in access:
            print(f"{name:<40}{ours:>10.2f}{reference:>10.2f}{ours / reference:>8.2f}")
    if api:
        print(
            f"\n=== Provider member list over HTTP (gunicorn 2x4, 8 clients, "
            f"{api['requests']} requests each side; org with {api['assigned']} "
            "open episodes; page size 100) ==="
        )
        print(
            f"API /api/v1/members/     {api['api_rps']:>8.1f} req/s "
            f"({api['api_bytes']} bytes)"
        )
        print(
            f"bare JsonResponse        {api['reference_rps']:>8.1f} req/s "
            f"({api['reference_bytes']} bytes)"
        )

    small_row, large_row = pages
    targets = []
    for key, label in (("page", "caseload"), ("chart", "member chart")):
        for row in pages:
            ratio = row[key + "_ms"] / row[key + "_ref_ms"]
            targets.append(
                (f"{label} vs raw SQL at {row['size']}", ratio, "<= 1.5", ratio <= 1.5)
            )
        growth = large_row[key + "_ms"] / small_row[key + "_ms"]
        targets.append(
            (
                f"{label} growth {small_row['size']} -> {large_row['size']}",
                growth,
                "<= 1.3",
                growth <= 1.3,
            )
        )
    for name, ours, reference in access:
        if "guardian" in name:
            continue
        targets.append(
            (f"may see: {name}", ours / reference, "<= 2", ours <= 2 * reference)
        )
    if api:
        ratio = api["api_rps"] / api["reference_rps"]
        targets.append(
            ("API vs bare JsonResponse (throughput)", ratio, ">= 0.1", ratio >= 0.1)
        )
    print("\n=== Summary ===")
    for name, value, target, ok in targets:
        print(f"{name:<48}{value:>8.2f}  target {target:<7}{'PASS' if ok else 'FAIL'}")
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
