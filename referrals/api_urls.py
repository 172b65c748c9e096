"""API endpoints, mounted at /api/v1/ of referrals."""

from django.urls import path

from referrals import api

REFERRAL = "referrals/<uuid:referral_id>"

urlpatterns = [
    path("referrals/", api.ReferralList.as_view(), name="api_referral_list"),
    path("referrals/directory", api.Directory.as_view(), name="api_referral_directory"),
    path(REFERRAL, api.ReferralDetail.as_view(), name="api_referral_detail"),
    path(
        f"{REFERRAL}/accept", api.ReferralAccept.as_view(), name="api_referral_accept"
    ),
    path(
        f"{REFERRAL}/reject", api.ReferralReject.as_view(), name="api_referral_reject"
    ),
    path(f"{REFERRAL}/hold", api.ReferralHold.as_view(), name="api_referral_hold"),
    path(
        f"{REFERRAL}/resume", api.ReferralResume.as_view(), name="api_referral_resume"
    ),
    path(
        f"{REFERRAL}/complete",
        api.ReferralComplete.as_view(),
        name="api_referral_complete",
    ),
    path(f"{REFERRAL}/fail", api.ReferralFail.as_view(), name="api_referral_fail"),
    path(
        f"{REFERRAL}/cancel", api.ReferralCancel.as_view(), name="api_referral_cancel"
    ),
    path(
        f"{REFERRAL}/deliveries",
        api.ReferralDeliveries.as_view(),
        name="api_referral_deliveries",
    ),
]
