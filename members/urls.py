from django.urls import path

from members import consent_views, import_views, search_views, views

urlpatterns = [
    # 834 uploads for plan administrators (members/import_views.py).
    path("imports/", import_views.enrollment_files, name="enrollment_files"),
    path(
        "imports/<uuid:file_uuid>/",
        import_views.enrollment_file_detail,
        name="enrollment_file_detail",
    ),
    path(
        "imports/<uuid:file_uuid>/progress/",
        import_views.enrollment_file_progress,
        name="enrollment_file_progress",
    ),
    path(
        "imports/<uuid:file_uuid>/issues.csv",
        import_views.enrollment_file_issues_csv,
        name="enrollment_file_issues_csv",
    ),
    path("<uuid:member_uuid>/", views.member_chart, name="member_chart"),
    # Member search and the chart's record forms (members/search_views.py, views.py).
    path("search/", search_views.member_search_page, name="member_search"),
    path(
        "<uuid:member_uuid>/populations/",
        views.member_population_add_view,
        name="member_population_add",
    ),
    path(
        "<uuid:member_uuid>/other-programs/",
        views.member_other_program_add_view,
        name="member_other_program_add",
    ),
    # Consents (members/consent_views.py).
    path(
        "<uuid:member_uuid>/consents/new/",
        consent_views.consent_new,
        name="member_consent_new",
    ),
    path(
        "<uuid:member_uuid>/consents/<uuid:consent_uuid>/revoke/",
        consent_views.consent_revoke_view,
        name="member_consent_revoke",
    ),
    path(
        "<uuid:member_uuid>/consents/<uuid:consent_uuid>/end/",
        consent_views.consent_end_view,
        name="member_consent_end",
    ),
    path(
        "<uuid:member_uuid>/consents/<uuid:consent_uuid>/document/",
        consent_views.consent_document,
        name="member_consent_document",
    ),
]
