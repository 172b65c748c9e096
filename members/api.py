"""The members API: a provider's system pulls the members assigned to it.

Field names follow the DHCS Return Transmission File (DESIGN.md §5) where the RTF
has one. Every read is audited with the member ids it returned.
"""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView

from calaim.api.filters import UpdatedSinceFilter
from calaim.api.pagination import CursorPagination
from calaim.api.permissions import RequiresScope
from calaim.audit.services import audit_record
from calaim.validators import normalize_cin
from members.access import access_member
from members.models import Enrollment, MemberPopulation
from members.selectors import members_visible_to

READ = RequiresScope("members:read", permissions=["members.view_member"])


class EnrollmentOutput(serializers.Serializer):
    plan_name = serializers.CharField(source="plan.name")
    county_code = serializers.CharField(source="county_id")
    aid_code = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)


class PopulationOutput(serializers.Serializer):
    code = serializers.CharField(source="population_id")
    name = serializers.CharField(source="population.name")
    source = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)


class MemberOutput(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    cin = serializers.CharField()
    last_name = serializers.CharField()
    first_name = serializers.CharField()
    middle_name = serializers.CharField()
    birth_date = serializers.DateField()
    sex = serializers.CharField()
    preferred_language = serializers.CharField()
    phone = serializers.CharField()
    residential_address = serializers.CharField(source="address_line1")
    residential_address_2 = serializers.CharField(source="address_line2")
    residential_city = serializers.CharField(source="city")
    residential_state = serializers.CharField(source="state")
    residential_zip = serializers.CharField(source="zip_code")
    county_code = serializers.CharField(source="county_id", allow_null=True)
    homelessness_indicator = serializers.BooleanField(source="is_homeless")
    enrollments = EnrollmentOutput(many=True, source="enrollment_list")
    populations_of_focus = PopulationOutput(many=True, source="population_list")
    updated_at = serializers.DateTimeField()


def _with_details(members):
    return members.select_related("county").prefetch_related(
        Prefetch(
            "enrollments",
            queryset=Enrollment.objects.select_related("plan").order_by("-start_date"),
            to_attr="enrollment_list",
        ),
        Prefetch(
            "populations",
            queryset=MemberPopulation.objects.select_related("population").filter(
                end_date__isnull=True
            ),
            to_attr="population_list",
        ),
    )


class MemberList(ListAPIView):
    """The members the caller may see: for a provider's system, the members of its
    organization's open ECM episodes; for a plan administrator, the plan's."""

    permission_classes = [READ]
    serializer_class = MemberOutput
    pagination_class = CursorPagination
    filter_backends = [UpdatedSinceFilter]

    def get_queryset(self):
        members = members_visible_to(self.request.user).order_by()
        cin = self.request.query_params.get("cin")
        if cin:
            members = members.filter(cin=normalize_cin(cin))
        return _with_details(members)

    @extend_schema(
        summary="Members visible to the caller",
        parameters=[OpenApiParameter("cin", str, description="Exact CIN or BIC ID")],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        audit_record(
            action="view",
            object_type="member_list",
            member_ids=[member.pk for member in page or []],
            actor=self.request.user,
        )
        return page


class MemberDetail(RetrieveAPIView):
    """One member, by id (UUID); 404 when missing or not visible to the caller."""

    permission_classes = [READ]
    serializer_class = MemberOutput
    lookup_url_kwarg = "member_id"

    @extend_schema(summary="One member")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_object(self):
        member = access_member(self.request.user, self.kwargs["member_id"])
        return _with_details(type(member).objects.filter(pk=member.pk)).get()
