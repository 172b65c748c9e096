"""The OAuth2 endpoints provider systems use, mounted at /o/.

Only what client credentials needs: the token endpoint and revocation. No
authorization or application-management pages: clients are created by a plan
administrator (`api_client_create`), never registered by a browser.
"""

from django.urls import path
from oauth2_provider import views as oauth2_views

from calaim.api.oauth import TokenView

# The toolkit reverses its own names in this namespace.
app_name = "oauth2_provider"

urlpatterns = [
    path("token/", TokenView.as_view(), name="token"),
    path("revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="revoke-token"),
]
