"""The members API: a provider's system pulls the members assigned to it.

Field names follow the DHCS Return Transmission File (DESIGN.md §5) where the RTF
has one. Every read is audited with the member ids it returned.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView, ListAPIView, RetrieveAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from calaim.accounts.models import Organization
from calaim.api.filters import UpdatedSinceFilter
from calaim.api.pagination import CursorPagination
from calaim.api.permissions import RequiresScope
from calaim.audit.services import audit_record
from calaim.validators import normalize_cin
from members.access import access_member
from members.models import (
    Consent,
    ConsentCategory,
    ConsentKind,
    Enrollment,
    MemberPopulation,
)
from members.selectors import consents_of, members_visible_to
from members.services import consent_end, consent_record, consent_revoke
from members.services.consents import consent_document_path

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


# --- Consents -----------------------------------------------------------------------

CONSENT_TAG = ["Consents"]
CONSENT_READ = RequiresScope("members:read", permissions=["members.view_consent"])
CONSENT_WRITE = RequiresScope("ecm:write", permissions=["members.add_consent"])
CONSENT_REVOKE = RequiresScope("ecm:write", permissions=["members.revoke_consent"])


class RecipientOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ConsentOutput(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    member_id = serializers.UUIDField(source="member.uuid")
    kind = serializers.CharField()
    status = serializers.SerializerMethodField()
    covers_part2 = serializers.BooleanField()
    scope_categories = serializers.ListField(child=serializers.CharField())
    scope_text = serializers.CharField()
    recipient_organizations = RecipientOutput(many=True, source="recipients")
    recipient_names = serializers.SerializerMethodField()
    purpose = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)
    end_event = serializers.CharField()
    document = serializers.SerializerMethodField()
    verbal_attestation = serializers.SerializerMethodField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    revocation_reason = serializers.CharField()
    revoked_by = serializers.CharField(source="revoked_by.full_name", default=None)
    revoked_by_consent_id = serializers.UUIDField(
        source="revoked_by_consent.uuid", default=None
    )
    recorded_by = serializers.CharField(source="recorded_by.full_name")
    recorded_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_status(self, consent) -> str:
        return str(consent.status_on(timezone.localdate()))

    def get_recipient_names(self, consent) -> list[str]:
        return [name for name in consent.recipient_names.splitlines() if name]

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "name": {"type": "string"},
                "content_type": {"type": "string"},
                "size_bytes": {"type": "integer"},
                "sha256": {"type": "string"},
                "url": {"type": "string"},
            },
        }
    )
    def get_document(self, consent):
        if not consent.has_document:
            return None
        return {
            "name": consent.document_name,
            "content_type": consent.document_content_type,
            "size_bytes": consent.document_size,
            "sha256": consent.document_sha256,
            "url": reverse(
                "api_member_consent_document",
                args=[consent.member.uuid, consent.uuid],
            ),
        }

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "attested_by": {"type": "string"},
                "attested_at": {"type": "string", "format": "date-time"},
                "witness": {"type": "string"},
                "notes": {"type": "string"},
            },
        }
    )
    def get_verbal_attestation(self, consent):
        if consent.has_document or consent.attested_by is None:
            return None
        return {
            "attested_by": consent.attested_by.full_name,
            "attested_at": serializers.DateTimeField().to_representation(
                consent.attested_at
            ),
            "witness": consent.attestation_witness,
            "notes": consent.attestation_notes,
        }


class ConsentInput(serializers.Serializer):
    """A consent; JSON, or multipart/form-data with the signed form as `document`
    (repeat a list field's name for each value)."""

    kind = serializers.ChoiceField(choices=ConsentKind.choices)
    scope_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=ConsentCategory.choices),
        required=False,
        default=list,
    )
    scope_text = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000
    )
    recipient_organization_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list
    )
    recipient_names = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list
    )
    purpose = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=500
    )
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True, default=None)
    end_event = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=300
    )
    document = serializers.FileField(
        required=False, allow_null=True, default=None, allow_empty_file=True
    )
    verbal_attestation = serializers.BooleanField(required=False, default=False)
    attestation_witness = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200
    )
    attestation_notes = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000
    )

    def validate_recipient_organization_ids(self, ids):
        ids = list(dict.fromkeys(ids))
        found = {
            organization.uuid: organization
            for organization in Organization.objects.filter(uuid__in=ids)
        }
        unknown = [str(value) for value in ids if value not in found]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown organization: {', '.join(unknown)}.", code="unknown"
            )
        return [found[value] for value in ids]


class RevokeInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


def _consent_of(member, consent_id):
    try:
        return consents_of(member).get(uuid=consent_id)
    except Consent.DoesNotExist as missing:
        raise Http404("No such consent.") from missing


class ConsentWrite(APIView):
    """The service names the recipients `recipient_organizations`; this API
    takes their ids as `recipient_organization_ids`: errors point at the field
    the client sent (renamed only; the API's exception handler shapes them)."""

    service_fields = {"recipient_organizations": "recipient_organization_ids"}

    def handle_exception(self, exc):
        if isinstance(exc, DjangoValidationError) and hasattr(exc, "error_dict"):
            exc = DjangoValidationError(
                {
                    self.service_fields.get(field, field): errors
                    for field, errors in exc.error_dict.items()
                }
            )
        return super().handle_exception(exc)


