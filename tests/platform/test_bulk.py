"""calaim.bulk: insert_unless_conflict (one statement, once per unique key),
insert_returning and allocate_ids."""

import pytest
from django.db import IntegrityError, transaction

from calaim.bulk import allocate_ids, insert_returning, insert_unless_conflict
from calaim.notifications.models import Notification
from care_plans.transitions.models import Stay
from care_plans.transitions.services.processing import VISIT_KNOWN
from members.models import Member
from tests import factories

pytestmark = pytest.mark.django_db


def test_inserts_once_and_reports_the_conflict(django_assert_num_queries):
    user = factories.UserFactory()
    first = Notification(recipient=user, kind="test", key="k", title="First")
    with django_assert_num_queries(1):
        assert insert_unless_conflict(first, ["recipient", "key"])
    assert first.pk is not None
    assert not first._state.adding
    again = Notification(recipient=user, kind="test", key="k", title="Second")
    assert not insert_unless_conflict(again, ["recipient", "key"])
    assert again.pk is None
    assert list(Notification.objects.values_list("title", flat=True)) == ["First"]
    assert Notification.objects.get(pk=first.pk).created_at is not None


def test_a_conditional_unique_constraint_with_its_condition():
    member = factories.MemberFactory()

    def stay(visit):
        return Stay(member=member, sending_facility="MERCY", visit_number=visit)

    assert insert_unless_conflict(
        stay("V1"), ["sending_facility", "visit_number"], conflict_where=VISIT_KNOWN
    )
    assert not insert_unless_conflict(
        stay("V1"), ["sending_facility", "visit_number"], conflict_where=VISIT_KNOWN
    )
    for _ in range(2):  # no visit number: outside the constraint, never a conflict
        assert insert_unless_conflict(
            stay(""), ["sending_facility", "visit_number"], conflict_where=VISIT_KNOWN
        )
    assert Stay.objects.count() == 3


def test_insert_returning_sets_keys_in_order_and_is_all_or_nothing():
    user = factories.UserFactory()
    rows = [
        Notification(recipient=user, kind="test", key=f"r{n}", title=f"T{n}")
        for n in range(3)
    ]
    insert_returning(Notification, rows)
    assert [Notification.objects.get(pk=row.pk).key for row in rows] == [
        "r0",
        "r1",
        "r2",
    ]
    assert all(row.created_at is not None for row in rows)  # auto_now_add filled

    clash = [
        Notification(recipient=user, kind="test", key="new", title="-"),
        Notification(recipient=user, kind="test", key="r1", title="-"),
    ]
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_returning(Notification, clash)
    assert not Notification.objects.filter(key="new").exists()


def test_allocated_keys_are_new_and_never_handed_out_again():
    """Keys reserved up front (for rows COPY writes with related rows) come from
    the model's own sequence: the ORM never gives one of them out afterwards."""
    assert allocate_ids(Member, 0) == []
    keys = allocate_ids(Member, 50)
    later = factories.MemberFactory()

    assert len(set(keys)) == 50
    assert later.pk not in keys
    assert later.pk > max(keys)
    assert not Member.objects.filter(pk__in=keys).exists()


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "",
        "O\\BRIEN",
        "tab\there",
        "two\nlines",
        "carriage\rreturn",
        "\\N",
        "ÑÚÑEZ 李",
        "ends with a backslash\\",
    ],
)
def test_text_rows_written_by_copy_read_back_exactly(value):
    """Rows built with text_fields and streamed by copy_text store each value
    as it was: the COPY text format's specials are escaped, nothing else."""
    from django.db import connection

    from calaim.bulk import NULL, copy_text, text_fields

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE copy_text_check (a text, b text, c text)")
    copy_text(
        "copy_text_check",
        ("a", "b", "c"),
        f"{text_fields((value, 'next'))}\t{NULL}\n{text_fields(('x', value))}\t z\n",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT a, b, c FROM copy_text_check ORDER BY a = 'x'")
        assert cursor.fetchall() == [(value, "next", None), ("x", value, " z")]


def test_a_copy_the_database_refuses_raises_djangos_integrity_error():
    from calaim.bulk import copy_text

    member = factories.MemberFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        copy_text(
            "members_membercin",
            ("cin", "member_id", "is_current", "source", "recorded_at"),
            f"{member.cin}\t{member.pk}\tf\tx\t2026-01-01\n",  # the CIN again
        )
