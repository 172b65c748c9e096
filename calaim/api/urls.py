"""API routes, mounted at /api/. Version 1 lives under /api/v1/."""

from django.urls import path

from calaim.api import views

urlpatterns = [
    path("v1/me", views.MeView.as_view(), name="api_me"),
    path("schema/", views.SchemaView.as_view(), name="api_schema"),
    path("docs/", views.docs_view, name="api_docs"),
]
