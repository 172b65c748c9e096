"""The referrals API: the referring organization and the receiving provider each
see their own referrals and take the steps as explicit actions (DESIGN.md §5).

Lists are cursor-paginated and accept `updated_since`; every row carries the
three closed-loop RTF fields (`referral_status`, `referral_status_date`,
`referral_loop_closure_reason`). An action may carry the version the caller
read (`version` in the body or an If-Match header); a stale one gets 409
`stale_version`, and the second of two providers' staff accepting the same offer
gets 409 `offer_already_answered`. Each view fetches through the access
chokepoint and calls one service; errors take the API's one shape.
"""

from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from calaim.api.filters import UpdatedSinceFilter
from calaim.api.pagination import CursorPagination
from calaim.api.permissions import RequiresScope
from calaim.audit.services import audit_record
from calaim.errors import ConflictError
from community_supports.models import CommunitySupport
from members.models import Member
from referrals import selectors, services, states
from referrals.access import access_referral, live_offer
from referrals.models import Offer, Referral
from referrals.services._common import referral_visible

TAG = ["Referrals"]
READ = RequiresScope("members:read", permissions=["referrals.view_referral"])
REFER = RequiresScope("referrals:write", permissions=["referrals.add_referral"])
WORK = RequiresScope("referrals:write", permissions=["referrals.work_referral"])
CANCEL = RequiresScope("referrals:write", permissions=["referrals.change_referral"])


# --- Serializers --------------------------------------------------------------------


