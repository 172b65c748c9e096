"""Pages of referrals, under /referrals/."""

from django.urls import path

from referrals import views

REFERRAL = "referrals/<uuid:referral_uuid>"

urlpatterns = [
    path("referrals/inbox/", views.referral_inbox, name="referral_inbox"),
    path(
        "referrals/authorizations/",
        views.referral_authorization_queue,
        name="referral_authorization_queue",
    ),
    path(
        "referrals/open-loops/", views.referral_open_loops, name="referral_open_loops"
    ),
    path("referrals/directory/", views.referral_directory, name="referral_directory"),
    path("referrals/overdue/", views.referral_overdue, name="referral_overdue"),
    path(
        "members/<uuid:member_uuid>/referrals/new/",
        views.referral_new,
        name="referral_new",
    ),
    path(f"{REFERRAL}/", views.referral_detail, name="referral_detail"),
    *[
        path(
            f"{REFERRAL}/{key}/",
            getattr(views, f"referral_{key}"),
            name=f"referral_{key}",
        )
        for key in views.ACTIONS
    ],  # fmt: skip
]
