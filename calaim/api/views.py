"""Platform endpoints: who am I, the OpenAPI schema and its Swagger UI."""

from django.contrib.auth.decorators import login_required
from django.views import defaults
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from calaim.api import exceptions
from calaim.api.oauth import is_access_token, token_scopes


class OrganizationOutput(serializers.Serializer):
    uuid = serializers.UUIDField()
    name = serializers.CharField()
    capabilities = serializers.ListField(child=serializers.CharField())


class MeOutput(serializers.Serializer):
    uuid = serializers.UUIDField()
    full_name = serializers.CharField()
    email = serializers.EmailField()
    is_service_account = serializers.BooleanField()
    organization = OrganizationOutput(allow_null=True)
    roles = serializers.ListField(child=serializers.CharField())
    scopes = serializers.ListField(
        child=serializers.CharField(),
        help_text="The scopes of the calling token; empty for a browser session.",
    )
    client_id = serializers.CharField(
        allow_null=True, help_text="The OAuth2 client of the calling token, if any."
    )


class MeView(APIView):
    """Who is calling: the organization, roles and scopes the API acts on.

    A provider's system calls this first to check its credentials. It touches no
    member, so it records no audit event.
    """

    @extend_schema(responses=MeOutput, summary="The caller")
    def get(self, request):
        user = request.user
        token = request.auth if is_access_token(request.auth) else None
        data = {
            "uuid": user.uuid,
            "full_name": user.full_name,
            "email": user.email,
            "is_service_account": user.is_service_account,
            "organization": user.organization,
            "roles": sorted(user.role_names),
            "scopes": sorted(token_scopes(token)) if token else [],
            "client_id": token.application.client_id if token else None,
        }
        return Response(MeOutput(data).data)


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 document, JSON unless YAML is asked for (?format=yaml).

    Open to any signed-in person or client, not to anonymous callers: it
    describes no data, but there is no reason to map the API for strangers, and
    a provider's developer has credentials before integrating.
    """

    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]


# Swagger UI is a page for people: anonymous visitors go to the sign-in page. Its
# assets come from drf-spectacular-sidecar under /static/ (no CDN at run time).
docs_view = login_required(SpectacularSwaggerSplitView.as_view(url_name="api_schema"))


def page_not_found(request, exception):
    """handler404: the API's error shape under /api/, Django's page elsewhere."""
    if exceptions.is_api_path(request):
        return exceptions.not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: the API's error shape under /api/, Django's page elsewhere."""
    if exceptions.is_api_path(request):
        return exceptions.server_error(request)
    return defaults.server_error(request)