class ReferralOutput(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    version = serializers.IntegerField()
    status = serializers.CharField()
    updated_at = serializers.DateTimeField()
    member_id = serializers.UUIDField(source="member.uuid")
    cin = serializers.CharField(source="member.cin")
    last_name = serializers.CharField(source="member.last_name")
    first_name = serializers.CharField(source="member.first_name")
    support = serializers.CharField(source="support.code", default=None)
    support_name = serializers.CharField(source="support.name", default=None)
    urgency = serializers.CharField()
    mcp_name = serializers.CharField(source="plan.name", default=None)
    referring_organization = serializers.CharField(
        source="referring_organization.name", default=None
    )
    receiving_organization = serializers.CharField(
        source="receiving_organization.name", default=None
    )
    need_uid = serializers.UUIDField(allow_null=True)
    goal_uid = serializers.UUIDField(allow_null=True)
    note = serializers.CharField()
    requested_units = serializers.DecimalField(10, 2, allow_null=True)
    requested_amount = serializers.DecimalField(10, 2, allow_null=True)
    authorization_status = serializers.CharField()
    authorization_number = serializers.CharField()
    approved_units = serializers.DecimalField(10, 2, allow_null=True)
    approved_amount = serializers.DecimalField(10, 2, allow_null=True)
    approved_from = serializers.DateField(allow_null=True)
    approved_through = serializers.DateField(allow_null=True)
    offer_id = serializers.UUIDField(allow_null=True, default=None)
    offer_status = serializers.CharField(allow_null=True, default=None)
    acknowledge_by = serializers.DateTimeField(allow_null=True, default=None)
    referral_status = serializers.SerializerMethodField()
    referral_status_date = serializers.SerializerMethodField()
    referral_loop_closure_reason = serializers.SerializerMethodField()

    def get_referral_status(self, referral) -> str:
        return states.rtf_fields(referral.status)[0]

    def get_referral_status_date(self, referral) -> str:
        moment = referral.status_changed_at or referral.created_at
        return timezone.localdate(moment).isoformat()

    def get_referral_loop_closure_reason(self, referral) -> str | None:
        return states.rtf_fields(referral.status)[1] or None


class DeliveryOutput(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    delivered_on = serializers.DateField()
    units = serializers.DecimalField(10, 2)
    amount = serializers.DecimalField(10, 2)
    hcpcs = serializers.CharField()
    modifier = serializers.CharField()
    stay_id = serializers.CharField()


class ReferralCreateInput(serializers.Serializer):
    member_id = serializers.UUIDField()
    support = serializers.SlugField()
    urgency = serializers.ChoiceField(Referral.Urgency.choices, default="standard")
    need_uid = serializers.UUIDField(required=False, allow_null=True, default=None)
    goal_uid = serializers.UUIDField(required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    requested_units = serializers.DecimalField(10, 2, required=False, allow_null=True)
    requested_amount = serializers.DecimalField(10, 2, required=False, allow_null=True)
    requested_start = serializers.DateField(required=False, allow_null=True)
    requested_end = serializers.DateField(required=False, allow_null=True)


class VersionedInput(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1)


class ReasonInput(VersionedInput):
    reason = serializers.CharField(allow_blank=True)


class NoteInput(VersionedInput):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class DeliveryInput(serializers.Serializer):
    delivered_on = serializers.DateField()
    units = serializers.DecimalField(10, 2)
    amount = serializers.DecimalField(10, 2, required=False, default=0)
    hcpcs = serializers.CharField(max_length=5)
    modifier = serializers.CharField(
        max_length=2, required=False, allow_blank=True, default=""
    )
    stay_id = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default=""
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


# --- Helpers ------------------------------------------------------------------------


def _parse(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _version(request, data) -> int | None:
    header = request.headers.get("If-Match", "").strip()
    if header:
        tag = header.removeprefix("W/").strip('"')
        if not tag.isdigit():
            raise exceptions.ValidationError(
                {
                    "If-Match": [
                        exceptions.ErrorDetail("Give a version.", code="invalid")
                    ]
                }
            )
        return int(tag)
    return data.get("version")


def _with_offer(queryset, organization_id):
    live = Offer.objects.filter(
        referral=OuterRef("pk"),
        provider_id=organization_id,
        status__in=(Offer.Status.OFFERED, Offer.Status.ACCEPTED),
    )
    return queryset.annotate(
        offer_id=Subquery(live.values("uuid")[:1]),
        offer_status=Subquery(live.values("status")[:1]),
        acknowledge_by=Subquery(live.values("acknowledge_by")[:1]),
    )


def _response(request, referral, status=200) -> Response:
    row = _with_offer(
        Referral.objects.filter(pk=referral.pk).select_related(
            "member", "support", "plan", "referring_organization",
            "receiving_organization",
        ),
        request.user.organization_id,
    ).get()  # fmt: skip
    response = Response(ReferralOutput(row).data, status=status)
    response["ETag"] = f'"{row.version}"'
    return response


def _referral(request, referral_id) -> Referral:
    return access_referral(request.user, referral_id)


# --- Views --------------------------------------------------------------------------


class ReferralList(ListAPIView):
    """The caller's referrals: those its organization sent, those offered to or
    worked by it (open), and for a plan its members'. Audited per page."""

    serializer_class = ReferralOutput
    pagination_class = CursorPagination
    filter_backends = [UpdatedSinceFilter]

    def get_permissions(self):
        if self.request is not None and self.request.method == "POST":
            return [REFER]
        return [READ]

    def get_queryset(self):
        user = self.request.user
        return _with_offer(selectors.referrals_visible_to(user), user.organization_id)

    @extend_schema(tags=TAG, summary="Referrals sent or received by the caller")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        audit_record(
            action="view",
            object_type="referral_list",
            member_ids=sorted({row.member_id for row in page or []}),
            actor=self.request.user,
        )
        return page

    @extend_schema(
        tags=TAG,
        summary="Refer a member for a Community Support",
        request=ReferralCreateInput,
        responses={201: ReferralOutput},
    )
    def post(self, request):
        data = _parse(ReferralCreateInput, request)
        member = Member.objects.filter(uuid=data.pop("member_id")).first()
        if member is None:
            raise Http404("No such member.")
        support = CommunitySupport.objects.filter(code=data.pop("support")).first()
        if support is None:
            raise exceptions.ValidationError(
                {
                    "support": [
                        exceptions.ErrorDetail("Unknown support.", code="invalid")
                    ]
                }
            )
        referral = services.referral_create(
            member=member, support=support, actor=request.user, **data
        )
        return _response(request, referral, status=201)


class ReferralDetail(APIView):
    """One referral by id; 404 when missing or not the caller's."""

    permission_classes = [READ]

    @extend_schema(tags=TAG, summary="One referral", responses={200: ReferralOutput})
    def get(self, request, referral_id):
        referral = _referral(request, referral_id)
        return _response(request, referral)


def _offer_of(referral, request) -> Offer:
    offer = live_offer(referral)
    if offer is None:
        raise ConflictError("There is no offer waiting.", code="offer_already_answered")
    return offer


class _Action(APIView):
    input_class = VersionedInput
    permission = WORK
    summary = ""

    def get_permissions(self):
        return [self.permission]

    def post(self, request, referral_id):
        referral = _referral(request, referral_id)
        data = _parse(self.input_class, request)
        self.run(request, referral, data, _version(request, data))
        referral.refresh_from_db()
        if not referral_visible(request.user, referral):
            # A declined offer: the referral went on to someone else.
            return Response(status=204)
        return _response(request, referral)

    def run(self, request, referral, data, version):  # pragma: no cover
        raise NotImplementedError


def _action(name, input_class, permission, run, summary):
    view = type(
        f"Referral{name.title()}",
        (_Action,),
        {
            "input_class": input_class,
            "permission": permission,
            "run": staticmethod(run),
            "__doc__": summary,
        },
    )
    view.post = extend_schema(
        tags=TAG, summary=summary, request=input_class, responses={200: ReferralOutput}
    )(view.post)
    return view


def _require_receiver(request, referral):
    if request.user.organization_id != referral.receiving_organization_id:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("Only the provider the referral is offered to.")


def _accept(request, referral, data, version):
    _require_receiver(request, referral)
    services.offer_accept(offer=_offer_of(referral, request), actor=request.user)


def _reject(request, referral, data, version):
    _require_receiver(request, referral)
    services.offer_reject(
        offer=_offer_of(referral, request), reason=data["reason"], actor=request.user
    )


ReferralAccept = _action("accept", VersionedInput, WORK, _accept, "Accept the offer")
ReferralReject = _action(
    "reject", ReasonInput, WORK, _reject,
    "Decline the offer with a reason (the next provider gets it)",
)  # fmt: skip
ReferralHold = _action(
    "hold", ReasonInput, WORK,
    lambda request, referral, data, version: services.referral_hold(
        referral=referral, reason=data["reason"], actor=request.user,
        expected_version=version),
    "Put the referral on hold (reason required)",
)  # fmt: skip
ReferralResume = _action(
    "resume", VersionedInput, WORK,
    lambda request, referral, data, version: services.referral_resume(
        referral=referral, actor=request.user, expected_version=version),
    "Resume a referral on hold",
)  # fmt: skip
ReferralComplete = _action(
    "complete", NoteInput, WORK,
    lambda request, referral, data, version: services.referral_complete(
        referral=referral, actor=request.user, note=data["note"],
        expected_version=version),
    "Complete: services received (closes the loop)",
)  # fmt: skip
ReferralFail = _action(
    "fail", ReasonInput, WORK,
    lambda request, referral, data, version: services.referral_fail(
        referral=referral, reason=data["reason"], actor=request.user,
        expected_version=version),
    "Close without service (reason required)",
)  # fmt: skip
ReferralCancel = _action(
    "cancel", ReasonInput, CANCEL,
    lambda request, referral, data, version: services.referral_cancel(
        referral=referral, reason=data["reason"], actor=request.user,
        expected_version=version),
    "Cancel the referral (the referrer or the plan; reason required)",
)  # fmt: skip


class ReferralDeliveries(APIView):
    """A referral's deliveries: list them, or record one (the provider)."""

    def get_permissions(self):
        if self.request is not None and self.request.method == "POST":
            return [WORK]
        return [READ]

    @extend_schema(tags=TAG, summary="The referral's deliveries",
                   responses={200: DeliveryOutput(many=True)})  # fmt: skip
    def get(self, request, referral_id):
        referral = _referral(request, referral_id)
        rows = selectors.deliveries_of(referral)
        return Response({"results": DeliveryOutput(rows, many=True).data})

    @extend_schema(tags=TAG, summary="Record a delivery", request=DeliveryInput,
                   responses={201: DeliveryOutput})  # fmt: skip
    def post(self, request, referral_id):
        referral = _referral(request, referral_id)
        data = _parse(DeliveryInput, request)
        delivery = services.delivery_record(
            referral=referral, actor=request.user, **data
        )
        return Response(DeliveryOutput(delivery).data, status=201)


class DirectoryRow(serializers.Serializer):
    provider_id = serializers.UUIDField(source="provider.uuid")
    provider_name = serializers.CharField(source="provider.name")
    provider_npi = serializers.CharField(source="provider.npi")
    capacity = serializers.IntegerField(allow_null=True)
    capacity_unit = serializers.CharField()
    open_load = serializers.DecimalField(12, 2)
    capacity_left = serializers.DecimalField(12, 2, allow_null=True)


class Directory(APIView):
    """Who can serve a member for a support in their county, with capacity left
    (read-only): `?member=<uuid>&support=<code>`."""

    permission_classes = [
        RequiresScope("members:read", permissions=["referrals.add_referral"])
    ]

    @extend_schema(tags=TAG, summary="The provider directory for a member and support",
                   responses={200: DirectoryRow(many=True)})  # fmt: skip
    def get(self, request):
        from members.access import access_member

        member = access_member(request.user, request.query_params.get("member", ""))
        support = CommunitySupport.objects.filter(
            code=request.query_params.get("support", ""), active=True
        ).first()
        if support is None:
            raise exceptions.ValidationError(
                {
                    "support": [
                        exceptions.ErrorDetail("Unknown support.", code="invalid")
                    ]
                }
            )
        rows = selectors.directory(member=member, support=support)
        return Response({"results": DirectoryRow(rows, many=True).data})
