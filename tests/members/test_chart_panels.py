"""The member record's chart panels and their forms, through HTTP.

Demographics, enrollment history, populations of focus, programs that exclude
ECM, CIN history and changes: what each shows, that a referral-only viewer gets
none of them, what the two forms write (and refuse), and each panel's queries.
"""

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calaim import access as registry
from calaim.accounts.models import County
from calaim.audit.models import AuditEvent
from calaim.web import panels as panel_registry
from members.access import access_member
from members.models import (
    EnrollmentFile,
    Member,
    MemberChange,
    MemberCin,
    MemberPopulation,
    OtherProgramEnrollment,
    PopulationOfFocus,
)
from members.services import member_population_add, other_program_add
from tests import factories

RECORD_PANELS = [
    "demographics",
    "enrollment",
    "populations",
    "other_programs",
    "cin_history",
    "changes",
]


def _chart_url(member):
    return reverse("member_chart", args=[member.uuid])


def _chart(client, user, member):
    client.force_login(user)
    response = client.get(_chart_url(member))
    assert response.status_code == 200
    return response.content.decode()


def _panel_html(body, key):
    """The HTML of one panel of the chart ('' when the page does not have it)."""
    match = re.search(
        rf'data-panel="{key}">(.*?)(?=<section class="col-12|\Z)', body, flags=re.S
    )
    return match.group(1) if match else ""


def _text(html):
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _rows(html):
    """The data rows of the tables in `html` (not the header rows)."""
    bodies = "".join(re.findall(r"<tbody>(.*?)</tbody>", html, flags=re.S))
    return re.findall(r"<tr>(.*?)</tr>", bodies, flags=re.S)


def _birth_date_for_age(years, *, days_after_birthday=30):
    """A birth date making the member `years` old today (not near a birthday)."""
    today = timezone.localdate() - timedelta(days=days_after_birthday)
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # February 29
        return today.replace(year=today.year - years, day=28)


def _enrollment_file(cast, name="plan-2025-02.x12"):
    return EnrollmentFile.objects.create(
        plan=cast.plan,
        original_name=name,
        stored_path=f"/nonexistent/{name}",
        sha256="0" * 64,
        size_bytes=1234,
        uploaded_by=cast.plan_admin,
        status=EnrollmentFile.Status.DONE,
    )


def _fill(cast):
    """A synthetic member record with something in every panel."""
    member = cast.member
    Member.objects.filter(pk=member.pk).update(
        sex="F",
        preferred_language="SPA",
        phone="555-0142",
        address_line1="100 Example Way",
        address_line2="Apt 4",
        city="San Diego",
        state="CA",
        zip_code="92101",
        county=County.objects.get(code="37"),
        is_homeless=True,
        race_ethnicity=["hispanic", "white"],
    )
    member.refresh_from_db()
    source = _enrollment_file(cast)
    factories.EnrollmentFactory(
        member=member,
        plan=cast.other_plan,
        aid_code="1H",
        start_date=date(2019, 1, 1),
        end_date=date(2019, 12, 31),
        source_file=source,
        source_segment=42,
    )
    MemberCin.objects.create(
        cin="97777777Z", member=member, is_current=False, source="834 REF*Q4"
    )
    member_population_add(
        member=member,
        population=PopulationOfFocus.objects.get(code="adult_smh_sud"),
        source="plan_data",
        start_date=date(2025, 1, 1),
        evidence="Synthetic claims summary",
        actor=cast.plan_admin,
    )
    MemberPopulation.objects.create(
        member=member,
        population=PopulationOfFocus.objects.get(code="adult_homeless_individual"),
        source="provider_attestation",
        start_date=date(2022, 3, 1),
        end_date=date(2023, 2, 28),
    )
    other_program_add(
        member=member,
        program="hospice",
        start_date=date(2021, 5, 1),
        end_date=date(2021, 8, 31),
        source="Plan hospice report",
        actor=cast.plan_admin,
    )
    MemberChange.objects.create(
        member=member,
        source_file=source,
        source_segment=7,
        changes={"phone": ["555-0100", "555-0142"], "sex": ["U", "F"]},
    )
    MemberChange.objects.create(
        member=member,
        changed_by=cast.plan_admin,
        changes={"address_line1": ["", "100 Example Way"]},
    )
    return member


