"""GET /api/v1/members/ and /api/v1/members/{id}: scoped, audited, synced."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from calaim.audit.models import AuditEvent
from members.models import Member, MemberPopulation
from tests.api_auth import authenticate_api_client
from tests.factories import EnrollmentFactory, EpisodeFactory, MemberFactory


def _get(client, user, url, **params):
    return authenticate_api_client(client, user).get(url, params)


def _ids(response):
    return {row["id"] for row in response.json()["results"]}


def test_the_providers_system_lists_the_members_of_its_open_episodes(cast, client):
    response = _get(client, cast.provider_api, reverse("api_member_list"))
    assert response.status_code == 200
    assert _ids(response) == {str(cast.member.uuid)}
    row = response.json()["results"][0]
    assert row["cin"] == cast.member.cin
    assert row["enrollments"][0]["plan_name"] == cast.plan.name
    assert "residential_address" in row


def test_a_colleague_without_responsibility_gets_an_empty_list(cast, client):
    response = _get(client, cast.colleague, reverse("api_member_list"))
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_the_plan_admin_sees_the_plans_members_and_not_the_other_plans(cast, client):
    assert _ids(_get(client, cast.plan_admin, reverse("api_member_list"))) == {
        str(cast.member.uuid)
    }


def test_a_referral_only_provider_does_not_get_the_member_record(cast, client):
    response = _get(client, cast.cs_provider, reverse("api_member_list"))
    assert response.json()["results"] == []
    detail = _get(
        client, cast.cs_provider, reverse("api_member_detail", args=[cast.member.uuid])
    )
    assert detail.status_code == 404


def test_the_list_query_count_does_not_grow_with_members(
    cast, client, django_assert_max_num_queries
):
    for _ in range(25):
        member = MemberFactory()
        EnrollmentFactory(member=member, plan=cast.plan)
        EpisodeFactory(member=member, ecm_provider=cast.ecm_provider)
    authenticate_api_client(client, cast.provider_api)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("api_member_list"))
    assert len(response.json()["results"]) == 26


def test_updated_since_returns_only_members_changed_since(cast, client):
    stale = MemberFactory()
    EnrollmentFactory(member=stale, plan=cast.plan)
    long_ago = timezone.now() - timedelta(days=30)
    Member.objects.filter(pk=stale.pk).update(updated_at=long_ago)
    since = (timezone.now() - timedelta(days=1)).isoformat()
    response = _get(
        client, cast.plan_admin, reverse("api_member_list"), updated_since=since
    )
    assert _ids(response) == {str(cast.member.uuid)}
    bad = _get(
        client, cast.plan_admin, reverse("api_member_list"), updated_since="yesterday"
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "updated_since"


def test_filter_by_cin_accepts_a_bic_id(cast, client):
    bic = f"{cast.member.cin}29180"
    response = _get(client, cast.plan_admin, reverse("api_member_list"), cin=bic)
    assert _ids(response) == {str(cast.member.uuid)}


def test_every_read_is_audited_with_the_member_ids(cast, client):
    _get(client, cast.provider_api, reverse("api_member_list"))
    listed = AuditEvent.objects.get(object_type="member_list")
    assert listed.member_ids == [cast.member.pk]
    assert listed.actor_id == cast.provider_api.pk
    _get(
        client, cast.provider_api, reverse("api_member_detail", args=[cast.member.uuid])
    )
    viewed = AuditEvent.objects.get(object_type="member")
    assert viewed.member_ids == [cast.member.pk]


def test_detail_shows_current_populations_of_focus(cast, client):
    MemberPopulation.objects.create(
        member=cast.member,
        population_id="adult_homeless_individual",
        source=MemberPopulation.Source.PLAN_DATA,
        start_date=timezone.localdate(),
    )
    response = _get(
        client, cast.lead_care_manager,
        reverse("api_member_detail", args=[cast.member.uuid]),
    )  # fmt: skip
    assert response.status_code == 200
    assert [p["code"] for p in response.json()["populations_of_focus"]] == [
        "adult_homeless_individual"
    ]
