"""calaim.prepared: a queryset built and compiled once gives what the queryset
itself gives, for every set of values, with the fresh part compiled each time."""

from datetime import date

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import FieldError
from django.db import connection
from django.db.models import BooleanField, Q

from calaim import access as registry
from calaim.prepared import fresh_placeholder, prepared_list, statement_cursor
from members.models import Enrollment, Member
from tests import factories


def _spans(member_id, since):
    return (
        Enrollment.objects.filter(member_id=member_id, start_date__gte=since)
        .select_related("plan", "county")
        .only("start_date", "end_date", "member_id", "plan__name", "county__name")
        .order_by("-start_date", "-id")
    )


def _shown(rows):
    return [(r.pk, r.start_date, r.plan.name, r.county.name) for r in rows]


def test_same_rows_as_the_queryset_for_each_set_of_values(
    cast, django_assert_num_queries
):
    other = factories.MemberFactory()
    for year in (2020, 2022, 2024):
        factories.EnrollmentFactory(
            member=other,
            plan=cast.plan,
            start_date=date(year, 1, 1),
            end_date=date(year, 12, 31),
        )
    for member, since in ((cast.member, date(2000, 1, 1)), (other, date(2021, 6, 1))):
        expected = _shown(_spans(member.pk, since))
        with django_assert_num_queries(1):
            found = prepared_list("test.spans", _spans, member.pk, since)
        assert _shown(found) == expected
        assert found
        assert all(not row._state.adding for row in found)
    assert len(prepared_list("test.spans", _spans, other.pk, date(2021, 6, 1))) == 2


def test_a_value_that_is_not_a_parameter_is_refused():
    with pytest.raises(ValueError, match="parameter"):
        prepared_list("test.refused", lambda pk: Member.objects.filter(pk__gt=0)[:1], 1)


def test_the_fresh_part_is_compiled_for_each_call(cast):
    def visible(pk):
        return Member.objects.filter(pk=pk, pk__in=fresh_placeholder())

    for user, sees in ((cast.lead_care_manager, True), (cast.cs_provider, False)):
        found = prepared_list(
            "test.fresh",
            visible,
            cast.member.pk,
            fresh=registry.visible_member_ids(user),
        )
        assert [m.pk for m in found] == ([cast.member.pk] if sees else [])


def _with_visibility(member_uuid):
    return (
        Member.objects.filter(uuid=member_uuid)
        .annotate(visible=fresh_placeholder(BooleanField()))
        .order_by()
    )


def test_a_fresh_expression_is_compiled_for_each_call(cast):
    people = [cast.lead_care_manager, cast.plan_admin, cast.cs_provider, cast.auditor]
    answers = set()
    for user in people:
        for scope in registry.SCOPES:
            condition = registry.visibility_condition(user, scope=scope)
            expected = (
                Member.objects.filter(uuid=cast.member.uuid)
                .annotate(visible=condition)
                .get()
                .visible
            )
            [found] = prepared_list(
                ("test.fresh_expression", scope),
                _with_visibility,
                cast.member.uuid,
                fresh=registry.visibility_condition(user, scope=scope),
            )
            assert (found.pk, found.visible) == (cast.member.pk, expected)
            answers.add(found.visible)
    assert answers == {True, False}
    assert not _visible_to(AnonymousUser())


def _visible_to(user):
    [found] = prepared_list(
        ("test.fresh_expression", registry.CHART),
        _with_visibility,
        factories.MemberFactory().uuid,
        fresh=registry.visibility_condition(user),
    )
    return found.visible


def test_a_fresh_expression_may_not_join_other_tables(db):
    member = factories.MemberFactory()
    with pytest.raises(FieldError):
        prepared_list(
            "test.fresh_join",
            _with_visibility,
            member.uuid,
            fresh=Q(county__name="San Diego"),
        )


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_the_sql_runs_as_a_prepared_statement_counted_and_logged_with_its_values(
    cast, django_assert_num_queries
):
    since = date(2000, 1, 1)
    for _ in range(2):
        with django_assert_num_queries(1) as captured:
            found = prepared_list("test.spans", _spans, cast.member.pk, since)
        assert _shown(found) == _shown(_spans(cast.member.pk, since))
    [statement] = [s for s in _prepared_statements() if "members_enrollment" in s]
    assert '"members_enrollment"."member_id" = $1' in statement
    [logged] = captured.captured_queries
    assert f'"members_enrollment"."member_id" = {cast.member.pk}' in logged["sql"]
    assert "'2000-01-01'::date" in logged["sql"]


def test_statement_cursor_binds_named_values_on_the_server(db):
    with statement_cursor() as cursor:
        cursor.execute(
            "SELECT %(a)s::int + %(a)s::int, %(b)s::text", {"a": 2, "b": "x"}
        )
        assert cursor.fetchone() == (4, "x")
    assert "SELECT $1::int + $1::int, $2::text" in _prepared_statements()


def test_without_prepared_statements_it_is_django_s_plain_cursor(cast, settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    found = prepared_list("test.spans", _spans, cast.member.pk, date(2000, 1, 1))
    assert _shown(found) == _shown(_spans(cast.member.pk, date(2000, 1, 1)))
    assert not [s for s in _prepared_statements() if "members_enrollment" in s]


def test_a_statement_cursor_raises_django_s_errors_with_either_placeholders(db):
    from django.db import IntegrityError, transaction

    with transaction.atomic(), statement_cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE once (n int PRIMARY KEY)")
    for raw, sql in (
        (False, "INSERT INTO once VALUES (%s), (%s)"),
        (True, "INSERT INTO once VALUES ($1), ($2)"),
    ):
        with (
            pytest.raises(IntegrityError),
            transaction.atomic(),
            statement_cursor(raw=raw) as cursor,
        ):
            cursor.execute(sql, [1, 1])
    with statement_cursor(raw=True) as cursor:
        cursor.execute("INSERT INTO once VALUES ($1), ($2) RETURNING n", [1, 2])
        assert cursor.fetchall() == [(1,), (2,)]
    assert "INSERT INTO once VALUES ($1), ($2) RETURNING n" in _prepared_statements()


def test_raw_placeholders_without_prepared_statements(db, settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    with statement_cursor(raw=True) as cursor:
        cursor.execute("SELECT $1::int + $2::int", [2, 3])
        assert cursor.fetchone() == (5,)
    assert "SELECT $1::int + $2::int" not in _prepared_statements()