# --- What each panel shows ---------------------------------------------------------


def test_plan_admin_sees_every_record_panel_in_order(client, cast):
    body = _chart(client, cast.plan_admin, cast.member)

    keys = re.findall(r'data-panel="([a-z_]+)"', body)
    assert [key for key in keys if key in RECORD_PANELS] == RECORD_PANELS
    titles = re.findall(r'<h2 class="h5 mb-0" id="panel-[a-z_]+">([^<]+)</h2>', body)
    assert titles[:2] == ["Demographics", "Enrollment history"]
    assert "Populations of focus" in titles
    assert "Programs that exclude ECM" in titles


def test_demographics_panel_shows_the_member_record(client, cast):
    _fill(cast)

    html = _panel_html(_chart(client, cast.plan_admin, cast.member), "demographics")
    text = _text(html)

    assert "<dl" in html
    assert "Age group today Adult (21 or older)" in text
    assert "Sex Female" in text
    assert "Preferred language Spanish (SPA)" in text
    assert "Phone 555-0142" in text
    assert "100 Example Way Apt 4 San Diego, CA 92101" in text
    assert "County San Diego" in text
    assert "Experiencing homelessness Yes" in text
    assert "Race and ethnicity Hispanic or Latino; White" in text


def test_demographics_says_child_until_the_21st_birthday(client, cast):
    birth_date = _birth_date_for_age(20)
    Member.objects.filter(pk=cast.member.pk).update(birth_date=birth_date)
    adult_on = birth_date.replace(year=birth_date.year + 21)

    text = _text(
        _panel_html(_chart(client, cast.plan_admin, cast.member), "demographics")
    )

    assert (
        f"Child or youth (under 21; adult from {adult_on:%b} {adult_on.day}, "
        f"{adult_on.year})" in text
    )
    assert "Preferred language Not recorded" in text


def test_enrollment_history_lists_every_span_with_its_source(client, cast):
    _fill(cast)

    html = _panel_html(_chart(client, cast.plan_admin, cast.member), "enrollment")
    rows = [_text(row) for row in _rows(html)]

    assert rows == [
        "Cast Plan current San Diego — Jan 1, 2025 open Entered directly",
        "Cast Other Plan San Diego 1H Jan 1, 2019 Dec 31, 2019 "
        "plan-2025-02.x12 (segment 42)",
    ]
    assert '<th scope="col">Aid code</th>' in html


def test_populations_panel_shows_current_and_past_with_their_source(client, cast):
    _fill(cast)

    html = _panel_html(_chart(client, cast.plan_admin, cast.member), "populations")
    rows = [_text(row) for row in _rows(html)]

    assert len(rows) == 2
    assert rows[0].startswith(
        "Adult – Serious Mental Health and/or SUD Needs "
        "Evidence: Synthetic claims summary Current Jan 1, 2025 — Plan data "
        "Plan Admin, Cast Plan"
    )
    assert rows[1].startswith(
        "Adult – Individuals Experiencing Homelessness Ended Mar 1, 2022 "
        "Feb 28, 2023 Provider attestation Import"
    )


def test_other_programs_panel_lists_programs_that_exclude_ecm(client, cast):
    _fill(cast)

    html = _panel_html(_chart(client, cast.plan_admin, cast.member), "other_programs")

    assert [_text(row) for row in _rows(html)] == [
        "Hospice Ended May 1, 2021 Aug 31, 2021 Plan hospice report"
    ]


def test_cin_history_shows_current_and_prior(client, cast):
    _fill(cast)

    html = _panel_html(_chart(client, cast.plan_admin, cast.member), "cin_history")
    rows = [_text(row) for row in _rows(html)]

    assert rows[0].startswith(f"{cast.member.cin} Current factory")
    assert rows[1].startswith("97777777Z Prior 834 REF*Q4")
    assert len(rows) == 2


