"""Member records: CIN history, merges, populations of focus, search, enrollment."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from calaim.audit.models import AuditEvent
from members.models import (
    Enrollment,
    Member,
    MemberChange,
    MemberCin,
    MemberPopulation,
    PopulationOfFocus,
)
from members.selectors import enrolled_members, is_enrolled, member_search
from members.services import (
    ecm_exclusions_on,
    member_by_cin,
    member_create,
    member_merge,
    member_population_add,
    other_program_add,
)
from tests.factories import EnrollmentFactory, EpisodeFactory, MemberFactory


def test_member_create_validates_the_cin_and_records_it(db):
    member = member_create(
        cin="91234567a",
        first_name="Ana",
        last_name="Example",
        birth_date=date(1990, 1, 2),
    )
    assert member.cin == "91234567A"
    assert MemberCin.objects.get(member=member).is_current
    with pytest.raises(ValidationError, match="already exists"):
        member_create(
            cin="91234567A", first_name="B", last_name="C", birth_date=date(1990, 1, 2)
        )
    with pytest.raises(ValidationError):
        member_create(
            cin="9123456", first_name="B", last_name="C", birth_date=date(1990, 1, 2)
        )


def test_a_bic_id_or_a_prior_cin_finds_the_member(db):
    member = MemberFactory(cin="91111111A")
    MemberCin.objects.create(cin="92222222B", member=member, is_current=False)
    assert member_by_cin("91111111A29180") == member
    assert member_by_cin("92222222b") == member
    assert member_by_cin("93333333C") is None


def test_merging_keeps_everything_attached_to_both_records(cast):
    duplicate = MemberFactory(cin="98888888X", phone="555-0100")
    EnrollmentFactory(member=duplicate, plan=cast.plan, start_date=date(2020, 1, 1))
    Enrollment.objects.filter(member=duplicate).update(end_date=date(2020, 12, 31))
    member_merge(survivor=cast.member, duplicate=duplicate, actor=cast.plan_admin)
    duplicate.refresh_from_db()
    assert duplicate.merged_into == cast.member
    assert cast.member.enrollments.count() == 2
    assert member_by_cin("98888888X") == cast.member
    assert cast.member.phone == "555-0100"  # filled from the duplicate
    change = MemberChange.objects.get(member=cast.member)
    assert change.changes["merged_from"][0] == str(duplicate.uuid)
    event = AuditEvent.objects.get(object_type="member_merge")
    assert sorted(event.member_ids) == sorted([cast.member.pk, duplicate.pk])


def test_a_merge_that_conflicts_is_refused_and_changes_nothing(cast):
    duplicate = MemberFactory()
    EnrollmentFactory(member=duplicate, plan=cast.plan)
    EpisodeFactory(member=duplicate, ecm_provider=cast.ecm_provider)  # 2 open
    with pytest.raises(ValidationError, match="Cannot merge"):
        member_merge(survivor=cast.member, duplicate=duplicate, actor=cast.plan_admin)
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None
    assert duplicate.episodes.count() == 1


def test_merging_needs_the_plan_role_and_sight_of_both(cast):
    duplicate = MemberFactory()
    with pytest.raises(PermissionDenied):
        member_merge(
            survivor=cast.member, duplicate=duplicate, actor=cast.lead_care_manager
        )
    with pytest.raises(PermissionDenied):  # the duplicate is not the plan's
        member_merge(survivor=cast.member, duplicate=duplicate, actor=cast.plan_admin)


def test_the_sixteen_populations_of_focus_are_seeded(db):
    assert PopulationOfFocus.objects.filter(age_group="adult").count() == 8
    assert PopulationOfFocus.objects.filter(age_group="child").count() == 8
    birth_equity = PopulationOfFocus.objects.get(code="adult_birth_equity")
    assert birth_equity.go_live_date == date(2024, 1, 1)


def test_adult_and_child_populations_split_at_the_21st_birthday(cast):
    member = cast.member
    member.birth_date = date(2004, 6, 15)
    member.save(update_fields=["birth_date"])
    adult = PopulationOfFocus.objects.get(code="adult_homeless_individual")
    child = PopulationOfFocus.objects.get(code="child_homeless_individual")
    day_before = date(2025, 6, 14)
    birthday = date(2025, 6, 15)
    with pytest.raises(ValidationError, match="under 21"):
        member_population_add(
            member=member,
            population=adult,
            source="plan_data",
            start_date=day_before,
            actor=cast.plan_admin,
        )
    member_population_add(
        member=member,
        population=child,
        source="plan_data",
        start_date=day_before,
        actor=cast.plan_admin,
    )
    member_population_add(
        member=member,
        population=adult,
        source="plan_data",
        start_date=birthday,
        actor=cast.plan_admin,
        evidence="Shelter letter on file",
    )
    assert MemberPopulation.objects.filter(member=member).count() == 2


def test_a_population_cannot_start_before_it_went_live(cast):
    population = PopulationOfFocus.objects.get(code="adult_birth_equity")
    with pytest.raises(ValidationError, match="went live"):
        member_population_add(
            member=cast.member,
            population=population,
            source="plan_data",
            start_date=date(2023, 6, 1),
            actor=cast.plan_admin,
        )


def test_recording_a_population_needs_the_role_and_sight(cast):
    population = PopulationOfFocus.objects.get(code="adult_smh_sud")
    for actor in (cast.lead_care_manager, cast.other_plan_admin):
        with pytest.raises(PermissionDenied):
            member_population_add(
                member=cast.member,
                population=population,
                source="plan_data",
                start_date=date(2025, 1, 1),
                actor=actor,
            )
    assert not MemberPopulation.objects.exists()


def test_other_programs_that_exclude_ecm_are_found_by_date(cast):
    other_program_add(
        member=cast.member,
        program="hospice",
        start_date=date(2026, 3, 1),
        end_date=date(2026, 4, 30),
        actor=cast.plan_admin,
    )
    assert ecm_exclusions_on(cast.member, date(2026, 3, 15))
    assert not ecm_exclusions_on(cast.member, date(2026, 5, 1))
    with pytest.raises(ValidationError):
        other_program_add(
            member=cast.member,
            program="knitting_club",
            start_date=date(2026, 3, 1),
            actor=cast.plan_admin,
        )


def test_enrolled_in_plan_on_a_date_is_one_query(cast, django_assert_num_queries):
    Enrollment.objects.filter(member=cast.member).update(
        start_date=date(2025, 1, 1), end_date=date(2025, 12, 31)
    )
    with django_assert_num_queries(1):
        assert is_enrolled(
            member_id=cast.member.pk, plan_id=cast.plan.pk, on=date(2025, 6, 1)
        )
    assert not is_enrolled(
        member_id=cast.member.pk, plan_id=cast.plan.pk, on=date(2026, 1, 1)
    )
    assert enrolled_members(plan_id=cast.plan.pk, on=date(2025, 12, 31)).count() == 1


def test_overlapping_spans_for_one_member_and_plan_are_refused(cast):
    span = cast.member.enrollments.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.create(
            member=cast.member,
            plan=cast.plan,
            county_id="37",
            start_date=span.start_date + timedelta(days=30),
        )
    # Another plan may overlap.
    Enrollment.objects.create(
        member=cast.member,
        plan=cast.other_plan,
        county_id="37",
        start_date=span.start_date,
    )


@pytest.mark.parametrize("code", ["00", "59", "99", "6", "AB"])
def test_a_county_code_outside_the_58_dhcs_codes_is_refused(cast, code):
    """A CHECK constraint, not a foreign key, holds county codes to 01-58."""
    span = cast.member.enrollments.get()
    refused = pytest.raises(IntegrityError, match="county_is_a_dhcs_code")
    with refused, transaction.atomic():
        Member.objects.filter(pk=cast.member.pk).update(county_id=code)
    refused = pytest.raises(IntegrityError, match="county_is_a_dhcs_code")
    with refused, transaction.atomic():
        Enrollment.objects.filter(pk=span.pk).update(county_id=code)
    Member.objects.filter(pk=cast.member.pk).update(county_id="58")
    Enrollment.objects.filter(pk=span.pk).update(county_id="01")
    Member.objects.filter(pk=cast.member.pk).update(county_id=None)


def test_search_finds_by_cin_prior_cin_and_misspelt_name(cast):
    member = cast.member  # Casey Castmember
    MemberCin.objects.create(cin="97777777Z", member=member, is_current=False)
    others = [MemberFactory(first_name="Jordan", last_name=f"Zed{n}") for n in range(3)]
    for other in others:
        EnrollmentFactory(member=other, plan=cast.plan)
    search = lambda **kwargs: member_search(cast.plan_admin, **kwargs)  # noqa: E731
    assert search(query=member.cin) == [member]
    assert search(query="97777777Z") == [member]
    assert search(query="Castmembr") == [member]  # a typo
    assert search(query="casey castmember") == [member]
    assert search(birth_date=member.birth_date)[0] == member
    assert search(query="") == []
    # Scoped: another plan's administrator finds nothing.
    assert member_search(cast.other_plan_admin, query=member.cin) == []
    assert member_search(cast.other_plan_admin, query="Castmember") == []


def test_search_query_count_is_fixed(cast, django_assert_num_queries):
    for n in range(10):
        EnrollmentFactory(
            member=MemberFactory(last_name=f"Castmember{n}"), plan=cast.plan
        )
    cast.plan_admin.role_names  # noqa: B018
    with django_assert_num_queries(1):
        results = member_search(cast.plan_admin, query="Castmember")
    assert len(results) == 11


def test_members_are_never_deleted_by_the_model_layer(cast):
    with pytest.raises(Exception):  # noqa: B017,PT011 (PROTECT from enrollments)
        Member.objects.filter(pk=cast.member.pk).delete()


def test_the_county_check_allows_exactly_the_counties_in_the_county_table(db):
    from calaim.accounts.models import County
    from members.models import COUNTY_CODES

    assert sorted(County.objects.values_list("code", flat=True)) == COUNTY_CODES