class MemberConsents(ConsentWrite, GenericAPIView):
    """A member's consents: list them (sync with updated_since), or record one."""

    queryset = Consent.objects.none()  # for the schema; rows come from a selector
    serializer_class = ConsentOutput
    pagination_class = CursorPagination
    filter_backends = [UpdatedSinceFilter]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_permissions(self):
        if self.request is not None and self.request.method in SAFE_METHODS:
            return [CONSENT_READ]
        return [CONSENT_WRITE]

    @extend_schema(
        tags=CONSENT_TAG,
        summary="A member's consents",
        operation_id="members_consents_list",
        responses={200: ConsentOutput(many=True)},
    )
    def get(self, request, member_id):
        member = access_member(request.user, member_id, audit=False)
        audit_record(
            action="view",
            object_type="consent_list",
            object_id=str(member.uuid),
            member_ids=[member.pk],
            actor=request.user,
        )
        consents = self.filter_queryset(consents_of(member))
        page = self.paginate_queryset(consents)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        tags=CONSENT_TAG,
        summary="Record a consent",
        description="ASCMI (AB-133, non-AB-133), an ASCMI revocation, or a 42 CFR "
        "Part 2 consent, with the signed form (`document`, multipart: PDF, PNG or "
        "JPEG) or `verbal_attestation: true` by the caller. A consent covering "
        "Part 2 records needs recipients, purpose, scope and an end date or event "
        "(42 CFR 2.31).",
        request={
            "application/json": ConsentInput,
            "multipart/form-data": ConsentInput,
        },
        responses={201: ConsentOutput},
    )
    def post(self, request, member_id):
        member = access_member(request.user, member_id, audit=False)
        serializer = ConsentInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["recipient_organizations"] = data.pop("recipient_organization_ids")
        data["recipient_names"] = "\n".join(data["recipient_names"])
        consent = consent_record(member=member, actor=request.user, **data)
        consent = _consent_of(member, consent.uuid)
        return Response(ConsentOutput(consent).data, status=201)


class MemberConsentDetail(APIView):
    """One consent of a member; 404 when either is missing or not visible."""

    permission_classes = [CONSENT_READ]

    @extend_schema(
        tags=CONSENT_TAG,
        summary="One consent",
        operation_id="members_consent_retrieve",
        responses=ConsentOutput,
    )
    def get(self, request, member_id, consent_id):
        member = access_member(request.user, member_id, audit=False)
        consent = _consent_of(member, consent_id)
        audit_record(
            action="view",
            object_type="consent",
            object_id=str(consent.uuid),
            member_ids=[member.pk],
            actor=request.user,
        )
        return Response(ConsentOutput(consent).data)


class MemberConsentRevoke(ConsentWrite):
    """Record that the member revoked a consent (nothing is deleted)."""

    permission_classes = [CONSENT_REVOKE]

    @extend_schema(
        tags=CONSENT_TAG,
        summary="Revoke a consent",
        description="The consent stops covering anything now. Revoking an ASCMI "
        "form also records an ASCMI revocation. A revocation, a consent already "
        "revoked or an expired one answers 400.",
        request=RevokeInput,
        responses=ConsentOutput,
    )
    def post(self, request, member_id, consent_id):
        member = access_member(request.user, member_id, audit=False)
        consent = _consent_of(member, consent_id)
        serializer = RevokeInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent_revoke(
            consent=consent,
            reason=serializer.validated_data["reason"],
            actor=request.user,
        )
        return Response(ConsentOutput(_consent_of(member, consent_id)).data)


class EndInput(serializers.Serializer):
    end_date = serializers.DateField()


class MemberConsentEnd(ConsentWrite):
    """Record that the event ending a consent happened: it expires that day."""

    permission_classes = [CONSENT_REVOKE]

    @extend_schema(
        tags=CONSENT_TAG,
        summary="Record the end event of a consent",
        description="For a consent that ends by an event (`end_event`) rather "
        "than a date: `end_date` is the day the event happened (today or "
        "earlier). Not a revocation.",
        request=EndInput,
        responses=ConsentOutput,
    )
    def post(self, request, member_id, consent_id):
        member = access_member(request.user, member_id, audit=False)
        consent = _consent_of(member, consent_id)
        serializer = EndInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent_end(
            consent=consent,
            on=serializer.validated_data["end_date"],
            actor=request.user,
        )
        return Response(ConsentOutput(_consent_of(member, consent_id)).data)


class MemberConsentDocument(APIView):
    """The signed form of a consent, as a download; audited as an export."""

    permission_classes = [CONSENT_READ]

    @extend_schema(
        tags=CONSENT_TAG,
        summary="A consent's signed form",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request, member_id, consent_id):
        member = access_member(request.user, member_id, audit=False)
        consent = _consent_of(member, consent_id)
        path = consent_document_path(consent)
        if path is None:
            raise Http404("No signed form on file.")
        audit_record(
            action="export",
            object_type="consent_document",
            object_id=str(consent.uuid),
            member_ids=[member.pk],
            actor=request.user,
        )
        response = FileResponse(
            open(path, "rb"),  # noqa: SIM115 (FileResponse closes it)
            as_attachment=True,
            filename=consent.document_name or path.name,
            content_type=consent.document_content_type,
        )
        response["Cache-Control"] = "private, no-store"
        return response