def test_changes_panel_shows_before_and_after_and_who(client, cast):
    _fill(cast)

    html = _panel_html(_chart(client, cast.plan_admin, cast.member), "changes")
    rows = [_text(row) for row in _rows(html)]

    assert len(rows) == 2
    assert rows[0].endswith(
        "Address line1 : (empty) → changed to 100 Example Way Plan Admin"
    )
    assert rows[1].endswith(
        "Phone : 555-0100 → changed to 555-0142 Sex : Unknown → changed to Female "
        "834 file plan-2025-02.x12 (segment 7)"
    )


def test_changes_panel_shows_the_latest_twenty(client, cast):
    for number in range(25):
        MemberChange.objects.create(
            member=cast.member, changes={"city": [f"Town{number}", f"Town{number + 1}"]}
        )

    html = _panel_html(_chart(client, cast.plan_admin, cast.member), "changes")

    assert len(_rows(html)) == 20
    assert "Town24" in html  # the newest
    assert "Town4 " not in _text(html)  # the oldest five are left out
    assert "The 20 most recent changes are shown." in html


def test_empty_record_panels_say_so(client, cast):
    body = _chart(client, cast.plan_admin, cast.member)

    assert "No population of focus on record." in _panel_html(body, "populations")
    assert "No program enrollment on record." in _panel_html(body, "other_programs")
    assert "No changes recorded." in _panel_html(body, "changes")


@pytest.mark.parametrize("viewer", ["lead_care_manager", "supervisor", "auditor"])
def test_chart_viewers_without_the_permission_see_the_panels_but_no_forms(
    client, cast, viewer
):
    _fill(cast)

    body = _chart(client, getattr(cast, viewer), cast.member)

    assert "Synthetic claims summary" in _panel_html(body, "populations")
    assert "<form" not in _panel_html(body, "populations")
    assert "<form" not in _panel_html(body, "other_programs")


def test_referral_only_viewer_gets_none_of_the_record_panels(client, cast):
    _fill(cast)

    body = _chart(client, cast.cs_provider, cast.member)

    for key in RECORD_PANELS:
        assert f'data-panel="{key}"' not in body, key
    for private in (
        "555-0142",
        "100 Example Way",
        "Spanish",
        "97777777Z",
        "Synthetic claims summary",
        "Hospice",
        "plan-2025-02.x12",
    ):
        assert private not in body, private


# --- The population of focus form --------------------------------------------------


def _post_population(client, user, member, **overrides):
    client.force_login(user)
    data = {
        "population": "adult_smh_sud",
        "source": "plan_data",
        "start_date": "2025-01-01",
        "end_date": "",
        "evidence": "Synthetic evidence",
        **overrides,
    }
    return client.post(reverse("member_population_add", args=[member.uuid]), data)


def _options(html, select_id):
    select = re.search(rf'<select[^>]*id="{select_id}".*?</select>', html, re.S)
    return re.findall(r'<option value="([^"]+)"', select.group(0))


def test_the_population_menu_offers_the_member_age_group_today(client, cast):
    adult_menu = _options(
        _panel_html(_chart(client, cast.plan_admin, cast.member), "populations"),
        "pof_population",
    )
    Member.objects.filter(pk=cast.member.pk).update(birth_date=_birth_date_for_age(20))
    child_menu = _options(
        _panel_html(_chart(client, cast.plan_admin, cast.member), "populations"),
        "pof_population",
    )

    assert adult_menu == list(
        PopulationOfFocus.objects.filter(age_group="adult").values_list(
            "code", flat=True
        )
    )
    assert child_menu
    assert all(code.startswith("child_") for code in child_menu)
    assert '<label class="form-label small mb-1" for="pof_start_date">' in (
        _panel_html(_chart(client, cast.plan_admin, cast.member), "populations")
    )


