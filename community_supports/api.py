"""The Community Supports catalog, read-only: GET /api/v1/community-supports.

Reference data, not PHI: any signed-in person, and any provider system whose
token reads members or works referrals (a hospital feed has no use for it).
"""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission

from calaim.api.filters import UpdatedSinceFilter
from calaim.api.oauth import is_access_token, token_scopes
from calaim.api.pagination import CursorPagination
from community_supports import selectors
from community_supports.models import CommunitySupport, ServiceCode, SupportLimit

READ_SCOPES = ("members:read", "referrals:write")


class CatalogReaders(BasePermission):
    """A person signed in, or a token holding one of READ_SCOPES."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if is_access_token(request.auth):
            if not set(READ_SCOPES) & set(token_scopes(request.auth)):
                raise exceptions.PermissionDenied(
                    f"This call needs one of the scopes {' '.join(READ_SCOPES)}.",
                    code="insufficient_scope",
                )
            return True
        return not user.is_service_account


class ServiceCodeOutput(serializers.ModelSerializer):
    class Meta:
        model = ServiceCode
        fields = [
            "hcpcs",
            "modifier",
            "modifier_2",
            "description",
            "unit",
            "effective_from",
            "effective_to",
        ]


class SupportLimitOutput(serializers.ModelSerializer):
    class Meta:
        model = SupportLimit
        fields = [
            "key",
            "kind",
            "quantity",
            "window_days",
            "weeks",
            "exception_allowed_once",
            "description",
        ]


class CommunitySupportOutput(serializers.ModelSerializer):
    codes = ServiceCodeOutput(source="service_codes", many=True)
    limits = SupportLimitOutput(many=True)

    class Meta:
        model = CommunitySupport
        fields = [
            "code",
            "name",
            "short_name",
            "description",
            "eligibility_summary",
            "volume",
            "mandatory_from",
            "retro_authorization_allowed",
            "codes",
            "limits",
            "updated_at",
        ]


class CatalogPagination(CursorPagination):
    ordering = "code"


@extend_schema_view(
    get=extend_schema(
        tags=["Community Supports catalog"],
        summary="The Community Supports with their HCPCS + modifier pairs and limits",
    )
)
class CommunitySupportList(ListAPIView):
    """The Community Supports, each with every code pair (past, present, future:
    claims refer to old ones) and its limits. Three queries per page."""

    serializer_class = CommunitySupportOutput
    permission_classes = [CatalogReaders]
    pagination_class = CatalogPagination
    filter_backends = [UpdatedSinceFilter]

    def get_queryset(self):
        return selectors.catalog()
