from django.urls import path

from members import api

urlpatterns = [
    path("members/", api.MemberList.as_view(), name="api_member_list"),
    path(
        "members/<uuid:member_id>", api.MemberDetail.as_view(), name="api_member_detail"
    ),
    path(
        "members/<uuid:member_id>/consents",
        api.MemberConsents.as_view(),
        name="api_member_consents",
    ),
    path(
        "members/<uuid:member_id>/consents/<uuid:consent_id>",
        api.MemberConsentDetail.as_view(),
        name="api_member_consent_detail",
    ),
    path(
        "members/<uuid:member_id>/consents/<uuid:consent_id>/revoke",
        api.MemberConsentRevoke.as_view(),
        name="api_member_consent_revoke",
    ),
    path(
        "members/<uuid:member_id>/consents/<uuid:consent_id>/end",
        api.MemberConsentEnd.as_view(),
        name="api_member_consent_end",
    ),
    path(
        "members/<uuid:member_id>/consents/<uuid:consent_id>/document",
        api.MemberConsentDocument.as_view(),
        name="api_member_consent_document",
    ),
]