def test_plan_admin_records_a_population_from_the_chart(client, cast):
    response = _post_population(client, cast.plan_admin, cast.member)

    assert response.status_code == 302
    assert response["Location"] == f"{_chart_url(cast.member)}#panel-populations"
    record = MemberPopulation.objects.get(member=cast.member)
    assert record.population_id == "adult_smh_sud"
    assert record.recorded_by == cast.plan_admin
    assert record.evidence == "Synthetic evidence"
    event = AuditEvent.objects.get(object_type="member_population")
    assert (event.action, event.member_ids) == ("create", [cast.member.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Population of focus recorded." in page
    assert "Synthetic evidence" in _panel_html(page, "populations")


def test_an_adult_population_for_a_20_year_old_is_refused_with_the_reason(client, cast):
    Member.objects.filter(pk=cast.member.pk).update(birth_date=_birth_date_for_age(20))
    start = timezone.localdate().isoformat()

    response = _post_population(client, cast.plan_admin, cast.member, start_date=start)

    assert response.status_code == 400
    html = _panel_html(response.content.decode(), "populations")
    assert re.search(r"<details[^>]* open>", html)  # the form stays unfolded
    error = re.search(r'id="pof_population_error">([^<]+)<', html)
    assert error
    assert "The member was under 21" in error.group(1)
    assert "choose the child or youth population" in error.group(1)
    assert 'aria-invalid="true"' in html
    assert "Not recorded: correct the fields marked below." in html
    assert not MemberPopulation.objects.exists()


def test_missing_and_misordered_dates_are_field_errors(client, cast):
    missing = _post_population(client, cast.plan_admin, cast.member, start_date="")
    misordered = _post_population(
        client, cast.plan_admin, cast.member, end_date="2024-12-31"
    )
    early = _post_population(
        client, cast.plan_admin, cast.member, start_date="2021-06-01"
    )

    assert missing.status_code == misordered.status_code == early.status_code == 400
    assert re.search(
        r'id="pof_start_date_error">This field is required\.<',
        missing.content.decode(),
    )
    assert re.search(
        r'id="pof_end_date_error">The end date is before the start date\.<',
        misordered.content.decode(),
    )
    assert re.search(
        r'id="pof_start_date_error">[^<]+ went live on January 1, 2022\.<',
        early.content.decode(),
    )
    assert not MemberPopulation.objects.exists()


def test_an_unknown_population_is_refused(client, cast):
    response = _post_population(
        client, cast.plan_admin, cast.member, population="not_a_population"
    )

    assert response.status_code == 400
    assert "Choose a population of focus from the list." in response.content.decode()
    assert not MemberPopulation.objects.exists()


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("lead_care_manager", 403),  # sees the member, may not record
        ("auditor", 403),
        ("cs_provider", 404),  # referral data only
        ("other_plan_admin", 404),  # may record, but not for this member
        ("colleague", 404),
    ],
)
def test_population_post_refused_writes_nothing(client, cast, caller, status):
    response = _post_population(client, getattr(cast, caller), cast.member)

    assert response.status_code == status
    assert not MemberPopulation.objects.exists()
    assert not AuditEvent.objects.filter(object_type="member_population").exists()


def test_population_form_only_accepts_post(client, cast):
    client.force_login(cast.plan_admin)

    response = client.get(reverse("member_population_add", args=[cast.member.uuid]))

    assert response.status_code == 405


# --- The other-program form ----------------------------------------------------------


def _post_program(client, user, member, **overrides):
    client.force_login(user)
    data = {
        "program": "pace",
        "start_date": "2025-02-01",
        "end_date": "",
        "source": "Synthetic PACE roster",
        **overrides,
    }
    return client.post(reverse("member_other_program_add", args=[member.uuid]), data)


def test_plan_admin_records_a_program_that_excludes_ecm(client, cast):
    response = _post_program(client, cast.plan_admin, cast.member)

    assert response.status_code == 302
    assert response["Location"] == f"{_chart_url(cast.member)}#panel-other_programs"
    record = OtherProgramEnrollment.objects.get(member=cast.member)
    assert (record.program, record.start_date, record.source) == (
        "pace",
        date(2025, 2, 1),
        "Synthetic PACE roster",
    )
    page = client.get(response["Location"]).content.decode()
    assert "Program enrollment recorded." in page
    assert "PACE" in _text(_panel_html(page, "other_programs"))


