"""The app's URLs plus the benchmark's bare reference view (bench/caseload.py).

The reference is what the provider member list would cost with nothing but
Django: the same rows (the organization's open-episode members, first page by
uuid, with enrollments and populations of focus) through `.values()` and
`JsonResponse`, without authentication, throttling, audit or DRF.
"""

from collections import defaultdict

from django.http import JsonResponse
from django.urls import path

from calaim.urls import urlpatterns as app_urlpatterns
from care_plans.models import Episode
from members.models import Enrollment, Member, MemberPopulation

MEMBER_FIELDS = (
    "id",
    "uuid",
    "cin",
    "last_name",
    "first_name",
    "middle_name",
    "birth_date",
    "sex",
    "preferred_language",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zip_code",
    "county_id",
    "is_homeless",
    "updated_at",
)


def reference_members(request):
    organization = int(request.GET["organization"])
    page_size = int(request.GET.get("page_size", 100))
    open_episodes = Episode.objects.filter(
        ecm_provider_id=organization, closed_at__isnull=True
    ).values("member_id")
    members = list(
        Member.objects.filter(pk__in=open_episodes)
        .order_by("uuid")
        .values(*MEMBER_FIELDS)[:page_size]
    )
    ids = [member["id"] for member in members]
    enrollments = defaultdict(list)
    for row in (
        Enrollment.objects.filter(member_id__in=ids)
        .order_by("-start_date")
        .values(
            "member_id", "plan__name", "county_id", "aid_code", "start_date", "end_date"
        )
    ):
        enrollments[row.pop("member_id")].append(row)
    populations = defaultdict(list)
    for row in MemberPopulation.objects.filter(
        member_id__in=ids, end_date__isnull=True
    ).values(
        "member_id",
        "population_id",
        "population__name",
        "source",
        "start_date",
        "end_date",
    ):
        populations[row.pop("member_id")].append(row)
    for member in members:
        member_id = member.pop("id")
        member["enrollments"] = enrollments[member_id]
        member["populations_of_focus"] = populations[member_id]
    return JsonResponse({"results": members})


urlpatterns = [
    path("bench/reference/members/", reference_members),
    *app_urlpatterns,
]
