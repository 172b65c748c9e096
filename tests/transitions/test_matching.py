"""Member matching (issue 7 §4): PID-3 CIN, IN1-36/49, exact demographics,
never a guess."""

from datetime import date

import pytest

from care_plans.transitions.matching import match_member
from care_plans.transitions.parsing import parse_adt
from members.models import MemberCin
from tests import factories
from tests.transitions.adt import build_adt, make_world, send

pytestmark = pytest.mark.django_db


def _member(cin="91234567A", **fields):
    fields.setdefault("first_name", "Jane")
    fields.setdefault("last_name", "Testperson")
    fields.setdefault("sex", "F")
    fields.setdefault("birth_date", date(1980, 5, 17))
    return factories.MemberFactory(cin=cin, **fields)


def _match(authorities=(), **message):
    message.setdefault("last_name", "SOMEONE")  # off unless a test wants it
    return match_member(
        parse_adt(build_adt("A01", **message)), cin_authorities=authorities
    )


def test_pid3_identifier_of_type_ma():
    member = _member()
    found = _match(pid3="555^^^MERCY^MR~91234567A^^^DHCS^MA")
    assert (found.member, found.rule) == (member, "pid3_cin")


def test_pid3_identifier_of_a_configured_assigning_authority():
    member = _member()
    assert _match(pid3="91234567A^^^CAMEDI^PI").member is None
    found = _match(authorities=["CAMEDI"], pid3="91234567A^^^CAMEDI^PI")
    assert (found.member, found.rule) == (member, "pid3_cin")


def test_cin_shaped_medical_record_number_is_not_a_cin():
    _member()
    assert _match(pid3="91234567A^^^MERCY^MR").member is None


def test_bic_id_is_cut_to_its_cin():
    member = _member()
    assert _match(pid3="91234567A29180^^^DHCS^MA").member == member


def test_an_older_cin_resolves_to_todays_member():
    member = _member(cin="91111111C")
    MemberCin.objects.create(cin="91234567A", member=member, is_current=False)
    assert _match(pid3="91234567A^^^DHCS^MA").member == member


def test_a_merged_duplicate_resolves_to_the_survivor():
    survivor = _member(cin="91111111C")
    _member(cin="91234567A", merged_into=survivor)
    assert _match(pid3="91234567A^^^DHCS^MA").member == survivor


def test_in1_36_then_in1_49():
    member = _member()
    by_policy = _match(pid3="555^^^MERCY^MR", insurance=[("91234567A", "")])
    by_insured = _match(pid3="555^^^MERCY^MR", insurance=[("GRP-9", "91234567A")])
    assert (by_policy.member, by_policy.rule) == (member, "in1_cin")
    assert (by_insured.member, by_insured.rule) == (member, "in1_cin")


def test_unknown_cin_falls_through_to_demographics():
    member = _member()
    found = _match(pid3="97777777Z^^^DHCS^MA", last_name="TESTPERSON")
    assert (found.member, found.rule) == (member, "demographics")


def test_exact_last_first_birth_date_and_sex():
    member = _member()
    found = _match(pid3="555^^^MERCY^MR", last_name="testperson", first_name="JANE")
    assert (found.member, found.rule) == (member, "demographics")


@pytest.mark.parametrize(
    "different",
    [
        {"first_name": "JANET"},
        {"birth_date": "19800518"},
        {"sex": "M"},
        {"sex": ""},
        {"birth_date": ""},
    ],
)
def test_demographics_must_match_exactly(different):
    _member()
    message = {"pid3": "555^^^MERCY^MR", "last_name": "TESTPERSON", **different}
    assert _match(**message).member is None


def test_two_candidates_are_never_guessed_between():
    _member()
    _member(cin="97654321B")
    found = _match(pid3="555^^^MERCY^MR", last_name="TESTPERSON")
    assert found.member is None
    assert found.candidates == 2


def test_unmatched_message_waits_and_is_matched_once_linked():
    from calaim.accounts import roles
    from care_plans.transitions.services import unmatched_link

    world = make_world()
    member = world.member(episode=True)
    message = send(world, build_adt("A01", pid3="555^^^MERCY^MR", first_name="JAN"))
    assert message.status == "unmatched"
    admin = factories.UserFactory(
        organization=world.plan, roles=[roles.INTERFACE_ADMIN]
    )

    assert unmatched_link(message=message, member=member, actor=admin) == "processed"

    message.refresh_from_db()
    assert message.status == "processed"
    assert message.member == member
    assert message.transition.member == member