def test_a_program_ending_before_it_starts_is_refused(client, cast):
    response = _post_program(
        client, cast.plan_admin, cast.member, end_date="2025-01-01"
    )

    assert response.status_code == 400
    html = _panel_html(response.content.decode(), "other_programs")
    assert re.search(
        r'id="program_end_date_error">The end date is before the start date\.<', html
    )
    assert 'value="Synthetic PACE roster"' in html  # the input is kept
    assert not OtherProgramEnrollment.objects.exists()


@pytest.mark.parametrize(
    ("caller", "status"),
    [("lead_care_manager", 403), ("supervisor", 403), ("cs_provider", 404)],
)
def test_program_post_refused_writes_nothing(client, cast, caller, status):
    response = _post_program(client, getattr(cast, caller), cast.member)

    assert response.status_code == status
    assert not OtherProgramEnrollment.objects.exists()


# --- Query counts ------------------------------------------------------------------


def _panel(key):
    return next(
        panel
        for panel in panel_registry.chart_panels(registry.CHART)
        if panel.key == key
    )


def _grow(cast, count):
    """More rows in every record panel, to show the counts do not grow with them."""
    member = cast.member
    source = _enrollment_file(cast, name="grow.x12")
    for number in range(count):
        factories.EnrollmentFactory(
            member=member,
            plan=cast.other_plan,
            start_date=date(2010 + number, 1, 1),
            end_date=date(2010 + number, 6, 30),
            source_file=source,
        )
        MemberCin.objects.create(
            cin=f"96{number:06d}Q", member=member, is_current=False, source="grow"
        )
        MemberPopulation.objects.create(
            member=member,
            population_id="adult_smh_sud",
            source="plan_data",
            start_date=date(2022, 1, 1) + timedelta(days=number),
            end_date=date(2022, 1, 1) + timedelta(days=number),
            recorded_by=cast.plan_admin,
        )
        OtherProgramEnrollment.objects.create(
            member=member, program="mssp", start_date=date(2015 + number, 1, 1)
        )
        MemberChange.objects.create(
            member=member,
            source_file=source if number % 2 else None,
            changed_by=None if number % 2 else cast.plan_admin,
            changes={"city": ["A", "B"]},
        )


@pytest.mark.parametrize(
    ("key", "viewer", "queries"),
    [
        ("demographics", "plan_admin", 0),  # the county comes with the member
        ("enrollment", "plan_admin", 1),
        ("populations", "lead_care_manager", 1),
        ("populations", "plan_admin", 2),  # and the menu of populations
        ("other_programs", "plan_admin", 1),
        ("cin_history", "plan_admin", 1),
        ("changes", "plan_admin", 1),
    ],
)
@pytest.mark.parametrize("extra", [0, 3])
def test_each_record_panel_has_a_fixed_query_count(
    cast, django_assert_num_queries, key, viewer, queries, extra
):
    _fill(cast)
    _grow(cast, extra)
    panel = _panel(key)
    request = RequestFactory().get("/")
    request.user = getattr(cast, viewer)
    request.chart_scope = registry.CHART
    # Loaded by the page already: permissions (navigation) and roles (shell).
    request.user.has_perm("members.view_member")
    request.user.role_names  # noqa: B018
    # As the chart fetches it (with the county).
    member = access_member(request.user, cast.member.uuid, audit=False)

    with django_assert_num_queries(queries):
        context = panel.context(request, member)
        html = render_to_string(panel.template, context, request=request)

    assert "Casey" not in html  # panels never repeat the header's identifiers


def test_whole_chart_query_count_does_not_grow_with_the_record(client, cast):
    """The page's count, whatever other apps' panels add, stays fixed when every
    record panel gets more rows (each panel's own count is pinned above)."""
    _fill(cast)
    client.force_login(cast.plan_admin)
    client.get(reverse("home"))

    def queries_for_the_chart():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(_chart_url(cast.member))
        assert response.status_code == 200
        return len(queries), len(_rows(response.content.decode()))

    before, rows_before = queries_for_the_chart()
    _grow(cast, 4)
    after, rows_after = queries_for_the_chart()

    assert after == before
    assert rows_after == rows_before + 5 * 4  # spans, CINs, POFs, programs, changes
